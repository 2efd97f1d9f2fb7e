//! `trainer train`'s settings: the teacher's shape, its tokenizer and its optimisation.

use clap::Args;
use pocketrank_model::teacher::TeacherConfig;
use serde::{Deserialize, Serialize};

use super::Negatives;
use crate::training::{LoopSettings, Schedule};

/// The model crate's defaults for the teacher's shape (written there, once).
fn shape() -> TeacherConfig {
    TeacherConfig::new(0, 0)
}

/// Everything `trainer train` can be told about the model and its training. The defaults
/// live in the attributes below (the shape's in [`TeacherConfig`]); [`Default`] reads them.
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// Epochs at most. The default whole-history teacher trains 15 epochs on Beauty in
    /// about 37 minutes on two CPU cores (two replicas).
    #[arg(long, default_value_t = 15)]
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation NDCG@10.
    #[arg(long, default_value_t = 6)]
    pub patience: usize,
    /// Training examples per batch (histories, or prefixes for a whole-history teacher).
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long = "lr", default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Optimiser steps of linear learning-rate warm-up (0: none).
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub warmup_steps: usize,
    /// The learning rate after the warm-up: constant, or a cosine decay to zero at the
    /// last planned step (`--max-epochs`).
    #[arg(long, value_enum, default_value_t = Schedule::Constant)]
    #[serde(default)]
    pub schedule: Schedule,
    /// Label smoothing of the cross-entropy (0: none).
    #[arg(long, default_value_t = 0.0)]
    #[serde(default)]
    pub label_smoothing: f32,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Width of the model.
    #[arg(long, default_value_t = shape().d_model)]
    pub d_model: usize,
    /// Transformer blocks.
    #[arg(long = "layers", default_value_t = shape().n_layers)]
    pub n_layers: usize,
    /// Attention heads per block.
    #[arg(long = "heads", default_value_t = shape().n_heads)]
    pub n_heads: usize,
    /// Longest history read by the model (the student's training window too).
    #[arg(long, default_value_t = shape().max_len)]
    pub max_len: usize,
    /// Dropout on embeddings and inside the blocks.
    #[arg(long, default_value_t = shape().dropout)]
    pub dropout: f64,
    /// Share of training item vectors built from text alone (helps cold start).
    #[arg(long, default_value_t = shape().id_dropout)]
    pub id_dropout: f64,
    /// Share of each block's token mixing done by a causal low-pass filter over the event
    /// sequence, next to attention (BSARec's inductive bias, made causal); 0: attention only.
    #[arg(long, default_value_t = shape().filter_alpha)]
    #[serde(default)]
    pub filter_alpha: f64,
    /// The filter keeps the lowest N frequencies of each history (BSARec's cut-off; its `c`
    /// lowest FFT bins are N = c / 2 + 1); 0: a low pass whose decay over the distance
    /// between events is learned.
    #[arg(long, default_value_t = shape().filter_frequencies)]
    #[serde(default)]
    pub filter_frequencies: usize,
    /// Mixing reads the whole history both ways and the model is trained on every prefix,
    /// predicting after its last event (BSARec's and FMLP-Rec's training); off: causal
    /// mixing, every position trained at once.
    ///
    /// On by default (`--whole-history false` for the causal teacher). The model crate's
    /// default stays off, so run folders written before this option keep their meaning.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    #[serde(default)]
    pub whole_history: bool,
    /// WordPiece vocabulary size of the catalog tokenizer.
    #[arg(long, default_value_t = 6000)]
    pub vocab_size: usize,
    /// Title tokens kept per item, or tokens of its whole text (title, brand, category,
    /// attributes) with `--attribute-tokens 0`. An item without a title gives these slots
    /// to the rest of its text.
    #[arg(long, default_value_t = 16)]
    pub title_tokens: usize,
    /// Brand, category and attribute tokens kept per item and mean-pooled apart from the
    /// title's, the two means added (0: one field, the whole text, the default before: on
    /// Beauty the two fields led it at every epoch and on test by 2% masked and 6% unmasked
    /// NDCG@10, at the same cost; on catalogs without titles they are the same table). The
    /// teacher's only: the student and the device runtime pool the whole text as one field
    /// of `--title-tokens` + `--attribute-tokens` tokens.
    #[arg(long, default_value_t = 8)]
    #[serde(default)]
    pub attribute_tokens: usize,
    /// The softmax over the catalog: `full`, a number of negatives per batch drawn by
    /// popularity (sampled softmax, logQ-corrected, the batch's own targets as in-batch
    /// negatives: an epoch costs O(events), not O(events × items)), or `auto`: full up to
    /// 100,000 items, 8,192 negatives past that.
    #[arg(long, default_value_t = Negatives::Auto)]
    #[serde(default)]
    pub negatives: Negatives,
    /// Hold this share of the catalog out of training entirely and report how well those
    /// items are ranked from their text alone (cold start).
    #[arg(long, default_value_t = 0.0)]
    pub cold_items: f64,
    /// Validate on a fixed random subset of this many users (0 = all).
    #[arg(long, default_value_t = 10_000)]
    pub valid_users: usize,
    /// Seed of initialisation, shuffling, negatives and the validation subset.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Data-parallel replicas: each step's batch is split across N replicas of the model,
    /// their gradients summed with Burn's collective all-reduce (the same training, only
    /// faster). On `--device cuda`/`wgpu` they use GPUs 0..N; on the CPU backends they share
    /// the CPU. 0 (the default): [`DeviceChoice::replicas`], one per CPU core on the CPU
    /// backends (at most 4), one GPU on the GPU backends.
    ///
    /// [`DeviceChoice::replicas`]: crate::backend::DeviceChoice::replicas
    #[arg(long, default_value_t = 0, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=64))]
    #[serde(default = "crate::settings::one_replica")]
    pub replicas: usize,
}

