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
    /// Share of the catalog held out of training entirely, to measure cold start (0 = none).
    pub cold_items: f64,
}

/// How well items never seen in training are ranked (test cases whose target is one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStartReport {
    pub cold_items: usize,
    pub cases: usize,
    /// Full ranking over the whole catalog.
    pub teacher_full: pocketrank_model::Evaluation,
    pub popularity_full: pocketrank_model::Evaluation,
    /// Ranking among the cold items only: what the text alone tells apart.
    pub teacher_among_cold: pocketrank_model::Evaluation,
    pub popularity_among_cold: pocketrank_model::Evaluation,
}

/// A seeded random `fraction` of the catalog, as a membership table.
fn pick_cold_items(n_items: usize, fraction: f64, seed: u64) -> Vec<bool> {
    use rand::seq::index::sample;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed ^ 0xc01d);
    let count = ((n_items as f64) * fraction).round() as usize;
    let mut cold = vec![false; n_items];
    for i in sample(&mut rng, n_items, count.min(n_items)) {
        cold[i] = true;
    }
    cold
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

/// Evaluates the teacher and popularity on the test cases whose target was held out of
/// training.
fn cold_start<B: burn::tensor::backend::Backend>(
    task: &EvalTask,
    cold: &[bool],
    model: pocketrank_model::teacher::Teacher<B>,
    text: &ItemText<B>,
    device: &B::Device,
) -> ColdStartReport {
    use pocketrank_model::baselines::Restricted;
    use pocketrank_model::metrics::{self, SampledNegatives};
    use pocketrank_model::teacher::TeacherScorer;

    let cases: Vec<_> = task.cases().iter().filter(|c| cold[c.target as usize]).cloned().collect();
    let n_items = cold.len();
    let negatives =
        SampledNegatives::draw(&cases, &task.split, n_items, SampledNegatives::STANDARD, task.settings.seed);
    let teacher = TeacherScorer::new(model, text, device);
    let pop = task.fit_baseline(Baseline::Popularity);
    let pop = pop.as_ref();
    let eval = |s: &dyn pocketrank_model::Scorer| metrics::evaluate(s, &cases, &negatives, &mut |_| {});
    ColdStartReport {
        cold_items: cold.iter().filter(|c| **c).count(),
        cases: cases.len(),
        teacher_full: eval(&teacher),
        popularity_full: eval(pop),
        teacher_among_cold: eval(&Restricted { inner: &teacher, allowed: cold }),
        popularity_among_cold: eval(&Restricted { inner: pop, allowed: cold }),
    }
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

    let mut task = EvalTask::new(ingested, EvalSettings::default());
    let cold = (settings.cold_items > 0.0)
        .then(|| pick_cold_items(ingested.dataset.catalog.len(), settings.cold_items, settings.train.seed));
    if let Some(cold) = &cold {
        for seq in &mut task.split.train {
            seq.retain(|&i| !cold[i as usize]);
        }
    }
    let state = teacher_train::train::<B>(
        device,
        &task.split,
        cold.as_deref(),
        &tokens,
        settings.train.clone(),
        &run.root,
        resume,
        &|m| eprintln!("{m}"),
    )?;

    crate::plots::training_curves(&state, &run.root)?;
    let mut report = Report::new(ingested, &task.split, task.settings.clone());
    let started = Instant::now();
    let ckpt = Checkpoints::new(&run.root);
    let model = ckpt.load_model(settings.train.model.init::<B::InnerBackend>(device), &ckpt.best_model(), device)?;
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let params = model.num_params();
    let cold_report = cold.as_ref().map(|cold| cold_start(&task, cold, model.clone(), &text, device));
    let metrics = teacher_train::evaluate_teacher(model, &text, task.cases(), &task.negatives, device, "testing");
    report.models.push(ModelReport { name: "teacher".into(), metrics, seconds: started.elapsed().as_secs_f64() });
    for &b in baselines {
        let started = Instant::now();
        let scorer = task.fit_baseline(b);
        report.models.push(task.evaluate(b.name(), scorer.as_ref(), started));
    }
    report::write(&report, &run.report())?;
    if let Some(c) = cold_report {
        eprintln!(
            "cold start: {} held-out items, {} test cases; NDCG@10 full (masked): teacher {:.4} vs popularity {:.4}; among cold items: teacher {:.4} vs popularity {:.4}",
            c.cold_items,
            c.cases,
            c.teacher_full.full_masked.ndcg10,
            c.popularity_full.full_masked.ndcg10,
            c.teacher_among_cold.full_masked.ndcg10,
            c.popularity_among_cold.full_masked.ndcg10
        );
        std::fs::write(run.root.join("cold_start.json"), serde_json::to_string_pretty(&c)?)?;
    }
    eprintln!(
        "teacher: {params} parameters, best epoch {:?} of {}, report in {}",
        state.best_epoch,
        state.epochs.len(),
        run.report().display()
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::pick_cold_items;

    #[test]
    fn cold_items_are_a_seeded_share_of_the_catalog() {
        let a = pick_cold_items(1000, 0.05, 7);
        assert_eq!(a.iter().filter(|c| **c).count(), 50);
        assert_eq!(a, pick_cold_items(1000, 0.05, 7));
        assert_ne!(a, pick_cold_items(1000, 0.05, 8));
        assert!(pick_cold_items(10, 0.0, 1).iter().all(|c| !c));
    }
}
