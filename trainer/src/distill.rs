//! Distilling the student from the teacher.
//!
//! 1. The teacher scores the whole catalog at every position of every training sequence.
//!    Each position keeps a candidate list: the true next item, the teacher's hardest
//!    negatives and uniform random items, with the teacher's scores for them.
//! 2. The student reads the same events one at a time (its GRU profile) and is trained on
//!    those lists: listwise KL to the teacher's softmax at temperature `T` (scaled by `T²`)
//!    plus cross-entropy on the true next item.
//! 3. Each epoch the student is exported to the on-device [`Ranker`] and validated there
//!    (full ranking, masked NDCG@10): what is measured is what ships.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use pocketrank_runtime::artifact::{Artifact, Dims, Encoding, Manifest};
use pocketrank_model::metrics::{CaseScorer, SampledNegatives};
use pocketrank_model::student::{CONTEXT_FEATURES, EVENT_FEATURES, Student, StudentConfig, event_features};
use pocketrank_model::teacher::{ItemText, Teacher, history_batch};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{EvalCase, Interaction, ItemIdx, LeaveOneOut, MetricSet};
use pocketrank_runtime::Ranker;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::evaluate::{evaluate_with_progress, progress_bar};

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// Settings of a distillation run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistillSettings {
    pub student: StudentConfig,
    pub max_epochs: usize,
    /// Epochs without a better validation NDCG@10 before stopping.
    pub patience: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Softmax temperature of the listwise KL term.
    pub temperature: f64,
    /// Weight of the ground-truth cross-entropy term.
    pub ce_weight: f64,
    /// Weight of the hint term: mean squared distance between the student's query and the
    /// teacher's hidden state (used when their widths match).
    pub hint_weight: f64,
    /// Teacher's top-scored non-target items per candidate list.
    pub hard_negatives: usize,
    /// Uniform random items per candidate list.
    pub random_negatives: usize,
    /// Share of lists trained without context (no server score, position 0).
    pub context_dropout: f64,
    /// Events read per training window.
    pub max_len: usize,
    pub valid_users: usize,
    pub seed: u64,
}

impl DistillSettings {
    /// Defaults for a catalog of `n_items` with a `vocab_size` token vocabulary.
    pub fn new(n_items: usize, vocab_size: usize) -> Self {
        Self {
            student: StudentConfig::new(n_items, vocab_size).with_d(64),
            max_epochs: 14,
            patience: 3,
            batch_size: 128,
            learning_rate: 3e-3,
            temperature: 2.0,
            ce_weight: 0.5,
            hint_weight: 4.0,
            hard_negatives: 48,
            random_negatives: 96,
            context_dropout: 0.5,
            max_len: 50,
            valid_users: 3000,
            seed: 42,
        }
    }

    fn list_len(&self) -> usize {
        1 + self.hard_negatives + self.random_negatives
    }
}

/// Where a run keeps its student.
pub struct StudentDir {
    pub root: PathBuf,
}

impl StudentDir {
    pub fn new(run_dir: &Path) -> Self {
        Self { root: run_dir.join("student") }
    }
    pub fn model(&self) -> PathBuf {
        self.root.join("model.mpk")
    }
    pub fn settings(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("metrics.json")
    }

    /// Loads the saved student.
    pub fn load<B: Backend>(&self, device: &B::Device) -> anyhow::Result<(DistillSettings, Student<B>)> {
        let settings: DistillSettings = serde_json::from_str(
            &std::fs::read_to_string(self.settings())
                .with_context(|| format!("reading {}", self.settings().display()))?,
        )?;
        let model = settings
            .student
            .init::<B>(device)
            .load_file(self.model(), &Rec::new(), device)
            .with_context(|| format!("loading {}", self.model().display()))?;
        Ok((settings, model))
    }
}

/// One shopper's training window: items and per-event features.
pub struct Window<'a> {
    pub items: &'a [ItemIdx],
    pub features: Vec<[f32; EVENT_FEATURES]>,
}

/// Event features of `events[..n]` (gaps from the previous event; 0 for the first).
pub fn features_of(events: &[Interaction]) -> Vec<[f32; EVENT_FEATURES]> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let gap = if i == 0 { 0.0 } else { (e.ts - events[i - 1].ts) as f64 };
            event_features(e.kind, gap)
        })
        .collect()
}

