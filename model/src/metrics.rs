//! Ranking metrics and the evaluation loop shared by every model and baseline.
//!
//! Ranks are 0-based (0 = first place). Ties are resolved at their midpoint: with `g`
//! candidates scored strictly above the target and `e` scored equal to it, the target's
//! rank is `g + e / 2`, so a constant scorer lands in the middle and neither benefits from
//! nor is punished by the order of the item table. A target scored NaN ranks last.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::catalog::ItemIdx;
use crate::split::{EvalCase, LeaveOneOut};

/// Cut-offs reported for hit rate.
pub const HR_CUTOFFS: [usize; 4] = [1, 5, 10, 20];
/// Cut-offs reported for NDCG.
pub const NDCG_CUTOFFS: [usize; 3] = [5, 10, 20];

/// Where the target landed among the candidates it competed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankOutcome {
    /// Negatives scored strictly above the target.
    pub greater: usize,
    /// Negatives scored equal to the target.
    pub equal: usize,
    /// Negatives the target competed with.
    pub negatives: usize,
}

impl RankOutcome {
    /// Compares the target's score with each negative's.
    pub fn from_scores(target: f32, negatives: impl IntoIterator<Item = f32>) -> Self {
        let (mut greater, mut equal, mut count) = (0, 0, 0);
        for s in negatives {
            count += 1;
            if s > target {
                greater += 1;
            } else if s == target {
                equal += 1;
            }
        }
        if target.is_nan() {
            greater = count;
            equal = 0;
        }
        Self { greater, equal, negatives: count }
    }

    /// 0-based rank with ties at their midpoint.
    pub fn rank(&self) -> usize {
        self.greater + self.equal / 2
    }

    /// Share of negatives ranked below the target (ties count one half).
    pub fn auc(&self) -> f64 {
        if self.negatives == 0 {
            return 1.0;
        }
        let below = self.negatives - self.greater - self.equal;
        (below as f64 + 0.5 * self.equal as f64) / self.negatives as f64
    }
}

/// 1 when the 0-based `rank` is inside the top `k`.
pub fn hit_rate(rank: usize, k: usize) -> f64 {
    if rank < k { 1.0 } else { 0.0 }
}

/// NDCG@k of a single relevant item at 0-based `rank`: `1 / log2(rank + 2)` inside the top k.
pub fn ndcg(rank: usize, k: usize) -> f64 {
    if rank < k { 1.0 / ((rank + 2) as f64).log2() } else { 0.0 }
}

/// Mean metrics over a set of ranking cases.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricSet {
    /// Number of cases averaged.
    pub cases: usize,
    #[serde(rename = "hr@1")]
    pub hr1: f64,
    #[serde(rename = "hr@5")]
    pub hr5: f64,
    #[serde(rename = "hr@10")]
    pub hr10: f64,
    #[serde(rename = "hr@20")]
    pub hr20: f64,
    #[serde(rename = "ndcg@5")]
    pub ndcg5: f64,
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    #[serde(rename = "ndcg@20")]
    pub ndcg20: f64,
    pub mrr: f64,
    pub auc: f64,
}

/// Running sums behind a [`MetricSet`].
#[derive(Debug, Clone, Default)]
pub struct MetricAccumulator {
    sum: MetricSet,
}

impl MetricAccumulator {
    /// Adds one case.
    pub fn add(&mut self, outcome: RankOutcome) {
        let r = outcome.rank();
        let s = &mut self.sum;
        s.cases += 1;
        s.hr1 += hit_rate(r, HR_CUTOFFS[0]);
        s.hr5 += hit_rate(r, HR_CUTOFFS[1]);
        s.hr10 += hit_rate(r, HR_CUTOFFS[2]);
        s.hr20 += hit_rate(r, HR_CUTOFFS[3]);
        s.ndcg5 += ndcg(r, NDCG_CUTOFFS[0]);
        s.ndcg10 += ndcg(r, NDCG_CUTOFFS[1]);
        s.ndcg20 += ndcg(r, NDCG_CUTOFFS[2]);
        s.mrr += 1.0 / (r + 1) as f64;
        s.auc += outcome.auc();
    }

