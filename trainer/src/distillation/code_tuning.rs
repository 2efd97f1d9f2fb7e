//! Item codes fitted to the ranking, not only to the item vectors.
//!
//! k-means ([`quantize_items`], each item weighted by how often it sold in training, so the
//! items shoppers buy are coded most closely) places each subspace's centroids where the
//! student's item vectors are dense, weighing every dimension alike. The scorer does not: a
//! small error in a direction it reads closely costs more than a large one it ignores. So
//! after k-means, every item keeps its code and the centroids are trained further with the
//! student's own distillation loss ([`super::batch`]), the student frozen: events and
//! candidates both read their items through their codes, as a device does with the core
//! artifact. Each epoch is validated through the runtime reading the codes; the k-means
//! codebooks count as epoch 0, so tuning keeps them unless it beats them.
//!
//! The result is saved in the student's folder (`codes-<m>.json`) and is what `trainer
//! export` and `trainer export-codes` use for that width.

use std::path::PathBuf;

use anyhow::Context;
use burn::module::{AutodiffModule, Module};
use burn::optim::AdamWConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use pocketrank_model::MetricSet;
use pocketrank_model::coded_items::{CodedItems, centroid_rows};
use pocketrank_model::quantize::reconstruction_error;
use pocketrank_model::student::Student;
use pocketrank_model::teacher::ItemText;
use pocketrank_runtime::Codebooks;
use pocketrank_runtime::codes::CENTROIDS;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use super::batch::{LossWeights, StudentBatch, distill_loss_of};
use super::ranker::{ItemTable, Quantized, RankerCases, quantize_items, ranker_of};
use super::{Prepared, StudentDir, StudentObjective};
use crate::evaluation::evaluate_with_progress;
use crate::training::{self, History, Keeper, LoopSettings, Objective, Schedule};

/// The frozen student and the codebooks being tuned.
#[derive(Module, Debug)]
pub struct CodeTuning<B: burn::tensor::backend::Backend> {
    pub student: Student<B>,
    pub items: CodedItems<B>,
}

/// Tuned codebooks and codes, as saved in the student's folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TunedCodes {
    pub d: usize,
    pub m: usize,
    /// `[m, CENTROIDS, d / m]`, as stored (f16 values).
    pub centroids: Vec<f32>,
    /// `[n_items, m]`.
    pub codes: Vec<u8>,
    /// Validation NDCG@10 (full ranking, masked) of the k-means codebooks, and the epochs
    /// of tuning (the best one is what is saved).
    pub kmeans_valid_ndcg10: f64,
    pub history: History,
}

impl TunedCodes {
    /// Where the codes of width `m` are kept.
    pub fn path(dir: &StudentDir, m: usize) -> PathBuf {
        dir.root.join(format!("codes-{m}.json"))
    }

