//! Lists that are not ten near-identical items: maximal marginal relevance (MMR) on the
//! student's item vectors, and a cap per group (brand, category…) that the shop supplies.
//!
//! Diversity reorders the first `window` places of a reranked list (a call's `top_k`, at
//! most [`MAX_WINDOW`]), choosing them greedily from the model's top `4 · window`: each
//! place takes the candidate with the best `(1 − λ) · relevance − λ · similarity`, where
//! relevance is the model's score scaled to `[0, 1]` over those candidates and similarity is
//! the largest cosine between the candidate's item vector and those already placed. A
//! candidate whose group already has `max_per_group` places waits until the window is
//! filled; when too few other candidates are left, the capped ones follow in the model's
//! order. λ = 0 without a cap is the model's order.

use std::collections::HashMap;

use crate::error::RankError;
use crate::ranker::Scored;

/// Most places one call diversifies.
pub const MAX_WINDOW: usize = 100;
/// Candidates considered per diversified place.
const POOL_PER_PLACE: usize = 4;

/// How much a reranked list is diversified.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diversity {
    /// λ in `[0, 1]`: 0 keeps the model's order, 1 only avoids similar items.
    pub lambda: f32,
    /// At most this many places per group in the diversified window.
    pub max_per_group: Option<usize>,
    /// Each candidate's group, by input position (0: none); empty when there are none.
    pub groups: Vec<u32>,
}

impl Diversity {
    /// Checks the settings for a list of `candidates`.
    pub fn check(&self, candidates: usize) -> Result<(), RankError> {
        let bad = |m: String| Err(RankError::Options(m));
        if !(0.0..=1.0).contains(&self.lambda) {
            return bad(format!("diversity must be a number from 0 to 1 (got {})", self.lambda));
        }
        if self.max_per_group == Some(0) {
            return bad("maxPerGroup must be at least 1".into());
        }
        if self.max_per_group.is_some() && self.groups.is_empty() {
            return bad("maxPerGroup needs each candidate's group (groupOf)".into());
        }
        if !self.groups.is_empty() && self.groups.len() != candidates {
            return bad(format!("{} groups for {candidates} candidates", self.groups.len()));
        }
        Ok(())
    }

    /// Whether this leaves the model's order as it is.
    pub fn is_off(&self) -> bool {
        self.lambda == 0.0 && self.max_per_group.is_none()
    }

    fn group(&self, index: usize) -> u32 {
        self.groups.get(index).copied().unwrap_or(0)
    }
}

