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

/// Most replicas `--replicas 0` starts on the CPU: each gets an even share of a batch, and
/// past a few the shares get too small to keep a core busy.
pub const MAX_AUTO_REPLICAS: usize = 4;

impl DeviceChoice {
    /// The data-parallel replicas to train with when `asked` for (0: the default for this
    /// device: one per available core on the CPU backends, at most [`MAX_AUTO_REPLICAS`];
    /// one GPU on the GPU backends).
    pub fn replicas(self, asked: usize) -> usize {
        match (asked, self) {
            (0, DeviceChoice::Cpu | DeviceChoice::Ndarray) => {
                std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_AUTO_REPLICAS)
            }
            (0, DeviceChoice::Cuda | DeviceChoice::Wgpu) => 1,
            (n, _) => n,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_default_to_the_cores_on_the_cpu_and_one_gpu() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(DeviceChoice::Cpu.replicas(0), cores.min(MAX_AUTO_REPLICAS));
        assert_eq!(DeviceChoice::Ndarray.replicas(0), cores.min(MAX_AUTO_REPLICAS));
        assert_eq!((DeviceChoice::Cuda.replicas(0), DeviceChoice::Wgpu.replicas(0)), (1, 1));
        assert_eq!((DeviceChoice::Cpu.replicas(3), DeviceChoice::Cuda.replicas(2)), (3, 2));
    }
}
