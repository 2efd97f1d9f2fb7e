//! The scoring kernel: one candidate costs one `d × hidden` multiply-add pass.
//!
//! The profile-dependent parts of the scorer (the query `q`, `W_p·q + b` and
//! `W_i + diag(q)·W_x`) are computed once per call ([`ScoreKernel::new`]); then every
//! candidate `x` with context `c` scores `w_out · relu(base + x·W + c·W_c) + b_out + q·x`.
//! On x86-64 CPUs with AVX2 and FMA the same loop runs compiled for them (chosen at run
//! time); elsewhere, and in wasm builds (simd128), it runs in 4-lane vectors ([`lanes`]).
//!
//! `M = W_i + diag(q)·W_x` is held at 7 bits (each column rounded to ±63 steps of its
//! largest magnitude) and the `q` of `q·x` at 16 bits (±32,767 steps): the catalog's int8
//! rows are scored with them in integer dot products ([`crate::int_kernel`]), and every
//! other path (this loop, the code tables, explanations, the WebGPU shader) reads the same
//! values, so all give the same scores up to `f32` rounding. On Toys the 7-bit `M` ranks
//! as the 16-bit one did (the int8 student's full-ranking NDCG@10 0.0590 both, reranking
//! the teacher's top 100 0.0607 against 0.0609).

use std::sync::{Arc, OnceLock};

use crate::code_kernel::CodeTables;
use crate::codes::Codebooks;
use crate::features::CONTEXT_FEATURES;
use crate::int_kernel::IntWeights;
use crate::lanes;
use crate::layout::{Packed, StudentWeights};

/// `x · W` for a row vector `x` `[n]` and `W` `[n, m]`, added into `out` `[m]`.
pub(crate) fn add_vec_mat(x: &[f32], w: &[f32], out: &mut [f32]) {
    let m = out.len();
    for (xi, row) in x.iter().zip(w.chunks_exact(m)) {
        for (o, wij) in out.iter_mut().zip(row) {
            *o += xi * wij;
        }
    }
}

/// The profile-dependent parts of the scorer (computed once per profile state; the
/// [`crate::Ranker`] keeps the last profile's).
#[derive(Debug)]
pub struct KernelValues {
    /// The query `q = W_q·state + b_q` as `q · x` reads it, at 16 bits, `[d]` (`base` is
    /// computed from the full `q`).
    query: Vec<f32>,
    /// `W_p·q + b`, `[hidden]`.
    base: Vec<f32>,
    /// `W_i + diag(q)·W_x`, `[d, hidden]`, each column at 7 bits.
    item_w: Vec<f32>,
    /// The step of each column of `item_w`, `[hidden]`.
    column_steps: Vec<f32>,
    /// `item_w` and `query` as integers, for the integer kernel (when its shape is supported).
    int: Option<IntWeights>,
    /// The code tables of these values, built on the first coded list that needs them
    /// (for the model's codebooks: the values belong to one model).
    tables: OnceLock<CodeTables>,
}

/// A profile's scorer: the student's weights and the profile's [`KernelValues`].
pub struct ScoreKernel<'a> {
    weights: &'a StudentWeights,
    values: Arc<KernelValues>,
}

/// Largest magnitude of the query, held at 16 bits, in steps.
const QUERY_STEPS: f32 = 32767.0;

/// Largest magnitude of an item weight, in steps: 7 bits with the sign, so that relaxed
/// SIMD's 8-bit dot product can take the weights ([`crate::int_kernel`]; the ranking it
/// gives is measured in the module's documentation).
const ITEM_STEPS: f32 = ITEM_STEP_LIMIT as f32;

/// [`ITEM_STEPS`] as an integer.
pub(crate) const ITEM_STEP_LIMIT: i16 = 63;

/// The step that puts a largest magnitude `max` at `steps` steps (1 for zeros).
fn step_for(max: f32, steps: f32) -> f32 {
    if max > 0.0 && max.is_finite() { max / steps } else { 1.0 }
}

/// `x` in whole steps of `1 / per_step`, within ±`steps` (ties to even).
fn in_steps(x: f32, per_step: f32, steps: f32) -> i16 {
    // Adding and taking away 1.5·2²³ rounds any |v| < 2²² to the nearest integer in plain
    // IEEE arithmetic: the same bits in every build, and no call to a rounding routine
    // where the target has no rounding instruction.
    const ROUND: f32 = 12_582_912.0;
    let v = (x * per_step).clamp(-steps, steps);
    ((v + ROUND) - ROUND) as i16
}

