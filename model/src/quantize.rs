//! Product quantisation of the student's item vectors: the codebooks and codes of
//! `pocketrank_runtime::codes`, learned by k-means in each subspace.

use pocketrank_runtime::ArtifactError;
use pocketrank_runtime::codes::{CENTROIDS, Codebooks, nearest};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// How the codebooks are learned.
#[derive(Debug, Clone, Copy)]
pub struct QuantizeConfig {
    /// Subspaces: bytes per item code (`d` must be a multiple).
    pub m: usize,
    /// Lloyd iterations per subspace.
    pub iterations: usize,
    pub seed: u64,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        Self { m: 8, iterations: 25, seed: 17 }
    }
}

/// Learns codebooks for `vectors` (`[n, d]` row-major), then codes every vector.
/// Returns the codebooks (rounded as stored) and the codes `[n, m]`.
pub fn quantize(vectors: &[f32], d: usize, config: QuantizeConfig) -> Result<(Codebooks, Vec<u8>), ArtifactError> {
    quantize_weighted(vectors, None, d, config)
}

/// [`quantize`] with a weight per vector (`[n]`, ≥ 0): centroids are the weighted means of
/// their vectors, so heavy vectors are coded more closely.
pub fn quantize_weighted(
    vectors: &[f32],
    weights: Option<&[f32]>,
    d: usize,
    config: QuantizeConfig,
) -> Result<(Codebooks, Vec<u8>), ArtifactError> {
    let m = config.m;
    if m == 0 || d == 0 || !d.is_multiple_of(m) {
        return Err(ArtifactError::Manifest(format!("{m} code subspaces do not divide d = {d}")));
    }
    let sub = d / m;
    let n = vectors.len() / d;
    let subspace = |s: usize| -> Vec<f32> {
        let points: Vec<f32> =
            vectors.chunks_exact(d).flat_map(|v| v[s * sub..(s + 1) * sub].iter().copied()).collect();
        kmeans(&points, weights, sub, config.iterations, config.seed.wrapping_add(s as u64))
    };
    // Two subspaces at a time (the machines this runs on have few cores to spare).
    let mut books = vec![Vec::new(); m];
    for pair in (0..m).collect::<Vec<_>>().chunks(2) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pair.iter().map(|&s| (s, scope.spawn(move || subspace(s)))).collect();
            for (s, h) in handles {
                books[s] = h.join().unwrap_or_default();
            }
        });
    }
    let books = Codebooks::from_trained(d, m, &books.concat())?;
    let codes = vectors.chunks_exact(d).take(n).flat_map(|v| books.assign(v)).collect();
    Ok((books, codes))
}

