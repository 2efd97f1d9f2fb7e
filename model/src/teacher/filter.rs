//! A low-pass filter over the event sequence, mixed into each block next to attention
//! (the inductive bias of BSARec, AAAI 2024).
//!
//! BSARec keeps the lowest frequencies of the whole window with an FFT, which lets a
//! position see later events: fine when only the last position is trained, a leak when
//! every position is. Two kinds of low pass, each with a causal form (position `t` reads
//! `0..=t`) and a two-sided one (for a model that reads whole histories, over the
//! sequence's own events, never its padding):
//!
//! - **learned decay** (the default): a weighted average with weights `exp(taps[|t - s|])`,
//!   normalised per position; the taps are learned, starting as an exponential moving
//!   average;
//! - **frequency cut-off** ([`CausalFilter::with_frequencies`]): BSARec's filter, written
//!   as the matrix that keeps a sequence's `k` lowest DFT frequencies
//!   ([`low_pass_projection`]); the causal form gives position `t` what that projection of
//!   events `0..=t` gives their last one.
//!
//! Either way a learned per-channel `beta` puts back some of the high frequencies,
//! `out = low + beta * (x - low)`, as in BSARec.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

/// The causal filter's parameters.
#[derive(Module, Debug)]
pub struct CausalFilter<B: Backend> {
    /// Log-weight of the event `j` steps back: `[max_len]`.
    taps: Param<Tensor<B, 1>>,
    /// Share of each channel's high frequencies kept: `[d_model]`.
    beta: Param<Tensor<B, 1>>,
    /// Frequencies the cut-off keeps; 0: the learned decay (`taps`) instead.
    frequencies: usize,
}

impl<B: Backend> CausalFilter<B> {
    /// A filter over windows of up to `max_len` events, starting as an exponential moving
    /// average with decay `decay` per event and half of the high frequencies kept.
    pub fn new(max_len: usize, d_model: usize, decay: f64, device: &B::Device) -> Self {
        let taps: Vec<f32> = (0..max_len).map(|j| (j as f64 * decay.ln()) as f32).collect();
        Self {
            taps: Param::from_tensor(Tensor::from_data(TensorData::new(taps, [max_len]), device)),
            beta: Param::from_tensor(Tensor::full([d_model], 0.5, device)),
            frequencies: 0,
        }
    }

    /// The same filter with BSARec's frequency cut-off in place of the learned decay: it
    /// keeps the `frequencies` lowest DFT frequencies of the sequence (0: the learned
    /// decay). BSARec's `c` lowest FFT bins of a real sequence are `c / 2 + 1` here.
    pub fn with_frequencies(mut self, frequencies: usize) -> Self {
        self.frequencies = frequencies;
        self
    }

    /// The `[len, len]` lower-triangular averaging matrix: row `t` holds the normalised
    /// weights of positions `0..=t`.
    pub fn weights(&self, len: usize) -> Tensor<B, 2> {
        let device = self.taps.device();
        if self.frequencies > 0 {
            // Row t: the last row of the projection of events 0..=t, whose entry s reads
            // the offset t - s.
            let mut rows = vec![0f32; len * len];
            for t in 0..len {
                let offsets = low_pass_offsets(t + 1, self.frequencies);
                for (s, w) in rows[t * len..=t * len + t].iter_mut().enumerate() {
                    *w = offsets[t - s] as f32;
                }
            }
            return Tensor::from_data(TensorData::new(rows, [len, len]), &device);
        }
        let taps = self.taps.val().slice(0..len).exp(); // [len]
        let padded = Tensor::cat(vec![taps, Tensor::zeros([1], &device)], 0); // [len + 1]
        // Entry (t, s) reads tap t - s, or the zero after the taps where s > t.
        let index: Vec<i64> =
            (0..len).flat_map(|t| (0..len).map(move |s| if s <= t { (t - s) as i64 } else { len as i64 })).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [len * len]), &device);
        let matrix = padded.select(0, index).reshape([len, len]);
        let sums = matrix.clone().sum_dim(1); // [len, 1]
        matrix / sums
    }

    /// The `[len, len]` two-sided weights before normalisation: entry `(t, s)` is
    /// `exp(taps[|t - s|])`.
    fn two_sided_weights(&self, len: usize) -> Tensor<B, 2> {
        let device = self.taps.device();
        let taps = self.taps.val().slice(0..len).exp(); // [len]
        let index: Vec<i64> = (0..len).flat_map(|t| (0..len).map(move |s| t.abs_diff(s) as i64)).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [len * len]), &device);
        taps.select(0, index).reshape([len, len])
    }

    /// Filters each sequence along time in both directions, within its events only (for a
    /// model that reads a whole history and predicts after its last event).
    ///
    /// - `x`: `[batch, len, d_model]` with `len <= max_len`;
    /// - `valid`: `[batch, len]`, 1 at the sequence's events and 0 at padding.
    /// - returns `[batch, len, d_model]`: `low + beta * (x - low)`, where `low` at `t` is the
    ///   average of `x` over the sequence's events `s` weighted by `exp(taps[|t - s|])`, or
    ///   with a cut-off, the sequence's events projected onto their lowest frequencies.
    pub fn forward_two_sided(&self, x: Tensor<B, 3>, valid: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, len, d] = x.dims();
        let low = if self.frequencies > 0 {
            // Events come first in each row, padding after: the projection of a sequence of
            // n events is its table's row n, zero past the events.
            let lengths = valid.sum_dim(1).reshape([batch]).int(); // [batch]
            let table = Tensor::<B, 2>::from_data(
                TensorData::new(cut_off_table(len, self.frequencies), [len + 1, len * len]),
                &x.device(),
            );
            table.select(0, lengths).reshape([batch, len, len]).matmul(x.clone()) // [batch, len, d]
        } else {
            let weights = self.two_sided_weights(len).reshape([1, len, len]) * valid.reshape([batch, 1, len]);
            let sums = weights.clone().sum_dim(2).clamp_min(1e-12); // [batch, len, 1]
            (weights / sums).matmul(x.clone()) // [batch, len, d]
        };
        let beta = self.beta.val().reshape([1, 1, d]);
        low.clone() + (x - low) * beta
    }

    /// Filters each sequence along time.
    ///
    /// - `x`: `[batch, len, d_model]` with `len <= max_len`.
    /// - returns `[batch, len, d_model]`: `low + beta * (x - low)`, where `low` at `t` is the
    ///   weighted average of `x` over positions `0..=t` (see [`weights`](Self::weights)).
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, len, d] = x.dims();
        let by_time = x.clone().swap_dims(0, 1).reshape([len, batch * d]);
        let low = self.weights(len).matmul(by_time).reshape([len, batch, d]).swap_dims(0, 1);
        let beta = self.beta.val().reshape([1, 1, d]);
        low.clone() + (x - low) * beta
    }
}