/// Reorders the first `window` places of `ranked` (best first; [`Scored::index`] is the
/// candidate's input position) by `diversity`; `vector(index)` is the candidate's item
/// vector. The settings must have passed [`Diversity::check`].
pub fn diversify(ranked: &mut [Scored], window: usize, diversity: &Diversity, vector: impl Fn(usize) -> Vec<f32>) {
    let window = window.min(MAX_WINDOW).min(ranked.len());
    if diversity.is_off() || window == 0 {
        return;
    }
    let pool_len = (POOL_PER_PLACE * window).min(ranked.len());
    let pool = &mut ranked[..pool_len];
    let lambda = diversity.lambda;
    let unit: Vec<Vec<f32>> = if lambda > 0.0 {
        pool.iter()
            .map(|s| {
                let mut v = vector(s.index);
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 && norm.is_finite() {
                    v.iter_mut().for_each(|x| *x /= norm);
                }
                v
            })
            .collect()
    } else {
        Vec::new()
    };
    let finite = || pool.iter().map(|s| s.score).filter(|s| s.is_finite());
    let (low, high) = (finite().fold(f32::INFINITY, f32::min), finite().fold(f32::NEG_INFINITY, f32::max));
    let relevance: Vec<f32> = pool
        .iter()
        .map(|s| if s.score.is_finite() && high > low { (s.score - low) / (high - low) } else { 0.0 })
        .collect();
    let mut similarity = vec![0f32; pool.len()];
    let mut placed = vec![false; pool.len()];
    let mut order = Vec::with_capacity(pool.len());
    let mut per_group: HashMap<u32, usize> = HashMap::new();
    let capped = |group: u32, per_group: &HashMap<u32, usize>| {
        group != 0 && diversity.max_per_group.is_some_and(|cap| per_group.get(&group).copied().unwrap_or(0) >= cap)
    };
    while order.len() < window {
        let best = (0..pool.len())
            .filter(|&i| !placed[i] && !capped(diversity.group(pool[i].index), &per_group))
            .map(|i| (i, (1.0 - lambda) * relevance[i] - lambda * similarity[i]))
            .fold(None, |best: Option<(usize, f32)>, (i, v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((i, v)),
            });
        let Some((chosen, _)) = best else { break };
        placed[chosen] = true;
        order.push(chosen);
        *per_group.entry(diversity.group(pool[chosen].index)).or_default() += 1;
        if lambda > 0.0 {
            for (i, s) in similarity.iter_mut().enumerate() {
                if !placed[i] {
                    let cos: f32 = unit[i].iter().zip(&unit[chosen]).map(|(a, b)| a * b).sum();
                    *s = s.max(cos);
                }
            }
        }
    }
    order.extend((0..pool.len()).filter(|&i| !placed[i]));
    let reordered: Vec<Scored> = order.iter().map(|&i| pool[i]).collect();
    pool.copy_from_slice(&reordered);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranker::tests::scored_list as list;

    fn indices(ranked: &[Scored]) -> Vec<usize> {
        ranked.iter().map(|s| s.index).collect()
    }

    /// Items 0–2 point one way, 3–5 another.
    fn vector(i: usize) -> Vec<f32> {
        if i < 3 { vec![1.0, 0.1 * i as f32] } else { vec![0.1 * i as f32, 1.0] }
    }

    #[test]
    fn lambda_zero_keeps_the_model_order_and_more_lambda_mixes_more() {
        let scores = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let mut same = list(&scores);
        diversify(&mut same, 6, &Diversity::default(), vector);
        assert_eq!(indices(&same), [0, 1, 2, 3, 4, 5]);
        let mut mixed = list(&scores);
        diversify(&mut mixed, 4, &Diversity { lambda: 0.7, ..Default::default() }, vector);
        assert_eq!(indices(&mixed)[..2], [0, 3], "the second place goes to the other direction");
        assert_eq!(mixed.len(), 6, "nothing is dropped");
        let mut sorted = indices(&mixed);
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_group_cap_holds_in_the_window_and_the_capped_follow() {
        let groups = vec![1, 1, 1, 2, 0, 1];
        let diversity = Diversity { lambda: 0.0, max_per_group: Some(1), groups };
        diversity.check(6).unwrap();
        let mut ranked = list(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        diversify(&mut ranked, 3, &diversity, vector);
        assert_eq!(indices(&ranked), [0, 3, 4, 1, 2, 5]);
        // Too few others: the capped ones fill the rest in the model's order.
        let mut short = list(&[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]);
        diversify(&mut short, 6, &diversity, vector);
        assert_eq!(indices(&short), [0, 3, 4, 1, 2, 5]);
    }

    #[test]
    fn bad_settings_are_errors() {
        for lambda in [-0.1, 1.5, f32::NAN, f32::INFINITY] {
            let e = Diversity { lambda, ..Default::default() }.check(3).unwrap_err();
            assert_eq!(e.code().as_str(), "E_OPTIONS", "{lambda}");
        }
        let cap = |groups: Vec<u32>, cap| Diversity { lambda: 0.5, max_per_group: Some(cap), groups };
        assert!(cap(vec![], 2).check(3).is_err(), "a cap without groups");
        assert!(cap(vec![1, 2], 2).check(3).is_err(), "groups of another list");
        assert!(cap(vec![1, 2, 3], 0).check(3).is_err(), "a cap of 0");
        assert!(cap(vec![1, 2, 3], 1).check(3).is_ok());
    }
}