impl KernelValues {
    /// The values for a profile state (`d` values; the caller checks).
    pub fn new(weights: &StudentWeights, state: &[f32]) -> Self {
        let h = weights.dims.hidden;
        let mut query = weights.profile_projection.bias.clone();
        add_vec_mat(state, &weights.profile_projection.weight, &mut query);
        let mut base = weights.scorer_profile.bias.clone();
        add_vec_mat(&query, &weights.scorer_profile.weight, &mut base);
        let mut item_w = weights.scorer_item.weight.clone();
        let inter = &weights.scorer_interaction.weight;
        for ((row, inter), p) in item_w.chunks_exact_mut(h).zip(inter.chunks_exact(h)).zip(&query) {
            for (w, x) in row.iter_mut().zip(inter) {
                *w += p * x;
            }
        }
        let mut column_steps = vec![0f32; h];
        for row in item_w.chunks_exact(h) {
            for (m, w) in column_steps.iter_mut().zip(row) {
                *m = larger(*m, w.abs());
            }
        }
        column_steps.iter_mut().for_each(|m| *m = step_for(*m, ITEM_STEPS));
        let per_step: Vec<f32> = column_steps.iter().map(|s| 1.0 / s).collect();
        let mut item_steps = Vec::with_capacity(item_w.len());
        for row in item_w.chunks_exact_mut(h) {
            for ((w, step), per) in row.iter_mut().zip(&column_steps).zip(&per_step) {
                let k = in_steps(*w, *per, ITEM_STEPS);
                item_steps.push(k);
                *w = f32::from(k) * step;
            }
        }
        let query_step = step_for(query.iter().fold(0f32, |m, q| larger(m, q.abs())), QUERY_STEPS);
        let mut query_steps = Vec::with_capacity(query.len());
        for q in &mut query {
            let k = in_steps(*q, 1.0 / query_step, QUERY_STEPS);
            query_steps.push(k);
            *q = f32::from(k) * query_step;
        }
        let int = IntWeights::new(&item_steps, h, &query_steps, query_step);
        Self { query, base, item_w, column_steps, int, tables: OnceLock::new() }
    }
}

/// `max(a, b)` for values that are not NaN (a plain comparison: `f32::max` is a call in
/// WebAssembly builds).
#[inline(always)]
fn larger(a: f32, b: f32) -> f32 {
    if b > a { b } else { a }
}

impl<'a> ScoreKernel<'a> {
    /// The kernel for a profile state (`d` values; the caller checks).
    pub fn new(weights: &'a StudentWeights, state: &[f32]) -> Self {
        Self::with_values(weights, Arc::new(KernelValues::new(weights, state)))
    }

    /// The kernel from values computed earlier for the same weights.
    pub fn with_values(weights: &'a StudentWeights, values: Arc<KernelValues>) -> Self {
        Self { weights, values }
    }

    /// The profile-dependent values (to keep for the next call with the same profile).
    pub fn values(&self) -> &Arc<KernelValues> {
        &self.values
    }

    /// The step of each column of [`item_weights`](Self::item_weights), `[hidden]`.
    pub fn column_steps(&self) -> &[f32] {
        &self.values.column_steps
    }

    /// The code tables of this kernel for `books` (the model's codebooks), built once per
    /// profile's values.
    pub fn code_tables(&self, books: &Codebooks) -> &CodeTables {
        self.values.tables.get_or_init(|| CodeTables::new(self, books))
    }

    /// The integer form of the item weights and query, when the shape allows it.
    pub(crate) fn int_weights(&self) -> Option<&IntWeights> {
        self.values.int.as_ref()
    }

    /// Width of the hidden layer.
    pub fn hidden_len(&self) -> usize {
        self.weights.dims.hidden
    }

    /// The query `q` as `q · item` reads it (at 16 bits), `[d]`.
    pub fn query(&self) -> &[f32] {
        &self.values.query
    }

    /// `W_p·q + b`, `[hidden]`.
    pub fn base(&self) -> &[f32] {
        &self.values.base
    }

    /// `W_i + diag(q)·W_x`, `[d, hidden]` row-major, each column at 7 bits.
    pub fn item_weights(&self) -> &[f32] {
        &self.values.item_w
    }

    /// The context weights, `[CONTEXT_FEATURES, hidden]` row-major.
    pub fn context_weights(&self) -> &[f32] {
        &self.weights.scorer_context.weight
    }

