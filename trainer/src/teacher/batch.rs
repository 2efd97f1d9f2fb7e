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
    /// With `sampled = Some((sampler, m))` the candidates are the batch's targets plus `m`
    /// draws from `sampler` (repeats kept once); with `None`, all of `catalog` (full
    /// softmax). `catalog` lists the items that exist at training time.
    pub fn new(
        seqs: &[&[ItemIdx]],
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
                positions.push((b * len + t) as i64);
                next_items.push(i64::from(s[t + 1]) + 1);
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
