//! Training the teacher: next-item prediction at every position of each shopper's training
//! sequence, full softmax cross-entropy over the catalog, AdamW, early stopping on the
//! validation NDCG@10 (full ranking, masked), a checkpoint every epoch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use pocketrank_model::metrics::{MetricSet, SampledNegatives};
use pocketrank_model::teacher::{ItemText, Teacher, TeacherConfig, TeacherScorer};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{EvalCase, ItemIdx, LeaveOneOut};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::evaluate::{evaluate_with_progress, progress_bar};

/// Optimisation settings of a teacher run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSettings {
    pub model: TeacherConfig,
    pub max_epochs: usize,
    /// Stop after this many epochs without a better validation NDCG@10.
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f32,
    pub seed: u64,
    /// Validate on at most this many users (all when `None`).
    pub valid_users: Option<usize>,
    /// Sampled softmax: uniformly drawn negatives shared by a batch, besides the batch's
    /// own targets. 0 = full softmax over the catalog.
    pub negatives: usize,
}

/// One epoch's log line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub loss: f64,
    pub valid: MetricSet,
    pub train_seconds: f64,
    pub valid_seconds: f64,
    /// Predicted positions (training targets) per second.
    pub targets_per_second: f64,
}

/// What the run folder's `state.json` holds: enough to resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    pub settings: TrainSettings,
    pub epochs: Vec<EpochLog>,
    pub best_epoch: Option<usize>,
    pub best_ndcg10: f64,
    pub finished: bool,
    /// Why training stopped early (NaN loss), when it did.
    pub stopped: Option<String>,
}

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// File layout of a run folder's checkpoints.
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.join("checkpoints") }
    }
    fn last_model(&self) -> PathBuf {
        self.dir.join("last-model")
    }
    fn last_optimizer(&self) -> PathBuf {
        self.dir.join("last-optimizer")
    }
    /// The best model so far (by validation NDCG@10).
    pub fn best_model(&self) -> PathBuf {
        self.dir.join("best-model")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Loads the saved state, if any.
    pub fn load_state(&self) -> anyhow::Result<Option<TrainState>> {
        let path = self.state();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?))
    }

    fn save_state(&self, state: &TrainState) -> anyhow::Result<()> {
        let tmp = self.dir.join("state.json.partial");
        std::fs::write(&tmp, serde_json::to_string_pretty(state)?)?;
        std::fs::rename(&tmp, self.state())?;
        Ok(())
    }

    /// Loads a saved teacher into `model`'s structure.
    pub fn load_model<B: Backend>(
        &self,
        model: Teacher<B>,
        path: &Path,
        device: &B::Device,
    ) -> anyhow::Result<Teacher<B>> {
        model.load_file(path, &Rec::new(), device).with_context(|| format!("loading {}", path.display()))
    }
}

/// One batch of training sequences, over a local item table: the batch only computes
/// the vectors of the items it reads or scores.
struct Batch<B: Backend> {
    /// `[k]` shifted item ids of the local table; entry 0 is padding.
    table: Tensor<B, 1, Int>,
    /// `[batch, len]` indices into `table`, right-padded with 0.
    inputs: Tensor<B, 2, Int>,
    /// Flat `batch * len` indices of positions that have a next item.
    positions: Tensor<B, 1, Int>,
    /// `[c]` indices into `table` of the items scored at every position.
    candidates: Tensor<B, 1, Int>,
    /// The next item at each position, as a column of `candidates`.
    targets: Tensor<B, 1, Int>,
    n_targets: usize,
}

/// Maps shifted item ids to rows of a batch's local table.
struct LocalTable {
    rows: HashMap<i64, i64>,
    ids: Vec<i64>,
}

impl LocalTable {
    fn new() -> Self {
        Self { rows: HashMap::from([(0, 0)]), ids: vec![0] }
    }
    fn row(&mut self, shifted: i64) -> i64 {
        let next = self.ids.len() as i64;
        *self.rows.entry(shifted).or_insert_with(|| {
            self.ids.push(shifted);
            next
        })
    }
}

