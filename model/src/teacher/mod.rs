//! The teacher: a SASRec-style causal Transformer over the shopper's item sequence, whose
//! item vectors combine an id embedding with a text encoder over the item's title tokens,
//! so items without interactions still get meaningful vectors.
//!
//! Item indices are shifted by one inside the model: row 0 of every item table is padding.

pub mod block;
pub mod filter;

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Distribution, Int, Tensor, TensorData, backend::Backend};

use crate::catalog::ItemIdx;
use crate::metrics::Scorer;
use crate::text::ItemTokens;
use block::{Block, BlockConfig};

/// Shape of a teacher.
#[derive(Config, Debug)]
pub struct TeacherConfig {
    /// Catalog size.
    pub n_items: usize,
    /// Text vocabulary size (token ids `0..vocab_size`, 0 = padding); 1 disables text.
    pub vocab_size: usize,
    /// Width of the model.
    #[config(default = 64)]
    pub d_model: usize,
    /// Transformer blocks.
    #[config(default = 2)]
    pub n_layers: usize,
    /// Attention heads per block.
    #[config(default = 2)]
    pub n_heads: usize,
    /// Longest history the model reads (older events are dropped).
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on embeddings and inside the blocks.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// During training, the share of item vectors built from text alone (id embedding
    /// dropped), so the text path learns to place items that were never interacted with.
    #[config(default = 0.0)]
    pub id_dropout: f64,
    /// Share of each block's token mixing done by a causal low-pass filter over the
    /// sequence instead of attention (see [`filter`]); 0 = attention only.
    #[config(default = 0.5)]
    pub filter_alpha: f64,
    /// The filter keeps the sequence's lowest `filter_frequencies` DFT frequencies
    /// (BSARec's cut-off); 0: a learned decay over the distance between events.
    #[config(default = 0)]
    pub filter_frequencies: usize,
    /// Mixing reads the whole history in both directions (attention and filter), and the
    /// model is trained on every prefix of a history, predicting only after its last event
    /// (as BSARec and FMLP-Rec train); positions count back from the last event. `false`:
    /// causal mixing, every position trained at once.
    #[config(default = false)]
    pub whole_history: bool,
}

/// The teacher network.
#[derive(Module, Debug)]
pub struct Teacher<B: Backend> {
    item_embedding: Embedding<B>,
    token_embedding: Embedding<B>,
    text_projection: Linear<B>,
    position_embedding: Embedding<B>,
    input_norm: LayerNorm<B>,
    dropout: Dropout,
    blocks: Vec<Block<B>>,
    output_norm: LayerNorm<B>,
    max_len: usize,
    d_model: usize,
    id_dropout: f64,
    whole_history: bool,
}

/// Title tokens of every item as tensors, built once per device. Row 0 is padding, row
/// `i + 1` is item `i`.
#[derive(Debug, Clone)]
pub struct ItemText<B: Backend> {
    /// Token ids `[n_items + 1, width]`.
    pub ids: Tensor<B, 2, Int>,
    /// Mean-pooling weights `[n_items + 1, width]`.
    pub weights: Tensor<B, 2>,
}

impl<B: Backend> ItemText<B> {
    pub fn new(tokens: &ItemTokens, device: &B::Device) -> Self {
        let (ids, weights) = tokens.to_tensors(device);
        Self { ids, weights }
    }

    /// A copy on `device` (for a replica of the model on another device).
    pub fn to_device(&self, device: &B::Device) -> Self {
        Self { ids: self.ids.clone().to_device(device), weights: self.weights.clone().to_device(device) }
    }
}

impl TeacherConfig {
    /// A freshly initialised teacher.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Teacher<B> {
        let d = self.d_model;
        // Small embeddings keep the initial scores near zero (loss ≈ ln n_items).
        let small = Initializer::Normal { mean: 0.0, std: 0.02 };
        let embedding = |n: usize| EmbeddingConfig::new(n, d).with_initializer(small.clone()).init(device);
        Teacher {
            item_embedding: embedding(self.n_items + 1),
            token_embedding: embedding(self.vocab_size.max(1)),
            text_projection: LinearConfig::new(d, d).init(device),
            position_embedding: embedding(self.max_len),
            input_norm: LayerNormConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            blocks: (0..self.n_layers)
                .map(|_| {
                    BlockConfig::new(d, self.n_heads, self.max_len)
                        .with_dropout(self.dropout)
                        .with_filter_alpha(self.filter_alpha)
                        .with_filter_frequencies(self.filter_frequencies)
                        .init(device)
                })
                .collect(),
            output_norm: LayerNormConfig::new(d).init(device),
            max_len: self.max_len,
            d_model: d,
            id_dropout: self.id_dropout,
            whole_history: self.whole_history,
        }
    }
}

