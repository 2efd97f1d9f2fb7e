//! The learning rate of every optimiser step: an optional linear warm-up, then constant or
//! cosine decay to zero at the last planned step. Built from Burn's schedulers (the
//! product of a linear ramp and a cosine), scaled by the base rate.

use burn::lr_scheduler::LrScheduler;
use burn::lr_scheduler::composed::{ComposedLrScheduler, ComposedLrSchedulerConfig};
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use serde::{Deserialize, Serialize};

/// What the learning rate does after the warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// The base rate until the end.
    #[default]
    Constant,
    /// Half a cosine from the base rate to zero over all planned steps.
    Cosine,
}

/// The per-step learning rates of a run.
pub struct LearningRates {
    base: f64,
    /// Factors in (0, 1] applied to `base`; none: always `base`.
    factor: Option<ComposedLrScheduler>,
}

impl LearningRates {
    /// Rates for `total_steps` optimiser steps (every planned epoch's batches).
    pub fn new(base: f64, warmup_steps: usize, schedule: Schedule, total_steps: usize) -> anyhow::Result<Self> {
        let mut config = ComposedLrSchedulerConfig::new();
        let mut any = false;
        if warmup_steps > 0 {
            config = config.linear(LinearLrSchedulerConfig::new(1.0 / warmup_steps as f64, 1.0, warmup_steps));
            any = true;
        }
        if schedule == Schedule::Cosine && total_steps > 0 {
            config = config.cosine(CosineAnnealingLrSchedulerConfig::new(1.0, total_steps));
            any = true;
        }
        let factor =
            any.then(|| config.init()).transpose().map_err(|e| anyhow::anyhow!("learning-rate schedule: {e}"))?;
        Ok(Self { base, factor })
    }

    /// Skips the steps of epochs already run (a resumed run).
    pub fn skip(&mut self, steps: usize) {
        for _ in 0..steps {
            self.next_rate();
        }
    }

    /// The rate of the next step.
    pub fn next_rate(&mut self) -> f64 {
        self.base * self.factor.as_mut().map_or(1.0, |f| f.step())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(warmup: usize, schedule: Schedule, total: usize) -> Vec<f64> {
        let mut r = LearningRates::new(0.01, warmup, schedule, total).unwrap();
        (0..total).map(|_| r.next_rate()).collect()
    }

    #[test]
    fn constant_without_warmup_is_the_base_rate() {
        assert!(rates(0, Schedule::Constant, 50).iter().all(|&r| r == 0.01));
    }

    #[test]
    fn warmup_ramps_linearly_then_holds() {
        // Burn's linear scheduler: from base / 4 to the base rate in 4 equal steps.
        let r = rates(4, Schedule::Constant, 10);
        let want = [0.0025, 0.004375, 0.00625, 0.008125, 0.01, 0.01, 0.01];
        for (got, want) in r.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{r:?}");
        }
    }

    #[test]
    fn cosine_decays_from_the_peak_to_zero() {
        let r = rates(10, Schedule::Cosine, 200);
        let peak = r.iter().copied().fold(0.0, f64::max);
        assert!(peak > 0.0099 && peak <= 0.01, "peak {peak}");
        assert!(r[..10].windows(2).all(|w| w[0] < w[1]), "warm-up rises");
        assert!(r[10..].windows(2).all(|w| w[0] >= w[1]), "then only falls");
        assert!((r[100] - 0.005).abs() < 2e-4, "half way: half the rate, got {}", r[100]);
        assert!(*r.last().unwrap() < 1e-5);
    }

    #[test]
    fn a_resumed_run_continues_where_it_stopped() {
        let all = rates(5, Schedule::Cosine, 40);
        let mut resumed = LearningRates::new(0.01, 5, Schedule::Cosine, 40).unwrap();
        resumed.skip(17);
        let rest: Vec<f64> = (17..40).map(|_| resumed.next_rate()).collect();
        assert_eq!(rest, all[17..]);
    }
}
