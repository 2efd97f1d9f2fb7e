//! Item popularity: how often each item occurs.

use pocketrank_model::ItemIdx;

/// Occurrences of each of `n_items` items (ids outside the catalog are ignored).
pub fn item_counts<'a>(items: impl IntoIterator<Item = &'a ItemIdx>, n_items: usize) -> Vec<usize> {
    let mut counts = vec![0usize; n_items];
    for &i in items {
        if let Some(c) = counts.get_mut(i as usize) {
            *c += 1;
        }
    }
    counts
}

/// Standardised `ln(1 + count)` of every item (mean 0, standard deviation 1): the
/// stand-in for a shop's server score while distilling.
pub fn standardised_log_popularity(counts: &[usize]) -> Vec<f32> {
    let n = counts.len().max(1) as f32;
    let logs: Vec<f32> = counts.iter().map(|&c| (c as f32).ln_1p()).collect();
    let mean = logs.iter().sum::<f32>() / n;
    let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
    let std = var.sqrt().max(1e-6);
    logs.iter().map(|x| (x - mean) / std).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_standardised_scores() {
        let counts = item_counts(&[0, 2, 2, 2, 9, 1, 2], 4);
        assert_eq!(counts, vec![1, 1, 4, 0]);
        let s = standardised_log_popularity(&counts);
        assert!(s.iter().sum::<f32>().abs() < 1e-5);
        assert!((s.iter().map(|x| x * x).sum::<f32>() / 4.0 - 1.0).abs() < 1e-4);
        assert!(s[2] > s[0] && s[0] == s[1] && s[1] > s[3]);
        assert!(standardised_log_popularity(&[3, 3]).iter().all(|x| *x == 0.0));
    }
}