impl<B: Backend> Teacher<B> {
    /// Longest history the model reads.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether mixing reads whole histories (only the last position predicts), see
    /// [`TeacherConfig::whole_history`].
    pub fn whole_history(&self) -> bool {
        self.whole_history
    }

    /// The item encoder's weights: id embeddings `[n_items + 1, d]`, token embeddings
    /// `[vocab, d]`, text projection weight `[d, d]` and bias `[d]` (a student starts from them).
    pub fn item_encoder(&self) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>, Option<Tensor<B, 1>>) {
        (
            self.item_embedding.weight.val(),
            self.token_embedding.weight.val(),
            self.text_projection.weight.val(),
            self.text_projection.bias.as_ref().map(|b| b.val()),
        )
    }

    /// Every item's vector: id embedding plus the projected mean of its title-token
    /// embeddings.
    ///
    /// - `text`: token ids and pooling weights, `[n_items + 1, width]` each.
    /// - returns `[n_items + 1, d_model]`; row 0 is padding, row `i + 1` is item `i`.
    pub fn item_vectors(&self, text: &ItemText<B>) -> Tensor<B, 2> {
        let n = text.ids.dims()[0];
        self.item_vectors_of(text, Tensor::arange(0..n as i64, &text.ids.device()))
    }

    /// The vectors of some items (see [`item_vectors`](Self::item_vectors)).
    ///
    /// - `ids`: `[k]` shifted item ids (item + 1; 0 = padding).
    /// - returns `[k, d_model]`. Padding's vector is its id embedding (never read as a score).
    pub fn item_vectors_of(&self, text: &ItemText<B>, ids: Tensor<B, 1, Int>) -> Tensor<B, 2> {
        let [k] = ids.dims();
        let width = text.ids.dims()[1];
        let token_ids = text.ids.clone().select(0, ids.clone()); // [k, width]
        let weights = text.weights.clone().select(0, ids.clone()).reshape([k, 1, width]);
        let tokens = self.token_embedding.forward(token_ids); // [k, width, d]
        let pooled = weights.matmul(tokens).reshape([k, self.d_model]);
        let mut id_part = self.item_embedding.weight.val().select(0, ids); // [k, d]
        if self.id_dropout > 0.0 && B::ad_enabled(&id_part.device()) {
            let keep =
                Tensor::<B, 2>::random([k, 1], Distribution::Bernoulli(1.0 - self.id_dropout), &id_part.device());
            id_part = id_part * keep;
        }
        id_part + self.text_projection.forward(pooled)
    }

    /// Encodes item sequences: causally (position `t` sees only positions `0..=t`), or for
    /// a [`whole_history`](Self::whole_history) model, each position sees every event of its
    /// sequence and only the last one's output predicts.
    ///
    /// - `sequences`: `[batch, len]` rows of `items` (with the full table: item + 1; 0 =
    ///   padding after the end), `len <= max_len`, at least one event per row.
    /// - `items`: `[k, d_model]` item table the ids index, e.g. `[n_items + 1, d_model]`
    ///   from [`item_vectors`](Self::item_vectors); row 0 is padding.
    /// - returns `[batch, len, d_model]`: at `t`, the representation that predicts item `t + 1`
    ///   (whole-history models: at the last event only).
    pub fn forward(&self, sequences: Tensor<B, 2, Int>, items: Tensor<B, 2>) -> Tensor<B, 3> {
        let [batch, len] = sequences.dims();
        let device = sequences.device();
        let padding = sequences.clone().equal_elem(0); // [batch, len]
        let x = items.select(0, sequences.reshape([batch * len])).reshape([batch, len, self.d_model]);
        let x = x * (self.d_model as f64).sqrt();
        let steps = Tensor::<B, 1, Int>::arange(0..len as i64, &device).reshape([1, len]);
        let (positions, mask, two_sided) = if self.whole_history {
            // Positions count back from the last event; padding reads position 0.
            let events = padding.clone().bool_not().int(); // [batch, len]
            let lengths = events.clone().sum_dim(1); // [batch, 1]
            let back = (lengths - 1 - steps).clamp_min(0); // [batch, len]
            let mask = padding.reshape([batch, 1, len]).expand([batch, len, len]);
            (back, mask, Some(events.float()))
        } else {
            (steps.expand([batch, len]), generate_autoregressive_mask::<B>(batch, len, &device), None)
        };
        let x = x + self.position_embedding.forward(positions);
        let x = self.dropout.forward(self.input_norm.forward(x));
        let h = self.blocks.iter().fold(x, |h, block| block.forward(h, mask.clone(), two_sided.clone()));
        self.output_norm.forward(h)
    }

    /// The representation after each history's last event (its last `max_len` events).
    ///
    /// - `items`: the item table `[n_items + 1, d_model]` from [`item_vectors`](Self::item_vectors).
    /// - returns `[histories, d_model]`. Empty histories read as a single padding event.
    pub fn profiles(&self, histories: &[&[ItemIdx]], items: Tensor<B, 2>, device: &B::Device) -> Tensor<B, 2> {
        let (seq, lengths) = history_batch::<B>(histories, self.max_len, device);
        let [batch, len] = seq.dims();
        let hidden = self.forward(seq, items);
        let d = hidden.dims()[2];
        let last: Vec<i64> = lengths.iter().enumerate().map(|(b, &l)| (b * len + l.saturating_sub(1)) as i64).collect();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(last, [batch]), device);
        hidden.reshape([batch * len, d]).select(0, index)
    }

    /// Scores of every item for a set of representations.
    ///
    /// - `hidden`: `[rows, d_model]`; `items`: `[n_items + 1, d_model]`.
    /// - returns `[rows, n_items]` (column `i` is item `i`, padding excluded).
    pub fn logits(&self, hidden: Tensor<B, 2>, items: Tensor<B, 2>) -> Tensor<B, 2> {
        let n = items.dims()[0];
        hidden.matmul(items.slice(1..n).transpose())
    }
}

