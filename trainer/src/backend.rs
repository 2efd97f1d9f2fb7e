//! Run-time choice of the Burn backend the trainer computes on.

use std::path::Path;

use burn::backend::{Autodiff, Flex, NdArray};

use crate::data::Ingested;
use crate::distill::DistillSettings;
use crate::evaluate::{Baseline, Report};
use crate::pipeline::{self, RunSettings};
use crate::student_run::{self, StudentReport};

/// Where training runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// Burn's `flex` CPU backend (the fastest CPU backend measured here).
    Cpu,
    /// Burn's `ndarray` CPU backend.
    Ndarray,
    /// An NVIDIA GPU through burn-cuda (build with `--features cuda`).
    Cuda,
    /// A GPU through burn-wgpu: Vulkan, Metal or DX12 (build with `--features wgpu`).
    Wgpu,
}

impl DeviceChoice {
    /// Runs `trainer train` on this backend.
    pub fn run_training(
        self,
        ingested: &Ingested,
        settings: RunSettings,
        out: &Path,
        resume: bool,
        baselines: &[Baseline],
    ) -> anyhow::Result<Report> {
        match self {
            Self::Cpu => {
                pipeline::run::<Autodiff<Flex>>(&Default::default(), ingested, settings, out, resume, baselines)
            }
            Self::Ndarray => {
                pipeline::run::<Autodiff<NdArray>>(&Default::default(), ingested, settings, out, resume, baselines)
            }
            #[cfg(feature = "cuda")]
            Self::Cuda => {
                let device = burn::backend::cuda::CudaDevice::default();
                pipeline::run::<Autodiff<burn::backend::Cuda>>(&device, ingested, settings, out, resume, baselines)
            }
            #[cfg(feature = "wgpu")]
            Self::Wgpu => {
                let device = burn::backend::wgpu::WgpuDevice::default();
                pipeline::run::<Autodiff<burn::backend::Wgpu>>(&device, ingested, settings, out, resume, baselines)
            }
            #[allow(unreachable_patterns)]
            other => anyhow::bail!(
                "this trainer was built without the {} backend; rebuild with `--features {}`",
                format!("{other:?}").to_lowercase(),
                format!("{other:?}").to_lowercase()
            ),
        }
    }

    /// Runs `trainer distill` on this backend.
    pub fn run_distill(
        self,
        ingested: &Ingested,
        run: &Path,
        settings: DistillSettings,
        evaluate_only: bool,
        test_users: Option<usize>,
    ) -> anyhow::Result<StudentReport> {
        match self {
            Self::Cpu => student_run::distill_run::<Autodiff<Flex>>(
                &Default::default(),
                ingested,
                run,
                settings,
                evaluate_only,
                test_users,
            ),
            Self::Ndarray => student_run::distill_run::<Autodiff<NdArray>>(
                &Default::default(),
                ingested,
                run,
                settings,
                evaluate_only,
                test_users,
            ),
            #[cfg(feature = "cuda")]
            Self::Cuda => {
                let device = burn::backend::cuda::CudaDevice::default();
                student_run::distill_run::<Autodiff<burn::backend::Cuda>>(
                    &device,
                    ingested,
                    run,
                    settings,
                    evaluate_only,
                    test_users,
                )
            }
            #[cfg(feature = "wgpu")]
            Self::Wgpu => {
                let device = burn::backend::wgpu::WgpuDevice::default();
                student_run::distill_run::<Autodiff<burn::backend::Wgpu>>(
                    &device,
                    ingested,
                    run,
                    settings,
                    evaluate_only,
                    test_users,
                )
            }
            #[allow(unreachable_patterns)]
            other => anyhow::bail!(
                "this trainer was built without the {} backend; rebuild with `--features {}`",
                format!("{other:?}").to_lowercase(),
                format!("{other:?}").to_lowercase()
            ),
        }
    }
}
