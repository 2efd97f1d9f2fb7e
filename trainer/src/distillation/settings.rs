//! `trainer distill`'s settings: the student's shape and how it is distilled.

use clap::Args;
use pocketrank_model::student::StudentConfig;
use serde::{Deserialize, Serialize};

use crate::training::{LoopSettings, Schedule};

/// The model crate's defaults for the student's shape (written there, once).
fn shape() -> StudentConfig {
    StudentConfig::new(0, 0)
}

/// Everything `trainer distill` can be told about the student and its training. The
/// defaults live in the attributes below (the scorer's and id dropout's in
/// [`StudentConfig`]); [`Default`] reads them. The student's training window is the
/// teacher's `max_len`, not a setting: the teacher cannot score positions it has no
/// position embedding for.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistillSettings {
    /// Width of item vectors and profiles (the teacher's width lets the student start
    /// from the teacher's item vectors and learn from its hidden states).
    #[arg(long, default_value_t = 64)]
    pub d: usize,
    /// Width of the scorer's hidden layer.
    #[arg(long, default_value_t = shape().hidden)]
    pub hidden: usize,
    /// Share of item vectors trained from their text alone (the unknown-item row).
    #[arg(long, default_value_t = shape().id_dropout)]
    pub id_dropout: f64,
    /// Epochs at most (the cosine schedule reaches zero at the last).
    #[arg(long, default_value_t = 10)]
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation NDCG@10.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Training windows (shoppers) per batch.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long = "lr", default_value_t = 3e-3)]
    pub learning_rate: f64,
    /// What the rate does over the run: half a cosine to zero at the last planned step
    /// (`--max-epochs` epochs), or constant (the default before: on Toys the cosine took the
    /// int8 student from 92% to 95% of its teacher's full-ranking NDCG@10, on Beauty from
    /// 96% to 97%).
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    #[serde(default)]
    pub schedule: Schedule,
    /// Temperature of the listwise KL term.
    #[arg(long, default_value_t = 2.0)]
    pub temperature: f64,
    /// Weight of the ground-truth cross-entropy term.
    #[arg(long, default_value_t = 0.5)]
    pub ce_weight: f64,
    /// Weight of the hint term: mean squared distance between the student's query and the
    /// teacher's hidden state, used when their widths match (0 disables it).
    #[arg(long, default_value_t = 4.0)]
    pub hint_weight: f64,
    /// The teacher's hardest negatives per candidate list (48 before: twice as many, with
    /// twice the random items, took the int8 student on Beauty from 92% to 96% of the
    /// teacher's full-ranking NDCG@10 at twice the time per epoch).
    #[arg(long, default_value_t = 96)]
    pub hard_negatives: usize,
    /// Uniform random items per candidate list.
    #[arg(long, default_value_t = 192)]
    pub random_negatives: usize,
    /// Share of lists trained without context (no server score, position 0).
    #[arg(long, default_value_t = 0.5)]
    pub context_dropout: f64,
    /// Validate on a fixed random subset of this many users (0 = all).
    #[arg(long, default_value_t = 3000)]
    pub valid_users: usize,
    /// Seed of initialisation, candidate lists, shuffling and the validation subset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data-parallel replicas, as in `trainer train` (0, the default: one per CPU core on
    /// the CPU backends, at most 4; one GPU on the GPU backends).
    #[arg(long, default_value_t = 0, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=64))]
    #[serde(default = "crate::settings::one_replica")]
    pub replicas: usize,
    /// Epochs of tuning each code width's centroids with the distillation loss after
    /// k-means, the student frozen (0: the k-means codes as they are; see `code_tuning`).
    #[arg(long, default_value_t = 3)]
    #[serde(default)]
    pub code_epochs: usize,
    /// AdamW learning rate of the centroids' tuning (half a cosine to zero).
    #[arg(long, default_value_t = 1e-3)]
    #[serde(default)]
    pub code_lr: f64,
}

impl Default for DistillSettings {
    fn default() -> Self {
        crate::settings::defaults()
    }
}

impl DistillSettings {
    /// Items per candidate list: the true next item, the hard and the random negatives.
    pub fn list_len(&self) -> usize {
        1 + self.hard_negatives + self.random_negatives
    }

    /// The student for a catalog of `n_items` with token ids below `vocab_size`.
    pub fn student(&self, n_items: usize, vocab_size: usize) -> StudentConfig {
        StudentConfig::new(n_items, vocab_size).with_d(self.d).with_hidden(self.hidden).with_id_dropout(self.id_dropout)
    }

    /// The shared loop's part.
    pub fn loop_settings(&self) -> LoopSettings {
        LoopSettings {
            max_epochs: self.max_epochs,
            patience: self.patience,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            warmup_steps: 0,
            schedule: self.schedule,
            seed: self.seed,
            // 0 is resolved by the command for its device; library callers get one.
            replicas: self.replicas.max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_flags_defaults_and_the_model_crates() {
        let s = DistillSettings::default();
        assert_eq!((s.d, s.max_epochs, s.patience, s.batch_size, s.valid_users), (64, 10, 3, 128, 3000));
        assert_eq!(s.schedule, Schedule::Cosine);
        assert_eq!((s.replicas, s.loop_settings().replicas), (0, 1), "0 is the command's to resolve");
        assert_eq!((s.hard_negatives, s.random_negatives, s.list_len()), (96, 192, 289));
        assert_eq!((s.code_epochs, s.code_lr), (3, 1e-3));
        let c = s.student(9, 4);
        let m = StudentConfig::new(9, 4);
        assert_eq!((c.hidden, c.id_dropout, c.d), (m.hidden, m.id_dropout, 64));
    }
}
