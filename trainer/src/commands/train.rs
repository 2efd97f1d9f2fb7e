//! `trainer train`: dataset → tokenizer → teacher → test evaluation next to the baselines,
//! all written into one run folder ([`crate::run_dir`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::Args;
use pocketrank_model::teacher::{ItemText, Teacher};
use serde::{Deserialize, Serialize};

use super::input::Input;
use crate::backend::{DeviceChoice, on_backend};
use crate::data::Ingested;
use crate::evaluation::{Baseline, EvalSettings, EvalTask, ModelReport, Report};
use crate::report;
use crate::run_dir::{RunConfig, RunDir};
use crate::teacher::{self, TrainInputs, TrainSettings};

/// The baselines reported next to the teacher.
const BASELINES: [Baseline; 2] = [Baseline::Popularity, Baseline::Cooccurrence];

/// `trainer train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub input: Input,
    /// Run folder.
    #[arg(long, default_value = "runs/beauty")]
    pub out: PathBuf,
    /// Continue an interrupted run from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Where to train: cpu (Burn's flex backend), ndarray, cuda or wgpu (the last two
    /// need a build with `--features cuda` / `--features wgpu`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    #[command(flatten)]
    pub settings: TrainSettings,
}

impl TrainArgs {
    /// Trains, evaluates and prints the report.
    pub fn run(self) -> anyhow::Result<()> {
        let ingested = self.input.load()?;
        let backend = format!("{:?}", self.device);
        let report = on_backend!(self.device, train_run, &ingested, &self.settings, &backend, &self.out, self.resume)?;
        print!("{}", report::markdown(&report));
        Ok(())
    }
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

/// Evaluates the teacher and popularity on the test cases whose target was held out of
/// training.
fn cold_start<B: Backend>(
    task: &EvalTask,
    cold: &[bool],
    model: Teacher<B>,
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

/// Runs the whole `train` command on backend `B`: returns the test report (teacher and
/// baselines), also written to the run folder.
pub fn train_run<B: AutodiffBackend>(
    device: &B::Device,
    ingested: &Ingested,
    settings: &TrainSettings,
    backend: &str,
    run_root: &Path,
    resume: bool,
) -> anyhow::Result<Report> {
    let run = RunDir::new(run_root);
    std::fs::create_dir_all(&run.root).with_context(|| format!("creating {}", run.root.display()))?;
    let (tokenizer, tokens) = run.item_tokens(ingested, settings.vocab_size, settings.title_tokens)?;
    match &tokenizer {
        Some(t) => eprintln!("tokenizer: {} pieces, sha256 {}", t.vocab_size(), &t.sha256()[..16]),
        None => eprintln!("the catalog has no text: item vectors come from ids alone"),
    }
    let config = settings.teacher(ingested.dataset.catalog.len(), tokens.max_token() as usize + 1);
    run.write_config(&RunConfig { settings: settings.clone(), teacher: config.clone(), backend: backend.into() })?;

    let mut task = EvalTask::new(ingested, EvalSettings::default());
    let cold = (settings.cold_items > 0.0)
        .then(|| pick_cold_items(ingested.dataset.catalog.len(), settings.cold_items, settings.seed));
    if let Some(cold) = &cold {
        for seq in &mut task.split.train {
            seq.retain(|&i| !cold[i as usize]);
        }
    }
    let inputs = TrainInputs { split: &task.split, held_out: cold.as_deref(), tokens: &tokens };
    let state = teacher::train::<B>(device, &inputs, &config, settings, &run.root, resume, &|m| eprintln!("{m}"))?;

    crate::plots::training_curves(&state.history, &run.root)?;
    let mut report = Report::new(ingested, &task.split, task.settings.clone());
    let started = Instant::now();
    let model = teacher::load_best::<B::InnerBackend>(&run.root, &config, device)?;
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let params = model.num_params();
    let cold_report = cold.as_ref().map(|cold| cold_start(&task, cold, model.clone(), &text, device));
    let metrics = teacher::evaluate_teacher(model, &text, task.cases(), &task.negatives, device, "testing");
    report.models.push(ModelReport { name: "teacher".into(), metrics, seconds: started.elapsed().as_secs_f64() });
    for b in BASELINES {
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
        state.history.best_epoch,
        state.history.epochs.len(),
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