impl<B: Backend> Teacher<B> {
    /// Scores of a subset of items (sampled-softmax training).
    ///
    /// - `hidden`: `[rows, d_model]`; `items`: an item table `[t, d_model]`;
    /// - `candidates`: `[k]` rows of `items`.
    /// - returns `[rows, k]`.
    pub fn candidate_logits(
        &self,
        hidden: Tensor<B, 2>,
        items: Tensor<B, 2>,
        candidates: Tensor<B, 1, Int>,
    ) -> Tensor<B, 2> {
        hidden.matmul(items.select(0, candidates).transpose())
    }
}

/// Right-padded, shifted item ids of the last `max_len` items of each history.
///
/// Returns the `[batch, len]` tensor (len = longest kept history, at least 1) and each
/// history's kept length.
pub fn history_batch<B: Backend>(
    histories: &[&[ItemIdx]],
    max_len: usize,
    device: &B::Device,
) -> (Tensor<B, 2, Int>, Vec<usize>) {
    let lengths: Vec<usize> = histories.iter().map(|h| h.len().min(max_len)).collect();
    let len = lengths.iter().copied().max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; histories.len() * len];
    for (row, h) in ids.chunks_mut(len).zip(histories) {
        let kept = &h[h.len() - h.len().min(max_len)..];
        for (slot, &item) in row.iter_mut().zip(kept) {
            *slot = i64::from(item) + 1;
        }
    }
    (Tensor::from_data(TensorData::new(ids, [histories.len(), len]), device), lengths)
}

/// A trained teacher ready to score: item vectors computed once.
pub struct TeacherScorer<B: Backend> {
    model: Teacher<B>,
    items: Tensor<B, 2>,
    n_items: usize,
    device: B::Device,
}

impl<B: Backend> TeacherScorer<B> {
    /// Wraps a teacher (use a backend without autodiff, or `model.valid()`).
    pub fn new(model: Teacher<B>, text: &ItemText<B>, device: &B::Device) -> Self {
        let items = model.item_vectors(text);
        let n_items = items.dims()[0] - 1;
        Self { model, items, n_items, device: device.clone() }
    }

