//! Item text as token ids: the fixed-width table the text encoders read.
//!
//! Tokenization itself (training a WordPiece vocabulary on the catalog, encoding titles)
//! happens where the tokenizer lives; this module only lays the ids out for tensors.

#[cfg(feature = "burn")]
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::catalog::ItemIdx;

pub use pocketrank_runtime::text::PAD_TOKEN;

/// Every item's first `width` token ids, padded with [`PAD_TOKEN`]: one field (the item's
/// whole text), or two laid side by side (the title's tokens, then the brand's, category's
/// and attributes'), each mean-pooled on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTokens {
    /// Row-major `[items, width]`.
    ids: Vec<u32>,
    width: usize,
    /// Width of the first field; `width` when there is one.
    first_field: usize,
    /// Where each row's second field starts: `first_field`, or `width` for a row read as
    /// one field (an item without a title in a two-field table).
    splits: Vec<usize>,
    items: usize,
}

impl ItemTokens {
    /// Lays out per-item token ids (truncated to `width`; padding ids in the input are dropped).
    pub fn new(per_item: &[Vec<u32>], width: usize) -> Self {
        let width = width.max(1);
        let mut ids = vec![PAD_TOKEN; per_item.len() * width];
        for (row, tokens) in ids.chunks_mut(width).zip(per_item) {
            fill(row, tokens);
        }
        Self { ids, width, first_field: width, splits: vec![width; per_item.len()], items: per_item.len() }
    }

    /// Lays out two fields per item: `titles[i]` in the first `title_width` slots and
    /// `attributes[i]` in the next `attribute_width` (each truncated; padding ids dropped).
    /// Items missing from the shorter list get an empty field. An item without title tokens
    /// gives the title's slots to its attributes: its row is one field of the whole width.
    pub fn two_fields(
        titles: &[Vec<u32>],
        attributes: &[Vec<u32>],
        title_width: usize,
        attribute_width: usize,
    ) -> Self {
        let (first, second) = (title_width.max(1), attribute_width.max(1));
        let width = first + second;
        let items = titles.len().max(attributes.len());
        let mut ids = vec![PAD_TOKEN; items * width];
        let mut splits = vec![first; items];
        for ((i, row), split) in ids.chunks_mut(width).enumerate().zip(&mut splits) {
            let title = titles.get(i).map_or(&[][..], Vec::as_slice);
            let rest = attributes.get(i).map_or(&[][..], Vec::as_slice);
            if title.iter().all(|&t| t == PAD_TOKEN) {
                fill(row, rest);
                *split = width;
            } else {
                let (head, tail) = row.split_at_mut(first);
                fill(head, title);
                fill(tail, rest);
            }
        }
        Self { ids, width, first_field: first, splits, items }
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

    /// Width of the title field when the table has two fields; `None` for one.
    pub fn title_field(&self) -> Option<usize> {
        (self.first_field < self.width).then_some(self.first_field)
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

    /// Tensors for pooling, with a leading all-padding row so that row `i + 1` is item `i`
    /// (the models' shifted item ids): token ids `[items + 1, width]` and weights
    /// `[items + 1, width]`: `1 / n` on a field's `n` real tokens, 0 on padding and on
    /// items without text. The weighted sum is the mean of a one-field table's tokens, and
    /// the sum of the two fields' means for a two-field table.
    #[cfg(feature = "burn")]
    pub fn to_tensors<B: Backend>(&self, device: &B::Device) -> (Tensor<B, 2, Int>, Tensor<B, 2>) {
        let shape = [self.items + 1, self.width];
        let pad_row = vec![PAD_TOKEN; self.width];
        let rows = pad_row.iter().chain(&self.ids).copied().collect::<Vec<_>>();
        let splits = std::iter::once(self.width).chain(self.splits.iter().copied());
        let weights: Vec<f32> = rows
            .chunks(self.width)
            .zip(splits)
            .flat_map(|(row, split)| {
                let (title, rest) = row.split_at(split);
                mean_weights(title).chain(mean_weights(rest))
            })
            .collect();
        let ids: Vec<i64> = rows.iter().map(|&t| i64::from(t)).collect();
        (
            Tensor::from_data(TensorData::new(ids, shape), device),
            Tensor::from_data(TensorData::new(weights, shape), device),
        )
    }
}

/// Writes `tokens`, padding ids dropped, into the start of `slots` (as many as fit).
fn fill(slots: &mut [u32], tokens: &[u32]) {
    for (slot, &t) in slots.iter_mut().zip(tokens.iter().filter(|&&t| t != PAD_TOKEN)) {
        *slot = t;
    }
}

/// Mean-pooling weights of one field: `1 / n` on each of its `n` real tokens.
#[cfg(feature = "burn")]
fn mean_weights(field: &[u32]) -> impl Iterator<Item = f32> + '_ {
    let n = field.iter().filter(|&&t| t != PAD_TOKEN).count();
    field.iter().map(move |&t| if t != PAD_TOKEN { 1.0 / n as f32 } else { 0.0 })
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
        assert_eq!(t.title_field(), None);
    }

    #[test]
    fn two_fields_are_pooled_apart() {
        let titles = [vec![5, 6, 7], vec![], vec![8], vec![0]];
        let attributes = [vec![9], vec![3, 4, 5, 6, 2], vec![], vec![1]];
        let t = ItemTokens::two_fields(&titles, &attributes, 2, 2);
        assert_eq!((t.items(), t.width(), t.title_field()), (4, 4, Some(2)));
        assert_eq!(t.row(0), Some(&[5, 6, 9, 0][..]));
        assert_eq!(t.row(1), Some(&[3, 4, 5, 6][..]), "no title: the attributes take the whole row");
        assert_eq!(t.row(2), Some(&[8, 0, 0, 0][..]));
        assert_eq!(t.row(3), Some(&[1, 0, 0, 0][..]), "a title of padding is no title");
        let device = Default::default();
        let (ids, w) = t.to_tensors::<burn::backend::Flex>(&device);
        assert_eq!(ids.dims(), [5, 4]);
        let w: Vec<f32> = w.into_data().to_vec().unwrap();
        #[rustfmt::skip]
        assert_eq!(w, [
            0.0, 0.0, 0.0, 0.0,
            0.5, 0.5, 1.0, 0.0,
            0.25, 0.25, 0.25, 0.25,
            1.0, 0.0, 0.0, 0.0,
            1.0, 0.0, 0.0, 0.0,
        ]);
    }
}
