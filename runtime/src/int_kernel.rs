//! Catalog rows scored with integer dot products.
//!
//! The catalog's item vectors are int8 rows with one scale each, `x = s·r`, as the artifact
//! stores them. The kernel holds the scorer's item matrix `M = W_i + diag(q)·W_x`
//! (`[d, hidden]`) and the query `q` at 16 bits ([`ScoreKernel`]: `M = M16·diag(m)`,
//! `q = q16·m_q`). A row then costs exact `i32` sums, `r · M16` and `r · q16`, eight
//! multiply-adds per `dot_i16x8` instruction where the `f32` kernel does four per multiply
//! and add, and
//!
//! `hidden_j = base_j + c·W_c + s·m_j·(r · M16)_j`, `score = w_out·relu(hidden) + b_out + s·m_q·(r · q16)`.
//!
//! Candidates are taken two at a time, so that each `M16` vector loaded serves both (18%
//! less time per candidate in V8 than one at a time).
//!
//! The integer sums are exact and the rest is the same `f32` operations in the same order,
//! so every build (wasm, x86-64, others) gives the same bits; the `f32` kernel on the same
//! rows gives the same scores up to its rounding.

use crate::artifact::Int8Rows;
use crate::features::CONTEXT_FEATURES;
use crate::kernel::ScoreKernel;
use crate::lanes::{self, F32x4, I16x8, I32x4};

/// Largest `d` whose sums cannot overflow `i32`: `d · 127 · 32767 < 2³¹`.
const MAX_D: usize = 512;

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

/// A profile's item weights and query as integers: `M16` and `q16`.
#[derive(Debug)]
pub struct IntWeights {
    /// `M16` by pairs of rows: entry `p·(hidden/4) + b` holds rows `2p` and `2p + 1` of
    /// columns `4b .. 4b + 4`, interleaved (`M[2p][4b], M[2p+1][4b], M[2p][4b+1], …`), as
    /// `dot_i16x8` pairs them.
    pairs: Vec<[i16; 8]>,
    /// `q16`, `[d / 8]`.
    query: Vec<[i16; 8]>,
    /// `m_q`.
    query_step: f32,
}

impl IntWeights {
    /// `M16` (`[d, hidden]` row-major, in its columns' steps) and `q16` (`[d]`, in steps
    /// of `query_step`) laid out for the kernel, if the shape is
    /// [supported](IntKernel::supports).
    pub(crate) fn new(item_steps: &[i16], hidden: usize, query_steps: &[i16], query_step: f32) -> Option<Self> {
        let (d, h) = (query_steps.len(), hidden);
        if !IntKernel::supports(d, h) || item_steps.len() != d * h {
            return None;
        }
        let mut pairs = Vec::with_capacity(d / 2 * h / 4);
        for rows in item_steps.chunks_exact(2 * h) {
            let (even, odd) = rows.split_at(h);
            for b in 0..h / 4 {
                pairs.push(std::array::from_fn(|l| {
                    let j = 4 * b + l / 2;
                    if l % 2 == 0 { even[j] } else { odd[j] }
                }));
            }
        }
        let query = query_steps.chunks_exact(8).map(|c| std::array::from_fn(|l| c[l])).collect();
        Some(Self { pairs, query, query_step })
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

    /// A hidden layer of `4·B` values, two candidates at a time: each `M16` vector is
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
            for (x, w) in context.iter().zip(context_w) {
                lanes::mul_add_row(&mut hidden, *x, w);
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

    /// `r · M16` (`B` vectors) and `r · q16` (one vector, to be summed) of two rows.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    fn sums_two<const B: usize, const H: usize>(
        &self,
        a: &[i8],
        b: &[i8],
    ) -> (([I32x4; B], I32x4), ([I32x4; B], I32x4)) {
        let pairs = self.int.pairs.as_chunks::<B>().0.as_chunks::<4>().0;
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
        let (mut dot_a, mut dot_b) = (I32x4::zero(), I32x4::zero());
        for ((xa, xb), q) in ra.iter().zip(rb).zip(&self.int.query) {
            let q = I16x8::load(q);
            dot_a = dot_a.add(I16x8::load_i8(xa).dot(q));
            dot_b = dot_b.add(I16x8::load_i8(xb).dot(q));
        }
        ((acc_a, dot_a), (acc_b, dot_b))
    }
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
    fn unsupported_shapes_have_no_integer_kernel() {
        for (d, hidden) in [(12, 16), (64, 24), (1024, 32)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, 1);
            let kernel = ScoreKernel::new(&w, &vec![0.1; d]);
            assert!(IntKernel::new(&kernel).is_none(), "d {d} h {hidden}");
        }
    }
}
