//! The basket context: reranking add-on candidates for a shopper with a basket open.
//!
//! A grocery shopper buys the same products again and again, and fills one basket with
//! products that go together. The student's profile knows the order of events but not
//! which of them are still in the basket, nor how often an item came back. The basket
//! head adds two terms to the student's score, both read from the session's recent events
//! on the device:
//!
//! - **repeat**: `ln(1 + n)`, `n` the candidate's cart and purchase events among the
//!   recent ones (items bought again rank higher);
//! - **together**: the mean cosine between the candidate's item vector and the vectors of
//!   the products in the open basket (the latest run of cart or purchase events, each less
//!   than [`BASKET_GAP_SECONDS`] after the one before).
//!
//! `score + repeat_weight · repeat + together_weight · together`: the two weights are
//! fitted by the trainer on the basket protocol's validation cases and carried in the
//! artifact's manifest ([`BasketWeights`]); an artifact without them has no basket head.
//! Products already in the open basket go after all the others (an add-on is something
//! not yet in the basket), as the protocol masks them.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::RankError;
use crate::event_kind::EventKind;
use crate::kernel::lane_sum;

/// Events of one basket are less than this apart (seconds).
pub const BASKET_GAP_SECONDS: f64 = 3_600.0;

/// The basket head's weights (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BasketWeights {
    /// Weight of `ln(1 + n)`, `n` the candidate's recent cart and purchase events.
    pub repeat: f32,
    /// Weight of the mean cosine with the products in the open basket.
    pub together: f32,
}

impl BasketWeights {
    /// Both weights finite: what a manifest must hold for the head to be used.
    pub fn check(&self) -> Result<(), RankError> {
        if self.repeat.is_finite() && self.together.is_finite() {
            Ok(())
        } else {
            Err(RankError::Options(format!(
                "the model's basket weights are not finite numbers (repeat {}, together {})",
                self.repeat, self.together
            )))
        }
    }
}

/// Whether an event of this kind puts the item in a basket.
pub fn is_basket_kind(kind: EventKind) -> bool {
    matches!(kind, EventKind::Cart | EventKind::Purchase)
}

/// What the basket head reads from a shopper's recent events.
#[derive(Debug, Clone, Default)]
pub struct BasketContext {
    /// Recent cart and purchase events per item id.
    bought: FxHashMap<String, u32>,
    /// Mean of the open basket's unit item vectors (empty without a basket).
    basket: Vec<f32>,
    /// The ids of the products in the open basket.
    members: Vec<String>,
}

/// `v / |v|` (zero stays zero).
fn unit(v: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let scale = if norm > 0.0 && norm.is_finite() { 1.0 / norm } else { 0.0 };
    v.iter().map(move |x| x * scale)
}