    /// Means over the cases added so far (all zero when none were).
    pub fn finish(&self) -> MetricSet {
        let s = self.sum;
        let n = s.cases.max(1) as f64;
        MetricSet {
            cases: s.cases,
            hr1: s.hr1 / n,
            hr5: s.hr5 / n,
            hr10: s.hr10 / n,
            hr20: s.hr20 / n,
            ndcg5: s.ndcg5 / n,
            ndcg10: s.ndcg10 / n,
            ndcg20: s.ndcg20 / n,
            mrr: s.mrr / n,
            auc: s.auc / n,
        }
    }
}

/// A model that scores every catalog item for a batch of shopper histories.
pub trait Scorer {
    /// Catalog size: each history gets this many scores.
    fn n_items(&self) -> usize;

    /// Writes `histories.len() × n_items` scores into `out` (row-major, one row per
    /// history); higher means more likely next. Histories are oldest first.
    fn score_batch(&self, histories: &[&[ItemIdx]], out: &mut [f32]);

    /// How many histories [`score_batch`](Scorer::score_batch) handles well at once.
    fn preferred_batch(&self) -> usize {
        64
    }
}

/// A model that scores every catalog item for evaluation cases. Every [`Scorer`] is one;
/// models that need more than the item history (event kinds, times) implement it directly.
pub trait CaseScorer {
    /// Catalog size: each case gets this many scores.
    fn catalog_size(&self) -> usize;

    /// Writes `cases.len() × catalog_size` scores into `out` (row-major).
    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]);

    /// How many cases [`score_cases`](CaseScorer::score_cases) handles well at once.
    fn cases_per_batch(&self) -> usize {
        64
    }
}

impl<S: Scorer + ?Sized> CaseScorer for S {
    fn catalog_size(&self) -> usize {
        self.n_items()
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        let histories: Vec<&[ItemIdx]> = cases.iter().map(|c| c.history.as_slice()).collect();
        self.score_batch(&histories, out);
    }

    fn cases_per_batch(&self) -> usize {
        self.preferred_batch()
    }
}

/// The three protocols of one evaluation run (see DESIGN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Evaluation {
    /// Full ranking over the catalog, the user's earlier items excluded (S3-Rec's protocol).
    pub full_masked: MetricSet,
    /// Full ranking over the catalog, nothing excluded (RecBole's protocol).
    pub full_unmasked: MetricSet,
    /// The target against 100 uniformly sampled items the user never touched.
    pub sampled100: MetricSet,
}

impl Evaluation {
    /// Each protocol's key (as in JSON reports) and metrics.
    pub fn by_protocol(&self) -> [(&'static str, &MetricSet); 3] {
        [("full_masked", &self.full_masked), ("full_unmasked", &self.full_unmasked), ("sampled100", &self.sampled100)]
    }
}

/// Fixed negatives for the sampled protocol, drawn once per case so every model in a run
/// faces the same candidates.
#[derive(Debug, Clone)]
pub struct SampledNegatives {
    per_case: Vec<Vec<ItemIdx>>,
}

impl SampledNegatives {
    /// Number of negatives per case in the standard protocol.
    pub const STANDARD: usize = 100;

    /// Draws `count` distinct items per case, uniformly among the items the case's user
    /// never interacted with (whole sequence, held-out items included).
    pub fn draw(cases: &[EvalCase], split: &LeaveOneOut, n_items: usize, count: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seen = vec![false; n_items];
        let per_case = cases
            .iter()
            .map(|case| {
                let own = split.full_sequence(case.user);
                let own = own.iter().chain(&case.history).chain(std::iter::once(&case.target));
                for &i in own.clone() {
                    if let Some(s) = seen.get_mut(i as usize) {
                        *s = true;
                    }
                }
                let available = seen.iter().filter(|s| !**s).count();
                let picked: Vec<ItemIdx> = if available <= count {
                    (0..n_items as ItemIdx).filter(|&i| !seen[i as usize]).collect()
                } else {
                    let mut picked = Vec::with_capacity(count);
                    while picked.len() < count {
                        let i = rng.random_range(0..n_items);
                        if !seen[i] {
                            seen[i] = true;
                            picked.push(i as ItemIdx);
                        }
                    }
                    picked
                };
                for &i in own.chain(&picked) {
                    if let Some(s) = seen.get_mut(i as usize) {
                        *s = false;
                    }
                }
                picked
            })
            .collect();
        Self { per_case }
    }

