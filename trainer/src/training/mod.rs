//! The training loop shared by the teacher and the student.
//!
//! Every epoch: a seeded shuffle, examples bucketed by length into batches
//! ([`batches::epoch_batches`]), a progress bar, one optimiser step per batch, a stop with a
//! clear message on a non-finite loss, validation NDCG@10 (full ranking, masked), and early
//! stopping after `patience` epochs without a better one. What is trained is an
//! [`Objective`]; where models are kept is a [`Keeper`].

pub mod batches;
pub mod data_parallel;
pub mod local_table;
pub mod popularity;
pub mod schedule;
pub mod validation;

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};
use pocketrank_model::MetricSet;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

pub use local_table::LocalTable;
pub use schedule::{LearningRates, Schedule};
pub use validation::{Validation, validation_cases};

use crate::progress::progress_bar;

/// The loop's own settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopSettings {
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation NDCG@10.
    pub patience: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// The peak learning rate.
    pub learning_rate: f64,
    /// Optimiser steps of linear warm-up to `learning_rate`.
    pub warmup_steps: usize,
    /// What the rate does after the warm-up.
    pub schedule: Schedule,
    /// Epoch `e` shuffles with `seed + e`.
    pub seed: u64,
    /// Data-parallel replicas of the model (1: none), see [`data_parallel`].
    pub replicas: usize,
}

/// One epoch's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Mean training loss (weighted as the objective says).
    pub loss: f64,
    /// Validation metrics, full ranking, masked.
    pub valid: MetricSet,
    pub train_seconds: f64,
    #[serde(default)]
    pub valid_seconds: f64,
    /// Predicted positions (training targets) per second.
    #[serde(default)]
    pub targets_per_second: f64,
}

/// The epochs run so far and the best of them: what a run resumes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochLog>,
    pub best_epoch: Option<usize>,
    pub best_ndcg10: f64,
    /// Why training stopped early (a non-finite loss), when it did.
    pub stopped: Option<String>,
}

impl History {
    /// Epochs since the best one (0 before any).
    pub fn since_best(&self) -> usize {
        self.best_epoch.map_or(0, |b| self.epochs.len() - b)
    }

    /// The best epoch's record.
    pub fn best(&self) -> Option<&EpochLog> {
        self.best_epoch.and_then(|b| self.epochs.iter().find(|e| e.epoch == b))
    }
}

/// What the loop trains: one implementation each for the teacher and the student.
pub trait Objective<B: AutodiffBackend, M: AutodiffModule<B>> {
    /// Names the model in progress bars and log lines ("teacher", "student").
    fn name(&self) -> &str;

    /// The length of every training example; examples of similar length share a batch.
    fn lengths(&self) -> &[usize];

    /// Predicted positions in one epoch (for targets per second).
    fn targets(&self) -> usize;

    /// The device the objective's own tensors live on.
    fn device(&self) -> &B::Device;

    /// The loss of one batch (indices into [`lengths`](Self::lengths)), `[1]`, on
    /// `device` (the model's), and the weight of its value in the epoch's mean loss. `rng`
    /// is the epoch's generator (for sampled negatives, dropouts of inputs).
    fn loss(&self, model: &M, batch: &[usize], rng: &mut StdRng, device: &B::Device) -> (Tensor<B, 1>, usize);

    /// Validation metrics (full ranking, masked) of the model after an epoch.
    fn validate(&self, model: &M::InnerModule) -> anyhow::Result<MetricSet>;
}

/// Keeps what the loop trains.
pub trait Keeper<B: AutodiffBackend, M: AutodiffModule<B>, O> {
    /// After every epoch, once `history` holds it; `best` when it is the best so far.
    fn epoch_done(&mut self, model: &M, optim: &O, history: &History, best: bool) -> anyhow::Result<()>;

    /// The loss became non-finite: record `history` (its `stopped` says why) and say where
    /// the last good model is, for the error message.
    fn stopped(&mut self, history: &History) -> anyhow::Result<String>;
}

