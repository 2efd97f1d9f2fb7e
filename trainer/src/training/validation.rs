//! The validation set both training loops select epochs on.

use pocketrank_model::metrics::SampledNegatives;
use pocketrank_model::{EvalCase, LeaveOneOut};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Validation cases: all of them when `limit` is 0 or covers every case, else a fixed
/// seeded subset of `limit` users (in user order).
pub fn validation_cases(split: &LeaveOneOut, limit: usize, seed: u64) -> Vec<EvalCase> {
    let mut cases = split.valid.clone();
    if limit > 0 && limit < cases.len() {
        cases.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5eed));
        cases.truncate(limit);
        cases.sort_by_key(|c| c.user);
    }
    cases
}

/// The validation cases and their sampled negatives.
pub struct Validation {
    pub cases: Vec<EvalCase>,
    pub negatives: SampledNegatives,
}

impl Validation {
    /// [`validation_cases`] with [`SampledNegatives::STANDARD`] negatives per case.
    pub fn new(split: &LeaveOneOut, n_items: usize, limit: usize, seed: u64) -> Self {
        let cases = validation_cases(split, limit, seed);
        let negatives = SampledNegatives::draw(&cases, split, n_items, SampledNegatives::STANDARD, seed);
        Self { cases, negatives }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split() -> LeaveOneOut {
        LeaveOneOut::new((0..50u32).map(|u| vec![u % 7, (u + 1) % 7, (u + 2) % 7, (u + 3) % 7]).collect())
    }

    #[test]
    fn zero_and_large_limits_mean_every_user() {
        let s = split();
        assert_eq!(validation_cases(&s, 0, 1), s.valid);
        assert_eq!(validation_cases(&s, 50, 1), s.valid);
        assert_eq!(validation_cases(&s, 500, 1), s.valid);
    }

    #[test]
    fn a_limit_is_a_seeded_subset_in_user_order() {
        let s = split();
        let a = validation_cases(&s, 10, 1);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0].user < w[1].user));
        assert!(a.iter().all(|c| s.valid.contains(c)));
        assert_eq!(a, validation_cases(&s, 10, 1));
        assert_ne!(a, validation_cases(&s, 10, 2));
    }
}
