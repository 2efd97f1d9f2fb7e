//! Item text as token ids: the fixed-width table the text encoders read.
//!
//! Tokenization itself (training a WordPiece vocabulary on the catalog, encoding titles)
//! happens where the tokenizer lives; this module only lays the ids out for tensors.

#[cfg(feature = "burn")]
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::catalog::ItemIdx;

pub use pocketrank_runtime::text::PAD_TOKEN;

/// Every item's first `width` token ids, padded with [`PAD_TOKEN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTokens {
    /// Row-major `[items, width]`.
    ids: Vec<u32>,
    width: usize,
    items: usize,
}

impl ItemTokens {
    /// Lays out per-item token ids (truncated to `width`; padding ids in the input are dropped).
    pub fn new(per_item: &[Vec<u32>], width: usize) -> Self {
        let width = width.max(1);
        let mut ids = vec![PAD_TOKEN; per_item.len() * width];
        for (row, tokens) in ids.chunks_mut(width).zip(per_item) {
            for (slot, &t) in row.iter_mut().zip(tokens.iter().filter(|&&t| t != PAD_TOKEN)) {
                *slot = t;
            }
        }
        Self { ids, width, items: per_item.len() }
    }

    /// A table where every item has no text.
    pub fn empty(items: usize) -> Self {
        Self::new(&vec![Vec::new(); items], 1)
    }

    pub fn items(&self) -> usize {
        self.items
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// The padded token ids of one item.
    pub fn row(&self, item: ItemIdx) -> Option<&[u32]> {
        let i = item as usize;
        (i < self.items).then(|| &self.ids[i * self.width..(i + 1) * self.width])
    }

    /// The largest token id used (0 when there is no text).
    pub fn max_token(&self) -> u32 {
        self.ids.iter().copied().max().unwrap_or(PAD_TOKEN)
    }

    /// Tensors for mean pooling, with a leading all-padding row so that row `i + 1` is item
    /// `i` (the models' shifted item ids): token ids `[items + 1, width]` and weights
    /// `[items + 1, width]` (`1 / n` on an item's `n` real tokens, 0 on padding and for items
    /// without text).
    #[cfg(feature = "burn")]
    pub fn to_tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 2, Int>, Tensor<B, 2>) {
        let shape = [self.items + 1, self.width];
        let pad_row = vec![PAD_TOKEN; self.width];
        let rows = pad_row.iter().chain(&self.ids).copied().collect::<Vec<_>>();
        let weights: Vec<f32> = rows
            .chunks(self.width)
            .flat_map(|row| {
                let n = row.iter().filter(|&&t| t != PAD_TOKEN).count();
                row.iter().map(move |&t| if t != PAD_TOKEN { 1.0 / n as f32 } else { 0.0 })
            })
            .collect();
        let ids: Vec<i64> = rows.iter().map(|&t| i64::from(t)).collect();
        (
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(weights, shape), device),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_truncates_and_weights() {
        let t = ItemTokens::new(&[vec![5, 6, 7], vec![], vec![0, 9]], 2);
        assert_eq!(t.row(0), Some(&[5, 6][..]));
        assert_eq!(t.row(1), Some(&[0, 0][..]));
        assert_eq!(t.row(2), Some(&[9, 0][..]));
        assert_eq!(t.row(3), None);
        assert_eq!(t.max_token(), 9);
        let device = Default::default();
        let (_, w) = t.to_tensors::<burn::backend::Flex>(&device);
        let w: Vec<f32> = w.into_data().to_vec().unwrap();
        assert_eq!(w, [0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 1.0, 0.0]);
    }
}
