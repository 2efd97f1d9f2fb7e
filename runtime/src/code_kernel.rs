//! Scoring coded candidates without decoding them: per-profile lookup tables (the
//! "asymmetric distance" trick of product quantisation, applied to the scorer).
//!
//! A coded item is `m` centroid indices, and its vector is those `m` centroids side by
//! side. Everything the scorer does with an item vector before the ReLU is linear in it:
//! `x · M` with `M = W_i + diag(q)·W_x` (`[d, hidden]`, see [`ScoreKernel`]) and `q · x`.
//! So each centroid's share is computed once per profile (the [`crate::Ranker`] keeps the
//! last profile's tables):
//!
//! - `hidden[s][k] = centroid(s, k) · M[s·sub .. (s+1)·sub]`, `[m, 256, hidden]`;
//! - `query[s][k] = q[s·sub .. (s+1)·sub] · centroid(s, k)`, `[m, 256]`.
//!
//! A candidate then costs `m` table rows added (`m × hidden` additions) instead of a
//! `d × hidden` multiply-add pass: 8× fewer operations at d = 64, m = 16. Building the
//! tables costs about as much as scoring [`CENTROIDS`] candidates the direct way, so
//! [`worth_tables`] says from how many coded candidates on they pay. The scores equal
//! the direct kernel's on the decoded vectors up to float rounding (the same terms, summed
//! in another order).

use crate::codes::{CENTROIDS, Codebooks};
use crate::features::CONTEXT_FEATURES;
use crate::kernel::ScoreKernel;
use crate::lanes::{self, F32x4};

/// Whether `coded` candidates are scored faster through tables than decoded: the tables
/// cost about `CENTROIDS` direct candidates, and a candidate through them about `sub / 2`
/// times a direct one (`m × hidden` additions against `d × hidden` multiply-adds).
pub fn worth_tables(coded: usize, books: &Codebooks) -> bool {
    // t·n + CENTROIDS < n with t = 1 / (2·sub), i.e. n > CENTROIDS / (1 − t).
    let per_candidate = 1.0 / (2.0 * books.sub as f64);
    coded as f64 > CENTROIDS as f64 / (1.0 - per_candidate).max(f64::EPSILON)
}

/// The lookup tables of one profile's kernel for a model's codebooks.
#[derive(Debug, Clone)]
pub struct CodeTables {
    m: usize,
    /// `[m, CENTROIDS, hidden]`: each centroid's share of the hidden pre-activations.
    hidden: Vec<f32>,
    /// `[m, CENTROIDS]`: each centroid's share of `q · item`.
    query: Vec<f32>,
}

impl CodeTables {
    /// The tables of `kernel` for `books` (whose `d` is the kernel's; the caller checks).
    pub fn new(kernel: &ScoreKernel<'_>, books: &Codebooks) -> Self {
        let (m, sub, h) = (books.m, books.sub, kernel.hidden_len());
        let (item_w, q) = (kernel.item_weights(), kernel.query());
        let mut hidden = Vec::with_capacity(m * CENTROIDS * h);
        let mut query = Vec::with_capacity(m * CENTROIDS);
        let subspaces = books.centroids.chunks_exact(CENTROIDS * sub).zip(item_w.chunks_exact(sub * h));
        for ((book, rows), q_s) in subspaces.zip(q.chunks_exact(sub)) {
            for centroid in book.chunks_exact(sub) {
                let at = hidden.len();
                hidden.resize(at + h, 0.0);
                match h {
                    16 => centroid_row::<4>(centroid, rows, &mut hidden[at..]),
                    32 => centroid_row::<8>(centroid, rows, &mut hidden[at..]),
                    64 => centroid_row::<16>(centroid, rows, &mut hidden[at..]),
                    _ => crate::kernel::add_vec_mat(centroid, rows, &mut hidden[at..]),
                }
                query.push(centroid.iter().zip(q_s).map(|(x, q)| x * q).sum());
            }
        }
        Self { m, hidden, query }
    }

    /// Scores coded candidates with the kernel the tables were built from: `codes`
    /// `[n, m]` centroid indices, `contexts` `[n]`, into `out` `[n]`.
    pub fn score_all(
        &self,
        kernel: &ScoreKernel<'_>,
        codes: &[u8],
        contexts: &[[f32; CONTEXT_FEATURES]],
        out: &mut [f32],
    ) {
        let tables = Tables { kernel, t: self };
        match kernel.hidden_len() {
            16 => tables.score_lanes::<4>(codes, contexts, out),
            32 => tables.score_lanes::<8>(codes, contexts, out),
            64 => tables.score_lanes::<16>(codes, contexts, out),
            _ => tables.score_any(codes, contexts, out),
        }
    }
}

/// The tables with the kernel they were built from, for one scoring pass.
struct Tables<'a, 'w> {
    kernel: &'a ScoreKernel<'w>,
    t: &'a CodeTables,
}