/// The last `max_len + 1` training events of every shopper with at least two.
pub fn training_windows<'a>(split: &'a LeaveOneOut, events: &[Vec<Interaction>], max_len: usize) -> Vec<Window<'a>> {
    split
        .train
        .iter()
        .zip(events)
        .filter(|(s, _)| s.len() >= 2)
        .map(|(s, ev)| {
            let start = s.len().saturating_sub(max_len + 1);
            let all = features_of(&ev[..s.len()]);
            Window { items: &s[start..], features: all[start..].to_vec() }
        })
        .collect()
}

/// The teacher's candidate lists for every predicted position of every window.
pub struct TeacherLists {
    /// Items per list; the true next item is first.
    pub k: usize,
    /// `[rows, k]` candidate items.
    pub items: Vec<ItemIdx>,
    /// `[rows, k]` teacher scores.
    pub scores: Vec<f32>,
    /// `[rows, d_teacher]` the teacher's hidden state at each position.
    pub hidden: Vec<f32>,
    pub d_teacher: usize,
    /// First row of each window (rows of window `w` are `first[w]..first[w] + len - 1`).
    pub first: Vec<usize>,
}

/// Scores every training position with the teacher and keeps its candidate lists.
pub fn teacher_lists<B: Backend>(
    teacher: &Teacher<B>,
    text: &ItemText<B>,
    windows: &[Window<'_>],
    settings: &DistillSettings,
    device: &B::Device,
) -> TeacherLists {
    let k = settings.list_len();
    let table = teacher.item_vectors(text);
    let n_items = table.dims()[0] - 1;
    let mut rng = StdRng::seed_from_u64(settings.seed ^ 0xd157);
    let rows: usize = windows.iter().map(|w| w.items.len() - 1).sum();
    let (mut items, mut scores) = (Vec::with_capacity(rows * k), Vec::with_capacity(rows * k));
    let mut first = Vec::with_capacity(windows.len());
    let bar = progress_bar(windows.len() as u64, "teacher lists");
    let mut order: Vec<ItemIdx> = Vec::with_capacity(n_items);
    let (mut hidden_out, mut d_teacher) = (Vec::new(), 0);
    for chunk in windows.chunks(64) {
        let inputs: Vec<&[ItemIdx]> = chunk.iter().map(|w| &w.items[..w.items.len() - 1]).collect();
        let (seq, lengths) = history_batch::<B>(&inputs, usize::MAX, device);
        let [b, len] = seq.dims();
        let hidden = teacher.forward(seq, table.clone());
        let d = hidden.dims()[2];
        let flat: Vec<i64> =
            lengths.iter().enumerate().flat_map(|(i, &l)| (0..l).map(move |t| (i * len + t) as i64)).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(flat.clone(), [flat.len()]), device);
        let rows_hidden = hidden.reshape([b * len, d]).select(0, index);
        hidden_out.extend(rows_hidden.clone().into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
        d_teacher = d;
        let logits = teacher.logits(rows_hidden, table.clone());
        let logits = logits.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
        let mut row = 0;
        for w in chunk {
            first.push(items.len() / k);
            for t in 0..w.items.len() - 1 {
                let s = &logits[row * n_items..(row + 1) * n_items];
                row += 1;
                let target = w.items[t + 1];
                items.push(target);
                scores.push(s[target as usize]);
                order.clear();
                order.extend((0..n_items as u32).filter(|&i| i != target));
                let h = settings.hard_negatives.min(order.len());
                if h > 0 && h < order.len() {
                    order.select_nth_unstable_by(h - 1, |&a, &b| s[b as usize].total_cmp(&s[a as usize]));
                }
                for &i in &order[..h] {
                    items.push(i);
                    scores.push(s[i as usize]);
                }
                for _ in 0..k - 1 - h {
                    let mut i = rng.random_range(0..n_items as u32);
                    if i == target {
                        i = (i + 1) % n_items as u32;
                    }
                    items.push(i);
                    scores.push(s[i as usize]);
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    TeacherLists { k, items, scores, first, hidden: hidden_out, d_teacher }
}

/// Standardised log popularity in the training sequences: the stand-in for a shop's
/// server score while training.
pub fn popularity_scores(split: &LeaveOneOut, n_items: usize) -> Vec<f32> {
    let mut counts = vec![0f32; n_items];
    for &i in split.train.iter().flatten() {
        if let Some(c) = counts.get_mut(i as usize) {
            *c += 1.0;
        }
    }
    let logs: Vec<f32> = counts.iter().map(|c| c.ln_1p()).collect();
    let mean = logs.iter().sum::<f32>() / n_items.max(1) as f32;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n_items.max(1) as f32;
    let std = var.sqrt().max(1e-6);
    logs.iter().map(|x| (x - mean) / std).collect()
}

struct Batch<B: Backend> {
    table: Tensor<B, 1, Int>,
    inputs: Tensor<B, 1, Int>,
    events: Tensor<B, 3>,
    rows: Tensor<B, 1, Int>,
    candidates: Tensor<B, 1, Int>,
    context: Tensor<B, 3>,
    teacher: Tensor<B, 2>,
    /// `[r, d_teacher]`.
    hint: Tensor<B, 2>,
    shape: [usize; 3],
}

/// One training batch: `windows` with `first_rows[i]`, the first row of window `i`'s
/// teacher lists.
fn make_batch<B: Backend>(
    windows: &[&Window<'_>],
    first_rows: &[usize],
    teacher: &TeacherLists,
    popularity: &[f32],
    settings: &DistillSettings,
    rng: &mut StdRng,
    device: &B::Device,
) -> Batch<B> {
    let k = teacher.k;
    let len = windows.iter().map(|w| w.items.len() - 1).max().unwrap_or(1).max(1);
    let b = windows.len();
    let mut local: HashMap<i64, i64> = HashMap::new();
    let mut table = vec![0i64];
    local.insert(0, 0);
    let mut slot = |shifted: i64| -> i64 {
        *local.entry(shifted).or_insert_with(|| {
            table.push(shifted);
            table.len() as i64 - 1
        })
    };
    let mut inputs = vec![0i64; b * len];
    let mut events = vec![0f32; b * len * EVENT_FEATURES];
    let (mut rows, mut candidates, mut context, mut scores) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let dt = teacher.d_teacher;
    let mut hint = Vec::new();
    for (i, (w, &first)) in windows.iter().zip(first_rows).enumerate() {
        for t in 0..w.items.len() - 1 {
            inputs[i * len + t] = slot(i64::from(w.items[t]) + 1);
            events[(i * len + t) * EVENT_FEATURES..][..EVENT_FEATURES].copy_from_slice(&w.features[t]);
            rows.push((i * len + t) as i64);
            let r = first + t;
            let items = &teacher.items[r * k..(r + 1) * k];
            candidates.extend(items.iter().map(|&c| slot(i64::from(c) + 1)));
            scores.extend_from_slice(&teacher.scores[r * k..(r + 1) * k]);
            hint.extend_from_slice(&teacher.hidden[r * dt..(r + 1) * dt]);
            if rng.random_bool(settings.context_dropout) {
                context.extend(std::iter::repeat_n(0.0, k * CONTEXT_FEATURES));
            } else {
                let mut by_pop: Vec<usize> = (0..k).collect();
                by_pop.sort_by(|&a, &b| popularity[items[b] as usize].total_cmp(&popularity[items[a] as usize]));
                let mut position = vec![0usize; k];
                for (p, &c) in by_pop.iter().enumerate() {
                    position[c] = p;
                }
                for (c, &item) in items.iter().enumerate() {
                    context.extend(pocketrank_model::student::context_features(
                        Some(popularity[item as usize]),
                        position[c],
                    ));
                }
            }
        }
    }
    let r = rows.len();
    let int = |v: Vec<i64>| {
        let n = v.len();
        Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device)
    };
    Batch {
        table: int(table),
        inputs: int(inputs),
        events: Tensor::from_data(TensorData::new(events, [b, len, EVENT_FEATURES]), device),
        rows: int(rows),
        candidates: int(candidates),
        context: Tensor::from_data(TensorData::new(context, [r, k, CONTEXT_FEATURES]), device),
        teacher: Tensor::from_data(TensorData::new(scores, [r, k]), device),
        hint: Tensor::from_data(TensorData::new(hint, [r, dt]), device),
        shape: [b, len, r],
    }
}

/// KL to the teacher's tempered softmax (× T²) plus ground-truth cross-entropy.
fn batch_loss<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    batch: Batch<B>,
    settings: &DistillSettings,
) -> Tensor<B, 1> {
    let [b, len, r] = batch.shape;
    let d = model.d();
    let k = batch.teacher.dims()[1];
    let vectors = model.item_vectors_of(text, batch.table); // [t, d]
    let x = vectors.clone().select(0, batch.inputs).reshape([b, len, d]);
    let profiles = model.profiles(x, batch.events).reshape([b * len, d]).select(0, batch.rows); // [r, d]
    let candidates = vectors.select(0, batch.candidates).reshape([r, k, d]);
    let hint = if settings.hint_weight > 0.0 && batch.hint.dims()[1] == d {
        let diff = model.query(profiles.clone()) - batch.hint;
        Some((diff.clone() * diff).mean() * settings.hint_weight)
    } else {
        None
    };
    let scores = model.score(profiles, candidates, batch.context); // [r, k]
    let t = settings.temperature;
    let teacher = softmax(batch.teacher.clone() / t, 1);
    let teacher_log = log_softmax(batch.teacher / t, 1);
    let student_log = log_softmax(scores.clone() / t, 1);
    let kl = (teacher * (teacher_log - student_log)).sum_dim(1).mean() * (t * t);
    let ce = log_softmax(scores, 1).narrow(1, 0, 1).mean().neg();
    let loss = kl + ce * settings.ce_weight;
    match hint {
        Some(h) => loss + h,
        None => loss,
    }
}

/// The runtime for a student, built in memory the way an artifact would be.
pub fn ranker_of<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    manifest: Manifest,
    encoding: Encoding,
    tokenizer: Option<String>,
) -> anyhow::Result<(Ranker, Vec<u8>)> {
    let mut tensors = model.export_tensors(text);
    if tokenizer.is_none() {
        // Without a tokenizer the runtime has no text path: leave its table out.
        tensors.remove("tokens");
    }
    // Every matrix is stored like the item table (biases and vectors stay f32).
    let encodings: HashMap<String, Encoding> =
        tensors.iter().filter(|(_, w)| w.shape.len() == 2).map(|(name, _)| (name.clone(), encoding)).collect();
    let artifact = Artifact::new(manifest, tensors, tokenizer);
    let bytes = artifact.encode(&encodings)?;
    Ok((Ranker::from_bytes(&bytes)?, bytes))
}

/// A manifest without the record fields (filled at export).
pub fn bare_manifest(item_ids: Vec<String>, settings: &DistillSettings, title_tokens: usize) -> Manifest {
    let s = &settings.student;
    let dims = Dims { n_items: s.n_items, d: s.d, hidden: s.hidden, vocab_size: s.vocab_size.max(1), title_tokens };
    Manifest {
        training: serde_json::to_value(settings).unwrap_or_default(),
        ..Manifest::new(dims, item_ids, "", Encoding::F32)
    }
}

/// Scores evaluation cases with a [`Ranker`]: each case's profile is folded from the
/// shopper's events (kinds and times included), then the whole catalog is scored.
pub struct RankerCases<'a> {
    pub ranker: &'a Ranker,
    pub events: &'a [Vec<Interaction>],
}

impl RankerCases<'_> {
    /// The profile after a case's history.
    pub fn profile(&self, case: &EvalCase) -> pocketrank_runtime::Profile {
        let mut p = self.ranker.new_profile();
        let events = self.events.get(case.user as usize).map_or(&[][..], Vec::as_slice);
        for e in events.iter().take(case.history.len()) {
            // Catalog indices and finite times: this cannot fail.
            let _ = self.ranker.observe_item(&mut p, e.item, e.kind, e.ts as f64);
        }
        p
    }
}

impl CaseScorer for RankerCases<'_> {
    fn catalog_size(&self) -> usize {
        self.ranker.manifest().dims.n_items
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let n = self.catalog_size();
        let half = cases.len().div_ceil(2);
        let (a, b) = out[..cases.len() * n].split_at_mut(half * n);
        let score = |cases: &[EvalCase], out: &mut [f32]| {
            for (case, row) in cases.iter().zip(out.chunks_mut(n)) {
                if self.ranker.score_catalog(&self.profile(case), row).is_err() {
                    row.fill(f32::NAN);
                }
            }
        };
        std::thread::scope(|s| {
            s.spawn(|| score(&cases[..half], a));
            score(&cases[half..], b);
        });
    }

    fn cases_per_batch(&self) -> usize {
        64
    }
}