    /// The representation after each history's last event: `[batch, d_model]`.
    /// Empty histories read as a single padding event.
    pub fn profiles(&self, histories: &[&[ItemIdx]]) -> Tensor<B, 2> {
        self.model.profiles(histories, self.items.clone(), &self.device)
    }
}

impl<B: Backend> Scorer for TeacherScorer<B> {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn score_batch(&self, histories: &[&[ItemIdx]], out: &mut [f32]) {
        let logits = self.model.logits(self.profiles(histories), self.items.clone());
        let values = logits.into_data().convert::<f32>();
        match values.as_slice::<f32>() {
            Ok(slice) if slice.len() <= out.len() => out[..slice.len()].copy_from_slice(slice),
            // Never leave stale scores behind: unreadable scores rank last.
            _ => out.fill(f32::NAN),
        }
    }

    fn preferred_batch(&self) -> usize {
        256
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::module::Module;
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};

    use super::*;
    use crate::metrics::Scorer;

    type B = Flex;

    fn setup() -> (Teacher<B>, ItemText<B>) {
        setup_with(0.0, 0)
    }

    fn setup_with(filter_alpha: f64, filter_frequencies: usize) -> (Teacher<B>, ItemText<B>) {
        let device = Default::default();
        B::seed(&device, 7);
        let tokens = ItemTokens::new(&[vec![1, 2], vec![2, 3], vec![], vec![4], vec![1, 4, 5]], 3);
        let config = TeacherConfig::new(5, 6)
            .with_d_model(16)
            .with_n_heads(2)
            .with_max_len(8)
            .with_dropout(0.0)
            .with_filter_alpha(filter_alpha)
            .with_filter_frequencies(filter_frequencies);
        // Burn initialises parameters lazily, per clone: pin the values through a record.
        let record = config.init::<B>(&device).into_record();
        (config.init(&device).load_record(record), ItemText::new(&tokens, &device))
    }

    #[test]
    fn future_items_never_influence_earlier_positions() {
        // Attention alone, and blended with the causal filter: learned decay or cut-off.
        for (alpha, frequencies) in [(0.0, 0), (0.5, 0), (0.5, 1)] {
            future_items_never_influence_earlier_positions_with(alpha, frequencies);
        }
    }

