//! The next item in the basket: the protocol for basket data (Instacart).
//!
//! Leave-one-out on order lines holds out each shopper's last line: the last product added
//! to their last basket, with every earlier basket and the basket's own earlier lines as
//! history. A grocery shopper buys the same products again and again, so masking the whole
//! history (the usual protocol) would hide the answer most of the time; here only the
//! products already in the current basket are masked, earlier baskets stay candidates.
//! Lines of one basket are less than [`SAME_BASKET_SECONDS`] apart (the Instacart reader
//! puts them one second apart and baskets at least an hour apart).
//!
//! Beside the models: popularity, the next-item co-occurrence every report has, and the
//! "bought together" baseline a shop would build first — items counted by how often they
//! shared a training basket with the products in the current basket.

use std::collections::HashMap;
use std::fmt::Write as _;

use pocketrank_model::metrics::{CaseScorer, MetricAccumulator, RankOutcome};
use pocketrank_model::{EvalCase, Interaction, ItemIdx};
use serde::{Deserialize, Serialize};

/// Lines closer than this (seconds) belong to one basket.
pub const SAME_BASKET_SECONDS: i64 = 3_600;

/// One model's results on the basket protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BasketRow {
    pub model: String,
    pub ndcg10: f64,
    pub hr10: f64,
    pub ndcg20: f64,
    pub mrr: f64,
    pub cases: usize,
}

/// The products already in the case's basket when its target was added.
pub fn in_basket(case: &EvalCase, events: &[Vec<Interaction>]) -> Vec<ItemIdx> {
    let Some(seq) = events.get(case.user as usize) else { return Vec::new() };
    let Some(target) = seq.get(case.history.len()) else { return Vec::new() };
    let earlier = &seq[..case.history.len().min(seq.len())];
    let mut open: Vec<ItemIdx> = earlier
        .iter()
        .rev()
        .take_while(|e| target.ts - e.ts < SAME_BASKET_SECONDS)
        .map(|e| e.item)
        .filter(|&i| i != case.target)
        .collect();
    open.sort_unstable();
    open.dedup();
    open
}

/// Scores `cases` with `scorer` and ranks each target among the items not in its basket.
pub fn basket_row(model: &str, scorer: &dyn CaseScorer, cases: &[EvalCase], events: &[Vec<Interaction>]) -> BasketRow {
    let n = scorer.catalog_size();
    let mut acc = MetricAccumulator::default();
    for chunk in cases.chunks(scorer.cases_per_batch().max(1)) {
        let mut scores = vec![0f32; chunk.len() * n];
        scorer.score_cases(chunk, &mut scores);
        for (case, row) in chunk.iter().zip(scores.chunks(n)) {
            let masked = in_basket(case, events);
            let target = case.target as usize;
            let others = row
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != target && masked.binary_search(&(*i as ItemIdx)).is_err())
                .map(|(_, &s)| s);
            acc.add(RankOutcome::from_scores(row.get(target).copied().unwrap_or(f32::NAN), others));
        }
    }
    let m = acc.finish();
    BasketRow { model: model.to_string(), ndcg10: m.ndcg10, hr10: m.hr10, ndcg20: m.ndcg20, mrr: m.mrr, cases: m.cases }
}

/// "Bought together": for each product, how often each other product shared one of its
/// training baskets; a case's scores sum these over the products in its basket (ties and
/// an empty basket fall back to popularity).
pub struct BoughtTogether<'a> {
    together: Vec<Vec<(ItemIdx, f32)>>,
    popularity: Vec<f32>,
    events: &'a [Vec<Interaction>],
}