impl BasketContext {
    /// The context of `events` (`(item id, kind, ts in seconds)`, oldest first); `vector`
    /// gives the item vector of an event in the open basket (called for those only).
    pub fn new<'e>(
        events: impl DoubleEndedIterator<Item = (&'e str, EventKind, f64)> + Clone,
        mut vector: impl FnMut(&'e str) -> Vec<f32>,
    ) -> Self {
        let mut bought: FxHashMap<String, u32> = FxHashMap::default();
        for (id, kind, _) in events.clone() {
            if is_basket_kind(kind) {
                *bought.entry(id.to_string()).or_default() += 1;
            }
        }
        let mut basket: Vec<f32> = Vec::new();
        let mut members: Vec<&str> = Vec::new();
        let mut later: Option<f64> = None;
        for (id, kind, ts) in events.rev() {
            if !is_basket_kind(kind) {
                continue;
            }
            if later.is_some_and(|t| t - ts >= BASKET_GAP_SECONDS) {
                break;
            }
            later = Some(ts);
            if members.contains(&id) {
                continue;
            }
            members.push(id);
            let v = vector(id);
            if basket.is_empty() {
                basket.resize(v.len(), 0.0);
            }
            if v.len() == basket.len() {
                basket.iter_mut().zip(unit(&v)).for_each(|(b, x)| *b += x);
            }
        }
        let n = members.len();
        basket.iter_mut().for_each(|b| *b /= n.max(1) as f32);
        Self { bought, basket, members: members.into_iter().map(str::to_string).collect() }
    }

    /// Products in the open basket.
    pub fn basket_len(&self) -> usize {
        self.members.len()
    }

    /// Whether the product is in the open basket.
    pub fn holds(&self, id: &str) -> bool {
        self.members.iter().any(|m| m == id)
    }

    /// `ln(1 + n)`, `n` the item's recent cart and purchase events.
    pub fn repeat(&self, id: &str) -> f32 {
        self.bought.get(id).map_or(0.0, |&n| (n as f32).ln_1p())
    }

    /// Mean cosine of `vector` with the open basket's products (0 without a basket).
    pub fn together(&self, vector: &[f32]) -> f32 {
        if self.basket.len() != vector.len() {
            return 0.0;
        }
        // In independent lanes: these sums run once per candidate.
        let norm = lane_sum(vector, vector, |x, y| x * y).sqrt();
        let t = lane_sum(vector, &self.basket, |x, b| x * b) / norm;
        if t.is_finite() { t } else { 0.0 }
    }

    /// What the head adds to a candidate's score.
    pub fn lift(&self, weights: &BasketWeights, id: &str, vector: &[f32]) -> f32 {
        let repeat = if weights.repeat != 0.0 { weights.repeat * self.repeat(id) } else { 0.0 };
        let together = if weights.together != 0.0 { weights.together * self.together(vector) } else { 0.0 };
        repeat + together
    }

    /// Items with a recent cart or purchase event, and how many.
    pub fn bought(&self) -> impl Iterator<Item = (&str, u32)> {
        self.bought.iter().map(|(id, &n)| (id.as_str(), n))
    }

    /// The open basket's mean unit vector (empty without a basket).
    pub fn basket_direction(&self) -> &[f32] {
        &self.basket
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors(id: &str) -> Vec<f32> {
        match id {
            "milk" => vec![1.0, 0.0],
            "bread" => vec![0.0, 2.0],
            _ => vec![1.0, 1.0],
        }
    }

    #[test]
    fn repeat_counts_cart_and_purchase_events_only() {
        let events = [
            ("milk", EventKind::Purchase, 0.0),
            ("milk", EventKind::View, 10.0),
            ("milk", EventKind::Purchase, 90_000.0),
            ("bread", EventKind::View, 90_010.0),
        ];
        let c = BasketContext::new(events.iter().copied(), vectors);
        assert!((c.repeat("milk") - 2f32.ln_1p()).abs() < 1e-6);
        assert_eq!(c.repeat("bread"), 0.0);
        assert_eq!(c.repeat("eggs"), 0.0);
    }

    #[test]
    fn the_open_basket_is_the_latest_run_of_cart_events() {
        let events = [
            ("eggs", EventKind::Purchase, 0.0),
            // A day later: a new basket with milk and bread (views do not count, nor break it).
            ("milk", EventKind::Cart, 86_400.0),
            ("tea", EventKind::View, 86_500.0),
            ("bread", EventKind::Cart, 86_600.0),
            ("bread", EventKind::Cart, 86_700.0),
        ];
        let c = BasketContext::new(events.iter().copied(), vectors);
        assert_eq!(c.basket_len(), 2);
        assert!(c.holds("milk") && c.holds("bread") && !c.holds("eggs") && !c.holds("tea"));
        // Mean of the unit vectors (1, 0) and (0, 1).
        assert!((c.together(&[1.0, 0.0]) - 0.5).abs() < 1e-6);
        assert!((c.together(&[3.0, 3.0]) - 2f32.sqrt() / 2.0).abs() < 1e-6);
        assert_eq!(c.together(&[1.0, 0.0, 0.0]), 0.0, "another width reads as no basket");
        let w = BasketWeights { repeat: 2.0, together: 4.0 };
        assert!((c.lift(&w, "bread", &[0.0, 5.0]) - (2.0 * 2f32.ln_1p() + 4.0 * 0.5)).abs() < 1e-5);
    }

    #[test]
    fn no_events_no_lift() {
        let c = BasketContext::new(std::iter::empty(), vectors);
        assert_eq!(c.basket_len(), 0);
        assert_eq!(c.lift(&BasketWeights { repeat: 1.0, together: 1.0 }, "milk", &[1.0, 0.0]), 0.0);
        assert!(BasketWeights { repeat: f32::NAN, together: 0.0 }.check().is_err());
    }
}