    /// Removes every saved width (the student changed).
    pub fn remove_all(dir: &StudentDir) -> anyhow::Result<()> {
        let Ok(entries) = std::fs::read_dir(&dir.root) else { return Ok(()) };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("codes-") && name.ends_with(".json") {
                std::fs::remove_file(entry.path()).with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
        Ok(())
    }

    /// The saved codes of width `m` for a catalog of `n_items` and `d`-wide items, if any.
    pub fn load(dir: &StudentDir, m: usize, n_items: usize, d: usize) -> anyhow::Result<Option<Self>> {
        let path = Self::path(dir, m);
        let Ok(text) = std::fs::read_to_string(&path) else { return Ok(None) };
        let tuned: Self = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(
            tuned.m == m && tuned.d == d && tuned.codes.len() == n_items * m,
            "{} holds codes for another student ({} items of {} bytes, d = {}): run `trainer distill` again",
            path.display(),
            tuned.codes.len() / tuned.m.max(1),
            tuned.m,
            tuned.d
        );
        Ok(Some(tuned))
    }

    fn save(&self, dir: &StudentDir) -> anyhow::Result<()> {
        let path = Self::path(dir, self.m);
        std::fs::write(&path, serde_json::to_string(self)?).with_context(|| format!("writing {}", path.display()))
    }

    /// The codebooks.
    pub fn books(&self) -> anyhow::Result<Codebooks> {
        Ok(Codebooks::new(self.d, self.m, self.centroids.clone())?)
    }
}

/// The student's codes of width `m`: the tuned ones saved in `dir` when there are, else
/// k-means over its item vectors.
pub fn student_codes<B: burn::tensor::backend::Backend>(
    dir: &StudentDir,
    model: &Student<B>,
    text: &ItemText<B>,
    m: usize,
) -> anyhow::Result<Quantized> {
    let n_items = text.ids.dims()[0] - 1;
    match TunedCodes::load(dir, m, n_items, model.d())? {
        Some(tuned) => {
            let books = tuned.books()?;
            let tensors = model.export_tensors(text);
            let error = tensors
                .get(pocketrank_runtime::layout::ITEMS)
                .map_or(f32::NAN, |items| reconstruction_error(&items.values, &books, &tuned.codes));
            Ok(Quantized { books, codes: tuned.codes, error })
        }
        None => quantize_items(model, text, m, None),
    }
}

/// The loss and validation of [`CodeTuning`], on the distillation's data.
struct CodeObjective<'o, 'a, B: AutodiffBackend> {
    base: &'o StudentObjective<'a, B>,
    /// `[n_items + 1, m]` centroid rows of every shifted item id (row 0, padding: code 0).
    rows: Tensor<B, 2, Int>,
    codes: Vec<u8>,
}

impl<B: AutodiffBackend> Objective<B, CodeTuning<B>> for CodeObjective<'_, '_, B> {
    fn name(&self) -> &str {
        "codes"
    }

    fn lengths(&self) -> &[usize] {
        &self.base.lengths
    }

    fn targets(&self) -> usize {
        self.base.lists.rows()
    }

    fn device(&self) -> &B::Device {
        &self.base.device
    }

    fn loss(
        &self,
        model: &CodeTuning<B>,
        batch: &[usize],
        rng: &mut StdRng,
        device: &B::Device,
    ) -> (Tensor<B, 1>, usize) {
        let base = self.base;
        let ws: Vec<_> = batch.iter().map(|&w| &base.windows[w]).collect();
        let firsts: Vec<usize> = batch.iter().map(|&w| base.lists.first[w]).collect();
        let s = base.settings;
        let b = StudentBatch::<B>::new(&ws, &firsts, &base.lists, &base.popularity, s.context_dropout, rng, device);
        let weights = LossWeights { temperature: s.temperature, ce: s.ce_weight, hint: s.hint_weight };
        let rows = if device == &base.device { self.rows.clone() } else { self.rows.clone().to_device(device) };
        let vectors = model.items.forward(rows.select(0, b.table.clone())); // [t, d]
        (distill_loss_of(&model.student, vectors, b, weights), batch.len())
    }

    fn validate(&self, model: &CodeTuning<B::InnerBackend>) -> anyhow::Result<MetricSet> {
        let q = Quantized { books: model.items.codebooks()?, codes: self.codes.clone(), error: f32::NAN };
        validate_codes(self.base, &model.student, &q)
    }
}

/// Validation NDCG@10 of the runtime that reads every item through its code.
fn validate_codes<B: AutodiffBackend>(
    base: &StudentObjective<'_, B>,
    student: &Student<B::InnerBackend>,
    q: &Quantized,
) -> anyhow::Result<MetricSet> {
    let (ranker, _) = ranker_of(student, &base.inner_text, base.manifest.clone(), ItemTable::Codes, Some(q), None)?;
    let scorer = RankerCases { ranker: &ranker, events: base.events };
    let v = &base.validation;
    Ok(evaluate_with_progress(&scorer, &v.cases, &v.negatives, "validating codes").full_masked)
}

/// Saves the best codebooks.
struct CodeKeeper<'d> {
    dir: &'d StudentDir,
    tuned: TunedCodes,
}