/// Trains `model` from where `history` left off (epoch `history.epochs.len() + 1`) until
/// `max_epochs` or early stopping; returns the last model. A non-finite loss records why in
/// `history.stopped`, tells the keeper and fails with a message naming the last good model.
#[allow(clippy::too_many_arguments)]
pub fn fit<B, M, O>(
    objective: &(dyn Objective<B, M> + Sync),
    keeper: &mut dyn Keeper<B, M, O>,
    mut model: M,
    mut optim: O,
    settings: &LoopSettings,
    history: &mut History,
    log: &dyn Fn(&str),
) -> anyhow::Result<M>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Send,
    O: Optimizer<M, B> + Clone + Send,
{
    let name = objective.name();
    let devices = data_parallel::replica_devices::<B>(objective.device(), settings.replicas);
    // Initial values drawn in one fixed order, whatever the number of replicas.
    data_parallel::initialise(&model);
    if devices.len() > 1 {
        log(&format!("{name}: data-parallel over {} replicas ({:?})", devices.len(), devices));
    }
    let mut since_best = history.since_best();
    let steps_per_epoch = objective.lengths().len().div_ceil(settings.batch_size.max(1));
    let mut rates = LearningRates::new(
        settings.learning_rate,
        settings.warmup_steps,
        settings.schedule,
        steps_per_epoch * settings.max_epochs,
    )?;
    rates.skip(steps_per_epoch * history.epochs.len());
    for epoch in history.epochs.len() + 1..=settings.max_epochs {
        if since_best >= settings.patience {
            break;
        }
        let mut rng = StdRng::seed_from_u64(settings.seed.wrapping_add(epoch as u64));
        let batches = batches::epoch_batches(objective.lengths(), settings.batch_size, &mut rng);
        let bar = progress_bar(batches.len() as u64, &format!("{name} epoch {epoch}"));
        let started = Instant::now();
        let (mut loss_sum, mut loss_n) = (0.0, 0.0);
        let mut non_finite = None;
        if devices.len() > 1 {
            let rates: Vec<f64> = batches.iter().map(|_| rates.next_rate()).collect();
            let seed = rand::Rng::random(&mut rng);
            let out = data_parallel::epoch(objective, model, optim, &batches, &rates, seed, &devices, &bar)?;
            (model, optim, loss_sum, loss_n, non_finite) =
                (out.model.fork(objective.device()), out.optim, out.loss_sum, out.weight_sum, out.non_finite);
        } else {
            for batch in batches {
                let (loss, weight) = objective.loss(&model, &batch, &mut rng, objective.device());
                let value: f64 = loss.clone().into_scalar().elem();
                if !value.is_finite() {
                    non_finite = Some(value);
                    break;
                }
                loss_sum += value * weight as f64;
                loss_n += weight as f64;
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(rates.next_rate(), model, grads);
                bar.inc(1);
                bar.set_message(format!("epoch {epoch} loss {:.3}", loss_sum / loss_n.max(1.0)));
            }
        }
        if let Some(value) = non_finite {
            bar.abandon();
            history.stopped = Some(format!("{name} loss became {value} in epoch {epoch}"));
            let kept = keeper.stopped(history)?;
            anyhow::bail!("{name} loss became {value} in epoch {epoch}; stopping. {kept} Try a lower --lr.");
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let valid = objective.validate(&model.valid())?;
        let entry = EpochLog {
            epoch,
            loss: loss_sum / loss_n.max(1.0),
            valid,
            train_seconds,
            valid_seconds: started.elapsed().as_secs_f64(),
            targets_per_second: objective.targets() as f64 / train_seconds,
        };
        log(&format!(
            "{name} epoch {epoch:>3}  loss {:.4}  valid NDCG@10 {:.4}  HR@10 {:.4}  ({:.0} s train, {:.0} targets/s, {:.0} s valid)",
            entry.loss,
            entry.valid.ndcg10,
            entry.valid.hr10,
            entry.train_seconds,
            entry.targets_per_second,
            entry.valid_seconds
        ));
        let best = history.best_epoch.is_none() || entry.valid.ndcg10 > history.best_ndcg10;
        if best {
            history.best_ndcg10 = entry.valid.ndcg10;
            history.best_epoch = Some(epoch);
            since_best = 0;
        } else {
            since_best += 1;
        }
        history.epochs.push(entry);
        keeper.epoch_done(&model, &optim, history, best)?;
    }
    Ok(model)
}