impl Tables<'_, '_> {
    /// A hidden layer of `4·B` values: one vector accumulator each, kept in registers
    /// while the candidate's `m` table rows are added.
    #[inline(always)]
    fn score_lanes<const B: usize>(&self, codes: &[u8], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
        let (Some(base), Some(out_w)) =
            (lanes::load::<B>(self.kernel.base()), lanes::load::<B>(self.kernel.output_weights()))
        else {
            return self.score_any(codes, contexts, out);
        };
        let context_w = self.kernel.context_weights().as_chunks::<4>().0.as_chunks::<B>().0;
        let rows = self.t.hidden.as_chunks::<4>().0.as_chunks::<B>().0;
        let bias = self.kernel.output_bias();
        for ((code, context), o) in codes.chunks_exact(self.t.m).zip(contexts).zip(out) {
            let mut acc = base;
            for (x, row) in context.iter().zip(context_w) {
                lanes::mul_add_row(&mut acc, *x, row);
            }
            let mut dot = 0f32;
            for (s, &c) in code.iter().enumerate() {
                let at = s * CENTROIDS + c as usize;
                if let (Some(row), Some(q)) = (rows.get(at), self.t.query.get(at)) {
                    lanes::add_row(&mut acc, row);
                    dot += q;
                }
            }
            *o = lanes::relu_dot(&acc, &out_w) + bias + dot;
        }
    }

    fn score_any(&self, codes: &[u8], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
        let h = self.kernel.hidden_len();
        let context_w = self.kernel.context_weights();
        let mut hidden = vec![0f32; h];
        for ((code, context), o) in codes.chunks_exact(self.t.m).zip(contexts).zip(out) {
            hidden.copy_from_slice(self.kernel.base());
            for (x, row) in context.iter().zip(context_w.chunks_exact(h)) {
                for (v, w) in hidden.iter_mut().zip(row) {
                    *v += x * w;
                }
            }
            let mut dot = 0f32;
            for (s, &c) in code.iter().enumerate() {
                let at = s * CENTROIDS + c as usize;
                for (v, t) in hidden.iter_mut().zip(&self.t.hidden[at * h..(at + 1) * h]) {
                    *v += t;
                }
                dot += self.t.query[at];
            }
            let total: f32 = hidden.iter().zip(self.kernel.output_weights()).map(|(v, w)| v.max(0.0) * w).sum::<f32>();
            *o = total + self.kernel.output_bias() + dot;
        }
    }
}

/// `out = centroid · rows` for a hidden layer of `4·B` values (`rows` `[sub, 4·B]`, `out`
/// `[4·B]` zeros).
#[inline(always)]
fn centroid_row<const B: usize>(centroid: &[f32], rows: &[f32], out: &mut [f32]) {
    let mut acc = [F32x4::splat(0.0); B];
    for (x, row) in centroid.iter().zip(rows.as_chunks::<4>().0.as_chunks::<B>().0) {
        lanes::mul_add_row(&mut acc, *x, row);
    }
    for (o, a) in out.as_chunks_mut::<4>().0.iter_mut().zip(&acc) {
        *o = a.to_array();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::Dims;
    use crate::layout::seeded_weights;

    #[test]
    fn tables_score_as_the_decoded_vectors() {
        for (d, hidden, m) in [(64, 32, 16), (32, 16, 16), (8, 64, 8), (12, 12, 4)] {
            let w = seeded_weights(Dims { n_items: 0, d, hidden, vocab_size: 1, title_tokens: 1 }, 3);
            let centroids = (0..m * CENTROIDS * (d / m)).map(|i| ((i * 53 % 97) as f32 / 48.0) - 1.0).collect();
            let books = Codebooks::new(d, m, centroids).expect("codebooks");
            let state: Vec<f32> = (0..d).map(|i| 0.3 - (i as f32 / d as f32)).collect();
            let kernel = ScoreKernel::new(&w, &state);
            let n = 400;
            let codes: Vec<u8> = (0..n * m).map(|i| (i * 131 % 256) as u8).collect();
            let contexts: Vec<_> =
                (0..n).map(|i| crate::features::context_features((i % 2 == 0).then_some(0.1), i)).collect();
            let mut decoded = vec![0f32; n * d];
            for (code, row) in codes.chunks_exact(m).zip(decoded.chunks_exact_mut(d)) {
                books.decode_into(code, row);
            }
            let rows: Vec<&[f32]> = decoded.chunks_exact(d).collect();
            let (mut direct, mut by_table) = (vec![0f32; n], vec![0f32; n]);
            kernel.score_all(&rows, &contexts, &mut direct);
            CodeTables::new(&kernel, &books).score_all(&kernel, &codes, &contexts, &mut by_table);
            for (a, b) in direct.iter().zip(&by_table) {
                assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "d {d} h {hidden} m {m}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn tables_pay_from_a_few_hundred_coded_candidates() {
        let books = |d: usize, m: usize| Codebooks::new(d, m, vec![0.0; m * CENTROIDS * (d / m)]).expect("codebooks");
        assert!(!worth_tables(290, &books(64, 16)) && worth_tables(300, &books(64, 16)));
        assert!(!worth_tables(340, &books(32, 16)) && worth_tables(350, &books(32, 16)));
        assert!(!worth_tables(500, &books(16, 16)) && worth_tables(600, &books(16, 16)), "one value per subspace");
    }
}
