//! Epoch batches: a seeded shuffle, then examples of similar length grouped together (little
//! padding), then the batches themselves in a seeded random order.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Batches of example indices for one epoch: `lengths[i]` is example `i`'s length. The
/// shuffle before the (stable) sort by length decides which examples of equal length share
/// a batch; the batch order is shuffled again with the same `rng`.
pub fn epoch_batches(lengths: &[usize], batch_size: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(rng);
    order.sort_by_key(|&i| lengths[i]);
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect();
    batches.shuffle(rng);
    batches
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn every_example_once_in_batches_of_similar_length() {
        let lengths: Vec<usize> = (0..103).map(|i| (i * 7) % 23 + 2).collect();
        let batches = epoch_batches(&lengths, 10, &mut StdRng::seed_from_u64(3));
        assert_eq!(batches.len(), 11);
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 10));
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..103).collect::<Vec<_>>());
        // Sorted by length before chunking: a batch spans at most a few neighbouring lengths.
        for b in &batches {
            let (lo, hi) = b.iter().fold((usize::MAX, 0), |(lo, hi), &i| (lo.min(lengths[i]), hi.max(lengths[i])));
            assert!(hi - lo <= 3, "batch spans lengths {lo}..={hi}");
        }
        assert_eq!(batches, epoch_batches(&lengths, 10, &mut StdRng::seed_from_u64(3)));
        assert_ne!(batches, epoch_batches(&lengths, 10, &mut StdRng::seed_from_u64(4)));
    }
}
