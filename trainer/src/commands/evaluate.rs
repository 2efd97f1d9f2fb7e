//! `trainer evaluate`: the baselines under every protocol, as a report.

use std::path::PathBuf;

use clap::Args;

use super::input::Input;
use crate::evaluation::{self, Baseline, EvalSettings, Target};
use crate::report;

/// `trainer evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub input: Input,
    /// Baselines to evaluate (repeat the flag for several).
    #[arg(long = "baseline", value_enum, default_values_t = [Baseline::Popularity, Baseline::Cooccurrence])]
    pub baselines: Vec<Baseline>,
    /// Rank the last event (test) or the second-to-last (valid).
    #[arg(long, value_enum, default_value_t = Target::Test)]
    pub target: Target,
    /// Seed for the sampled negatives.
    #[arg(long, default_value_t = EvalSettings::default().seed)]
    pub seed: u64,
    /// Write the report as JSON here, and as Markdown next to it (same name, `.md`).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

impl EvaluateArgs {
    /// Evaluates, prints the Markdown table and writes the report.
    pub fn run(self) -> anyhow::Result<()> {
        let ingested = self.input.load()?;
        let settings = EvalSettings { target: self.target, seed: self.seed, ..EvalSettings::default() };
        let result = evaluation::run_baselines(&ingested, settings, &self.baselines);
        print!("{}", report::markdown(&result));
        if let Some(path) = self.report {
            report::write(&result, &path)?;
            eprintln!("wrote {} and {}", path.display(), report::markdown_path(&path).display());
        }
        Ok(())
    }
}
