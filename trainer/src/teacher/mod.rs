//! Training the teacher: next-item prediction at every position of each shopper's training
//! sequence, full (or sampled) softmax cross-entropy over the catalog, AdamW, early
//! stopping on the validation NDCG@10 (full ranking, masked), a checkpoint every epoch.

pub mod batch;
pub mod checkpoints;
pub mod negatives;
pub mod settings;

use std::path::Path;

use anyhow::Context;
use burn::optim::AdamWConfig;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use pocketrank_model::metrics::{MetricSet, SampledNegatives};
use pocketrank_model::teacher::{ItemText, Teacher, TeacherConfig, TeacherScorer};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{EvalCase, ItemIdx, LeaveOneOut};
use rand::rngs::StdRng;

pub use checkpoints::{Checkpoints, TrainState};
pub use negatives::{NegativeSampler, Negatives};
pub use settings::TrainSettings;

use crate::evaluation::evaluate_with_progress;
use crate::training::{self, History, Objective, Validation};
use batch::{TeacherBatch, batch_loss};

/// Training sequences cut to the model's window; users with fewer than 2 training events
/// have nothing to predict and are left out.
pub fn training_sequences(split: &LeaveOneOut, max_len: usize) -> Vec<&[ItemIdx]> {
    split.train.iter().filter(|s| s.len() >= 2).map(|s| &s[s.len().saturating_sub(max_len + 1)..]).collect()
}

/// Every prefix of the training sequences that has something to predict, each cut to the
/// model's window plus its target: the examples of a whole-history model, which predicts
/// only after a history's last event.
pub fn training_prefixes(split: &LeaveOneOut, max_len: usize) -> Vec<&[ItemIdx]> {
    split.train.iter().flat_map(|s| (2..=s.len()).map(move |end| &s[end.saturating_sub(max_len + 1)..end])).collect()
}

/// Evaluates a teacher on cases under all protocols.
pub fn evaluate_teacher<B: Backend>(
    model: Teacher<B>,
    text: &ItemText<B>,
    cases: &[EvalCase],
    negatives: &SampledNegatives,
    device: &B::Device,
    label: &str,
) -> pocketrank_model::Evaluation {
    let scorer = TeacherScorer::new(model, text, device);
    evaluate_with_progress(&scorer, cases, negatives, label)
}

/// What teacher training reads.
pub struct TrainInputs<'a> {
    pub split: &'a LeaveOneOut,
    /// Items held out of training entirely (cold-start evaluation): never inputs, targets
    /// or negatives.
    pub held_out: Option<&'a [bool]>,
    pub tokens: &'a ItemTokens,
}

/// The teacher as the shared loop's [`Objective`].
struct TeacherObjective<'a, B: AutodiffBackend> {
    /// Training sequences, or for a whole-history model every prefix (its last item the
    /// only target).
    seqs: Vec<&'a [ItemIdx]>,
    last_only: bool,
    lengths: Vec<usize>,
    targets: usize,
    /// Items that exist at training time.
    catalog: Vec<ItemIdx>,
    /// The sampled softmax's sampler and negatives per batch; `None`: full softmax.
    sampled: Option<(NegativeSampler, usize)>,
    label_smoothing: f32,
    text: ItemText<B>,
    valid_text: ItemText<B::InnerBackend>,
    validation: Validation,
    device: B::Device,
}

impl<B: AutodiffBackend> Objective<B, Teacher<B>> for TeacherObjective<'_, B> {
    fn name(&self) -> &str {
        "teacher"
    }

    fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    fn targets(&self) -> usize {
        self.targets
    }

    fn device(&self) -> &B::Device {
        &self.device
    }

    fn loss(&self, model: &Teacher<B>, batch: &[usize], rng: &mut StdRng, device: &B::Device) -> (Tensor<B, 1>, usize) {
        let seqs: Vec<&[ItemIdx]> = batch.iter().map(|&i| self.seqs[i]).collect();
        let sampled = self.sampled.as_ref().map(|(sampler, n)| (sampler, *n));
        let batch = TeacherBatch::<B>::new(&seqs, self.last_only, &self.catalog, sampled, rng, device);
        let n = batch.n_targets;
        let text = if device == &self.device { self.text.clone() } else { self.text.to_device(device) };
        (batch_loss(model, &text, batch, self.label_smoothing), n)
    }

    fn validate(&self, model: &Teacher<B::InnerBackend>) -> anyhow::Result<MetricSet> {
        let v = &self.validation;
        let eval =
            evaluate_teacher(model.clone(), &self.valid_text, &v.cases, &v.negatives, &self.device, "validating");
        Ok(eval.full_masked)
    }
}

