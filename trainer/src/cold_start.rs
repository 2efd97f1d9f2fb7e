//! Cold-start evaluation: a seeded share of the catalog is held out of training entirely,
//! and the test cases whose target is one of those items tell how well a model ranks
//! products it never saw, from their text alone.

use pocketrank_model::baselines::{Popularity, Restricted};
use pocketrank_model::metrics::{self, SampledNegatives};
use pocketrank_model::{CaseScorer, Evaluation, ItemIdx};
use serde::{Deserialize, Serialize};

use crate::evaluation::EvalTask;

/// How well items never seen in training are ranked (test cases whose target is one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStartReport {
    pub cold_items: usize,
    pub cases: usize,
    /// Full ranking over the whole catalog.
    #[serde(alias = "teacher_full")]
    pub model_full: Evaluation,
    pub popularity_full: Evaluation,
    /// Ranking among the cold items only: what the text alone tells apart.
    #[serde(alias = "teacher_among_cold")]
    pub model_among_cold: Evaluation,
    pub popularity_among_cold: Evaluation,
}

impl ColdStartReport {
    /// One line for the log: `name`'s full and among-cold NDCG@10 beside popularity's.
    pub fn summary(&self, name: &str) -> String {
        format!(
            "cold start: {} held-out items, {} test cases; NDCG@10 full (masked): {name} {:.4} vs popularity {:.4}; among cold items: {name} {:.4} vs popularity {:.4}",
            self.cold_items,
            self.cases,
            self.model_full.full_masked.ndcg10,
            self.popularity_full.full_masked.ndcg10,
            self.model_among_cold.full_masked.ndcg10,
            self.popularity_among_cold.full_masked.ndcg10
        )
    }
}

/// Whether `item` is in the held-out set (`None`: nothing is held out).
pub fn is_held_out(held_out: Option<&[bool]>, item: ItemIdx) -> bool {
    held_out.and_then(|h| h.get(item as usize).copied()).unwrap_or(false)
}

/// A seeded random `fraction` of the catalog, as a membership table.
pub fn pick_cold_items(n_items: usize, fraction: f64, seed: u64) -> Vec<bool> {
    use rand::seq::index::sample;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed ^ 0xc01d);
    let count = ((n_items as f64) * fraction).round() as usize;
    let mut cold = vec![false; n_items];
    for i in sample(&mut rng, n_items, count.min(n_items)) {
        cold[i] = true;
    }
    cold
}

/// Evaluates `model` and popularity on `cases`' subset whose target is held out (`cold`),
/// over the whole catalog and among the cold items only.
pub fn cold_start(
    task: &EvalTask,
    cases: &[pocketrank_model::EvalCase],
    cold: &[bool],
    model: &dyn CaseScorer,
) -> ColdStartReport {
    let cases: Vec<_> = cases.iter().filter(|c| is_held_out(Some(cold), c.target)).cloned().collect();
    let negatives =
        SampledNegatives::draw(&cases, &task.split, cold.len(), SampledNegatives::STANDARD, task.settings.seed);
    // Fitted on the training sequences without the cold items, as the models were trained.
    let sold: Vec<Vec<_>> =
        task.split.train.iter().map(|s| s.iter().copied().filter(|&i| !is_held_out(Some(cold), i)).collect()).collect();
    let pop = Popularity::fit(&sold, cold.len());
    let pop: &dyn CaseScorer = &pop;
    let eval = |s: &dyn CaseScorer| metrics::evaluate(s, &cases, &negatives, &mut |_| {});
    ColdStartReport {
        cold_items: cold.iter().filter(|c| **c).count(),
        cases: cases.len(),
        model_full: eval(model),
        popularity_full: eval(pop),
        model_among_cold: eval(&Restricted { inner: model, allowed: cold }),
        popularity_among_cold: eval(&Restricted { inner: pop, allowed: cold }),
    }
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