/// The low-pass projection of a sequence of `n` values that keeps its `frequencies`
/// lowest DFT frequencies (frequency 0 included; each kept with its mirror `n - k`, so the
/// result stays real): `[n, n]` row-major, `P[t][s] = (1/n) Σ_kept cos(2πk(t - s)/n)`.
/// Rows sum to 1 (frequency 0 is always kept), and a sequence short enough to have no more
/// than `frequencies` distinct frequencies passes unchanged.
pub fn low_pass_projection(n: usize, frequencies: usize) -> Vec<f32> {
    let by_offset = low_pass_offsets(n, frequencies);
    (0..n).flat_map(|t| (0..n).map(move |s| (t + n - s) % n)).map(|j| by_offset[j] as f32).collect()
}

/// [`low_pass_projection`]'s entries by offset: `P[t][s]` is entry `(t - s) mod n`.
fn low_pass_offsets(n: usize, frequencies: usize) -> Vec<f64> {
    (0..n)
        .map(|j| {
            let kept = (0..n).filter(|&k| k.min(n - k) < frequencies.max(1));
            kept.map(|k| (2.0 * std::f64::consts::PI * (k * j) as f64 / n as f64).cos()).sum::<f64>() / n as f64
        })
        .collect()
}

/// Row `n` (for `n` in `0..=len`): the `[len, len]` matrix whose top-left `[n, n]` is
/// [`low_pass_projection`]`(n, frequencies)`, zero elsewhere; `[len + 1, len * len]`.
fn cut_off_table(len: usize, frequencies: usize) -> Vec<f32> {
    let mut table = vec![0f32; (len + 1) * len * len];
    for n in 1..=len {
        let p = low_pass_projection(n, frequencies);
        let row = &mut table[n * len * len..(n + 1) * len * len];
        for t in 0..n {
            row[t * len..t * len + n].copy_from_slice(&p[t * n..(t + 1) * n]);
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;

    use super::*;

    type B = Flex;

    #[test]
    fn rows_are_causal_averages() {
        let device = Default::default();
        let filter = CausalFilter::<B>::new(6, 3, 0.5, &device);
        let w = filter.weights(4).into_data().to_vec::<f32>().unwrap();
        for t in 0..4 {
            let row = &w[t * 4..t * 4 + 4];
            assert!(row[t + 1..].iter().all(|&v| v == 0.0), "row {t} reads the future: {row:?}");
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            // Decay 0.5: each step back weighs half the one after it.
            for s in 1..=t {
                assert!((row[s - 1] / row[s] - 0.5).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn later_events_never_change_earlier_outputs() {
        let device = Default::default();
        let filter = CausalFilter::<B>::new(5, 2, 0.8, &device);
        let seq = |v: Vec<f32>| Tensor::<B, 3>::from_data(TensorData::new(v, [1, 5, 2]), &device);
        let a = filter.forward(seq(vec![1., 2., 3., 4., 5., 6., 7., 8., 9., 10.]));
        let b = filter.forward(seq(vec![1., 2., 3., 4., 5., 6., -7., 0., 9., 1.]));
        let rows = |h: Tensor<B, 3>, r: std::ops::Range<usize>| h.slice([0..1, r]).into_data().to_vec::<f32>().unwrap();
        assert_eq!(rows(a.clone(), 0..3), rows(b.clone(), 0..3));
        assert_ne!(rows(a, 3..5), rows(b, 3..5));
    }

    #[test]
    fn the_two_sided_filter_reads_both_ways_and_never_padding() {
        let device = Default::default();
        let filter = CausalFilter::<B>::new(5, 2, 0.8, &device);
        let seq = |v: Vec<f32>| Tensor::<B, 3>::from_data(TensorData::new(v, [1, 5, 2]), &device);
        let valid = || Tensor::<B, 2>::from_data(TensorData::new(vec![1f32, 1., 1., 0., 0.], [1, 5]), &device);
        let rows = |h: Tensor<B, 3>, r: std::ops::Range<usize>| h.slice([0..1, r]).into_data().to_vec::<f32>().unwrap();
        let a = filter.forward_two_sided(seq(vec![1., 2., 3., 4., 5., 6., 7., 8., 9., 10.]), valid());
        // A later event changes the first position's output.
        let b = filter.forward_two_sided(seq(vec![1., 2., 3., 4., -5., 0., 7., 8., 9., 10.]), valid());
        assert_ne!(rows(a.clone(), 0..1), rows(b, 0..1));
        // Padding changes nothing at the events.
        let c = filter.forward_two_sided(seq(vec![1., 2., 3., 4., 5., 6., -7., 0., 90., 1.]), valid());
        assert_eq!(rows(a, 0..3), rows(c, 0..3));
    }

    #[test]
    fn a_constant_sequence_passes_unchanged() {
        let device = Default::default();
        let filter = CausalFilter::<B>::new(4, 2, 0.7, &device);
        let x = Tensor::<B, 3>::from_data(TensorData::new([3f32, -1.0].repeat(8), [2, 4, 2]), &device);
        let y = filter.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
        let x = x.into_data().to_vec::<f32>().unwrap();
        assert!(y.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-5), "{y:?}");
    }

    #[test]
    fn the_cut_off_keeps_exactly_the_lowest_frequencies() {
        let n = 8;
        let p = low_pass_projection(n, 2);
        let project =
            |x: &[f64]| -> Vec<f64> { (0..n).map(|t| (0..n).map(|s| f64::from(p[t * n + s]) * x[s]).sum()).collect() };
        let wave = |k: usize| -> Vec<f64> {
            (0..n).map(|t| (2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64).cos()).collect()
        };
        for (k, kept) in [(0, true), (1, true), (2, false), (3, false), (4, false)] {
            let (x, y) = (wave(k), project(&wave(k)));
            let expected: Vec<f64> = if kept { x } else { vec![0.0; n] };
            assert!(y.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-5), "frequency {k}: {y:?}");
        }
        // Rows sum to 1, and a short sequence passes unchanged.
        assert!(p.chunks(n).all(|row| (row.iter().sum::<f32>() - 1.0).abs() < 1e-5));
        let short = low_pass_projection(3, 2);
        assert!(
            short.iter().enumerate().all(|(i, &v)| (v - f32::from(u8::from(i % 4 == 0))).abs() < 1e-6),
            "{short:?}"
        );
    }

    #[test]
    fn the_cut_off_filter_is_causal_and_its_two_sided_form_never_reads_padding() {
        let device = Default::default();
        let filter = CausalFilter::<B>::new(6, 1, 0.8, &device).with_frequencies(1);
        let seq = |v: Vec<f32>| Tensor::<B, 3>::from_data(TensorData::new(v, [1, 6, 1]), &device);
        let rows = |h: Tensor<B, 3>, r: std::ops::Range<usize>| h.slice([0..1, r]).into_data().to_vec::<f32>().unwrap();
        // Causal: later events never change earlier outputs.
        let a = filter.forward(seq(vec![1., 2., 3., 4., 5., 6.]));
        let b = filter.forward(seq(vec![1., 2., 3., -4., 0., 6.]));
        assert_eq!(rows(a.clone(), 0..3), rows(b, 0..3));
        // One frequency: the low pass of events 0..=t is their mean, and beta 0.5 puts half
        // of the rest back.
        let out = rows(a, 0..6);
        for (t, &y) in out.iter().enumerate() {
            let mean = (1..=t + 1).sum::<usize>() as f32 / (t + 1) as f32;
            assert!((y - (mean + 0.5 * ((t + 1) as f32 - mean))).abs() < 1e-5, "position {t}: {out:?}");
        }
        // Two-sided: the three events read each other, never the padding after them.
        let valid = || Tensor::<B, 2>::from_data(TensorData::new(vec![1f32, 1., 1., 0., 0., 0.], [1, 6]), &device);
        let c = filter.forward_two_sided(seq(vec![1., 2., 6., 4., 5., 6.]), valid());
        let d = filter.forward_two_sided(seq(vec![1., 2., 6., -40., 0., 9.]), valid());
        assert_eq!(rows(c.clone(), 0..3), rows(d, 0..3));
        let first = rows(c, 0..1)[0];
        assert!((first - (3.0 + 0.5 * (1.0 - 3.0))).abs() < 1e-5, "{first}");
    }
}