impl<B: AutodiffBackend, O> Keeper<B, CodeTuning<B>, O> for CodeKeeper<'_> {
    fn epoch_done(&mut self, model: &CodeTuning<B>, _: &O, history: &History, best: bool) -> anyhow::Result<()> {
        if best {
            self.tuned.centroids = model.items.valid().codebooks()?.centroids;
        }
        self.tuned.history = history.clone();
        self.tuned.save(self.dir)
    }

    fn stopped(&mut self, _: &History) -> anyhow::Result<String> {
        Ok(format!("The best codes so far are in {}.", TunedCodes::path(self.dir, self.tuned.m).display()))
    }
}

/// How long and how fast the codebooks are tuned.
#[derive(Debug, Clone, Copy)]
pub struct TuneSettings {
    pub epochs: usize,
    pub learning_rate: f64,
}

/// Tunes the codebooks of `start` (k-means codes of `student`) for `settings.epochs`
/// epochs (0: k-means as it is), saves the best (by validation, k-means included) in `dir`
/// and returns it.
pub fn tune_codes<B: AutodiffBackend>(
    data: &Prepared<'_, B>,
    student: Student<B>,
    start: &Quantized,
    settings: TuneSettings,
    dir: &StudentDir,
    log: &dyn Fn(&str),
) -> anyhow::Result<TunedCodes> {
    let base = &data.objective;
    let device = &base.device;
    let m = start.books.m;
    let n_items = base.manifest.dims.n_items;
    anyhow::ensure!(start.codes.len() == n_items * m, "{} codes for {n_items} items of {m} bytes", start.codes.len());
    let kmeans = validate_codes(base, &student.valid(), start)?;
    log(&format!("codes of {m} bytes, k-means: valid NDCG@10 {:.4}", kmeans.ndcg10));
    let mut rows = vec![0i64; m];
    rows.extend(centroid_rows(&start.codes, m));
    debug_assert!(rows.iter().all(|&r| r < (m * CENTROIDS) as i64));
    let rows = Tensor::<B, 2, Int>::from_data(TensorData::new(rows, [n_items + 1, m]), device);
    let objective = CodeObjective { base, rows, codes: start.codes.clone() };
    let model = CodeTuning { student: student.no_grad(), items: CodedItems::new(&start.books, device) };
    // The k-means codebooks are epoch 0: tuning must beat them to replace them.
    let mut history = History { best_epoch: Some(0), best_ndcg10: kmeans.ndcg10, ..History::default() };
    let tuned = TunedCodes {
        d: start.books.d(),
        m,
        centroids: start.books.centroids.clone(),
        codes: start.codes.clone(),
        kmeans_valid_ndcg10: kmeans.ndcg10,
        history: history.clone(),
    };
    let mut keeper = CodeKeeper { dir, tuned };
    let s = base.settings;
    let loop_settings = LoopSettings {
        max_epochs: settings.epochs,
        patience: settings.epochs,
        batch_size: s.batch_size,
        learning_rate: settings.learning_rate,
        warmup_steps: 0,
        schedule: Schedule::Cosine,
        seed: s.seed,
        replicas: s.replicas.max(1),
    };
    if settings.epochs > 0 {
        let optim = AdamWConfig::new().init::<B, CodeTuning<B>>();
        training::fit(&objective, &mut keeper, model, optim, &loop_settings, &mut history, log)?;
    }
    keeper.tuned.save(dir)?;
    log(&format!(
        "codes of {m} bytes: valid NDCG@10 {:.4} (epoch {}; k-means {:.4})",
        history.best_ndcg10,
        history.best_epoch.unwrap_or(0),
        kmeans.ndcg10
    ));
    Ok(keeper.tuned)
}
