//! Catalog rows scored with integer dot products.
//!
//! The catalog's item vectors are int8 rows with one scale each, `x = s·r`, as the artifact
//! stores them. The kernel holds the scorer's item matrix `M = W_i + diag(q)·W_x`
//! (`[d, hidden]`) at 7 bits and the query `q` at 16 bits ([`ScoreKernel`]: `M = M7·diag(m)`,
//! `q = q16·m_q`). A row then costs exact `i32` sums, `r · M7` and `r · q16`, and
//!
//! `hidden_j = base_j + c·W_c + s·m_j·(r · M7)_j`, `score = w_out·relu(hidden) + b_out + s·m_q·(r · q16)`.
//!
//! `r · M7` takes one of two layouts, by build:
//! - **quads** (wasm builds with relaxed SIMD): sixteen multiply-adds per
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s`, four rows of `r` by four columns. The
//!   instruction wants its weights in `0..=127`, so `M7 + 64` is stored and `64·Σr` taken
//!   off each sum;
//! - **pairs** (everywhere else): eight multiply-adds per `dot_i16x8` (SSE2's `pmaddwd` on
//!   x86-64), two rows by four columns.
//!
//! Candidates are taken two at a time, so that each weight vector loaded serves both (18%
//! less time per candidate in V8 than one at a time).
//!
//! The integer sums are exact and the rest is the same `f32` operations in the same order,
//! so every build (wasm with or without relaxed SIMD, x86-64, others) gives the same bits;
//! the `f32` kernel on the same rows gives the same scores up to its rounding.

use crate::artifact::Int8Rows;
use crate::features::CONTEXT_FEATURES;
use crate::kernel::{ITEM_STEP_LIMIT, ScoreKernel};
use crate::lanes::{self, F32x4, I8x16, I16x8, I32x4, U7x16};

/// Largest `d` whose sums cannot overflow `i32`: `d · 127 · 32767 < 2³¹`.
const MAX_D: usize = 512;

/// Whether this build takes `r · M7` in quads (a wasm build with relaxed SIMD).
const QUADS: bool = cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));

/// What the quads add to each weight, to bring `M7` into relaxed SIMD's `0..=127`.
const QUAD_OFFSET: i16 = ITEM_STEP_LIMIT + 1;

/// The catalog's item vectors as int8 rows with one scale each.
#[derive(Debug, Clone, Default)]
pub struct QuantizedRows {
    d: usize,
    /// `[n, d]`.
    values: Vec<i8>,
    /// `[n]`.
    scales: Vec<f32>,
}

impl QuantizedRows {
    /// The int8 rows of a `[n, d]` table, if `rows` has that many values.
    pub fn new(rows: Int8Rows, d: usize) -> Option<Self> {
        (d > 0 && rows.values.len() == rows.scales.len() * d).then_some(Self {
            d,
            values: rows.values,
            scales: rows.scales,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.scales.is_empty()
    }

    /// Row `i` and its scale, if there is one.
    pub fn row(&self, i: usize) -> Option<(&[i8], f32)> {
        Some((self.values.get(i * self.d..(i + 1) * self.d)?, *self.scales.get(i)?))
    }
}

/// How `M7` is laid out for the build's dot product.
#[derive(Debug)]
enum ItemLayout {
    /// Entry `p·(hidden/4) + b` holds rows `2p` and `2p + 1` of columns `4b .. 4b + 4`,
    /// interleaved (`M[2p][4b], M[2p+1][4b], M[2p][4b+1], …`), as `dot_i16x8` pairs them.
    Pairs(Vec<[i16; 8]>),
    /// Entry `p·(hidden/4) + b` holds rows `4p .. 4p + 4` of columns `4b .. 4b + 4`, column
    /// by column (`M[4p][4b], M[4p+1][4b], …, M[4p+3][4b+3]`), each plus [`QUAD_OFFSET`],
    /// as `i32x4.relaxed_dot_i8x16_i7x16_add_s` groups them.
    Quads(Vec<[u8; 16]>),
}

/// A profile's item weights and query as integers: `M7` and `q16`.
#[derive(Debug)]
pub struct IntWeights {
    /// `M7`, `[d, hidden]`.
    items: ItemLayout,
    /// `q16`, `[d / 8]`.
    query: Vec<[i16; 8]>,
    /// `m_q`.
    query_step: f32,
}

impl IntWeights {
    /// `M7` (`[d, hidden]` row-major, in its columns' steps, within ±63) and `q16` (`[d]`, in
    /// steps of `query_step`) laid out for the build's kernel, if the shape is
    /// [supported](IntKernel::supports) and the weights are in range.
    pub(crate) fn new(item_steps: &[i16], hidden: usize, query_steps: &[i16], query_step: f32) -> Option<Self> {
        Self::with_layout(item_steps, hidden, query_steps, query_step, QUADS)
    }

    /// [`new`](Self::new) in the quads layout or the pairs layout.
    fn with_layout(
        item_steps: &[i16],
        hidden: usize,
        query_steps: &[i16],
        query_step: f32,
        quads: bool,
    ) -> Option<Self> {
        let (d, h) = (query_steps.len(), hidden);
        if !IntKernel::supports(d, h)
            || item_steps.len() != d * h
            || item_steps.iter().any(|m| m.unsigned_abs() > ITEM_STEP_LIMIT.unsigned_abs())
        {
            return None;
        }
        let items = if quads {
            let mut out = Vec::with_capacity(d / 4 * h / 4);
            for rows in item_steps.chunks_exact(4 * h) {
                for b in 0..h / 4 {
                    // In range (checked above): 1..=127.
                    out.push(std::array::from_fn(|l| (rows[(l % 4) * h + 4 * b + l / 4] + QUAD_OFFSET) as u8));
                }
            }
            ItemLayout::Quads(out)
        } else {
            let mut out = Vec::with_capacity(d / 2 * h / 4);
            for rows in item_steps.chunks_exact(2 * h) {
                let (even, odd) = rows.split_at(h);
                for b in 0..h / 4 {
                    out.push(std::array::from_fn(|l| {
                        let j = 4 * b + l / 2;
                        if l % 2 == 0 { even[j] } else { odd[j] }
                    }));
                }
            }
            ItemLayout::Pairs(out)
        };
        let query = query_steps.chunks_exact(8).map(|c| std::array::from_fn(|l| c[l])).collect();
        Some(Self { items, query, query_step })
    }
}

/// One profile's kernel in integers, for rows of a [`QuantizedRows`].
pub struct IntKernel<'k, 'w> {
    kernel: &'k ScoreKernel<'w>,
    int: &'k IntWeights,
}

impl<'k, 'w> IntKernel<'k, 'w> {
    /// Whether rows of width `d` with a hidden layer of `hidden` can be scored this way:
    /// `d` a multiple of 8 (at most [`MAX_D`]), `hidden` 16, 32 or 64.
    pub fn supports(d: usize, hidden: usize) -> bool {
        d.is_multiple_of(8) && (8..=MAX_D).contains(&d) && matches!(hidden, 16 | 32 | 64)
    }

    /// The integer form of `kernel`, if its shape is [supported](Self::supports).
    pub fn new(kernel: &'k ScoreKernel<'w>) -> Option<Self> {
        Some(Self { kernel, int: kernel.int_weights()? })
    }

    /// Scores rows `items` of `rows` with their contexts into `out`; an index outside
    /// `rows` scores NaN.
    pub fn score_rows(
        &self,
        rows: &QuantizedRows,
        items: &[u32],
        contexts: &[[f32; CONTEXT_FEATURES]],
        out: &mut [f32],
    ) {
        match self.kernel.hidden_len() {
            16 => self.score_lanes::<4, 4>(rows, items, contexts, out),
            32 => self.score_lanes::<8, 8>(rows, items, contexts, out),
            _ => self.score_lanes::<16, 8>(rows, items, contexts, out),
        }
    }

    /// A hidden layer of `4·B` values, two candidates at a time: each `M7` vector is
    /// loaded once for both, and the hidden layer is taken `H` vectors at a time so that
    /// both candidates' accumulators stay in registers.
    #[inline(always)]
    fn score_lanes<const B: usize, const H: usize>(
        &self,
        rows: &QuantizedRows,
        items: &[u32],
        contexts: &[[f32; CONTEXT_FEATURES]],
        out: &mut [f32],
    ) {
        let k = self.kernel;
        let (Some(base), Some(out_w), Some(scales)) =
            (lanes::load::<B>(k.base()), lanes::load::<B>(k.output_weights()), lanes::load::<B>(k.column_steps()))
        else {
            out.fill(f32::NAN);
            return;
        };
        let context_w = k.context_weights().as_chunks::<4>().0.as_chunks::<B>().0;
        let bias = k.output_bias();
        // The score from a row's integer sums.
        let finish = |acc: &[I32x4; B], dot: I32x4, s: f32, context: &[f32; CONTEXT_FEATURES]| {
            let mut hidden = base;
            // Most lists carry no shop scores: two of the three features are 0, and adding
            // `0·w` changes no value (the weights are finite), so it is skipped.
            for (x, w) in context.iter().zip(context_w) {
                if *x != 0.0 {
                    lanes::mul_add_row(&mut hidden, *x, w);
                }
            }
            let s4 = F32x4::splat(s);
            for ((h, a), m) in hidden.iter_mut().zip(acc).zip(&scales) {
                *h = h.mul_add(a.to_f32(), m.mul(s4));
            }
            lanes::relu_dot(&hidden, &out_w) + bias + (s * self.int.query_step) * dot.sum() as f32
        };
        let n = items.len().min(contexts.len()).min(out.len());
        let mut at = 0;
        while at < n {
            let a = rows.row(items[at] as usize);
            let b = if at + 1 < n { rows.row(items[at + 1] as usize) } else { None };
            match (a, b) {
                (Some((ra, sa)), Some((rb, sb))) => {
                    let ((acc_a, dot_a), (acc_b, dot_b)) = self.sums_two::<B, H>(ra, rb);
                    out[at] = finish(&acc_a, dot_a, sa, &contexts[at]);
                    out[at + 1] = finish(&acc_b, dot_b, sb, &contexts[at + 1]);
                    at += 2;
                }
                (Some((ra, sa)), None) => {
                    let ((acc, dot), _) = self.sums_two::<B, H>(ra, ra);
                    out[at] = finish(&acc, dot, sa, &contexts[at]);
                    at += 1;
                }
                (None, _) => {
                    out[at] = f32::NAN;
                    at += 1;
                }
            }
        }
    }

    /// `r · M7` (`B` vectors) and `r · q16` (one vector, to be summed) of two rows.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn sums_two<const B: usize, const H: usize>(
        &self,
        a: &[i8],
        b: &[i8],
    ) -> (([I32x4; B], I32x4), ([I32x4; B], I32x4)) {
        let (acc_a, acc_b) = match &self.int.items {
            ItemLayout::Quads(quads) => quad_sums::<B, H>(quads, a, b),
            ItemLayout::Pairs(pairs) => pair_sums::<B, H>(pairs, a, b),
        };
        let (ra, rb) = (a.as_chunks::<8>().0, b.as_chunks::<8>().0);
        let (mut dot_a, mut dot_b) = (I32x4::zero(), I32x4::zero());
        for ((xa, xb), q) in ra.iter().zip(rb).zip(&self.int.query) {
            let q = I16x8::load(q);
            dot_a = dot_a.add(I16x8::load_i8(xa).dot(q));
            dot_b = dot_b.add(I16x8::load_i8(xb).dot(q));
        }
        ((acc_a, dot_a), (acc_b, dot_b))
    }
}

/// `r · M7` of two rows from the pairs layout, the hidden layer `H` vectors at a time.
#[inline(always)]
fn pair_sums<const B: usize, const H: usize>(pairs: &[[i16; 8]], a: &[i8], b: &[i8]) -> ([I32x4; B], [I32x4; B]) {
    let pairs = pairs.as_chunks::<B>().0.as_chunks::<4>().0;
    let (ra, rb) = (a.as_chunks::<8>().0, b.as_chunks::<8>().0);
    let (mut acc_a, mut acc_b) = ([I32x4::zero(); B], [I32x4::zero(); B]);
    for part in 0..B / H {
        let (mut ha, mut hb) = ([I32x4::zero(); H], [I32x4::zero(); H]);
        let mut step = |pa: I16x8, pb: I16x8, w: &[[i16; 8]; B]| {
            for j in 0..H {
                let w = I16x8::load(&w[part * H + j]);
                ha[j] = ha[j].add(pa.dot(w));
                hb[j] = hb[j].add(pb.dot(w));
            }
        };
        for ((xa, xb), four) in ra.iter().zip(rb).zip(pairs) {
            let (xa, xb) = (I16x8::load_i8(xa), I16x8::load_i8(xb));
            step(xa.pair::<0>(), xb.pair::<0>(), &four[0]);
            step(xa.pair::<1>(), xb.pair::<1>(), &four[1]);
            step(xa.pair::<2>(), xb.pair::<2>(), &four[2]);
            step(xa.pair::<3>(), xb.pair::<3>(), &four[3]);
        }
        acc_a[part * H..(part + 1) * H].copy_from_slice(&ha);
        acc_b[part * H..(part + 1) * H].copy_from_slice(&hb);
    }
    (acc_a, acc_b)
}

/// `r · M7` of two rows from the quads layout, the hidden layer `H` vectors at a time.
#[inline(always)]
fn quad_sums<const B: usize, const H: usize>(quads: &[[u8; 16]], a: &[i8], b: &[i8]) -> ([I32x4; B], [I32x4; B]) {
    let quads = quads.as_chunks::<B>().0;
    let (ra, rb) = (a.as_chunks::<4>().0, b.as_chunks::<4>().0);
    let (mut acc_a, mut acc_b) = ([I32x4::zero(); B], [I32x4::zero(); B]);
    for part in 0..B / H {
        let (mut ha, mut hb) = ([I32x4::zero(); H], [I32x4::zero(); H]);
        for ((xa, xb), w) in ra.iter().zip(rb).zip(quads) {
            let (xa, xb) = (I8x16::splat4(xa), I8x16::splat4(xb));
            for j in 0..H {
                let w = U7x16::load(&w[part * H + j]);
                ha[j] = xa.dot4_add(w, ha[j]);
                hb[j] = xb.dot4_add(w, hb[j]);
            }
        }
        acc_a[part * H..(part + 1) * H].copy_from_slice(&ha);
        acc_b[part * H..(part + 1) * H].copy_from_slice(&hb);
    }
    // Each weight was stored plus the offset: take `offset · Σr` off every sum.
    let offset = |r: &[i8]| I32x4::splat(i32::from(QUAD_OFFSET) * r.iter().map(|&x| i32::from(x)).sum::<i32>());
    let (oa, ob) = (offset(a), offset(b));
    (acc_a.map(|x| x.sub(oa)), acc_b.map(|x| x.sub(ob)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Dims;
    use crate::layout::seeded_weights;

    /// `[n, d]` values in int8, each row with the scale `max |x| / 127`.
    fn quantize(items: &[f32], d: usize) -> QuantizedRows {
        let (mut values, mut scales) = (Vec::new(), Vec::new());
        for row in items.chunks_exact(d) {
            let scale = row.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
            values.extend(row.iter().map(|x| (x / scale).round() as i8));
            scales.push(scale);
        }
        QuantizedRows::new(Int8Rows { values, scales }, d).unwrap()
    }

    #[test]
    fn rows_must_fill_the_table() {
        let rows = |n: usize| Int8Rows { values: vec![1; n], scales: vec![0.5; 3] };
        assert!(
            QuantizedRows::new(rows(24), 8).is_some_and(|r| r.len() == 3 && r.row(2).is_some() && r.row(3).is_none())
        );
        assert!(QuantizedRows::new(rows(23), 8).is_none());
        assert!(QuantizedRows::new(rows(0), 0).is_none());
    }

    #[test]
    fn integer_scores_match_the_float_kernel() {
        for (d, hidden) in [(8, 16), (64, 32), (32, 64), (16, 16)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, d as u64 + 7);
            let state: Vec<f32> = (0..d).map(|i| (i as f32 / d as f32) - 0.4).collect();
            let kernel = ScoreKernel::new(&w, &state);
            let items: Vec<f32> = (0..40 * d).map(|i| ((i * 37 % 101) as f32 / 40.0) - 1.2).collect();
            let rows = quantize(&items, d);
            // The float kernel on the rows as the int8 table holds them.
            let dequantized: Vec<Vec<f32>> = (0..rows.len())
                .map(|i| {
                    let (r, s) = rows.row(i).unwrap();
                    r.iter().map(|&v| f32::from(v) * s).collect()
                })
                .collect();
            let vectors: Vec<&[f32]> = dequantized.iter().map(Vec::as_slice).collect();
            let contexts: Vec<_> =
                (0..40).map(|i| crate::features::context_features((i % 4 == 0).then_some(0.3), i)).collect();
            let mut expected = vec![0f32; 40];
            kernel.score_all(&vectors, &contexts, &mut expected);
            let mut indices: Vec<u32> = (0..40).collect();
            indices[5] = 40; // outside the table
            let mut got = vec![0f32; 40];
            let int = IntKernel::new(&kernel).unwrap();
            int.score_rows(&rows, &indices, &contexts, &mut got);
            // An odd number of rows: the last one alone.
            let mut odd = vec![0f32; 7];
            int.score_rows(&rows, &indices[..7], &contexts[..7], &mut odd);
            assert!(odd.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "d {d} h {hidden}");
            for (i, (a, b)) in expected.iter().zip(&got).enumerate() {
                if i == 5 {
                    assert!(b.is_nan());
                    continue;
                }
                assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "d {d} h {hidden} item {i}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn quads_and_pairs_give_the_same_bits() {
        for (d, hidden) in [(8, 16), (64, 32), (32, 64), (16, 16), (72, 32)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, d as u64 + 3);
            let state: Vec<f32> = (0..d).map(|i| 0.7 - (i as f32 / d as f32)).collect();
            let kernel = ScoreKernel::new(&w, &state);
            // Rows at the int8 extremes too (-128 included: an artifact may hold it).
            let values: Vec<i8> = (0..41 * d).map(|i| ((i * 97 + 13) % 256) as u8 as i8).collect();
            let rows =
                QuantizedRows::new(Int8Rows { values, scales: (0..41).map(|i| 0.01 + i as f32 * 1e-3).collect() }, d)
                    .unwrap();
            let items: Vec<u32> = (0..41).rev().collect();
            let contexts: Vec<_> =
                (0..41).map(|i| crate::features::context_features((i % 3 == 0).then_some(-0.2), i)).collect();
            let int = kernel.int_weights().unwrap();
            let steps: Vec<i16> = kernel
                .item_weights()
                .chunks_exact(hidden)
                .flat_map(|row| row.iter().zip(kernel.column_steps()).map(|(w, s)| (w / s).round() as i16))
                .collect();
            let qsteps: Vec<i16> = kernel.query().iter().map(|q| (q / int.query_step).round() as i16).collect();
            let mut scores = Vec::new();
            for quads in [false, true] {
                let layout = IntWeights::with_layout(&steps, hidden, &qsteps, int.query_step, quads).unwrap();
                let int = IntKernel { kernel: &kernel, int: &layout };
                let mut out = vec![0f32; 41];
                int.score_rows(&rows, &items, &contexts, &mut out);
                scores.push(out);
            }
            assert!(scores[0].iter().all(|s| s.is_finite()));
            assert!(
                scores[0].iter().zip(&scores[1]).all(|(a, b)| a.to_bits() == b.to_bits()),
                "d {d} h {hidden}: {:?} vs {:?}",
                &scores[0][..4],
                &scores[1][..4]
            );
        }
    }

    #[test]
    fn weights_outside_seven_bits_have_no_integer_kernel() {
        let (d, h) = (8, 16);
        let mut steps = vec![63i16; d * h];
        assert!(IntWeights::with_layout(&steps, h, &[1; 8], 1.0, true).is_some());
        steps[5] = -64;
        for quads in [false, true] {
            assert!(IntWeights::with_layout(&steps, h, &[1; 8], 1.0, quads).is_none());
        }
    }

    #[test]
    fn unsupported_shapes_have_no_integer_kernel() {
        for (d, hidden) in [(12, 16), (64, 24), (1024, 32)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, 1);
            let kernel = ScoreKernel::new(&w, &vec![0.1; d]);
            assert!(IntKernel::new(&kernel).is_none(), "d {d} h {hidden}");
        }
    }
}
