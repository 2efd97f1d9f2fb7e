//! Run-time choice of the Burn backend the trainer computes on.

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

/// Calls `$run::<Autodiff<B>>(&device, args...)` with the backend `B` and device chosen by
/// `$choice` (a [`DeviceChoice`]), or fails with a message naming the missing cargo feature.
macro_rules! on_backend {
    ($choice:expr, $($run:ident)::+, $($arg:expr),* $(,)?) => {{
        use burn::backend::{Autodiff, Flex, NdArray};
        use $crate::backend::DeviceChoice;
        match $choice {
            DeviceChoice::Cpu => $($run)::+::<Autodiff<Flex>>(&Default::default(), $($arg),*),
            DeviceChoice::Ndarray => $($run)::+::<Autodiff<NdArray>>(&Default::default(), $($arg),*),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda => {
                $($run)::+::<Autodiff<burn::backend::Cuda>>(&burn::backend::cuda::CudaDevice::default(), $($arg),*)
            }
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => {
                $($run)::+::<Autodiff<burn::backend::Wgpu>>(&burn::backend::wgpu::WgpuDevice::default(), $($arg),*)
            }
            #[allow(unreachable_patterns)]
            other => {
                let name = format!("{other:?}").to_lowercase();
                anyhow::bail!("this trainer was built without the {name} backend; rebuild with `--features {name}`")
            }
        }
    }};
}

pub(crate) use on_backend;
