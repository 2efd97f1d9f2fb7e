//! Non-learned baselines every evaluation reports next to the models.

use std::collections::HashMap;

use crate::catalog::ItemIdx;
use crate::metrics::{CaseScorer, Scorer};
use crate::split::EvalCase;

/// Counts how often each item occurs in the training sequences.
fn item_counts(train: &[Vec<ItemIdx>], n_items: usize) -> Vec<f32> {
    let mut counts = vec![0f32; n_items];
    for &i in train.iter().flatten() {
        if let Some(c) = counts.get_mut(i as usize) {
            *c += 1.0;
        }
    }
    counts
}

/// Most popular first: an item's score is its number of training interactions.
#[derive(Debug, Clone)]
pub struct Popularity {
    counts: Vec<f32>,
}

impl Popularity {
    /// Counts interactions in `train` (item ids outside `0..n_items` are ignored).
    pub fn fit(train: &[Vec<ItemIdx>], n_items: usize) -> Self {
        Self { counts: item_counts(train, n_items) }
    }

    /// Training interactions per item.
    pub fn counts(&self) -> &[f32] {
        &self.counts
    }
}

impl Scorer for Popularity {
    fn n_items(&self) -> usize {
        self.counts.len()
    }

    fn score_batch(&self, histories: &[&[ItemIdx]], out: &mut [f32]) {
        for row in out.chunks_mut(self.counts.len()).take(histories.len()) {
            row.copy_from_slice(&self.counts);
        }
    }
}

/// Item-to-item co-occurrence on the shopper's last item: an item's score is how often it
/// directly followed that last item in the training sequences. Items that never did are
/// ordered by popularity (the popularity term is below 1, so it only breaks ties).
#[derive(Debug, Clone)]
pub struct CoOccurrence {
    /// `next[i]` lists `(j, count)` for every item `j` seen right after `i`.
    next: Vec<Vec<(ItemIdx, f32)>>,
    /// Popularity scaled into `[0, 1)`.
    tie_break: Vec<f32>,
}

impl CoOccurrence {
    /// Counts consecutive pairs `(i, j)` in `train`.
    pub fn fit(train: &[Vec<ItemIdx>], n_items: usize) -> Self {
        let mut pairs: Vec<HashMap<ItemIdx, f32>> = vec![HashMap::new(); n_items];
        for seq in train {
            for w in seq.windows(2) {
                if (w[0] as usize) < n_items && (w[1] as usize) < n_items && w[0] != w[1] {
                    *pairs[w[0] as usize].entry(w[1]).or_default() += 1.0;
                }
            }
        }
        let next = pairs
            .into_iter()
            .map(|m| {
                let mut v: Vec<_> = m.into_iter().collect();
                v.sort_unstable_by_key(|(j, _)| *j);
                v
            })
            .collect();
        let counts = item_counts(train, n_items);
        let max = counts.iter().copied().fold(0f32, f32::max);
        let tie_break = counts.iter().map(|c| c / (max + 1.0)).collect();
        Self { next, tie_break }
    }
}

impl Scorer for CoOccurrence {
    fn n_items(&self) -> usize {
        self.tie_break.len()
    }

    fn score_batch(&self, histories: &[&[ItemIdx]], out: &mut [f32]) {
        let n = self.tie_break.len();
        for (row, history) in out.chunks_mut(n).zip(histories) {
            row.copy_from_slice(&self.tie_break);
            let Some(next) = history.last().and_then(|&i| self.next.get(i as usize)) else {
                continue;
            };
            for &(j, c) in next {
                row[j as usize] += c;
            }
        }
    }
}

/// Another scorer restricted to a set of items: every other item scores −∞, so targets in
/// the set are ranked among the set only (e.g. cold-start items among cold-start items).
pub struct Restricted<'a> {
    pub inner: &'a dyn CaseScorer,
    /// `allowed[i]` is true for items that keep their score.
    pub allowed: &'a [bool],
}

impl CaseScorer for Restricted<'_> {
    fn catalog_size(&self) -> usize {
        self.inner.catalog_size()
    }

    fn score_cases(&self, cases: &[EvalCase], out: &mut [f32]) {
        self.inner.score_cases(cases, out);
        for row in out.chunks_mut(self.catalog_size()) {
            for (s, &ok) in row.iter_mut().zip(self.allowed) {
                if !ok {
                    *s = f32::NEG_INFINITY;
                }
            }
        }
    }

    fn cases_per_batch(&self) -> usize {
        self.inner.cases_per_batch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(s: &dyn Scorer, history: &[ItemIdx]) -> Vec<f32> {
        let mut out = vec![0.0; s.n_items()];
        s.score_batch(&[history], &mut out);
        out
    }

    #[test]
    fn restricted_scores_only_allowed_items() {
        let pop = Popularity::fit(&[vec![0, 1, 1, 2]], 3);
        let allowed = [true, false, true];
        let case = EvalCase { user: 0, history: vec![], target: 0 };
        let mut s = vec![0.0; 3];
        Restricted { inner: &pop, allowed: &allowed }.score_cases(&[case], &mut s);
        assert_eq!(s, vec![1.0, f32::NEG_INFINITY, 1.0]);
    }

    #[test]
    fn popularity_counts_training_interactions() {
        let train = vec![vec![0, 1, 1], vec![1, 2], vec![9]];
        let pop = Popularity::fit(&train, 4);
        assert_eq!(scores(&pop, &[3]), vec![1.0, 3.0, 1.0, 0.0]);
    }

    #[test]
    fn cooccurrence_prefers_followers_of_the_last_item() {
        let train = vec![vec![0, 1], vec![0, 1], vec![0, 2], vec![2, 2, 3], vec![3, 3, 3]];
        let co = CoOccurrence::fit(&train, 4);
        let s = scores(&co, &[3, 0]);
        // 1 followed 0 twice, 2 once; 3 never did but is most popular.
        assert!(s[1] > s[2] && s[2] > s[3] && s[3] > s[0]);
        // An empty history falls back to popularity.
        let s = scores(&co, &[]);
        assert!(s[3] > s[2] && s[2] > s[1] && s[2] == s[0]);
    }
}
