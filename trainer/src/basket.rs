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
use pocketrank_runtime::Ranker;
use pocketrank_runtime::basket::{BasketContext, BasketWeights, is_basket_kind};
use pocketrank_runtime::session::RECENT_EVENTS;

use crate::distillation::ranker::{RankerCases, item_row};
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

/// The last [`RECENT_EVENTS`] events of the case's history: what a device's session holds
/// when the case's target is added.
fn recent_history<'e>(case: &EvalCase, events: &'e [Vec<Interaction>]) -> &'e [Interaction] {
    let seq = events.get(case.user as usize).map_or(&[][..], Vec::as_slice);
    let history = &seq[..case.history.len().min(seq.len())];
    &history[history.len().saturating_sub(RECENT_EVENTS)..]
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

/// Where `case`'s target ranks in `row` (catalog scores) among the items not in its basket.
fn basket_outcome(case: &EvalCase, row: &[f32], events: &[Vec<Interaction>]) -> RankOutcome {
    let masked = in_basket(case, events);
    let target = case.target as usize;
    let others = row
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != target && masked.binary_search(&(*i as ItemIdx)).is_err())
        .map(|(_, &s)| s);
    RankOutcome::from_scores(row.get(target).copied().unwrap_or(f32::NAN), others)
}

fn row_of(model: &str, acc: MetricAccumulator) -> BasketRow {
    let m = acc.finish();
    BasketRow { model: model.to_string(), ndcg10: m.ndcg10, hr10: m.hr10, ndcg20: m.ndcg20, mrr: m.mrr, cases: m.cases }
}

/// Scores `cases` with `scorer` and ranks each target among the items not in its basket.
pub fn basket_row(model: &str, scorer: &dyn CaseScorer, cases: &[EvalCase], events: &[Vec<Interaction>]) -> BasketRow {
    let n = scorer.catalog_size();
    let mut acc = MetricAccumulator::default();
    for chunk in cases.chunks(scorer.cases_per_batch().max(1)) {
        let mut scores = vec![0f32; chunk.len() * n];
        scorer.score_cases(chunk, &mut scores);
        for (case, row) in chunk.iter().zip(scores.chunks(n)) {
            acc.add(basket_outcome(case, row, events));
        }
    }
    row_of(model, acc)
}

/// The basket head's terms for each case, computed once so that weights can be tried
/// cheaply: the student's catalog scores, the "together" term of every catalog item, and
/// the repeat terms of the items bought among the case's recent events (as the device
/// sees them: the last [`RECENT_EVENTS`] of the history).
pub struct HeadTerms {
    n_items: usize,
    student: Vec<f32>,
    together: Vec<f32>,
    repeat: Vec<Vec<(usize, f32)>>,
}

impl HeadTerms {
    pub fn new(ranker: &Ranker, events: &[Vec<Interaction>], cases: &[EvalCase]) -> Self {
        let n_items = ranker.manifest().dims.n_items;
        let ids = &ranker.manifest().item_ids;
        let mut student = vec![0f32; cases.len() * n_items];
        RankerCases { ranker, events }.score_cases(cases, &mut student);
        let mut together = vec![0f32; cases.len() * n_items];
        let mut repeat = Vec::with_capacity(cases.len());
        for (case, row) in cases.iter().zip(together.chunks_mut(n_items)) {
            let recent = recent_history(case, events);
            let context = BasketContext::new(
                recent.iter().filter_map(|e| Some((ids.get(e.item as usize)?.as_str(), e.kind, e.ts as f64))),
                |id| ranker.item_index(id).map_or_else(Vec::new, |i| item_row(ranker, i as usize).to_vec()),
            );
            if context.basket_len() > 0 {
                for (i, t) in row.iter_mut().enumerate() {
                    *t = context.together(item_row(ranker, i));
                }
            }
            repeat.push(
                context
                    .bought()
                    .filter_map(|(id, _)| Some((ranker.item_index(id)? as usize, context.repeat(id))))
                    .collect(),
            );
        }
        Self { n_items, student, together, repeat }
    }

    /// Case `k`'s catalog scores under `weights`, into `out` `[n_items]`.
    pub fn scores(&self, k: usize, weights: &BasketWeights, out: &mut [f32]) {
        let n = self.n_items;
        let (student, together) = (&self.student[k * n..(k + 1) * n], &self.together[k * n..(k + 1) * n]);
        for ((o, s), t) in out.iter_mut().zip(student).zip(together) {
            *o = s + weights.together * t;
        }
        for &(i, r) in &self.repeat[k] {
            out[i] += weights.repeat * r;
        }
    }