    /// The output layer's weights, `[hidden]`.
    pub fn output_weights(&self) -> &[f32] {
        &self.weights.scorer_output.weight
    }

    /// The output layer's bias.
    pub fn output_bias(&self) -> f32 {
        self.weights.out_bias()
    }

    /// The kernel's values in the [`Packed`] layout (what the WebGPU shader reads).
    pub fn packed(&self) -> Vec<f32> {
        let w = self.weights;
        let layout = Packed::new(w.dims.d, w.dims.hidden);
        let mut out = Vec::with_capacity(layout.len());
        out.extend_from_slice(&self.values.query);
        out.extend_from_slice(&self.values.base);
        out.extend_from_slice(&self.values.item_w);
        out.extend_from_slice(&w.scorer_context.weight);
        out.extend_from_slice(&w.scorer_output.weight);
        out.push(w.out_bias());
        debug_assert_eq!(out.len(), layout.len());
        out
    }

    /// The score from the hidden layer's pre-activations: `w_out · relu(h) + b_out + q · item`.
    #[inline(always)]
    fn output(&self, hidden: &[f32], out_w: &[f32], item: &[f32]) -> f32 {
        lane_sum(hidden, out_w, |x, w| x.max(0.0) * w)
            + self.weights.out_bias()
            + lane_sum(&self.values.query, item, |q, v| q * v)
    }

    /// Scores `items` (each `d` values; any other length scores NaN) with their contexts
    /// into `out`.
    pub fn score_all(&self, items: &[&[f32]], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `score_all_avx2` is compiled for.
            unsafe { score_all_avx2(self, items, contexts, out) };
            return;
        }
        match self.weights.dims.hidden {
            16 => score_lanes::<4>(self, items, contexts, out),
            32 => score_lanes::<8>(self, items, contexts, out),
            64 => score_lanes::<16>(self, items, contexts, out),
            _ => score_any::<false>(self, items, contexts, out),
        }
    }
}

/// The kernel in 4-lane vectors (WebAssembly SIMD in wasm builds) for a hidden layer of
/// `4·B` values: one accumulator per vector, so the hidden layer stays in registers.
#[inline(always)]
pub(crate) fn score_lanes<const B: usize>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    let w = k.weights;
    let (Some(base), Some(out_w)) = (lanes::load::<B>(&k.values.base), lanes::load::<B>(&w.scorer_output.weight))
    else {
        return score_any::<false>(k, items, contexts, out);
    };
    let item_w = k.values.item_w.as_chunks::<4>().0.as_chunks::<B>().0;
    let context_w = w.scorer_context.weight.as_chunks::<4>().0.as_chunks::<B>().0;
    let bias = w.out_bias();
    for ((item, context), o) in items.iter().zip(contexts).zip(out) {
        if item.len() != w.dims.d {
            *o = f32::NAN;
            continue;
        }
        let mut acc = base;
        for (x, row) in context.iter().zip(context_w) {
            lanes::mul_add_row(&mut acc, *x, row);
        }
        for (x, row) in item.iter().zip(item_w) {
            lanes::mul_add_row(&mut acc, *x, row);
        }
        *o = lanes::relu_dot(&acc, &out_w) + bias + lane_sum(&k.values.query, item, |q, v| q * v);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn score_all_avx2(k: &ScoreKernel<'_>, items: &[&[f32]], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
    score_all_body::<true>(k, items, contexts, out);
}

/// `out += x · W` (`W` row-major `[x.len(), out.len()]`), fused multiply-adds when `FMA`.
#[inline(always)]
fn mac<const FMA: bool>(x: &[f32], w: &[f32], out: &mut [f32]) {
    let m = out.len();
    for (xi, row) in x.iter().zip(w.chunks_exact(m)) {
        for (o, wij) in out.iter_mut().zip(row) {
            *o = if FMA { xi.mul_add(*wij, *o) } else { *o + xi * wij };
        }
    }
}

/// `Σ f(a_i, b_i)` in 8 independent lanes, so the sum vectorises.
#[inline(always)]
pub(crate) fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| f(*x, *y)).sum();
    for (xa, xb) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += f(xa[l], xb[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn score_all_body<const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    match k.weights.dims.hidden {
        16 => score_fixed::<16, FMA>(k, items, contexts, out),
        32 => score_fixed::<32, FMA>(k, items, contexts, out),
        64 => score_fixed::<64, FMA>(k, items, contexts, out),
        _ => score_any::<FMA>(k, items, contexts, out),
    }
}

/// The hidden layer width known at compile time: the accumulators live in registers, and
/// even and odd input rows go to separate accumulators to halve the dependency chains.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn score_fixed<const H: usize, const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    let w = k.weights;
    let (Ok(base), Ok(out_w)) =
        (<&[f32; H]>::try_from(&k.values.base[..]), <&[f32; H]>::try_from(&w.scorer_output.weight[..]))
    else {
        return score_any::<FMA>(k, items, contexts, out);
    };
    let (item_w, context_w) = (k.values.item_w.as_chunks::<H>().0, w.scorer_context.weight.as_chunks::<H>().0);
    let step = |acc: &mut [f32; H], x: f32, row: &[f32; H]| {
        for j in 0..H {
            acc[j] = if FMA { x.mul_add(row[j], acc[j]) } else { acc[j] + x * row[j] };
        }
    };
    for ((item, context), o) in items.iter().zip(contexts).zip(out) {
        if item.len() != w.dims.d {
            *o = f32::NAN;
            continue;
        }
        let mut even = *base;
        let mut odd = [0f32; H];
        for (x, row) in context.iter().zip(context_w) {
            step(&mut odd, *x, row);
        }
        let mut pairs = item.chunks_exact(2).zip(item_w.chunks_exact(2));
        for (x, w) in &mut pairs {
            step(&mut even, x[0], &w[0]);
            step(&mut odd, x[1], &w[1]);
        }
        if !item.len().is_multiple_of(2) {
            step(&mut even, item[item.len() - 1], &item_w[item.len() - 1]);
        }
        let mut hidden = [0f32; H];
        for j in 0..H {
            hidden[j] = even[j] + odd[j];
        }
        *o = k.output(&hidden, out_w, item);
    }
}

