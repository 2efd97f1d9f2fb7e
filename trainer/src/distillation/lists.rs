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

/// The teacher's state at every predicted position of `windows`, in order: `[rows, d]`
/// (rows = each window's events but its last). A causal teacher reads each window once; a
/// whole-history teacher reads each prefix on its own (only its last position predicts),
/// in batches of prefixes of similar length.
fn position_states<B: Backend>(
    teacher: &Teacher<B>,
    table: &Tensor<B, 2>,
    windows: &[Window<'_>],
    device: &B::Device,
) -> Tensor<B, 2> {
    let max_len = teacher.max_len();
    if !teacher.whole_history() {
        let inputs: Vec<&[ItemIdx]> = windows.iter().map(|w| &w.items[..w.items.len() - 1]).collect();
        let (seq, lengths) = history_batch::<B>(&inputs, max_len, device); // [b, len]
        let [b, len] = seq.dims();
        let hidden = teacher.forward(seq, table.clone()); // [b, len, d]
        let d = hidden.dims()[2];
        let flat: Vec<i64> =
            lengths.iter().enumerate().flat_map(|(i, &l)| (0..l).map(move |t| (i * len + t) as i64)).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(flat.clone(), [flat.len()]), device);
        return hidden.reshape([b * len, d]).select(0, index);
    }
    let prefixes: Vec<&[ItemIdx]> =
        windows.iter().flat_map(|w| (1..w.items.len()).map(|end| &w.items[end.saturating_sub(max_len)..end])).collect();
    if prefixes.is_empty() {
        return Tensor::zeros([0, table.dims()[1]], device);
    }
    let mut order: Vec<usize> = (0..prefixes.len()).collect();
    order.sort_by_key(|&i| prefixes[i].len());
    let mut parts = Vec::new();
    for group in order.chunks(256) {
        let inputs: Vec<&[ItemIdx]> = group.iter().map(|&i| prefixes[i]).collect();
        parts.push(teacher.profiles(&inputs, table.clone(), device)); // [g, d]
    }
    // Back to the windows' order.
    let mut inverse = vec![0i64; order.len()];
    for (sorted, &i) in order.iter().enumerate() {
        inverse[i] = sorted as i64;
    }
    let index = Tensor::<B, 1, Int>::from_data(TensorData::new(inverse, [order.len()]), device);
    Tensor::cat(parts, 0).select(0, index)
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
        let rows_hidden = position_states(teacher, &table, chunk, device); // [rows, d]
        let d = rows_hidden.dims()[1];
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use burn::backend::Flex;
    use pocketrank_model::student::EVENT_FEATURES;
    use pocketrank_model::teacher::{TeacherConfig, TeacherScorer};
    use pocketrank_model::text::ItemTokens;

    use super::*;

    type B = Flex;

    /// Each position's state is the teacher's profile of the history before it, for a causal
    /// and a whole-history teacher alike.
    #[test]
    fn position_states_are_the_profiles_of_each_history() {
        let device = Default::default();
        let tokens = ItemTokens::new(&[vec![1, 2], vec![2, 3], vec![], vec![4], vec![1, 4, 5], vec![3]], 3);
        let text = ItemText::<B>::new(&tokens, &device);
        let histories: [&[ItemIdx]; 3] = [&[0, 1, 2, 3, 4], &[5, 2], &[1, 1, 3, 0, 5, 2, 4]];
        let windows: Vec<Window<'_>> = histories
            .iter()
            .map(|h| Window { items: Cow::Borrowed(*h), features: vec![[0.0; EVENT_FEATURES]; h.len()] })
            .collect();
        for whole_history in [false, true] {
            B::seed(&device, 3);
            let config = TeacherConfig::new(6, 6)
                .with_d_model(8)
                .with_n_heads(1)
                .with_max_len(6)
                .with_dropout(0.0)
                .with_whole_history(whole_history);
            let teacher = config.init::<B>(&device);
            let table = teacher.item_vectors(&text);
            let states = position_states(&teacher, &table, &windows, &device).into_data().to_vec::<f32>().unwrap();
            let scorer = TeacherScorer::new(teacher, &text, &device);
            let prefixes: Vec<&[ItemIdx]> =
                histories.iter().flat_map(|h| (1..h.len()).map(move |end| &h[..end])).collect();
            assert_eq!(states.len(), prefixes.len() * 8);
            for (row, prefix) in prefixes.iter().enumerate() {
                let profile = scorer.profiles(&[prefix]).into_data().to_vec::<f32>().unwrap();
                let state = &states[row * 8..(row + 1) * 8];
                assert!(
                    profile.iter().zip(state).all(|(a, b)| (a - b).abs() < 1e-4),
                    "whole history {whole_history}, row {row}: {state:?} vs {profile:?}"
                );
            }
        }
    }
}