impl Default for TrainSettings {
    fn default() -> Self {
        crate::settings::defaults()
    }
}

impl TrainSettings {
    /// The teacher for a catalog of `n_items` with token ids below `vocab_size`.
    pub fn teacher(&self, n_items: usize, vocab_size: usize) -> TeacherConfig {
        TeacherConfig::new(n_items, vocab_size)
            .with_d_model(self.d_model)
            .with_n_layers(self.n_layers)
            .with_n_heads(self.n_heads)
            .with_max_len(self.max_len)
            .with_dropout(self.dropout)
            .with_id_dropout(self.id_dropout)
            .with_filter_alpha(self.filter_alpha)
            .with_filter_frequencies(self.filter_frequencies)
            .with_whole_history(self.whole_history)
    }

    /// The settings a run folder's checkpoint was trained with that these change, each as
    /// the flag and its saved value (`--attribute-tokens 0`): the ones that shape the model
    /// or what it reads. Resuming under other values would load the weights and change
    /// their meaning (another text layout, another kind of teacher, other held-out items).
    pub fn resume_conflicts(&self, saved: &TrainSettings) -> Vec<String> {
        let pairs = [
            ("whole-history", self.whole_history.to_string(), saved.whole_history.to_string()),
            ("d-model", self.d_model.to_string(), saved.d_model.to_string()),
            ("layers", self.n_layers.to_string(), saved.n_layers.to_string()),
            ("heads", self.n_heads.to_string(), saved.n_heads.to_string()),
            ("max-len", self.max_len.to_string(), saved.max_len.to_string()),
            ("filter-frequencies", self.filter_frequencies.to_string(), saved.filter_frequencies.to_string()),
            ("vocab-size", self.vocab_size.to_string(), saved.vocab_size.to_string()),
            ("title-tokens", self.title_tokens.to_string(), saved.title_tokens.to_string()),
            ("attribute-tokens", self.attribute_tokens.to_string(), saved.attribute_tokens.to_string()),
            ("cold-items", self.cold_items.to_string(), saved.cold_items.to_string()),
        ];
        pairs.into_iter().filter(|(_, now, was)| now != was).map(|(flag, _, was)| format!("--{flag} {was}")).collect()
    }

    /// An error naming the flags to resume a run saved with `saved` under these settings,
    /// if any differ (see [`Self::resume_conflicts`]).
    pub fn ensure_resumable(&self, saved: &TrainSettings, run_dir: &std::path::Path) -> anyhow::Result<()> {
        let conflicts = self.resume_conflicts(saved);
        anyhow::ensure!(
            conflicts.is_empty(),
            "{} was trained with {}; resume it with the same settings (or train into a new folder)",
            run_dir.display(),
            conflicts.join(" ")
        );
        Ok(())
    }

    /// The shared loop's part.
    pub fn loop_settings(&self) -> LoopSettings {
        LoopSettings {
            max_epochs: self.max_epochs,
            patience: self.patience,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            warmup_steps: self.warmup_steps,
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
        let s = TrainSettings::default();
        assert_eq!((s.max_epochs, s.patience, s.batch_size, s.valid_users, s.seed), (15, 6, 256, 10_000, 42));
        assert_eq!(s.replicas, 0, "one replica per core unless told");
        assert_eq!(s.learning_rate, 1e-3);
        assert_eq!((s.title_tokens, s.attribute_tokens, s.vocab_size), (16, 8, 6000), "two text fields, 24 tokens");
        // A run saved with one text field resumes only with one text field.
        let one_field = TrainSettings { title_tokens: 24, attribute_tokens: 0, ..s.clone() };
        assert_eq!(s.resume_conflicts(&one_field), ["--title-tokens 24", "--attribute-tokens 0"]);
        let longer = TrainSettings { max_epochs: 25, replicas: 2, ..one_field.clone() };
        assert!(longer.resume_conflicts(&one_field).is_empty(), "epochs and replicas may change");
        let err = s.ensure_resumable(&one_field, std::path::Path::new("runs/beauty")).unwrap_err().to_string();
        assert!(err.starts_with("runs/beauty was trained with --title-tokens 24 --attribute-tokens 0;"), "{err}");
        // The trainer's teacher reads whole histories; the model crate's plain default does not.
        assert!(s.whole_history && s.teacher(7, 3).whole_history);
        assert!(!TeacherConfig::new(7, 3).whole_history);
        let t = s.teacher(7, 3);
        let m = TeacherConfig::new(7, 3);
        assert_eq!(
            (
                t.d_model,
                t.n_layers,
                t.n_heads,
                t.max_len,
                t.dropout,
                t.id_dropout,
                t.filter_alpha,
                t.filter_frequencies
            ),
            (
                m.d_model,
                m.n_layers,
                m.n_heads,
                m.max_len,
                m.dropout,
                m.id_dropout,
                m.filter_alpha,
                m.filter_frequencies
            )
        );
    }
}