#[inline(always)]
fn score_any<const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    let w = k.weights;
    let mut hidden = vec![0f32; w.dims.hidden];
    for ((item, context), o) in items.iter().zip(contexts).zip(out) {
        if item.len() != w.dims.d {
            *o = f32::NAN;
            continue;
        }
        hidden.copy_from_slice(&k.values.base);
        mac::<FMA>(context, &w.scorer_context.weight, &mut hidden);
        mac::<FMA>(item, &k.values.item_w, &mut hidden);
        *o = k.output(&hidden, &w.scorer_output.weight, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Dims;
    use crate::layout::seeded_weights;

    /// Items `[n, d]` and contexts with seeded values.
    fn inputs(n: usize, d: usize) -> (Vec<f32>, Vec<[f32; CONTEXT_FEATURES]>) {
        let items = (0..n * d).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let contexts = (0..n).map(|i| crate::features::context_features((i % 3 == 0).then_some(0.5), i)).collect();
        (items, contexts)
    }

    #[test]
    fn the_vector_kernel_scores_as_the_plain_loop() {
        for (d, hidden) in [(8, 16), (64, 32), (12, 64), (6, 12)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, d as u64);
            let state: Vec<f32> = (0..d).map(|i| (i as f32 / d as f32) - 0.5).collect();
            let k = ScoreKernel::new(&w, &state);
            let (items, contexts) = inputs(50, d);
            let mut rows: Vec<&[f32]> = items.chunks_exact(d).collect();
            rows[7] = &items[..d - 1]; // a wrong length scores NaN in both
            let (mut plain, mut vector, mut chosen) = (vec![0f32; 50], vec![0f32; 50], vec![0f32; 50]);
            score_any::<false>(&k, &rows, &contexts, &mut plain);
            match hidden {
                16 => score_lanes::<4>(&k, &rows, &contexts, &mut vector),
                32 => score_lanes::<8>(&k, &rows, &contexts, &mut vector),
                64 => score_lanes::<16>(&k, &rows, &contexts, &mut vector),
                _ => score_any::<false>(&k, &rows, &contexts, &mut vector),
            }
            k.score_all(&rows, &contexts, &mut chosen);
            for ((a, b), c) in plain.iter().zip(&vector).zip(&chosen) {
                let tolerance = 1e-5 * a.abs().max(1.0);
                assert!((a - b).abs() <= tolerance || (a.is_nan() && b.is_nan()), "d {d} h {hidden}: {a} vs {b}");
                assert!((a - c).abs() <= tolerance || (a.is_nan() && c.is_nan()), "d {d} h {hidden}: {a} vs {c}");
            }
            assert!(vector[7].is_nan() && chosen[7].is_nan());
        }
    }
}
