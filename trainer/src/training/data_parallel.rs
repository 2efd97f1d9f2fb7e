//! Data-parallel training: several replicas of the model, one thread each, on one device
//! or on several (`--replicas N`).
//!
//! Every step, each replica computes the loss and gradients of its share of the batch.
//! Burn's collective all-reduce (`burn::collective`) sums the gradients, and every replica
//! then takes the same optimiser step. The replicas therefore stay identical, and the
//! step equals a single device's step on the whole batch, up to float rounding.
//!
//! - **The loss.** Each share's loss is weighted by its share of the batch's targets, so
//!   the sum is the whole batch's mean loss, however unevenly the targets split.
//! - **Control flow.** Every decision that could make a replica leave the loop early, such
//!   as stopping on a non-finite loss, is taken from all-reduced values. All replicas then
//!   decide alike, and none waits on a call the others never make.
//! - **Devices.** Replicas use devices `0..N` of the backend when it has that many (CUDA,
//!   wgpu). Otherwise they share the one device, as on the CPU backends: this checks the
//!   multi-device path on a machine without GPUs.
//! - **One run per process.** Burn's collective keeps one group of peers per backend in the
//!   process, reset at each epoch: two data-parallel runs at once in one process would
//!   join each other's group.

use std::marker::PhantomData;

use burn::collective::{self, AllReduceStrategy, CollectiveConfig, CollectiveError, PeerId, ReduceOperation};
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::Backend;
use burn::tensor::backend::{AutodiffBackend, Device, DeviceId, DeviceOps};
use burn::tensor::{ElementConversion, Tensor, TensorData, TensorPrimitive};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Objective;

/// The devices of `n` replicas: devices `0..n` of `device`'s kind when the backend has
/// that many, else `device` for every replica.
pub fn replica_devices<B: Backend>(device: &B::Device, n: usize) -> Vec<B::Device> {
    let id = device.id();
    if n > 1 && B::device_count(id.type_id) >= n {
        (0..n).map(|i| B::Device::from_id(DeviceId::new(id.type_id, i as u16))).collect()
    } else {
        vec![device.clone(); n.max(1)]
    }
}

/// Touches every parameter, so that lazily initialised ones take their initial values
/// now, once, in a fixed order. Replicas cloned before this would each draw their own.
struct Initialise;

impl<B: Backend> ModuleVisitor<B> for Initialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Gives every lazily initialised parameter of `model` its value (see [`Initialise`]).
pub fn initialise<B: Backend, M: Module<B>>(model: &M) {
    model.visit(&mut Initialise);
}

fn collective_error(e: CollectiveError) -> anyhow::Error {
    anyhow::anyhow!("data-parallel all-reduce failed: {e:?}")
}

/// Adds zero gradients for trainable parameters the backward pass did not reach (an item
/// no shopper in this share touched), so every replica all-reduces the same parameters
/// in the same order.
struct FillMissing<'a, B: AutodiffBackend> {
    grads: &'a mut GradientsParams,
    backend: PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for FillMissing<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if param.val().is_require_grad() && self.grads.get::<B::InnerBackend, D>(param.id).is_none() {
            self.grads.register::<B::InnerBackend, D>(param.id, param.val().inner().zeros_like());
        }
    }
}

/// Sums `values` over all replicas (every replica must call it, in the same order).
fn sum_over_replicas<B: AutodiffBackend>(
    peer: PeerId,
    values: [f32; 2],
    device: &B::Device,
) -> anyhow::Result<[f32; 2]> {
    let local = Tensor::<B::InnerBackend, 1>::from_data(TensorData::from(values), device.inner());
    let summed = collective::all_reduce::<B::InnerBackend>(peer, local.into_primitive().tensor(), ReduceOperation::Sum)
        .map_err(collective_error)?;
    let summed = Tensor::<B::InnerBackend, 1>::from_primitive(TensorPrimitive::Float(summed));
    let v = summed.into_data().to_vec::<f32>().map_err(|e| anyhow::anyhow!("reading the all-reduced loss: {e:?}"))?;
    Ok([v[0], v[1]])
}

