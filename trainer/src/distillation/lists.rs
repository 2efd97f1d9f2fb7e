//! The teacher's candidate lists: at every predicted position of every window, the true
//! next item, the teacher's hardest negatives and uniform random items, with the teacher's
//! scores for them and its hidden state.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use pocketrank_model::ItemIdx;
use pocketrank_model::teacher::{ItemText, Teacher, history_batch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::windows::Window;
use crate::cold_start::is_held_out;
use crate::progress::progress_bar;

/// The teacher's candidate lists for every predicted position of every window.
pub struct TeacherLists {
    /// Items per list; the true next item is first.
    pub k: usize,
    /// `[rows, k]` candidate items.
    pub items: Vec<ItemIdx>,
    /// `[rows, k]` teacher scores.
    pub scores: Vec<f32>,
    /// `[rows, d_teacher]` the teacher's hidden state at each position.
    pub hidden: Vec<f32>,
    pub d_teacher: usize,
    /// First row of each window (rows of window `w` are `first[w]..first[w] + len - 1`).
    pub first: Vec<usize>,
}

impl TeacherLists {
    /// Lists (predicted positions) in all.
    pub fn rows(&self) -> usize {
        self.items.len() / self.k.max(1)
    }

    /// The candidates of row `r`, `[k]`.
    pub fn items_of(&self, r: usize) -> &[ItemIdx] {
        &self.items[r * self.k..(r + 1) * self.k]
    }

    /// The teacher's scores of row `r`'s candidates, `[k]`.
    pub fn scores_of(&self, r: usize) -> &[f32] {
        &self.scores[r * self.k..(r + 1) * self.k]
    }
}

/// Which negatives each position's list gets.
#[derive(Debug, Clone, Copy)]
pub struct ListNegatives<'a> {
    /// The teacher's highest-scored wrong items.
    pub hard: usize,
    /// Uniform random items.
    pub random: usize,
    pub seed: u64,
    /// Items never used (held out for cold-start evaluation).
    pub held_out: Option<&'a [bool]>,
}

/// Scores every position of `windows` with the teacher and keeps lists of `1 +
/// negatives.hard + negatives.random` candidates (fewer hard ones when the catalog is
/// small). Windows must fit the teacher: at most `teacher.max_len() + 1` events (see
/// [`super::windows::training_windows`]).
pub fn teacher_lists<B: Backend>(
    teacher: &Teacher<B>,
    text: &ItemText<B>,
    windows: &[Window<'_>],
    negatives: &ListNegatives<'_>,
    device: &B::Device,
) -> anyhow::Result<TeacherLists> {
    let ListNegatives { hard: hard_negatives, random: random_negatives, seed, held_out } = *negatives;
    let cold = |i: ItemIdx| is_held_out(held_out, i);
    let max_len = teacher.max_len();
    if let Some(w) = windows.iter().find(|w| w.items.len() > max_len + 1) {
        anyhow::bail!(
            "a training window of {} events exceeds the teacher's window of {max_len} (+ 1 target)",
            w.items.len()
        );
    }
    let k = 1 + hard_negatives + random_negatives;
    let table = teacher.item_vectors(text);
    let n_items = table.dims()[0] - 1;
    let mut rng = StdRng::seed_from_u64(seed ^ 0xd157);
    let rows: usize = windows.iter().map(|w| w.items.len() - 1).sum();
    let (mut items, mut scores) = (Vec::with_capacity(rows * k), Vec::with_capacity(rows * k));
    let mut first = Vec::with_capacity(windows.len());
    let bar = progress_bar(windows.len() as u64, "teacher lists");
    let mut order: Vec<ItemIdx> = Vec::with_capacity(n_items);
    let (mut hidden_out, mut d_teacher) = (Vec::new(), 0);
    for chunk in windows.chunks(64) {
        let inputs: Vec<&[ItemIdx]> = chunk.iter().map(|w| &w.items[..w.items.len() - 1]).collect();
        let (seq, lengths) = history_batch::<B>(&inputs, max_len, device); // [b, len]
        let [b, len] = seq.dims();
        let hidden = teacher.forward(seq, table.clone()); // [b, len, d]
        let d = hidden.dims()[2];
        let flat: Vec<i64> =
            lengths.iter().enumerate().flat_map(|(i, &l)| (0..l).map(move |t| (i * len + t) as i64)).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(flat.clone(), [flat.len()]), device);
        let rows_hidden = hidden.reshape([b * len, d]).select(0, index); // [rows, d]
        hidden_out.extend(rows_hidden.clone().into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default());
        d_teacher = d;
        let logits = teacher.logits(rows_hidden, table.clone()); // [rows, n_items]
        let logits = logits.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
        let mut row = 0;
        for w in chunk {
            first.push(items.len() / k);
            for t in 0..w.items.len() - 1 {
                let s = &logits[row * n_items..(row + 1) * n_items];
                row += 1;
                let target = w.items[t + 1];
                items.push(target);
                scores.push(s[target as usize]);
                order.clear();
                order.extend((0..n_items as u32).filter(|&i| i != target && !cold(i)));
                let h = hard_negatives.min(order.len());
                if h > 0 && h < order.len() {
                    order.select_nth_unstable_by(h - 1, |&a, &b| s[b as usize].total_cmp(&s[a as usize]));
                }
                for &i in &order[..h] {
                    items.push(i);
                    scores.push(s[i as usize]);
                }
                for _ in 0..k - 1 - h {
                    let mut i = rng.random_range(0..n_items as u32);
                    // The next item that is neither the target nor held out (one always is:
                    // the target itself is never held out).
                    for _ in 0..n_items {
                        if i != target && !cold(i) {
                            break;
                        }
                        i = (i + 1) % n_items as u32;
                    }
                    items.push(i);
                    scores.push(s[i as usize]);
                }
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(TeacherLists { k, items, scores, first, hidden: hidden_out, d_teacher })
}