/// Lloyd's k-means of `points` (`[n, width]`, weighted by `weights` `[n]` when given) into
/// [`CENTROIDS`] centroids, initialised with k-means++; an emptied centroid restarts at the
/// point farthest from its own. Fewer points than centroids: every point is a centroid
/// (repeated to fill).
pub fn kmeans(points: &[f32], weights: Option<&[f32]>, width: usize, iterations: usize, seed: u64) -> Vec<f32> {
    let n = points.len() / width;
    let weight =
        |i: usize| weights.and_then(|w| w.get(i)).map_or(1.0, |&w| if w.is_finite() { w.max(0.0) } else { 0.0 });
    let point = |i: usize| &points[i * width..(i + 1) * width];
    let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>();
    if n == 0 {
        return vec![0.0; CENTROIDS * width];
    }
    if n <= CENTROIDS {
        return (0..CENTROIDS).flat_map(|k| point(k % n).to_vec()).collect();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // k-means++ on a sample (enough for the seeding, bounded for big catalogs).
    let mut sample: Vec<usize> = (0..n).collect();
    sample.shuffle(&mut rng);
    sample.truncate(20_000.max(CENTROIDS));
    let mut centroids: Vec<f32> = point(sample[0]).to_vec();
    let mut best: Vec<f32> = sample.iter().map(|&i| dist(point(i), point(sample[0]))).collect();
    while centroids.len() < CENTROIDS * width {
        let total: f32 = best.iter().zip(&sample).map(|(b, &i)| b * weight(i)).sum();
        let pick = if total > 0.0 {
            let mut r = rng.random::<f32>() * total;
            best.iter()
                .zip(&sample)
                .position(|(&b, &i)| {
                    r -= b * weight(i);
                    r <= 0.0
                })
                .unwrap_or(best.len() - 1)
        } else {
            rng.random_range(0..sample.len())
        };
        let c = point(sample[pick]).to_vec();
        for (b, &i) in best.iter_mut().zip(&sample) {
            *b = b.min(dist(point(i), &c));
        }
        centroids.extend(c);
    }
    let mut assignment = vec![0usize; n];
    for _ in 0..iterations {
        let mut moved = false;
        let mut sums = vec![0f64; CENTROIDS * width];
        let mut counts = vec![0f64; CENTROIDS];
        for (i, a) in assignment.iter_mut().enumerate() {
            let k = nearest(point(i), &centroids, width);
            moved |= *a != k;
            *a = k;
            let w = weight(i) as f64;
            counts[k] += w;
            for (s, x) in sums[k * width..(k + 1) * width].iter_mut().zip(point(i)) {
                *s += *x as f64 * w;
            }
        }
        for k in 0..CENTROIDS {
            let c = &mut centroids[k * width..(k + 1) * width];
            if counts[k] > 0.0 {
                for (c, s) in c.iter_mut().zip(&sums[k * width..(k + 1) * width]) {
                    *c = (*s / counts[k]) as f32;
                }
            } else {
                // The point worst served by its centroid starts this one.
                let far = (0..n)
                    .max_by(|&a, &b| {
                        let da = dist(point(a), &centroids[assignment[a] * width..(assignment[a] + 1) * width]);
                        let db = dist(point(b), &centroids[assignment[b] * width..(assignment[b] + 1) * width]);
                        da.total_cmp(&db)
                    })
                    .unwrap_or(0);
                let p = point(far).to_vec();
                centroids[k * width..(k + 1) * width].copy_from_slice(&p);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    centroids
}

/// Mean squared reconstruction error of `vectors` `[n, d]` through their codes.
pub fn reconstruction_error(vectors: &[f32], books: &Codebooks, codes: &[u8]) -> f32 {
    let d = books.d();
    let mut out = vec![0f32; d];
    let mut total = 0f64;
    let mut n = 0usize;
    for (v, code) in vectors.chunks_exact(d).zip(codes.chunks_exact(books.m)) {
        books.decode_into(code, &mut out);
        total += v.iter().zip(&out).map(|(a, b)| ((a - b) * (a - b)) as f64).sum::<f64>();
        n += 1;
    }
    if n == 0 { 0.0 } else { (total / (n * d) as f64) as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clustered(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let centres: Vec<f32> = (0..50 * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        (0..n)
            .flat_map(|_| {
                let c = rng.random_range(0..50);
                (0..d).map(|j| centres[c * d + j] + rng.random_range(-0.01..0.01)).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn codes_reconstruct_clustered_vectors_closely() {
        let (d, n) = (16, 3000);
        let v = clustered(n, d, 3);
        let (books, codes) = quantize(&v, d, QuantizeConfig { m: 4, iterations: 10, seed: 1 }).unwrap();
        assert_eq!(codes.len(), n * 4);
        let err = reconstruction_error(&v, &books, &codes);
        let var = v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32;
        assert!(err < var * 0.01, "error {err} vs variance {var}");
        let again = quantize(&v, d, QuantizeConfig { m: 4, iterations: 10, seed: 1 }).unwrap();
        assert_eq!(again.0.fingerprint(), books.fingerprint(), "seeded: the same codebooks");
        assert!(quantize(&v, d, QuantizeConfig { m: 5, ..Default::default() }).is_err());
    }

    #[test]
    fn weighted_vectors_are_coded_more_closely() {
        let mut rng = StdRng::seed_from_u64(9);
        let v: Vec<f32> = (0..2 * 4000).map(|_| rng.random_range(0.0..1.0)).collect();
        // A tenth of the points (x < 0.1) weighs 100 times the others.
        let w: Vec<f32> = v.chunks(2).map(|p| if p[0] < 0.1 { 100.0 } else { 1.0 }).collect();
        let config = QuantizeConfig { m: 1, iterations: 15, seed: 3 };
        let heavy_error = |books: &Codebooks, codes: &[u8]| {
            let heavy: Vec<usize> = (0..4000).filter(|&i| w[i] > 1.0).collect();
            let pick = |i: &usize| &v[i * 2..i * 2 + 2];
            let vs: Vec<f32> = heavy.iter().flat_map(|i| pick(i).to_vec()).collect();
            let cs: Vec<u8> = heavy.iter().map(|&i| codes[i]).collect();
            reconstruction_error(&vs, books, &cs)
        };
        let (plain, plain_codes) = quantize(&v, 2, config).unwrap();
        let (weighted, weighted_codes) = quantize_weighted(&v, Some(&w), 2, config).unwrap();
        let (a, b) = (heavy_error(&plain, &plain_codes), heavy_error(&weighted, &weighted_codes));
        assert!(b < a * 0.5, "heavy points: error {b} weighted against {a} plain");
        let uniform = vec![1.0; 4000];
        let (same, _) = quantize_weighted(&v, Some(&uniform), 2, config).unwrap();
        assert_eq!(same.fingerprint(), plain.fingerprint(), "equal weights are no weights");
    }

    #[test]
    fn tiny_catalogs_are_coded_exactly() {
        let v: Vec<f32> = (0..40).map(|i| i as f32 / 7.0).collect();
        let (books, codes) = quantize(&v, 4, QuantizeConfig { m: 2, iterations: 5, seed: 0 }).unwrap();
        assert!(reconstruction_error(&v, &books, &codes) < 1e-4);
    }
}