    fn future_items_never_influence_earlier_positions_with(filter_alpha: f64, filter_frequencies: usize) {
        let (model, text) = setup_with(filter_alpha, filter_frequencies);
        let device = Default::default();
        let items = model.item_vectors(&text);
        let seq = |ids: Vec<i64>| Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [1, 5]), &device);
        let a = model.forward(seq(vec![1, 2, 3, 4, 5]), items.clone());
        let b = model.forward(seq(vec![1, 2, 3, 5, 1]), items);
        let prefix = |h: Tensor<B, 3>| h.slice([0..1, 0..3]).into_data().to_vec::<f32>().unwrap();
        let (pa, pb) = (prefix(a.clone()), prefix(b.clone()));
        assert_eq!(pa, pb, "positions 0..3 must not see positions 3..5");
        let last = |h: Tensor<B, 3>| h.slice([0..1, 4..5]).into_data().to_vec::<f32>().unwrap();
        assert_ne!(last(a), last(b), "the last position does see its own history");
    }

    #[test]
    fn a_whole_history_model_reads_both_ways_and_never_padding() {
        // The filter's learned decay, and its frequency cut-off.
        for frequencies in [0, 1] {
            a_whole_history_model_reads_both_ways_and_never_padding_with(frequencies);
        }
    }

    fn a_whole_history_model_reads_both_ways_and_never_padding_with(filter_frequencies: usize) {
        let device = Default::default();
        B::seed(&device, 7);
        let tokens = ItemTokens::new(&[vec![1, 2], vec![2, 3], vec![], vec![4], vec![1, 4, 5]], 3);
        let config = TeacherConfig::new(5, 6)
            .with_d_model(16)
            .with_max_len(8)
            .with_dropout(0.0)
            .with_filter_alpha(0.5)
            .with_filter_frequencies(filter_frequencies)
            .with_whole_history(true);
        let model = config.init::<B>(&device);
        let items = model.item_vectors(&ItemText::new(&tokens, &device));
        let seq = |ids: Vec<i64>| Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [1, 5]), &device);
        let rows = |h: Tensor<B, 3>, r: std::ops::Range<usize>| h.slice([0..1, r]).into_data().to_vec::<f32>().unwrap();
        let a = model.forward(seq(vec![1, 2, 3, 0, 0]), items.clone());
        // A later event changes the first position; padding changes nothing.
        let b = model.forward(seq(vec![1, 2, 5, 0, 0]), items.clone());
        assert_ne!(rows(a.clone(), 0..1), rows(b, 0..1));
        let c = model.forward(seq(vec![1, 2, 3, 4, 0]).slice([0..1, 0..3]), items.clone());
        let (ra, rc) = (rows(a.clone(), 0..3), rows(c, 0..3));
        assert!(ra.iter().zip(&rc).all(|(x, y)| (x - y).abs() < 1e-5), "padding leaked into the events");
        // The same history, left-aligned in a longer batch, gives the same profile.
        let scorer = TeacherScorer::new(model, &ItemText::new(&tokens, &device), &device);
        let alone = scorer.profiles(&[&[0, 1, 2]]).into_data().to_vec::<f32>().unwrap();
        let batched = scorer.profiles(&[&[4, 3, 2, 1, 0], &[0, 1, 2]]).into_data().to_vec::<f32>().unwrap();
        assert!(alone.iter().zip(&batched[16..]).all(|(x, y)| (x - y).abs() < 1e-5));
        assert_eq!(&rows(a, 2..3)[..], &alone[..]);
    }

    #[test]
    fn save_and_load_give_identical_scores() {
        let (model, text) = setup();
        let device = Default::default();
        let histories: [&[ItemIdx]; 3] = [&[0, 1], &[4], &[]];
        let score = |m: Teacher<B>| {
            let scorer = TeacherScorer::new(m, &text, &device);
            let mut out = vec![0f32; 3 * scorer.n_items()];
            scorer.score_batch(&histories, &mut out);
            out
        };
        let before = score(model.clone());
        assert_eq!(before, score(model.clone()), "scoring is deterministic");
        let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
        let bytes = recorder.record(model.into_record(), ()).unwrap();
        B::seed(&device, 99);
        let fresh = TeacherConfig::new(5, 6).with_d_model(16).with_max_len(8).init::<B>(&device);
        assert_ne!(score(fresh.clone()), before, "a fresh model scores differently");
        let loaded = fresh.load_record(recorder.load(bytes, &device).unwrap());
        let after = score(loaded);
        assert_eq!(before, after);
        assert!(before.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn id_dropout_builds_training_vectors_from_text_alone() {
        type Ad = burn::backend::Autodiff<Flex>;
        let device = Default::default();
        // Items 1 and 3 have no text: with every id dropped they become the same vector.
        let tokens = ItemTokens::new(&[vec![1, 2], vec![], vec![3], vec![]], 3);
        let text = ItemText::<Ad>::new(&tokens, &device);
        let rows = |cfg: TeacherConfig| {
            let v = cfg.init::<Ad>(&device).item_vectors(&text);
            let row = |i: usize| v.clone().slice(i + 1..i + 2).into_data().to_vec::<f32>().unwrap();
            (row(1), row(3))
        };
        let config = TeacherConfig::new(4, 4).with_d_model(8).with_max_len(4);
        let (a, b) = rows(config.clone().with_id_dropout(1.0));
        assert_eq!(a, b);
        let (a, b) = rows(config.clone());
        assert_ne!(a, b);
        // Inference never drops ids.
        let plain = config.with_id_dropout(1.0).init::<Flex>(&device);
        let v = plain.item_vectors(&ItemText::new(&tokens, &device));
        let row = |i: usize| v.clone().slice(i + 1..i + 2).into_data().to_vec::<f32>().unwrap();
        assert_ne!(row(1), row(3));
    }

    #[test]
    fn histories_are_cut_to_the_window_and_right_padded() {
        let device = Default::default();
        let long: Vec<ItemIdx> = (0..12).collect();
        let (seq, lengths) = history_batch::<B>(&[&long, &[3]], 8, &device);
        assert_eq!(lengths, [8, 1]);
        let ids = seq.into_data().convert::<i64>().to_vec::<i64>().unwrap();
        assert_eq!(&ids[..8], &[5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(&ids[8..], &[4, 0, 0, 0, 0, 0, 0, 0]);
    }
}
