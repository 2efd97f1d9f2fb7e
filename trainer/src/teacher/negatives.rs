//! How the teacher's softmax sees the catalog: every item (full softmax), or the batch's
//! targets plus negatives drawn by popularity, with the logQ correction (sampled softmax:
//! an epoch costs O(events), not O(events × items)).

use std::fmt;
use std::str::FromStr;

use pocketrank_model::ItemIdx;
use rand::Rng;
use rand::distr::weighted::WeightedIndex;
use rand::prelude::Distribution;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Catalogs up to this size train with the full softmax under `--negatives auto`.
pub const FULL_SOFTMAX_MAX_ITEMS: usize = 100_000;
/// Negatives per batch of the sampled softmax under `--negatives auto`.
pub const AUTO_NEGATIVES: usize = 8_192;

/// `--negatives`: `auto` (full softmax up to [`FULL_SOFTMAX_MAX_ITEMS`] items, else
/// [`AUTO_NEGATIVES`] sampled negatives), `full`, or a number of sampled negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Negatives {
    #[default]
    Auto,
    Full,
    Sampled(usize),
}

impl Negatives {
    /// The softmax a catalog of `n_items` trains with: `None` for the full softmax, else
    /// the number of negatives per batch.
    pub fn resolve(self, n_items: usize) -> Option<usize> {
        match self {
            Negatives::Auto if n_items <= FULL_SOFTMAX_MAX_ITEMS => None,
            Negatives::Auto => Some(AUTO_NEGATIVES),
            Negatives::Full => None,
            Negatives::Sampled(n) => Some(n),
        }
    }
}

impl FromStr for Negatives {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Negatives::Auto),
            "full" | "0" => Ok(Negatives::Full),
            n => match n.parse::<usize>() {
                Ok(n) => Ok(Negatives::Sampled(n)),
                Err(_) => Err(format!("expected auto, full or a number of negatives, got {n:?}")),
            },
        }
    }
}

impl fmt::Display for Negatives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Negatives::Auto => f.write_str("auto"),
            Negatives::Full => f.write_str("full"),
            Negatives::Sampled(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Negatives {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads `"auto"`, `"full"`, `"512"`, and the plain numbers of older run folders (0 was
/// the full softmax).
impl<'de> Deserialize<'de> for Negatives {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(usize),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(0) => Ok(Negatives::Full),
            Raw::Number(n) => Ok(Negatives::Sampled(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Draws negatives from the popularity of training targets (add-one smoothed over the
/// catalog): the distribution the batch's own targets, the in-batch negatives, come from.
/// Scores of sampled candidates are corrected by `- ln p(item)`, so the sampled softmax
/// estimates the full one instead of pushing popular items down.
pub struct NegativeSampler {
    items: Vec<ItemIdx>,
    index: WeightedIndex<f64>,
    /// `ln p(item)` by item index (items outside the catalog: never drawn, `-inf`).
    log_p: Vec<f32>,
}

impl NegativeSampler {
    /// `catalog`: the items that exist at training time; `seqs`: training sequences (every
    /// item after the first is a target).
    pub fn new(catalog: &[ItemIdx], n_items: usize, seqs: &[&[ItemIdx]]) -> anyhow::Result<Self> {
        let mut counts = vec![0f64; n_items];
        for s in seqs {
            for &i in s.iter().skip(1) {
                if let Some(c) = counts.get_mut(i as usize) {
                    *c += 1.0;
                }
            }
        }
        let weights: Vec<f64> = catalog.iter().map(|&i| counts.get(i as usize).copied().unwrap_or(0.0) + 1.0).collect();
        let total: f64 = weights.iter().sum();
        let mut log_p = vec![f32::NEG_INFINITY; n_items];
        for (&i, w) in catalog.iter().zip(&weights) {
            if let Some(slot) = log_p.get_mut(i as usize) {
                *slot = (w / total).ln() as f32;
            }
        }
        let index = WeightedIndex::new(&weights).map_err(|e| anyhow::anyhow!("negative sampler: {e}"))?;
        Ok(Self { items: catalog.to_vec(), index, log_p })
    }

    /// One negative.
    pub fn draw(&self, rng: &mut impl Rng) -> ItemIdx {
        self.items[self.index.sample(rng)]
    }

    /// `ln p(item)`, the correction subtracted from its score.
    pub fn log_p(&self, item: ItemIdx) -> f32 {
        self.log_p.get(item as usize).copied().unwrap_or(f32::NEG_INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn negatives_parse_print_and_read_old_run_folders() {
        for (text, value) in [("auto", Negatives::Auto), ("full", Negatives::Full), ("512", Negatives::Sampled(512))] {
            assert_eq!(text.parse::<Negatives>().unwrap(), value);
            assert_eq!(value.to_string(), text);
            assert_eq!(serde_json::from_str::<Negatives>(&serde_json::to_string(&value).unwrap()).unwrap(), value);
        }
        assert_eq!(serde_json::from_str::<Negatives>("0").unwrap(), Negatives::Full);
        assert_eq!(serde_json::from_str::<Negatives>("256").unwrap(), Negatives::Sampled(256));
        assert!("many".parse::<Negatives>().unwrap_err().contains("auto, full or a number"));
    }

    #[test]
    fn auto_is_full_for_shop_catalogs_and_sampled_past_them() {
        assert_eq!(Negatives::Auto.resolve(12_101), None);
        assert_eq!(Negatives::Auto.resolve(FULL_SOFTMAX_MAX_ITEMS + 1), Some(AUTO_NEGATIVES));
        assert_eq!(Negatives::Full.resolve(10_000_000), None);
        assert_eq!(Negatives::Sampled(64).resolve(10), Some(64));
    }

    #[test]
    fn draws_follow_target_popularity_and_skip_held_out_items() {
        // Item 1 is the target 7 times, item 2 once, items 0 and 3 never; item 4 is held out.
        let seqs: Vec<&[ItemIdx]> = vec![&[0, 1, 1, 1, 1], &[3, 1, 1, 1, 2], &[4, 4]];
        let catalog = [0, 1, 2, 3];
        let s = NegativeSampler::new(&catalog, 5, &seqs).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0usize; 5];
        for _ in 0..12_000 {
            counts[s.draw(&mut rng) as usize] += 1;
        }
        assert_eq!(counts[4], 0, "held-out items are never drawn");
        // p = (1, 8, 2, 1) / 12 (item 4's own target counts are outside the catalog).
        for (item, want) in [(0, 1000.0), (1, 8000.0), (2, 2000.0), (3, 1000.0)] {
            let got = counts[item] as f64;
            assert!((got - want).abs() < want * 0.1, "item {item}: {got} draws, want ≈ {want}");
        }
        assert!((s.log_p(1) - (8f32 / 12.0).ln()).abs() < 1e-6);
        assert_eq!(s.log_p(4), f32::NEG_INFINITY);
    }
}
