//! The student's training batches and loss: listwise KL to the teacher's tempered softmax
//! over each candidate list (× T²), ground-truth cross-entropy and the hint term.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use pocketrank_model::student::{CONTEXT_FEATURES, EVENT_FEATURES, Student, context_features};
use pocketrank_model::teacher::ItemText;
use rand::Rng;
use rand::rngs::StdRng;

use super::lists::TeacherLists;
use super::windows::Window;
use crate::training::LocalTable;

/// One training batch of `b` windows padded to `len` events, with `r` candidate lists of
/// `k` items, over a local item table.
pub struct StudentBatch<B: Backend> {
    /// `[t]` shifted item ids of the local table; entry 0 is padding.
    pub table: Tensor<B, 1, Int>,
    /// `[b * len]` indices into `table` of each window's events, right-padded with 0.
    pub inputs: Tensor<B, 1, Int>,
    /// `[b, len, EVENT_FEATURES]` event features.
    pub events: Tensor<B, 3>,
    /// `[r]` flat `b * len` indices of the positions that have a list.
    pub rows: Tensor<B, 1, Int>,
    /// `[r * k]` indices into `table` of the candidates.
    pub candidates: Tensor<B, 1, Int>,
    /// `[r, k, CONTEXT_FEATURES]` what the shop would know of each candidate.
    pub context: Tensor<B, 3>,
    /// `[r, k]` teacher scores.
    pub teacher: Tensor<B, 2>,
    /// `[r, d_teacher]` the teacher's hidden states.
    pub hint: Tensor<B, 2>,
    /// `[b, len, r]`.
    pub shape: [usize; 3],
}

impl<B: Backend> StudentBatch<B> {
    /// One batch: `windows` with `first_rows[i]`, the first row of window `i`'s lists in
    /// `lists`. A share `context_dropout` of lists gets no context; the others get each
    /// candidate's `popularity` as the server score and its rank by popularity in the list
    /// as the position.
    pub fn new(
        windows: &[&Window<'_>],
        first_rows: &[usize],
        lists: &TeacherLists,
        popularity: &[f32],
        context_dropout: f64,
        rng: &mut StdRng,
        device: &B::Device,
    ) -> Self {
        let k = lists.k;
        let len = windows.iter().map(|w| w.items.len() - 1).max().unwrap_or(1).max(1);
        let b = windows.len();
        let mut table = LocalTable::new();
        let mut inputs = vec![0i64; b * len];
        let mut events = vec![0f32; b * len * EVENT_FEATURES];
        let (mut rows, mut candidates, mut context, mut scores) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let dt = lists.d_teacher;
        let mut hint = Vec::new();
        for (i, (w, &first)) in windows.iter().zip(first_rows).enumerate() {
            for t in 0..w.items.len() - 1 {
                inputs[i * len + t] = table.row(i64::from(w.items[t]) + 1);
                events[(i * len + t) * EVENT_FEATURES..][..EVENT_FEATURES].copy_from_slice(&w.features[t]);
                rows.push((i * len + t) as i64);
                let r = first + t;
                let items = lists.items_of(r);
                candidates.extend(items.iter().map(|&c| table.row(i64::from(c) + 1)));
                scores.extend_from_slice(lists.scores_of(r));
                hint.extend_from_slice(&lists.hidden[r * dt..(r + 1) * dt]);
                if rng.random_bool(context_dropout) {
                    context.extend(std::iter::repeat_n(0.0, k * CONTEXT_FEATURES));
                } else {
                    let mut by_pop: Vec<usize> = (0..k).collect();
                    by_pop.sort_by(|&a, &b| popularity[items[b] as usize].total_cmp(&popularity[items[a] as usize]));
                    let mut position = vec![0usize; k];
                    for (p, &c) in by_pop.iter().enumerate() {
                        position[c] = p;
                    }
                    for (c, &item) in items.iter().enumerate() {
                        context.extend(context_features(Some(popularity[item as usize]), position[c]));
                    }
                }
            }
        }
        let r = rows.len();
        let int = |v: Vec<i64>| {
            let n = v.len();
            Tensor::<B, 1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        Self {
            table: int(table.into_ids()),
            inputs: int(inputs),
            events: Tensor::from_data(TensorData::new(events, [b, len, EVENT_FEATURES]), device),
            rows: int(rows),
            candidates: int(candidates),
            context: Tensor::from_data(TensorData::new(context, [r, k, CONTEXT_FEATURES]), device),
            teacher: Tensor::from_data(TensorData::new(scores, [r, k]), device),
            hint: Tensor::from_data(TensorData::new(hint, [r, dt]), device),
            shape: [b, len, r],
        }
    }
}

/// The weights of the distillation loss's terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    /// Softmax temperature of the KL term (which is scaled by its square).
    pub temperature: f64,
    /// Weight of the ground-truth cross-entropy.
    pub ce: f64,
    /// Weight of the hint term (used when the student's width is the teacher's).
    pub hint: f64,
}

/// KL to the teacher's tempered softmax (× T²), plus ground-truth cross-entropy (the true
/// item is each list's first), plus the hint term: returns the mean over lists, `[1]`.
pub fn distill_loss<B: Backend>(
    model: &Student<B>,
    text: &ItemText<B>,
    batch: StudentBatch<B>,
    weights: LossWeights,
) -> Tensor<B, 1> {
    let vectors = model.item_vectors_of(text, batch.table.clone()); // [t, d]
    distill_loss_of(model, vectors, batch, weights)
}

/// [`distill_loss`] with the vectors of the batch's local table given: `vectors` `[t, d]`,
/// row `i` for `batch.table[i]` (e.g. items made of their codes). Returns `[1]`.
pub fn distill_loss_of<B: Backend>(
    model: &Student<B>,
    vectors: Tensor<B, 2>,
    batch: StudentBatch<B>,
    weights: LossWeights,
) -> Tensor<B, 1> {
    let [b, len, r] = batch.shape;
    let d = model.d();
    let k = batch.teacher.dims()[1];
    let x = vectors.clone().select(0, batch.inputs).reshape([b, len, d]);
    let profiles = model.profiles(x, batch.events).reshape([b * len, d]).select(0, batch.rows); // [r, d]
    let candidates = vectors.select(0, batch.candidates).reshape([r, k, d]);
    let hint = if weights.hint > 0.0 && batch.hint.dims()[1] == d {
        let diff = model.query(profiles.clone()) - batch.hint; // [r, d]
        Some((diff.clone() * diff).mean() * weights.hint)
    } else {
        None
    };
    let scores = model.score(profiles, candidates, batch.context); // [r, k]
    let t = weights.temperature;
    let teacher = softmax(batch.teacher.clone() / t, 1);
    let teacher_log = log_softmax(batch.teacher / t, 1);
    let student_log = log_softmax(scores.clone() / t, 1);
    let kl = (teacher * (teacher_log - student_log)).sum_dim(1).mean() * (t * t);
    let ce = log_softmax(scores, 1).narrow(1, 0, 1).mean().neg();
    let loss = kl + ce * weights.ce;
    match hint {
        Some(h) => loss + h,
        None => loss,
    }
}