/// Builds a batch from sequences of at least 2 items (each already cut to `max_len + 1`).
/// With `negatives > 0` the candidates are the batch's targets plus that many distinct
/// items drawn uniformly from `catalog` (sampled softmax); with 0, all of `catalog` (full
/// softmax). `catalog` lists the items that exist at training time.
fn make_batch<B: Backend>(
    seqs: &[&[ItemIdx]],
    catalog: &[ItemIdx],
    negatives: usize,
    rng: &mut StdRng,
    device: &B::Device,
) -> Batch<B> {
    let mut table = LocalTable::new();
    if negatives == 0 {
        for &i in catalog {
            table.row(i64::from(i) + 1);
        }
    }
    let len = seqs.iter().map(|s| s.len() - 1).max().unwrap_or(1).max(1);
    let mut inputs = vec![0i64; seqs.len() * len];
    let (mut positions, mut next_items) = (Vec::new(), Vec::new());
    for (b, s) in seqs.iter().enumerate() {
        for t in 0..s.len() - 1 {
            inputs[b * len + t] = table.row(i64::from(s[t]) + 1);
            positions.push((b * len + t) as i64);
            next_items.push(i64::from(s[t + 1]) + 1);
        }
    }
    // Candidate columns: every catalog item, or the targets then fresh negatives.
    let mut columns = LocalTable { rows: HashMap::new(), ids: Vec::new() };
    let mut candidates: Vec<i64> = Vec::new();
    let mut add = |shifted: i64, table: &mut LocalTable, columns: &mut LocalTable| {
        let before = columns.ids.len();
        let col = columns.row(shifted);
        if columns.ids.len() > before {
            candidates.push(table.row(shifted));
        }
        col
    };
    if negatives == 0 {
        for &i in catalog {
            add(i64::from(i) + 1, &mut table, &mut columns);
        }
    }
    let targets: Vec<i64> = next_items.iter().map(|&i| add(i, &mut table, &mut columns)).collect();
    if negatives > 0 {
        let wanted = (columns.ids.len() + negatives).min(catalog.len());
        while columns.ids.len() < wanted {
            let i = catalog[rng.random_range(0..catalog.len())];
            add(i64::from(i) + 1, &mut table, &mut columns);
        }
    }
    let (n, c, k) = (targets.len(), candidates.len(), table.ids.len());
    Batch {
        table: Tensor::from_data(TensorData::new(table.ids, [k]), device),
        inputs: Tensor::from_data(TensorData::new(inputs, [seqs.len(), len]), device),
        positions: Tensor::from_data(TensorData::new(positions, [n]), device),
        candidates: Tensor::from_data(TensorData::new(candidates, [c]), device),
        targets: Tensor::from_data(TensorData::new(targets, [n]), device),
        n_targets: n,
    }
}

/// Training sequences cut to the model's window; users with fewer than 2 training events
/// have nothing to predict and are left out.
pub fn training_sequences(split: &LeaveOneOut, max_len: usize) -> Vec<&[ItemIdx]> {
    split.train.iter().filter(|s| s.len() >= 2).map(|s| &s[s.len().saturating_sub(max_len + 1)..]).collect()
}

/// Batches of similar length (little padding), in a seeded random order.
fn epoch_batches<'a>(seqs: &[&'a [ItemIdx]], batch_size: usize, rng: &mut StdRng) -> Vec<Vec<&'a [ItemIdx]>> {
    let mut order: Vec<&[ItemIdx]> = seqs.to_vec();
    order.shuffle(rng);
    order.sort_by_key(|s| s.len());
    let mut batches: Vec<Vec<&[ItemIdx]>> = order.chunks(batch_size.max(1)).map(<[_]>::to_vec).collect();
    batches.shuffle(rng);
    batches
}

/// Mean cross-entropy of one batch.
fn batch_loss<B: Backend>(model: &Teacher<B>, text: &ItemText<B>, batch: Batch<B>) -> Tensor<B, 1> {
    let items = model.item_vectors_of(text, batch.table); // [k, d]
    let hidden = model.forward(batch.inputs, items.clone());
    let [b, l, d] = hidden.dims();
    let rows = hidden.reshape([b * l, d]).select(0, batch.positions);
    let logits = model.candidate_logits(rows, items, batch.candidates);
    CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, batch.targets)
}

/// Validation cases (a fixed, seeded subset when `limit` is set).
fn validation_cases(split: &LeaveOneOut, limit: Option<usize>, seed: u64) -> Vec<EvalCase> {
    let mut cases = split.valid.clone();
    if let Some(n) = limit.filter(|&n| n < cases.len()) {
        cases.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5eed));
        cases.truncate(n);
        cases.sort_by_key(|c| c.user);
    }
    cases
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

