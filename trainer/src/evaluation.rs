//! Evaluation: the split, baselines, the three protocols (full masked, full unmasked,
//! sampled-100) and one report, shared by every command that evaluates.

use std::time::Instant;

use pocketrank_model::baselines::{CoOccurrence, Popularity};
use pocketrank_model::metrics::{self, SampledNegatives};
use pocketrank_model::{DatasetStats, Evaluation, LeaveOneOut, Scorer};
use serde::{Deserialize, Serialize};

use crate::data::Ingested;
use crate::progress::progress_bar;

/// Baselines the trainer can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// Most popular items first (training interaction counts).
    Popularity,
    /// Items that most often followed the shopper's last item.
    Cooccurrence,
}

impl Baseline {
    pub fn name(self) -> &'static str {
        match self {
            Self::Popularity => "popularity",
            Self::Cooccurrence => "cooccurrence",
        }
    }
}

/// Which held-out item to rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The last event; the second-to-last is part of the history.
    Test,
    /// The second-to-last event.
    Valid,
}

/// Settings of an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalSettings {
    pub target: Target,
    /// Seed of the sampled-negatives draw.
    pub seed: u64,
    /// Negatives per case in the sampled protocol.
    pub sampled_negatives: usize,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self { target: Target::Test, seed: 42, sampled_negatives: SampledNegatives::STANDARD }
    }
}

/// One model's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelReport {
    pub name: String,
    pub metrics: Evaluation,
    /// Wall time of fitting and scoring, in seconds.
    pub seconds: f64,
}

/// Everything an evaluation run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub dataset: String,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    pub items_with_events: usize,
    pub evaluated_users: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baskets: Option<usize>,
    pub skipped_rows: usize,
    pub settings: EvalSettings,
    pub models: Vec<ModelReport>,
}

impl Report {
    /// A new report for a dataset, with no model results yet.
    pub fn new(ingested: &Ingested, split: &LeaveOneOut, settings: EvalSettings) -> Self {
        let DatasetStats { users, items, interactions, items_with_events } = ingested.dataset.stats();
        Self {
            dataset: ingested.dataset.name.clone(),
            users,
            items,
            interactions,
            items_with_events,
            evaluated_users: split.test.len(),
            baskets: ingested.baskets,
            skipped_rows: ingested.skipped_rows,
            settings,
            models: Vec::new(),
        }
    }

    /// The results of the named model.
    pub fn model(&self, name: &str) -> Option<&ModelReport> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// A split with the cases and negatives of one evaluation target, shared by every model
/// evaluated in a run so all face the same questions.
pub struct EvalTask {
    pub split: LeaveOneOut,
    pub settings: EvalSettings,
    pub negatives: SampledNegatives,
    n_items: usize,
}

impl EvalTask {
    pub fn new(ingested: &Ingested, settings: EvalSettings) -> Self {
        let n_items = ingested.dataset.catalog.len();
        let split = LeaveOneOut::new(ingested.dataset.item_sequences());
        let negatives = SampledNegatives::draw(
            Self::cases_of(&split, settings.target),
            &split,
            n_items,
            settings.sampled_negatives,
            settings.seed,
        );
        Self { split, settings, negatives, n_items }
    }

    fn cases_of(split: &LeaveOneOut, target: Target) -> &[pocketrank_model::EvalCase] {
        match target {
            Target::Test => &split.test,
            Target::Valid => &split.valid,
        }
    }

    /// The ranking questions of this task.
    pub fn cases(&self) -> &[pocketrank_model::EvalCase] {
        Self::cases_of(&self.split, self.settings.target)
    }

    /// Fits a baseline on the training part of the split. For the test target, the
    /// validation item is part of the shopper's history (input), never of the fit: the
    /// same protocol as the models, which select epochs on the validation items.
    pub fn fit_baseline(&self, baseline: Baseline) -> Box<dyn Scorer> {
        let seqs = &self.split.train;
        match baseline {
            Baseline::Popularity => Box::new(Popularity::fit(seqs, self.n_items)),
            Baseline::Cooccurrence => Box::new(CoOccurrence::fit(seqs, self.n_items)),
        }
    }

    /// Scores every case with `scorer` under all protocols.
    pub fn evaluate(&self, name: &str, scorer: &dyn Scorer, started: Instant) -> ModelReport {
        let metrics = evaluate_with_progress(scorer, self.cases(), &self.negatives, name);
        ModelReport { name: name.to_string(), metrics, seconds: started.elapsed().as_secs_f64() }
    }
}

/// [`metrics::evaluate`] with a progress bar labelled `label`.
pub fn evaluate_with_progress<S: pocketrank_model::CaseScorer + ?Sized>(
    scorer: &S,
    cases: &[pocketrank_model::EvalCase],
    negatives: &SampledNegatives,
    label: &str,
) -> pocketrank_model::Evaluation {
    let bar = progress_bar(cases.len() as u64, label);
    let eval = metrics::evaluate(scorer, cases, negatives, &mut |n| bar.inc(n as u64));
    bar.finish_and_clear();
    eval
}

/// Evaluates the requested baselines on one dataset.
pub fn run_baselines(ingested: &Ingested, settings: EvalSettings, baselines: &[Baseline]) -> Report {
    let task = EvalTask::new(ingested, settings.clone());
    let mut report = Report::new(ingested, &task.split, settings);
    for &b in baselines {
        let started = Instant::now();
        let scorer = task.fit_baseline(b);
        report.models.push(task.evaluate(b.name(), scorer.as_ref(), started));
    }
    report
}
