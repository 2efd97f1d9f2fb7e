//! `trainer distill`'s settings: the student's shape and how it is distilled.

use clap::Args;
use pocketrank_model::student::StudentConfig;
use serde::{Deserialize, Serialize};

use crate::training::{LoopSettings, Schedule};

/// The model crate's defaults for the student's shape (written there, once).
fn shape() -> StudentConfig {
    StudentConfig::new(0, 0)
}

/// Catalog items per hard negative in the default candidate lists.
pub const ITEMS_PER_HARD_NEGATIVE: usize = 128;
/// The bounds of the default hard negatives per list (the time per epoch grows with them).
pub const DEFAULT_HARD_NEGATIVES: std::ops::RangeInclusive<usize> = 96..=384;

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
    /// The teacher's hardest negatives per candidate list. Unset (the default): one per
    /// 128 catalog items, at least 96 and at most 384 (see [`Self::negatives`]).
    #[arg(long)]
    #[serde(default)]
    pub hard_negatives: Option<usize>,
    /// Uniform random items per candidate list. Unset (the default): twice the hard
    /// negatives.
    #[arg(long)]
    #[serde(default)]
    pub random_negatives: Option<usize>,
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
    /// The hard and the random negatives per candidate list for a catalog of `n_items`:
    /// as set, else one hard negative per [`ITEMS_PER_HARD_NEGATIVE`] items within
    /// [`DEFAULT_HARD_NEGATIVES`], and twice as many random items. The lists grow with the
    /// catalog so that they cover about the same share of it: 96 + 192 on Beauty and Toys
    /// (12k items; 48 + 96 before: doubling them took the int8 student on Beauty from 92%
    /// to 96% of its teacher's full-ranking NDCG@10), 144 + 288 on Sports (18k items).
    pub fn negatives(&self, n_items: usize) -> (usize, usize) {
        let hard = self.hard_negatives.unwrap_or_else(|| {
            n_items
                .div_ceil(ITEMS_PER_HARD_NEGATIVE)
                .clamp(*DEFAULT_HARD_NEGATIVES.start(), *DEFAULT_HARD_NEGATIVES.end())
        });
        (hard, self.random_negatives.unwrap_or(2 * hard))
    }

    /// Items per candidate list for a catalog of `n_items`: the true next item, the hard
    /// and the random negatives.
    pub fn list_len(&self, n_items: usize) -> usize {
        let (hard, random) = self.negatives(n_items);
        1 + hard + random
    }

    /// These settings with the list sizes of a catalog of `n_items` written out (what a
    /// student's saved settings record).
    pub fn for_catalog(&self, n_items: usize) -> Self {
        let (hard, random) = self.negatives(n_items);
        Self { hard_negatives: Some(hard), random_negatives: Some(random), ..self.clone() }
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
        assert_eq!((s.hard_negatives, s.random_negatives), (None, None), "sized to the catalog");
        // Beauty, Toys, Sports, a shop of a million items.
        assert_eq!((s.negatives(12_101), s.list_len(12_101)), ((96, 192), 289));
        assert_eq!(s.negatives(11_924), (96, 192));
        assert_eq!((s.negatives(18_357), s.list_len(18_357)), ((144, 288), 433));
        assert_eq!(s.negatives(1_000_000), (384, 768));
        assert_eq!(s.negatives(40), (96, 192), "a small catalog keeps the lower bound");
        let set = DistillSettings { hard_negatives: Some(48), ..s.clone() };
        assert_eq!(set.negatives(18_357), (48, 96), "random: twice the hard negatives");
        let both = DistillSettings { random_negatives: Some(10), ..set };
        assert_eq!(
            both.for_catalog(18_357),
            DistillSettings { hard_negatives: Some(48), random_negatives: Some(10), ..s.clone() }
        );
        assert_eq!(s.for_catalog(18_357).negatives(5), (144, 288), "written out, the sizes stay");
        assert_eq!((s.code_epochs, s.code_lr), (3, 1e-3));
        let c = s.student(9, 4);
        let m = StudentConfig::new(9, 4);
        assert_eq!((c.hidden, c.id_dropout, c.d), (m.hidden, m.id_dropout, 64));
    }
}
