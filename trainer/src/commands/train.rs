//! `trainer train`: dataset → tokenizer → teacher → test evaluation next to the baselines,
//! all written into one run folder ([`crate::run_dir`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use pocketrank_model::teacher::ItemText;

use super::input::Input;
use crate::backend::{DeviceChoice, on_backend};
use crate::cold_start::{cold_start, pick_cold_items};
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
    /// Continue an interrupted run from its last checkpoint (a run that used all its epochs
    /// trains on when given a larger `--max-epochs`).
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
        let settings = TrainSettings { replicas: self.device.replicas(self.settings.replicas), ..self.settings };
        let report = on_backend!(self.device, train_run, &ingested, &settings, &backend, &self.out, self.resume)?;
        print!("{}", report::markdown(&report));
        Ok(())
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
    // Checked before anything in the folder is rewritten: a refused resume changes nothing.
    if resume && run.config().exists() {
        settings.ensure_resumable(&run.read_config()?.settings, &run.root)?;
    }
    std::fs::create_dir_all(&run.root).with_context(|| format!("creating {}", run.root.display()))?;
    let (tokenizer, tokens, device_tokens) = run.teacher_and_device_item_tokens(ingested, settings)?;
    match &tokenizer {
        Some(t) => eprintln!("tokenizer: {} pieces, sha256 {}", t.vocab_size(), &t.sha256()[..16]),
        None => eprintln!("the catalog has no text: item vectors come from ids alone"),
    }
    // The student starts from the teacher's token embeddings and reads the device's one-field
    // table, which may keep tokens a two-field table cut off: the vocabulary covers both.
    let vocab_size = tokens.max_token().max(device_tokens.max_token()) as usize + 1;
    let config = settings.teacher(ingested.dataset.catalog.len(), vocab_size);
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
    let cold_report = cold.as_ref().map(|cold| {
        let teacher = pocketrank_model::teacher::TeacherScorer::new(model.clone(), &text, device);
        cold_start(&task, task.cases(), cold, &teacher)
    });
    let metrics = teacher::evaluate_teacher(model, &text, task.cases(), &task.negatives, device, "testing");
    report.models.push(ModelReport { name: "teacher".into(), metrics, seconds: started.elapsed().as_secs_f64() });
    for b in BASELINES {
        let started = Instant::now();
        let scorer = task.fit_baseline(b);
        report.models.push(task.evaluate(b.name(), scorer.as_ref(), started));
    }
    report::write(&report, &run.report())?;
    if let Some(c) = cold_report {
        eprintln!("{}", c.summary("teacher"));
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