/// What an epoch on the replicas produced.
pub struct EpochResult<M, O> {
    pub model: M,
    pub optim: O,
    /// The weighted sum of the batches' losses and the sum of their weights.
    pub loss_sum: f64,
    pub weight_sum: f64,
    /// The first non-finite loss, when the epoch stopped on one.
    pub non_finite: Option<f64>,
}

/// One epoch of `batches` on `devices.len()` replicas of `model`. `rates[i]` is the
/// learning rate of step `i`; `seed` seeds each replica's generator (its draws of
/// negatives and input dropout). Replica 0 advances `bar`.
#[allow(clippy::too_many_arguments)]
pub fn epoch<B, M, O>(
    objective: &(dyn Objective<B, M> + Sync),
    model: M,
    optim: O,
    batches: &[Vec<usize>],
    rates: &[f64],
    seed: u64,
    devices: &[B::Device],
    bar: &ProgressBar,
) -> anyhow::Result<EpochResult<M, O>>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Send,
    O: Optimizer<M, B> + Clone + Send,
{
    let n = devices.len();
    let config =
        CollectiveConfig::default().with_num_devices(n).with_local_all_reduce_strategy(AllReduceStrategy::Tree(2));
    collective::reset_collective::<B::InnerBackend>();
    let results: Vec<anyhow::Result<EpochResult<M, O>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = devices
            .iter()
            .enumerate()
            .map(|(p, device)| {
                let (mut model, mut optim, config) = (model.clone().fork(device), optim.clone(), config.clone());
                scope.spawn(move || -> anyhow::Result<EpochResult<M, O>> {
                    let peer = PeerId::from(p);
                    collective::register::<B::InnerBackend>(peer, device.inner().clone(), config)
                        .map_err(collective_error)?;
                    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(p as u64));
                    let (mut loss_sum, mut weight_sum) = (0.0f64, 0.0f64);
                    let mut non_finite = None;
                    for (step, batch) in batches.iter().enumerate() {
                        let share = batch.chunks(batch.len().div_ceil(n).max(1)).nth(p).unwrap_or(&[]);
                        let loss = (!share.is_empty()).then(|| objective.loss(&model, share, &mut rng, device));
                        let (weight, weighted) = loss.as_ref().map_or((0.0, 0.0), |(l, w)| {
                            let value: f32 = l.clone().into_scalar().elem();
                            (*w as f32, value * *w as f32)
                        });
                        let [total_weight, total] = sum_over_replicas::<B>(peer, [weight, weighted], device)?;
                        let value = f64::from(total) / f64::from(total_weight.max(1.0));
                        if !value.is_finite() {
                            non_finite = Some(value);
                            break;
                        }
                        loss_sum += f64::from(total);
                        weight_sum += f64::from(total_weight);
                        let mut grads = match loss {
                            Some((l, w)) => {
                                GradientsParams::from_grads((l * (w as f32 / total_weight)).backward(), &model)
                            }
                            None => GradientsParams::new(),
                        };
                        model.visit(&mut FillMissing::<B> { grads: &mut grads, backend: PhantomData });
                        let grads = grads
                            .all_reduce::<B::InnerBackend>(peer, ReduceOperation::Sum)
                            .map_err(collective_error)?;
                        model = optim.step(rates[step], model, grads);
                        if p == 0 {
                            bar.inc(1);
                            bar.set_message(format!("loss {:.3}", loss_sum / weight_sum.max(1.0)));
                        }
                    }
                    collective::finish_collective::<B::InnerBackend>(peer).map_err(collective_error)?;
                    Ok(EpochResult { model, optim, loss_sum, weight_sum, non_finite })
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a replica's thread panicked"))))
            .collect()
    });
    // The replicas took identical steps: keep the first (any replica's error first).
    let mut first = None;
    for result in results {
        let result = result?;
        first.get_or_insert(result);
    }
    first.ok_or_else(|| anyhow::anyhow!("no replica ran"))
}