/// One epoch's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistillEpoch {
    pub epoch: usize,
    pub loss: f64,
    pub valid: MetricSet,
    pub train_seconds: f64,
}

/// Inputs of a distillation run.
pub struct DistillInputs<'a> {
    pub split: &'a LeaveOneOut,
    pub events: &'a [Vec<Interaction>],
    pub tokens: &'a ItemTokens,
    pub item_ids: Vec<String>,
}

/// Distils a student from `teacher`; saves the best one (by validation NDCG@10 of its
/// runtime) in `dir` and returns the epoch log.
pub fn distill<B: AutodiffBackend>(
    device: &B::Device,
    teacher: &Teacher<B::InnerBackend>,
    inputs: &DistillInputs<'_>,
    settings: &DistillSettings,
    dir: &StudentDir,
    log: &dyn Fn(&str),
) -> anyhow::Result<Vec<DistillEpoch>> {
    std::fs::create_dir_all(&dir.root).with_context(|| format!("creating {}", dir.root.display()))?;
    std::fs::write(dir.settings(), serde_json::to_string_pretty(settings)?)?;
    B::seed(device, settings.seed);
    let windows = training_windows(inputs.split, inputs.events, settings.max_len);
    let started = Instant::now();
    let inner_text = ItemText::<B::InnerBackend>::new(inputs.tokens, device);
    let lists = teacher_lists(teacher, &inner_text, &windows, settings, device);
    log(&format!(
        "teacher lists: {} positions × {} candidates in {:.0} s",
        lists.items.len() / lists.k,
        lists.k,
        started.elapsed().as_secs_f64()
    ));
    let popularity = popularity_scores(inputs.split, settings.student.n_items);
    let text = ItemText::<B>::new(inputs.tokens, device);

    let mut valid_cases = inputs.split.valid.clone();
    valid_cases.shuffle(&mut StdRng::seed_from_u64(settings.seed ^ 0x5eed));
    valid_cases.truncate(settings.valid_users);
    valid_cases.sort_by_key(|c| c.user);
    let valid_negatives =
        SampledNegatives::draw(&valid_cases, inputs.split, settings.student.n_items, 100, settings.seed);
    let manifest = bare_manifest(inputs.item_ids.clone(), settings, inputs.tokens.width());

    let (items, tokens, text_w, text_b) = teacher.item_encoder();
    let moved = |t: Tensor<B::InnerBackend, 2>| Tensor::<B, 2>::from_data(t.into_data(), device);
    let mut model: Student<B> = settings.student.init(device).with_item_encoder(
        moved(items),
        moved(tokens),
        moved(text_w),
        text_b.map(|b| Tensor::<B, 1>::from_data(b.into_data(), device)),
    );
    let mut optim = AdamWConfig::new().init::<B, Student<B>>();
    let mut log_rows = Vec::new();
    let (mut best, mut since_best) = (f64::NEG_INFINITY, 0);
    let order: Vec<usize> = (0..windows.len()).collect();
    for epoch in 1..=settings.max_epochs {
        if since_best >= settings.patience {
            break;
        }
        let mut rng = StdRng::seed_from_u64(settings.seed.wrapping_add(epoch as u64));
        let mut shuffled = order.clone();
        shuffled.shuffle(&mut rng);
        shuffled.sort_by_key(|&w| windows[w].items.len());
        let mut batches: Vec<&[usize]> = shuffled.chunks(settings.batch_size.max(1)).collect();
        batches.shuffle(&mut rng);
        let bar = progress_bar(batches.len() as u64, &format!("student epoch {epoch}"));
        let started = Instant::now();
        let (mut loss_sum, mut loss_n) = (0.0, 0usize);
        for batch in batches {
            let ws: Vec<&Window> = batch.iter().map(|&w| &windows[w]).collect();
            let firsts: Vec<usize> = batch.iter().map(|&w| lists.first[w]).collect();
            let b = make_batch::<B>(&ws, &firsts, &lists, &popularity, settings, &mut rng, device);
            let loss = batch_loss(&model, &text, b, settings);
            let value: f64 = loss.clone().into_scalar().elem();
            anyhow::ensure!(
                value.is_finite(),
                "student loss became {value} in epoch {epoch}; try a lower learning rate"
            );
            loss_sum += value * batch.len() as f64;
            loss_n += batch.len();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(settings.learning_rate, model, grads);
            bar.inc(1);
            bar.set_message(format!("epoch {epoch} loss {:.3}", loss_sum / loss_n.max(1) as f64));
        }
        bar.finish_and_clear();
        let train_seconds = started.elapsed().as_secs_f64();
        let valid_model = model.valid();
        let (ranker, _) = ranker_of(&valid_model, &inner_text, manifest.clone(), Encoding::F32, None)?;
        let scorer = RankerCases { ranker: &ranker, events: inputs.events };
        let eval = evaluate_with_progress(&scorer, &valid_cases, &valid_negatives, "validating");
        let row = DistillEpoch { epoch, loss: loss_sum / loss_n.max(1) as f64, valid: eval.full_masked, train_seconds };
        log(&format!(
            "student epoch {epoch:>3}  loss {:.4}  valid NDCG@10 {:.4}  HR@10 {:.4}  ({:.0} s)",
            row.loss, row.valid.ndcg10, row.valid.hr10, train_seconds
        ));
        if row.valid.ndcg10 > best {
            best = row.valid.ndcg10;
            since_best = 0;
            valid_model.save_file(dir.model(), &Rec::new())?;
        } else {
            since_best += 1;
        }
        log_rows.push(row);
    }
    Ok(log_rows)
}