    /// The negatives of case `i`.
    pub fn for_case(&self, i: usize) -> &[ItemIdx] {
        self.per_case.get(i).map_or(&[], Vec::as_slice)
    }
}

/// Where the target of `case` lands in a full score row, unmasked and masked.
pub fn full_rank(scores: &[f32], case: &EvalCase) -> (RankOutcome, RankOutcome) {
    let target = case.target as usize;
    let t = scores[target];
    let others = scores.iter().enumerate().filter(|(i, _)| *i != target).map(|(_, s)| *s);
    let unmasked = RankOutcome::from_scores(t, others);
    // Masking removes the user's earlier items (each once) from the competition.
    let mut masked = unmasked;
    let mut history: Vec<ItemIdx> = case.history.iter().copied().filter(|&i| i != case.target).collect();
    history.sort_unstable();
    history.dedup();
    for i in history {
        let Some(&s) = scores.get(i as usize) else { continue };
        masked.negatives -= 1;
        if t.is_nan() || s > t {
            masked.greater -= 1;
        } else if s == t {
            masked.equal -= 1;
        }
    }
    (unmasked, masked)
}

/// Evaluates `scorer` on `cases` under all three protocols. `progress` is called with the
/// number of cases finished after each batch.
pub fn evaluate<S: CaseScorer + ?Sized>(
    scorer: &S,
    cases: &[EvalCase],
    negatives: &SampledNegatives,
    progress: &mut dyn FnMut(usize),
) -> Evaluation {
    let n = scorer.catalog_size();
    let batch = scorer.cases_per_batch().max(1);
    let (mut unmasked, mut masked, mut sampled) =
        (MetricAccumulator::default(), MetricAccumulator::default(), MetricAccumulator::default());
    let mut scores = vec![0f32; batch * n];
    for (chunk_idx, chunk) in cases.chunks(batch).enumerate() {
        let out = &mut scores[..chunk.len() * n];
        scorer.score_cases(chunk, out);
        for (j, case) in chunk.iter().enumerate() {
            let row = &out[j * n..(j + 1) * n];
            let (u, m) = full_rank(row, case);
            unmasked.add(u);
            masked.add(m);
            let negs = negatives.for_case(chunk_idx * batch + j);
            let t = row[case.target as usize];
            sampled.add(RankOutcome::from_scores(t, negs.iter().map(|&i| row[i as usize])));
        }
        progress(chunk.len());
    }
    Evaluation { full_masked: masked.finish(), full_unmasked: unmasked.finish(), sampled100: sampled.finish() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ndcg_and_hit_rate_by_hand() {
        assert!(close(ndcg(0, 10), 1.0));
        assert!(close(ndcg(1, 10), 1.0 / 3f64.log2()));
        assert!(close(ndcg(2, 10), 0.5)); // log2(4) = 2
        assert!(close(ndcg(9, 10), 1.0 / 11f64.log2()));
        assert!(close(ndcg(10, 10), 0.0));
        assert!(close(hit_rate(4, 5), 1.0) && close(hit_rate(5, 5), 0.0));
    }

    #[test]
    fn accumulates_a_known_ranking() {
        // Three cases at ranks 0, 2 and 30 among 100 negatives.
        let mut acc = MetricAccumulator::default();
        for greater in [0, 2, 30] {
            acc.add(RankOutcome { greater, equal: 0, negatives: 100 });
        }
        let m = acc.finish();
        assert_eq!(m.cases, 3);
        assert!(close(m.hr1, 1.0 / 3.0));
        assert!(close(m.hr5, 2.0 / 3.0));
        assert!(close(m.hr20, 2.0 / 3.0));
        assert!(close(m.ndcg10, (1.0 + 0.5) / 3.0));
        assert!(close(m.mrr, (1.0 + 1.0 / 3.0 + 1.0 / 31.0) / 3.0));
        assert!(close(m.auc, (1.0 + 0.98 + 0.70) / 3.0));
    }

    #[test]
    fn ties_sit_at_their_midpoint_and_nan_ranks_last() {
        let o = RankOutcome::from_scores(1.0, [2.0, 1.0, 1.0, 1.0, 1.0, 0.0]);
        assert_eq!((o.greater, o.equal, o.negatives), (1, 4, 6));
        assert_eq!(o.rank(), 3);
        assert!(close(o.auc(), (1.0 + 2.0) / 6.0));
        let nan = RankOutcome::from_scores(f32::NAN, [0.0, 1.0]);
        assert_eq!(nan.rank(), 2);
        assert!(close(nan.auc(), 0.0));
    }

    #[test]
    fn masking_removes_only_earlier_items() {
        // Items 0..6; history [1, 2, 2]; target 3. Scores descending by id except the target.
        let scores = [6.0, 5.0, 4.0, 3.5, 2.0, 1.0];
        let case = EvalCase { user: 0, history: vec![1, 2, 2], target: 3 };
        let (unmasked, masked) = full_rank(&scores, &case);
        assert_eq!((unmasked.rank(), unmasked.negatives), (3, 5));
        assert_eq!((masked.rank(), masked.negatives), (1, 3));
    }

    struct Fixed(Vec<f32>);
    impl Scorer for Fixed {
        fn n_items(&self) -> usize {
            self.0.len()
        }
        fn score_batch(&self, histories: &[&[ItemIdx]], out: &mut [f32]) {
            for row in out.chunks_mut(self.0.len()).take(histories.len()) {
                row.copy_from_slice(&self.0);
            }
        }
        fn preferred_batch(&self) -> usize {
            2
        }
    }

    #[test]
    fn evaluate_runs_all_protocols_and_samples_outside_history() {
        let split = LeaveOneOut::new(vec![vec![0, 1, 2], vec![3, 4, 5, 0], vec![6, 7, 8]]);
        let n_items = 50;
        let negatives = SampledNegatives::draw(&split.test, &split, n_items, 10, 7);
        for (i, case) in split.test.iter().enumerate() {
            let negs = negatives.for_case(i);
            assert_eq!(negs.len(), 10);
            let own = split.full_sequence(case.user);
            assert!(negs.iter().all(|n| !own.contains(n)));
            let mut d = negs.to_vec();
            d.sort();
            d.dedup();
            assert_eq!(d.len(), 10, "negatives are distinct");
        }
        let again = SampledNegatives::draw(&split.test, &split, n_items, 10, 7);
        assert_eq!(again.for_case(1), negatives.for_case(1), "fixed seed, same negatives");

        // Item i scores -i: item 0 is best.
        let scorer = Fixed((0..n_items).map(|i| -(i as f32)).collect());
        let mut done = 0;
        let eval = evaluate(&scorer, &split.test, &negatives, &mut |n| done += n);
        assert_eq!(done, 3);
        assert_eq!(eval.full_unmasked.cases, 3);
        // Targets 2, 0, 8: unmasked ranks 2, 0, 8; masked ranks 0, 0, 6.
        let expect_unmasked = (ndcg(2, 10) + 1.0 + ndcg(8, 10)) / 3.0;
        assert!(close(eval.full_unmasked.ndcg10, expect_unmasked));
        let expect_masked = (1.0 + 1.0 + ndcg(6, 10)) / 3.0;
        assert!(close(eval.full_masked.ndcg10, expect_masked));
        assert!(eval.sampled100.hr10 >= eval.full_unmasked.hr10);
    }
}
