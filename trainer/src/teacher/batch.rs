//! The teacher's training batches and loss: next-item cross-entropy at every position,
//! over the whole catalog (full softmax) or the batch's targets plus shared negatives drawn
//! by popularity, with the logQ correction (sampled softmax, see [`super::negatives`]).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use pocketrank_model::ItemIdx;
use pocketrank_model::teacher::{ItemText, Teacher};
use rand::rngs::StdRng;

use super::negatives::NegativeSampler;
use crate::training::LocalTable;

/// One batch of training sequences over a local item table: the batch only computes the
/// vectors of the items it reads or scores.
pub struct TeacherBatch<B: Backend> {
    /// `[t]` shifted item ids of the local table; entry 0 is padding.
    pub table: Tensor<B, 1, Int>,
    /// `[batch, len]` indices into `table`, right-padded with 0.
    pub inputs: Tensor<B, 2, Int>,
    /// `[n]` flat `batch * len` indices of the positions that have a next item.
    pub positions: Tensor<B, 1, Int>,
    /// `[c]` indices into `table` of the items scored at every position.
    pub candidates: Tensor<B, 1, Int>,
    /// `[n]` the next item at each position, as a column of `candidates`.
    pub targets: Tensor<B, 1, Int>,
    /// `[1, c]` the sampled softmax's correction, `ln p` of each candidate (subtracted from
    /// its scores); `None` for the full softmax.
    pub log_q: Option<Tensor<B, 2>>,
    /// `n`: predicted positions.
    pub n_targets: usize,
}

impl<B: Backend> TeacherBatch<B> {
    /// Builds a batch from sequences of at least 2 items (each already cut to `max_len + 1`).
    /// Every position predicts the next item, or with `last_only` just the sequence's last
    /// item (a prefix for a whole-history model). With `sampled = Some((sampler, m))` the
    /// candidates are the batch's targets plus `m` draws from `sampler` (repeats kept once);
    /// with `None`, all of `catalog` (full softmax). `catalog` lists the items that exist at
    /// training time.
    pub fn new(
        seqs: &[&[ItemIdx]],
        last_only: bool,
        catalog: &[ItemIdx],
        sampled: Option<(&NegativeSampler, usize)>,
        rng: &mut StdRng,
        device: &B::Device,
    ) -> Self {
        let mut table = LocalTable::new();
        if sampled.is_none() {
            for &i in catalog {
                table.row(i64::from(i) + 1);
            }
        }
        let len = seqs.iter().map(|s| s.len() - 1).max().unwrap_or(1).max(1);
        let mut inputs = vec![0i64; seqs.len() * len];
        let (mut positions, mut next_items) = (Vec::new(), Vec::new());
        for (b, s) in seqs.iter().enumerate() {
            for t in 0..s.len() - 1 {
                inputs[b * len + t] = table.row(i64::from(s[t]) + 1);
                if !last_only || t + 2 == s.len() {
                    positions.push((b * len + t) as i64);
                    next_items.push(i64::from(s[t + 1]) + 1);
                }
            }
        }
        // Candidate columns: every catalog item, or the targets then fresh negatives.
        let mut columns = LocalTable::empty();
        let mut candidates: Vec<i64> = Vec::new();
        let mut add = |shifted: i64, table: &mut LocalTable, columns: &mut LocalTable| {
            let before = columns.len();
            let col = columns.row(shifted);
            if columns.len() > before {
                candidates.push(table.row(shifted));
            }
            col
        };
        if sampled.is_none() {
            for &i in catalog {
                add(i64::from(i) + 1, &mut table, &mut columns);
            }
        }
        let targets: Vec<i64> = next_items.iter().map(|&i| add(i, &mut table, &mut columns)).collect();
        let mut log_q = None;
        if let Some((sampler, negatives)) = sampled {
            for _ in 0..negatives {
                add(i64::from(sampler.draw(rng)) + 1, &mut table, &mut columns);
            }
            let ids = columns.ids();
            let q: Vec<f32> = ids.iter().map(|&shifted| sampler.log_p((shifted - 1) as ItemIdx)).collect();
            log_q = Some(Tensor::from_data(TensorData::new(q, [1, ids.len()]), device));
        }
        let ids = table.into_ids();
        let (n, c, k) = (targets.len(), candidates.len(), ids.len());
        Self {
            table: Tensor::from_data(TensorData::new(ids, [k]), device),
            inputs: Tensor::from_data(TensorData::new(inputs, [seqs.len(), len]), device),
            positions: Tensor::from_data(TensorData::new(positions, [n]), device),
            candidates: Tensor::from_data(TensorData::new(candidates, [c]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n]), device),
            log_q,
            n_targets: n,
        }
    }
}

/// Mean cross-entropy of one batch over its candidates, with `smoothing` of the target
/// spread over all candidates (0: none): returns `[1]`.
pub fn batch_loss<B: Backend>(
    model: &Teacher<B>,
    text: &ItemText<B>,
    batch: TeacherBatch<B>,
    smoothing: f32,
) -> Tensor<B, 1> {
    let items = model.item_vectors_of(text, batch.table); // [t, d]
    let hidden = model.forward(batch.inputs, items.clone()); // [batch, len, d]
    let [b, l, d] = hidden.dims();
    let rows = hidden.reshape([b * l, d]).select(0, batch.positions); // [n, d]
    let mut logits = model.candidate_logits(rows, items, batch.candidates); // [n, c]
    if let Some(log_q) = batch.log_q {
        logits = logits - log_q;
    }
    let smoothing = (smoothing > 0.0).then_some(smoothing);
    CrossEntropyLossConfig::new().with_smoothing(smoothing).init(&logits.device()).forward(logits, batch.targets)
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use pocketrank_model::LeaveOneOut;
    use rand::SeedableRng;

    use super::*;
    use crate::teacher::{training_prefixes, training_sequences};

    type B = Flex;

    #[test]
    fn a_whole_history_teacher_trains_on_every_prefix_once() {
        // Training parts: [0, 1, 2, 3, 4] and [5] (nothing to predict).
        let split = LeaveOneOut::new(vec![vec![0, 1, 2, 3, 4, 6, 7], vec![5, 6, 7]]);
        let prefixes = training_prefixes(&split, 2);
        let expected: [&[ItemIdx]; 4] = [&[0, 1], &[0, 1, 2], &[1, 2, 3], &[2, 3, 4]];
        assert_eq!(prefixes, expected);
        // The causal teacher reads the last window once and predicts at every position.
        assert_eq!(training_sequences(&split, 2), [&[2, 3, 4][..]]);

        let catalog: Vec<ItemIdx> = (0..8).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let device = Default::default();
        let last = TeacherBatch::<B>::new(&prefixes, true, &catalog, None, &mut rng, &device);
        assert_eq!(last.n_targets, 4);
        let positions = last.positions.into_data().convert::<i64>().to_vec::<i64>().unwrap();
        // Rows of width 2 (the longest input); each prefix predicts after its last input.
        assert_eq!(positions, [0, 3, 5, 7]);
        let every = TeacherBatch::<B>::new(&prefixes, false, &catalog, None, &mut rng, &device);
        assert_eq!(every.n_targets, 1 + 2 + 2 + 2);
    }
}
