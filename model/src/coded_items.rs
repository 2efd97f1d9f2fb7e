//! Item vectors made of product-quantisation codes, with trainable centroids.
//!
//! An item's code picks one centroid per subspace; its vector is those centroids side by
//! side, as the runtime decodes it ([`pocketrank_runtime::Codebooks`]). Here the centroids
//! are a Burn parameter, so the ranking loss can move them while every item keeps its code:
//! the codebooks are then fitted to what the scorer needs from an item instead of to the
//! item vectors' squared error.

use burn::module::{Module, Param};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use pocketrank_runtime::ArtifactError;
use pocketrank_runtime::codes::{CENTROIDS, Codebooks};

/// Trainable codebooks.
#[derive(Module, Debug)]
pub struct CodedItems<B: Backend> {
    /// `[m * CENTROIDS, d / m]`: subspace `s`'s centroid `c` is row `s * CENTROIDS + c`.
    pub centroids: Param<Tensor<B, 2>>,
    m: usize,
}

impl<B: Backend> CodedItems<B> {
    /// Starts from `books` (e.g. k-means codebooks).
    pub fn new(books: &Codebooks, device: &B::Device) -> Self {
        let data = TensorData::new(books.centroids.clone(), [books.m * CENTROIDS, books.sub]);
        Self { centroids: Param::from_tensor(Tensor::from_data(data, device)), m: books.m }
    }

    /// Bytes per code.
    pub fn m(&self) -> usize {
        self.m
    }

    /// Item vectors from their centroid rows.
    ///
    /// - `rows`: `[k, m]` rows of [`centroids`](Self::centroids), from [`centroid_rows`].
    /// - returns `[k, d]`.
    pub fn forward(&self, rows: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [k, m] = rows.dims();
        let sub = self.centroids.dims()[1];
        self.centroids.val().select(0, rows.reshape([k * m])).reshape([k, m * sub])
    }

    /// The codebooks as the runtime stores them (rounded to f16, fingerprinted).
    pub fn codebooks(&self) -> Result<Codebooks, ArtifactError> {
        let [rows, sub] = self.centroids.dims();
        let values = self.centroids.val().into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
        if values.len() != rows * sub {
            return Err(ArtifactError::Manifest("the centroids could not be read".into()));
        }
        Codebooks::from_trained(self.m * sub, self.m, &values)
    }
}

/// The rows of [`CodedItems::centroids`] that `codes` (`[n, m]`) pick: `[n, m]` values
/// `s * CENTROIDS + code[s]`.
pub fn centroid_rows(codes: &[u8], m: usize) -> Vec<i64> {
    codes
        .chunks_exact(m.max(1))
        .flat_map(|c| c.iter().enumerate().map(|(s, &x)| (s * CENTROIDS) as i64 + x as i64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn vectors_are_the_runtimes_decoded_codes() {
        let (d, m) = (8, 4);
        let centroids: Vec<f32> = (0..m * CENTROIDS * (d / m)).map(|i| ((i * 37) % 101) as f32 / 50.0 - 1.0).collect();
        let books = Codebooks::from_trained(d, m, &centroids).unwrap();
        let device = Default::default();
        let items = CodedItems::<Flex>::new(&books, &device);
        let codes: Vec<u8> = vec![0, 255, 3, 7, 200, 1, 128, 9];
        let rows = centroid_rows(&codes, m);
        let vectors = items.forward(Tensor::from_data(TensorData::new(rows, [2, m]), &device));
        assert_eq!(vectors.dims(), [2, d]);
        let got = vectors.into_data().to_vec::<f32>().unwrap();
        let mut want = vec![0f32; d];
        for (i, code) in codes.chunks(m).enumerate() {
            books.decode_into(code, &mut want);
            assert_eq!(&got[i * d..(i + 1) * d], &want[..], "item {i}");
        }
        assert_eq!(items.codebooks().unwrap().fingerprint(), books.fingerprint(), "the same codebooks back");
    }
}