/// Trains (or resumes training of) a teacher in `run_dir`; returns the final state. The
/// best model is in [`Checkpoints::best_model`]. `held_out` items (cold-start evaluation)
/// do not exist for training: never inputs, targets or negatives.
#[allow(clippy::too_many_arguments)]
pub fn train<B: AutodiffBackend>(
    device: &B::Device,
    split: &LeaveOneOut,
    held_out: Option<&[bool]>,
    tokens: &ItemTokens,
    settings: TrainSettings,
    run_dir: &Path,
    resume: bool,
    log: &dyn Fn(&str),
) -> anyhow::Result<TrainState> {
    let ckpt = Checkpoints::new(run_dir);
    std::fs::create_dir_all(&ckpt.dir).with_context(|| format!("creating {}", ckpt.dir.display()))?;
    B::seed(device, settings.seed);
    let mut model: Teacher<B> = settings.model.init(device);
    let mut optim = AdamWConfig::new().with_weight_decay(settings.weight_decay).init::<B, Teacher<B>>();
    let mut state = TrainState {
        settings: settings.clone(),
        epochs: Vec::new(),
        best_epoch: None,
        best_ndcg10: 0.0,
        finished: false,
        stopped: None,
    };
    if resume && let Some(saved) = ckpt.load_state()? {
        if saved.finished {
            log("the run already finished; nothing to resume");
            return Ok(saved);
        }
        if !saved.epochs.is_empty() {
            model = ckpt.load_model(model, &ckpt.last_model(), device)?;
            let record = Rec::new()
                .load(ckpt.last_optimizer(), device)
                .with_context(|| format!("loading {}", ckpt.last_optimizer().display()))?;
            optim = optim.load_record(record);
            log(&format!("resuming after epoch {}", saved.epochs.len()));
        }
        state = TrainState { settings: settings.clone(), ..saved };
    }

    let text = ItemText::<B>::new(tokens, device);
    let valid_text = ItemText::<B::InnerBackend>::new(tokens, device);
    let seqs = training_sequences(split, settings.model.max_len);
    let n_targets: usize = seqs.iter().map(|s| s.len() - 1).sum();
    let valid_cases = validation_cases(split, settings.valid_users, settings.seed);
    let n_items = settings.model.n_items;
    let catalog: Vec<ItemIdx> = (0..n_items as ItemIdx)
        .filter(|&i| held_out.is_none_or(|h| !h.get(i as usize).copied().unwrap_or(false)))
        .collect();
    let valid_negatives =
        SampledNegatives::draw(&valid_cases, split, n_items, SampledNegatives::STANDARD, settings.seed);
    log(&format!(
        "{} training sequences, {} targets per epoch, {} validation users",
        seqs.len(),
        n_targets,
        valid_cases.len()
    ));

    let mut since_best = state.best_epoch.map_or(0, |b| state.epochs.len() - b);
    for epoch in state.epochs.len() + 1..=settings.max_epochs {
        if since_best >= settings.patience {
            break;
        }
        let mut rng = StdRng::seed_from_u64(settings.seed.wrapping_add(epoch as u64));
        let batches = epoch_batches(&seqs, settings.batch_size, &mut rng);
        let bar = progress_bar(batches.len() as u64, &format!("epoch {epoch}"));
        let started = Instant::now();
        let (mut loss_sum, mut loss_n) = (0.0, 0usize);
        for batch in batches {
            let batch = make_batch::<B>(&batch, &catalog, settings.negatives, &mut rng, device);
            let n = batch.n_targets;
            let loss = batch_loss(&model, &text, batch);
            let value: f64 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                bar.abandon();
                let msg = format!(
                    "loss became {value} in epoch {epoch}; stopping. The last good checkpoint is {} (epoch {}). Try a lower --lr.",
                    ckpt.last_model().display(),
                    state.epochs.len()
                );
                state.stopped = Some(msg.clone());
                ckpt.save_state(&state)?;
                bail!(msg);
            }
            loss_sum += value * n as f64;
            loss_n += n;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(settings.learning_rate, model, grads);
            bar.inc(1);
            bar.set_message(format!("epoch {epoch} loss {:.3}", loss_sum / loss_n.max(1) as f64));
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let eval = evaluate_teacher(model.valid(), &valid_text, &valid_cases, &valid_negatives, device, "validating");
        let valid_seconds = started.elapsed().as_secs_f64();
        let entry = EpochLog {
            epoch,
            loss: loss_sum / loss_n.max(1) as f64,
            valid: eval.full_masked,
            train_seconds,
            valid_seconds,
            targets_per_second: n_targets as f64 / train_seconds,
        };
        log(&format!(
            "epoch {epoch:>3}  loss {:.4}  valid NDCG@10 {:.4}  HR@10 {:.4}  ({:.0} s train, {:.0} targets/s, {:.0} s valid)",
            entry.loss, entry.valid.ndcg10, entry.valid.hr10, train_seconds, entry.targets_per_second, valid_seconds
        ));
        model.clone().save_file(ckpt.last_model(), &Rec::new())?;
        Rec::new().record(optim.to_record(), ckpt.last_optimizer())?;
        if entry.valid.ndcg10 > state.best_ndcg10 || state.best_epoch.is_none() {
            state.best_ndcg10 = entry.valid.ndcg10;
            state.best_epoch = Some(epoch);
            model.clone().save_file(ckpt.best_model(), &Rec::new())?;
            since_best = 0;
        } else {
            since_best += 1;
        }
        state.epochs.push(entry);
        ckpt.save_state(&state)?;
    }
    state.finished = true;
    ckpt.save_state(&state)?;
    Ok(state)
}