    /// The basket protocol's row for these cases under `weights`.
    pub fn row(
        &self,
        model: &str,
        weights: &BasketWeights,
        cases: &[EvalCase],
        events: &[Vec<Interaction>],
    ) -> BasketRow {
        let mut acc = MetricAccumulator::default();
        let mut row = vec![0f32; self.n_items];
        for (k, case) in cases.iter().enumerate() {
            self.scores(k, weights, &mut row);
            acc.add(basket_outcome(case, &row, events));
        }
        row_of(model, acc)
    }
}

/// Weights tried for the basket head: every pair of these.
const REPEAT_WEIGHTS: [f32; 8] = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
const TOGETHER_WEIGHTS: [f32; 7] = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];

/// The basket head's weights with the best NDCG@10 on `valid` (the grid above; ties go to
/// the smaller weights), and every weight pair's validation row.
pub fn fit_basket_head(
    ranker: &Ranker,
    events: &[Vec<Interaction>],
    valid: &[EvalCase],
) -> (BasketWeights, Vec<(BasketWeights, BasketRow)>) {
    let terms = HeadTerms::new(ranker, events, valid);
    let mut tried = Vec::new();
    for &repeat in &REPEAT_WEIGHTS {
        for &together in &TOGETHER_WEIGHTS {
            let w = BasketWeights { repeat, together };
            tried.push((w, terms.row("basket head (valid)", &w, valid, events)));
        }
    }
    let best = tried
        .iter()
        .fold(None::<&(BasketWeights, BasketRow)>, |best, t| match best {
            Some(b) if b.1.ndcg10 >= t.1.ndcg10 => Some(b),
            _ => Some(t),
        })
        .map_or(BasketWeights { repeat: 0.0, together: 0.0 }, |t| t.0);
    (best, tried)
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

/// "Buy again": the products the shopper bought among their recent events, by
/// `ln(1 + times)` as the basket head counts them (the last [`RECENT_EVENTS`] of the
/// history), ties and everything else by popularity. The baseline the basket head must
/// beat to show that the student adds anything to repeat purchases.
pub struct BuyAgain<'a> {
    popularity: &'a [f32],
    events: &'a [Vec<Interaction>],
}

impl<'a> BuyAgain<'a> {
    pub fn new(together: &'a BoughtTogether<'a>) -> Self {
        Self { popularity: &together.popularity, events: together.events }
    }
}

impl CaseScorer for BuyAgain<'_> {
    fn catalog_size(&self) -> usize {
        self.popularity.len()
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let n = self.popularity.len();
        for (case, row) in cases.iter().zip(out.chunks_mut(n)) {
            row.copy_from_slice(self.popularity);
            let mut times: HashMap<ItemIdx, u32> = HashMap::new();
            for e in recent_history(case, self.events).iter().filter(|e| is_basket_kind(e.kind)) {
                *times.entry(e.item).or_default() += 1;
            }
            for (i, t) in times {
                if let Some(s) = row.get_mut(i as usize) {
                    *s += (t as f32).ln_1p();
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

    #[test]
    fn buy_again_ranks_the_shopper_s_earlier_purchases_first() {
        // Baskets {0, 1, 2}, {3, 1, 4}, {5, 1}; the target (the last line) is 1, bought
        // in both earlier baskets.
        let mut events = shopper();
        events[0].extend([line(5, 200_000), line(1, 200_001)]);
        let together = BoughtTogether::fit(&events, |_| 6, 6);
        let case = EvalCase { user: 0, history: vec![0, 1, 2, 3, 1, 4, 5], target: 1 };
        let mut row = vec![0f32; 6];
        BuyAgain::new(&together).score_cases(std::slice::from_ref(&case), &mut row);
        // 1 was bought twice before, the others once, 5 in this basket (masked).
        assert!(row[1] > row[0] && row[1] > row[4], "{row:?}");
        let repeat = 2f32.ln_1p() - 1f32.ln_1p();
        assert!((row[1] - row[0] - repeat - (together.popularity[1] - together.popularity[0])).abs() < 1e-6);
        let r = basket_row("buy again", &BuyAgain::new(&together), &[case], &events);
        assert!((r.ndcg10 - 1.0).abs() < 1e-9, "{r:?}");
    }
}
