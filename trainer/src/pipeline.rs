//! `trainer train`: dataset → tokenizer → teacher → test evaluation next to the baselines,
//! all written into one run folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use pocketrank_model::teacher::{ItemText, TeacherConfig};
use pocketrank_model::text::ItemTokens;
use serde::{Deserialize, Serialize};

use crate::data::Ingested;
use crate::evaluate::{Baseline, EvalSettings, EvalTask, ModelReport, Report};
use crate::report;
use crate::teacher_train::{self, Checkpoints, TrainSettings};
use crate::tokenizer::CatalogTokenizer;

/// Settings of `trainer train` beyond the optimisation ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSettings {
    pub train: TrainSettings,
    /// Target WordPiece vocabulary size.
    pub vocab_size: usize,
    /// Title tokens kept per item.
    pub title_tokens: usize,
    /// Backend the run used (for the record).
    pub backend: String,
}

/// Where a run keeps its files.
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn tokenizer(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }
    pub fn settings(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("metrics.json")
    }
}

/// Trains the tokenizer (or reuses the run's) and lays out every item's tokens. Catalogs
/// without any text (id-only datasets) get no tokenizer: the model learns from ids alone.
pub fn item_tokens(
    ingested: &Ingested,
    run: &RunDir,
    vocab_size: usize,
    width: usize,
) -> anyhow::Result<(Option<CatalogTokenizer>, ItemTokens)> {
    let catalog = &ingested.dataset.catalog;
    if catalog.items().iter().all(|i| i.text().is_empty()) {
        return Ok((None, ItemTokens::empty(catalog.len())));
    }
    let path = run.tokenizer();
    let tokenizer = if path.exists() {
        CatalogTokenizer::from_json(&std::fs::read_to_string(&path)?)?
    } else {
        let t = CatalogTokenizer::train(catalog, vocab_size)?;
        std::fs::write(&path, t.json()).with_context(|| format!("writing {}", path.display()))?;
        t
    };
    let tokens = ItemTokens::new(&tokenizer.encode_catalog(catalog)?, width);
    Ok((Some(tokenizer), tokens))
}

/// Runs the whole `train` command on backend `B`.
pub fn run<B: AutodiffBackend>(
    device: &B::Device,
    ingested: &Ingested,
    mut settings: RunSettings,
    run_root: &Path,
    resume: bool,
    baselines: &[Baseline],
) -> anyhow::Result<Report> {
    let run = RunDir { root: run_root.to_path_buf() };
    std::fs::create_dir_all(&run.root).with_context(|| format!("creating {}", run.root.display()))?;
    let (tokenizer, tokens) = item_tokens(ingested, &run, settings.vocab_size, settings.title_tokens)?;
    match &tokenizer {
        Some(t) => eprintln!("tokenizer: {} pieces, sha256 {}", t.vocab_size(), &t.sha256()[..16]),
        None => eprintln!("the catalog has no text: item vectors come from ids alone"),
    }
    settings.train.model =
        TeacherConfig { vocab_size: tokens.max_token() as usize + 1, ..settings.train.model.clone() };
    std::fs::write(run.settings(), serde_json::to_string_pretty(&settings)?)?;

    let task = EvalTask::new(ingested, EvalSettings::default());
    let state =
        teacher_train::train::<B>(device, &task.split, &tokens, settings.train.clone(), &run.root, resume, &|m| {
            eprintln!("{m}")
        })?;

    let mut report = Report::new(ingested, &task.split, task.settings.clone());
    let started = Instant::now();
    let ckpt = Checkpoints::new(&run.root);
    let model = ckpt.load_model(settings.train.model.init::<B::InnerBackend>(device), &ckpt.best_model(), device)?;
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let params = model.num_params();
    let metrics = teacher_train::evaluate_teacher(model, &text, task.cases(), &task.negatives, device, "testing");
    report.models.push(ModelReport { name: "teacher".into(), metrics, seconds: started.elapsed().as_secs_f64() });
    for &b in baselines {
        let started = Instant::now();
        let scorer = task.fit_baseline(b);
        report.models.push(task.evaluate(b.name(), scorer.as_ref(), started));
    }
    report::write(&report, &run.report())?;
    eprintln!(
        "teacher: {params} parameters, best epoch {:?} of {}, report in {}",
        state.best_epoch,
        state.epochs.len(),
        run.report().display()
    );
    Ok(report)
}