impl<'a> BoughtTogether<'a> {
    /// Counts pairs within the baskets of each shopper's first `train_len(user)` lines.
    pub fn fit(events: &'a [Vec<Interaction>], train_len: impl Fn(usize) -> usize, n_items: usize) -> Self {
        let mut pairs: Vec<HashMap<ItemIdx, f32>> = vec![HashMap::new(); n_items];
        let mut popularity = vec![0f32; n_items];
        for (user, seq) in events.iter().enumerate() {
            let seq = &seq[..train_len(user).min(seq.len())];
            let mut start = 0;
            for end in 1..=seq.len() {
                if end == seq.len() || seq[end].ts - seq[end - 1].ts >= SAME_BASKET_SECONDS {
                    let basket = &seq[start..end];
                    for a in basket {
                        if let Some(p) = popularity.get_mut(a.item as usize) {
                            *p += 1.0;
                        }
                        for b in basket.iter().filter(|b| b.item != a.item) {
                            if let Some(m) = pairs.get_mut(a.item as usize) {
                                *m.entry(b.item).or_default() += 1.0;
                            }
                        }
                    }
                    start = end;
                }
            }
        }
        let max = popularity.iter().copied().fold(0f32, f32::max);
        let popularity = popularity.iter().map(|c| c / (max + 1.0)).collect();
        let together = pairs.into_iter().map(|m| m.into_iter().collect()).collect();
        Self { together, popularity, events }
    }
}

impl CaseScorer for BoughtTogether<'_> {
    fn catalog_size(&self) -> usize {
        self.popularity.len()
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let n = self.popularity.len();
        for (case, row) in cases.iter().zip(out.chunks_mut(n)) {
            row.copy_from_slice(&self.popularity);
            for i in in_basket(case, self.events) {
                for &(j, c) in self.together.get(i as usize).map_or(&[][..], Vec::as_slice) {
                    row[j as usize] += c;
                }
            }
        }
    }
}

/// The rows as Markdown, each model's NDCG@10 also relative to the best baseline.
pub fn basket_markdown(rows: &[BasketRow], baselines: usize) -> String {
    let best = rows.iter().take(baselines).map(|r| r.ndcg10).fold(0.0, f64::max);
    let mut out =
        String::from("| model | NDCG@10 | HR@10 | NDCG@20 | MRR | vs best baseline |\n|---|---|---|---|---|---|\n");
    for r in rows {
        let vs = if best > 0.0 { format!("{:+.0}%", 100.0 * (r.ndcg10 / best - 1.0)) } else { "–".into() };
        let _ =
            writeln!(out, "| {} | {:.4} | {:.4} | {:.4} | {:.4} | {vs} |", r.model, r.ndcg10, r.hr10, r.ndcg20, r.mrr);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pocketrank_model::EventKind;

    fn line(item: ItemIdx, ts: i64) -> Interaction {
        Interaction { item, ts, kind: EventKind::Purchase }
    }

    /// Two baskets: {0, 1, 2} then {3, 1, 4}; the last line (4) is the target.
    fn shopper() -> Vec<Vec<Interaction>> {
        vec![vec![line(0, 0), line(1, 1), line(2, 2), line(3, 90_000), line(1, 90_001), line(4, 90_002)]]
    }

    #[test]
    fn only_the_current_basket_is_masked() {
        let events = shopper();
        let case = EvalCase { user: 0, history: vec![0, 1, 2, 3, 1], target: 4 };
        assert_eq!(in_basket(&case, &events), vec![1, 3]);
    }

    #[test]
    fn bought_together_counts_shared_baskets_of_the_training_lines() {
        let events = shopper();
        // Training: the first basket only.
        let model = BoughtTogether::fit(&events, |_| 3, 5);
        let case = EvalCase { user: 0, history: vec![0, 1, 2, 3, 1], target: 4 };
        let mut row = vec![0f32; 5];
        model.score_cases(std::slice::from_ref(&case), &mut row);
        // In the basket: 1 and 3; 1 shared a basket with 0 and 2.
        assert!(row[0] >= 1.0 && row[2] >= 1.0, "{row:?}");
        assert!(row[4] < 1.0 && row[3] < 1.0, "{row:?}");
        let r = basket_row("bought together", &model, &[case], &events);
        assert_eq!(r.cases, 1);
        // 0 and 2 outrank the target; 1 and 3 are masked.
        assert!((r.ndcg10 - 1.0 / 4f64.log2()).abs() < 1e-9, "{r:?}");
    }
}
