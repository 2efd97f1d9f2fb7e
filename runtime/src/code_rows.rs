//! Coded candidates as int8 rows, scored by the integer kernel of catalog rows.
//!
//! A code's vector is `m` centroids side by side. The codebooks are held once at int8, all
//! with one scale (`max |centroid| / 127`), so a code becomes an int8 row by copying its
//! `m` centroids' bytes: no arithmetic per candidate and nothing to build per profile. The
//! row is then scored like a catalog row ([`crate::int_kernel`]), so a coded candidate
//! costs what a candidate by id costs, at any code width.
//!
//! The int8 step (at most `max |centroid| / 254` off per value) is far below what the code
//! itself changes (a 32-byte code of a 64-wide student vector is about 0.0003 off per value
//! squared on Beauty, the int8 step's error about 0.000005), and every build computes the
//! same integer sums, so native and WebAssembly scores stay equal to the bit.

use crate::artifact::Int8Rows;
use crate::codes::{CENTROIDS, Codebooks};
use crate::int_kernel::QuantizedRows;

/// The codebooks at int8, `[m, CENTROIDS, sub]` with one scale.
#[derive(Debug, Clone)]
pub struct CodeRows {
    m: usize,
    sub: usize,
    values: Vec<i8>,
    scale: f32,
}

impl CodeRows {
    /// The int8 form of `books` (`None` if a centroid is not finite).
    pub fn new(books: &Codebooks) -> Option<Self> {
        let max = books.centroids.iter().try_fold(0f32, |m, v| v.is_finite().then(|| m.max(v.abs())))?;
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let values = books.centroids.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8).collect();
        Some(Self { m: books.m, sub: books.sub, values, scale })
    }

    /// The rows of `codes` (`[n, m]` centroid indices), `[n, m·sub]`, each with the
    /// codebooks' scale.
    pub fn rows(&self, codes: &[u8]) -> QuantizedRows {
        let d = self.m * self.sub;
        let n = codes.len() / self.m;
        let mut values = vec![0i8; n * d];
        match self.sub {
            1 => self.gather::<1>(codes, &mut values),
            2 => self.gather::<2>(codes, &mut values),
            4 => self.gather::<4>(codes, &mut values),
            8 => self.gather::<8>(codes, &mut values),
            _ => self.gather_any(codes, &mut values),
        }
        QuantizedRows::new(Int8Rows { values, scales: vec![self.scale; n] }, d).unwrap_or_default()
    }

    /// Copies each code's centroids into `out` `[n, m·S]`, `S` values at a time.
    fn gather<const S: usize>(&self, codes: &[u8], out: &mut [i8]) {
        let book = self.values.as_chunks::<S>().0;
        let out = out.as_chunks_mut::<S>().0;
        for (code, row) in codes.chunks_exact(self.m).zip(out.chunks_exact_mut(self.m)) {
            for (s, (&c, o)) in code.iter().zip(row).enumerate() {
                if let Some(centroid) = book.get(s * CENTROIDS + c as usize) {
                    *o = *centroid;
                }
            }
        }
    }

    /// [`gather`](Self::gather) for any sub-vector width.
    fn gather_any(&self, codes: &[u8], out: &mut [i8]) {
        let sub = self.sub;
        for (code, row) in codes.chunks_exact(self.m).zip(out.chunks_exact_mut(self.m * sub)) {
            for (s, (&c, o)) in code.iter().zip(row.chunks_exact_mut(sub)).enumerate() {
                let at = (s * CENTROIDS + c as usize) * sub;
                if let Some(centroid) = self.values.get(at..at + sub) {
                    o.copy_from_slice(centroid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn books(d: usize, m: usize) -> Codebooks {
        let centroids = (0..m * CENTROIDS * (d / m)).map(|i| ((i * 53 % 97) as f32 / 48.0) - 1.0).collect();
        Codebooks::new(d, m, centroids).expect("codebooks")
    }

    #[test]
    fn rows_are_the_decoded_vectors_at_int8() {
        for (d, m) in [(64, 32), (64, 16), (32, 32), (8, 4), (48, 3)] {
            let books = books(d, m);
            let rows = CodeRows::new(&books).expect("finite centroids");
            let codes: Vec<u8> = (0..5 * m).map(|i| (i * 131 % 256) as u8).collect();
            let quantized = rows.rows(&codes);
            assert_eq!(quantized.len(), 5);
            let mut decoded = vec![0f32; d];
            for (k, code) in codes.chunks_exact(m).enumerate() {
                books.decode_into(code, &mut decoded);
                let (row, scale) = quantized.row(k).expect("a row per code");
                for (q, x) in row.iter().zip(&decoded) {
                    assert!((*q as f32 * scale - x).abs() <= scale / 2.0 + 1e-6, "d {d} m {m}: {q}·{scale} vs {x}");
                }
            }
        }
    }

    #[test]
    fn non_finite_codebooks_have_no_int8_rows() {
        let mut centroids = vec![0.5; 4 * CENTROIDS * 2];
        centroids[7] = f32::NAN;
        assert!(CodeRows::new(&Codebooks::new(8, 4, centroids).expect("codebooks")).is_none());
        let zeros = CodeRows::new(&Codebooks::new(8, 4, vec![0.0; 4 * CENTROIDS * 2]).expect("codebooks"));
        assert!(zeros.expect("zeros are finite").rows(&[0, 1, 2, 3]).row(0).is_some_and(|(r, _)| r == [0; 8]));
    }
}
