//! `trainer simulate`: what learning from feedback on the device does for an exported
//! artifact, with the run's teacher as the shopper (see [`crate::simulation`]).

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use pocketrank_model::teacher::{ItemText, TeacherScorer};
use pocketrank_runtime::Ranker;
use pocketrank_runtime::feedback::Tuning;

use super::input::Input;
use crate::backend::{DeviceChoice, on_backend};
use crate::data::Ingested;
use crate::distillation::StudentDir;
use crate::evaluation::{EvalSettings, EvalTask};
use crate::run_dir::RunDir;
use crate::simulation::{ClickModel, SimReport, SimSettings, markdown, simulate};
use crate::teacher;

/// `trainer simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub input: Input,
    /// The run whose teacher plays the shoppers.
    #[arg(long, default_value = "runs/beauty")]
    pub run: PathBuf,
    /// The artifact whose student serves them (from `trainer export`).
    #[arg(long, default_value = "beauty.pkr")]
    pub artifact: PathBuf,
    /// Where the teacher runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Shoppers simulated (the first test cases).
    #[arg(long, default_value_t = 2000)]
    pub shoppers: usize,
    /// Lists shown to each shopper.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Whether an item a shopper passed over may attract them the next time it is shown.
    #[arg(long, value_enum, default_value_t = ClickModel::Session)]
    pub click_model: ClickModel,
    /// Feedback strengths to simulate, each `REACH:EXPLORE` (largest correction in standard
    /// deviations of the list's scores, LinUCB exploration weight); default: the device's.
    #[arg(long, value_delimiter = ',', value_parser = parse_tuning)]
    pub tuning: Vec<Tuning>,
}

fn parse_tuning(text: &str) -> Result<Tuning, String> {
    let (reach, explore) = text.split_once(':').ok_or("expected REACH:EXPLORE, e.g. 0.5:0.3")?;
    let number = |t: &str| t.trim().parse::<f64>().map_err(|e| format!("{t:?}: {e}"));
    Ok(Tuning { reach: number(reach)?, explore: number(explore)? })
}

impl SimulateArgs {
    /// Simulates, prints the table and writes RUN/student/feedback-MODEL.{json,md}.
    pub fn run(self) -> anyhow::Result<()> {
        let ingested = self.input.load()?;
        let bytes = std::fs::read(&self.artifact).with_context(|| format!("reading {}", self.artifact.display()))?;
        let ranker = Ranker::from_bytes(&bytes).with_context(|| format!("loading {}", self.artifact.display()))?;
        let tunings = if self.tuning.is_empty() { vec![Tuning::default()] } else { self.tuning };
        let settings = SimSettings {
            shoppers: self.shoppers,
            rounds: self.rounds,
            seed: self.seed,
            click_model: self.click_model,
            tunings,
        };
        let report = on_backend!(self.device, simulate_run, &ingested, &self.run, &ranker, &settings)?;
        let md = markdown(&report);
        let dir = StudentDir::new(&self.run).root;
        std::fs::create_dir_all(&dir)?;
        let name = format!("feedback-{}", serde_json::to_value(self.click_model)?.as_str().unwrap_or("sim"));
        std::fs::write(dir.join(format!("{name}.json")), serde_json::to_string_pretty(&report)?)?;
        std::fs::write(dir.join(format!("{name}.md")), &md)?;
        print!("{md}");
        // Before any feedback every arm but the oracle must show the static student's list.
        let learning = &report.arms[..report.arms.len().saturating_sub(1)];
        if let Some(arm) = learning.iter().find(|a| a.first_lists_differing > 0) {
            anyhow::bail!(
                "{}: {} first lists differ from the static student's before any feedback",
                arm.name,
                arm.first_lists_differing
            );
        }
        Ok(())
    }
}

/// Loads the run's teacher on backend `B` and simulates.
pub fn simulate_run<B: AutodiffBackend>(
    device: &B::Device,
    ingested: &Ingested,
    run_root: &std::path::Path,
    ranker: &Ranker,
    settings: &SimSettings,
) -> anyhow::Result<SimReport> {
    let n_items = ingested.dataset.catalog.len();
    anyhow::ensure!(
        ranker.manifest().dims.n_items == n_items,
        "the artifact has {} items but the dataset {n_items}: export it from this run",
        ranker.manifest().dims.n_items
    );
    let run = RunDir::new(run_root);
    let config = run.read_config()?;
    let (_, tokens) = run.item_tokens(ingested, &config.settings)?;
    let model = teacher::load_best::<B::InnerBackend>(&run.root, &config.teacher, device)?;
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let scorer = TeacherScorer::new(model, &text, device);
    let task = EvalTask::new(ingested, EvalSettings::default());
    Ok(simulate(task.cases(), ranker, &scorer, &ingested.dataset.sequences, settings))
}