/// Trains (or, with `resume`, continues training of) a `config` teacher in `run_dir`;
/// returns the final state. The best model is in [`Checkpoints::best_model`].
#[allow(clippy::too_many_arguments)]
pub fn train<B: AutodiffBackend>(
    device: &B::Device,
    inputs: &TrainInputs<'_>,
    config: &TeacherConfig,
    settings: &TrainSettings,
    run_dir: &Path,
    resume: bool,
    log: &dyn Fn(&str),
) -> anyhow::Result<TrainState> {
    let ckpt = Checkpoints::new(run_dir);
    std::fs::create_dir_all(ckpt.dir()).with_context(|| format!("creating {}", ckpt.dir().display()))?;
    B::seed(device, settings.seed);
    let mut model: Teacher<B> = config.init(device);
    let mut optim = AdamWConfig::new().with_weight_decay(settings.weight_decay).init::<B, Teacher<B>>();
    let mut history = History::default();
    if resume && let Some(saved) = ckpt.load_state()? {
        settings.ensure_resumable(&saved.settings, run_dir)?;
        // A run that used up its epochs (no early stop, no failure) trains on when resumed
        // with more of them; the per-epoch seeds make that the same as one longer run (with
        // `--schedule cosine` the decay is re-planned over the new length).
        let more_epochs = saved.history.stopped.is_none()
            && saved.history.since_best() < settings.patience
            && saved.history.epochs.len() < settings.max_epochs;
        if saved.finished && !more_epochs {
            log("the run already finished; nothing to resume");
            return Ok(saved);
        }
        if !saved.history.epochs.is_empty() {
            (model, optim) = ckpt.load_last(model, optim, device)?;
            log(&format!("resuming after epoch {}", saved.history.epochs.len()));
        }
        history = saved.history;
    }

    let last_only = config.whole_history;
    let seqs = if last_only {
        training_prefixes(inputs.split, config.max_len)
    } else {
        training_sequences(inputs.split, config.max_len)
    };
    let lengths: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
    let targets: usize = if last_only { seqs.len() } else { seqs.iter().map(|s| s.len() - 1).sum() };
    let held_out = inputs.held_out;
    let catalog: Vec<ItemIdx> = (0..config.n_items as ItemIdx)
        .filter(|&i| held_out.is_none_or(|h| !h.get(i as usize).copied().unwrap_or(false)))
        .collect();
    let validation = Validation::new(inputs.split, config.n_items, settings.valid_users, settings.seed);
    let sampled = match settings.negatives.resolve(catalog.len()) {
        Some(n) => {
            log(&format!("sampled softmax: {n} negatives per batch by popularity, logQ-corrected"));
            Some((NegativeSampler::new(&catalog, config.n_items, &seqs)?, n))
        }
        None => None,
    };
    log(&format!(
        "{} training sequences, {} targets per epoch, {} validation users",
        seqs.len(),
        targets,
        validation.cases.len()
    ));
    let objective = TeacherObjective::<B> {
        seqs,
        last_only,
        lengths,
        targets,
        catalog,
        sampled,
        label_smoothing: settings.label_smoothing,
        text: ItemText::new(inputs.tokens, device),
        valid_text: ItemText::new(inputs.tokens, device),
        validation,
        device: device.clone(),
    };
    let mut keeper = checkpoints::TeacherKeeper { checkpoints: &ckpt, settings };
    let result = training::fit(&objective, &mut keeper, model, optim, &settings.loop_settings(), &mut history, log);
    result?;
    let state = TrainState { settings: settings.clone(), history, finished: true };
    ckpt.save_state(&state)?;
    Ok(state)
}

/// The best teacher of a finished run, on a backend without autodiff.
pub fn load_best<B: Backend>(run_dir: &Path, config: &TeacherConfig, device: &B::Device) -> anyhow::Result<Teacher<B>> {
    let ckpt = Checkpoints::new(run_dir);
    ckpt.load_model(config.init::<B>(device), &ckpt.best_model(), device)
}
