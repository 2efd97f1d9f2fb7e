//! The student: the small ranking head that ships to the device.
//!
//! - **Item vectors** (`d` wide): id embedding plus a projection of the mean title-token
//!   embedding, as in the teacher, so an item the model never saw still gets a vector from
//!   its title. Row 0 of the id table is the *unknown item*: training replaces a share of
//!   ids with it, so it learns to be a neutral prior.
//! - **Profile encoder**: a GRU cell over `[item vector, event kind one-hot, log Δt]`. The
//!   profile is the GRU state, a `d`-vector updated once per event in O(d²) — no re-run
//!   over the history.
//! - **Scorer**: the GRU state is projected once to a query `q`; each candidate gets an MLP
//!   over `[q, item, q ⊙ item, context]` plus the plain dot product `q · item`. Context is what the shop knows about the candidate: its
//!   server score (if any) and its position in the shop's list.
//!
//! This Burn module is what the trainer distils. Its layers and exported tensors follow
//! [`pocketrank_runtime::layout`], which the runtime (`pocketrank_runtime::Ranker`) reads:
//! the same arithmetic on the exported weights; a test keeps the two equal.

use burn::config::Config;
use burn::module::{Initializer, Module};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Distribution, Int, Tensor, backend::Backend};

use std::collections::BTreeMap;

use pocketrank_runtime::artifact::{Dims, Weights};
pub use pocketrank_runtime::features::{CONTEXT_FEATURES, EVENT_FEATURES, context_features, event_features};
use pocketrank_runtime::layout::{self, Layer};

use crate::teacher::ItemText;

/// Shape of a student.
#[derive(Config, Debug)]
pub struct StudentConfig {
    /// Catalog size.
    pub n_items: usize,
    /// Text vocabulary size (token ids `0..vocab_size`, 0 = padding); 1 disables text.
    pub vocab_size: usize,
    /// Width of item vectors and of the profile.
    #[config(default = 32)]
    pub d: usize,
    /// Width of the scorer's hidden layer.
    #[config(default = 32)]
    pub hidden: usize,
    /// During training, the share of item vectors whose id embedding is replaced by the
    /// unknown-item row, so unknown items score sensibly from their title.
    #[config(default = 0.1)]
    pub id_dropout: f64,
}

/// The student network.
#[derive(Module, Debug)]
pub struct Student<B: Backend> {
    /// `[n_items + 1, d]`; row 0 is the unknown item.
    pub item_embedding: Embedding<B>,
    /// `[vocab_size, d]`.
    pub token_embedding: Embedding<B>,
    /// `d → d`.
    pub text_projection: Linear<B>,
    /// `d + EVENT_FEATURES → 3d` (reset, update, candidate gates).
    pub gru_input: Linear<B>,
    /// `d → 3d`.
    pub gru_hidden: Linear<B>,
    /// `d → d`: the query the scorer reads, computed from the GRU state once per call.
    pub profile_projection: Linear<B>,
    /// `d → hidden`, with the scorer's bias.
    pub scorer_profile: Linear<B>,
    /// `d → hidden`, no bias.
    pub scorer_item: Linear<B>,
    /// `d → hidden` over `profile ⊙ item`, no bias.
    pub scorer_interaction: Linear<B>,
    /// `CONTEXT_FEATURES → hidden`, no bias.
    pub scorer_context: Linear<B>,
    /// `hidden → 1`.
    pub scorer_output: Linear<B>,
    d: usize,
    id_dropout: f64,
}

impl StudentConfig {
    /// The artifact dimensions of this student, reading `title_tokens` tokens per title.
    pub fn dims(&self, title_tokens: usize) -> Dims {
        Dims { n_items: self.n_items, d: self.d, hidden: self.hidden, vocab_size: self.vocab_size.max(1), title_tokens }
    }

    /// A freshly initialised student.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Student<B> {
        let d = self.d;
        let dims = self.dims(1);
        let small = Initializer::Normal { mean: 0.0, std: 0.05 };
        let embedding = |n: usize| EmbeddingConfig::new(n, d).with_initializer(small.clone()).init(device);
        let linear = |l: Layer| {
            let [i, o] = l.weight_shape(&dims);
            LinearConfig::new(i, o).with_bias(l.bias).init(device)
        };
        Student {
            item_embedding: embedding(self.n_items + 1),
            token_embedding: embedding(self.vocab_size.max(1)),
            text_projection: linear(layout::TEXT_PROJECTION),
            gru_input: linear(layout::GRU_INPUT),
            gru_hidden: linear(layout::GRU_HIDDEN),
            profile_projection: linear(layout::PROFILE_PROJECTION),
            scorer_profile: linear(layout::SCORER_PROFILE),
            scorer_item: linear(layout::SCORER_ITEM),
            scorer_interaction: linear(layout::SCORER_INTERACTION),
            scorer_context: linear(layout::SCORER_CONTEXT),
            scorer_output: linear(layout::SCORER_OUTPUT),
            d,
            id_dropout: self.id_dropout,
        }
    }
}

impl<B: Backend> Student<B> {
    /// Width of item vectors and profiles.
    pub fn d(&self) -> usize {
        self.d
    }

    /// The vectors of some items.
    ///
    /// - `text`: token ids and pooling weights of the catalog, `[n_items + 1, width]` each.
    /// - `ids`: `[k]` shifted item ids (item + 1; 0 = the unknown item).
    /// - returns `[k, d]`.
    pub fn item_vectors_of(&self, text: &ItemText<B>, ids: Tensor<B, 1, Int>) -> Tensor<B, 2> {
        let [k] = ids.dims();
        let width = text.ids.dims()[1];
        let token_ids = text.ids.clone().select(0, ids.clone());
        let weights = text.weights.clone().select(0, ids.clone()).reshape([k, 1, width]);
        let pooled = self.text_vectors(token_ids, weights);
        let table = self.item_embedding.weight.val();
        let mut id_part = table.clone().select(0, ids); // [k, d]
        if self.id_dropout > 0.0 && B::ad_enabled(&id_part.device()) {
            let device = id_part.device();
            let keep = Tensor::<B, 2>::random([k, 1], Distribution::Bernoulli(1.0 - self.id_dropout), &device);
            let unknown = table.slice(0..1); // [1, d]
            id_part = id_part * keep.clone() + unknown * (keep.neg() + 1.0);
        }
        id_part + pooled
    }

    /// The text part of item vectors: the projected weighted mean of token embeddings.
    ///
    /// - `token_ids`: `[k, width]`; `weights`: `[k, 1, width]` (`1 / n` on real tokens).
    /// - returns `[k, d]`.
    pub fn text_vectors(&self, token_ids: Tensor<B, 2, Int>, weights: Tensor<B, 3>) -> Tensor<B, 2> {
        let [k, _] = token_ids.dims();
        let tokens = self.token_embedding.forward(token_ids); // [k, width, d]
        let pooled = weights.matmul(tokens).reshape([k, self.d]);
        self.text_projection.forward(pooled)
    }

    /// One GRU step: the profile after one more event.
    ///
    /// - `profile`: `[b, d]`; `item`: `[b, d]` the event's item vector;
    /// - `event`: `[b, EVENT_FEATURES]` from [`event_features`].
    /// - returns `[b, d]`.
    pub fn step(&self, profile: Tensor<B, 2>, item: Tensor<B, 2>, event: Tensor<B, 2>) -> Tensor<B, 2> {
        let d = self.d;
        let gi = self.gru_input.forward(Tensor::cat(vec![item, event], 1)); // [b, 3d]
        let gh = self.gru_hidden.forward(profile.clone()); // [b, 3d]
        let reset = sigmoid(gi.clone().narrow(1, 0, d) + gh.clone().narrow(1, 0, d));
        let update = sigmoid(gi.clone().narrow(1, d, d) + gh.clone().narrow(1, d, d));
        let candidate = (gi.narrow(1, 2 * d, d) + reset * gh.narrow(1, 2 * d, d)).tanh();
        candidate.clone() + update * (profile - candidate)
    }

    /// The profile after each event of a batch of sequences, starting from the zero profile.
    ///
    /// - `items`: `[b, len, d]` item vectors; `events`: `[b, len, EVENT_FEATURES]`.
    /// - returns `[b, len, d]`: at `t`, the profile after events `0..=t`.
    pub fn profiles(&self, items: Tensor<B, 3>, events: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, len, d] = items.dims();
        let mut h = Tensor::<B, 2>::zeros([b, d], &items.device());
        let mut out = Vec::with_capacity(len);
        for t in 0..len {
            let x = items.clone().narrow(1, t, 1).reshape([b, d]);
            let e = events.clone().narrow(1, t, 1).reshape([b, EVENT_FEATURES]);
            h = self.step(h, x, e);
            out.push(h.clone().unsqueeze_dim::<3>(1));
        }
        Tensor::cat(out, 1)
    }

    /// The scorer's query for profiles (the GRU state projected).
    ///
    /// - `profile`: `[r, d]` GRU states; returns `[r, d]`.
    pub fn query(&self, profile: Tensor<B, 2>) -> Tensor<B, 2> {
        self.profile_projection.forward(profile)
    }

    /// Scores candidates for profiles.
    ///
    /// - `profile`: `[r, d]` GRU states; `items`: `[r, k, d]` candidate vectors;
    /// - `context`: `[r, k, CONTEXT_FEATURES]` from [`context_features`].
    /// - returns `[r, k]`.
    pub fn score(&self, profile: Tensor<B, 2>, items: Tensor<B, 3>, context: Tensor<B, 3>) -> Tensor<B, 2> {
        let [r, k, d] = items.dims();
        let p = self.query(profile).unsqueeze_dim::<3>(1); // [r, 1, d]
        let interaction = items.clone() * p.clone(); // [r, k, d]
        let hidden = self.scorer_profile.forward(p)
            + self.scorer_item.forward(items)
            + self.scorer_interaction.forward(interaction.clone())
            + self.scorer_context.forward(context);
        let mlp = self.scorer_output.forward(relu(hidden)).reshape([r, k]);
        let dot = interaction.sum_dim(2).reshape([r, k]);
        debug_assert_eq!(d, self.d);
        mlp + dot
    }
}

fn weights<B: Backend, const D: usize>(t: Tensor<B, D>) -> Weights {
    let shape = t.dims().to_vec();
    let values = t.into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
    Weights::new(shape, values)
}

fn linear_weights<B: Backend>(out: &mut BTreeMap<String, Weights>, layer: &Layer, l: &Linear<B>) {
    out.insert(layer.weight_name(), weights(l.weight.val()));
    if let Some(b) = &l.bias {
        out.insert(layer.bias_name(), weights(b.val()));
    }
}

impl<B: Backend> Student<B> {
    /// Starts from the teacher's item encoder (id embeddings, token embeddings, text
    /// projection) when the widths match: the item geometry is most of what the teacher
    /// knows, and the student then learns to produce queries in the same space.
    pub fn with_item_encoder(
        mut self,
        item_embedding: Tensor<B, 2>,
        token_embedding: Tensor<B, 2>,
        text_weight: Tensor<B, 2>,
        text_bias: Option<Tensor<B, 1>>,
    ) -> Self {
        use burn::module::Param;
        if item_embedding.dims() == self.item_embedding.weight.dims()
            && token_embedding.dims() == self.token_embedding.weight.dims()
            && text_weight.dims() == self.text_projection.weight.dims()
        {
            self.item_embedding.weight = Param::from_tensor(item_embedding);
            self.token_embedding.weight = Param::from_tensor(token_embedding);
            self.text_projection.weight = Param::from_tensor(text_weight);
            self.text_projection.bias = text_bias.map(Param::from_tensor);
        }
        self
    }

    /// The tensors the runtime reads, named and shaped as [`pocketrank_runtime::layout`]
    /// says: final catalog item vectors `[n_items, d]`, the unknown item `[d]`, the token
    /// table and every layer (`<layer>.weight` `[in, out]`, `<layer>.bias` `[out]`).
    pub fn export_tensors(&self, text: &ItemText<B>) -> BTreeMap<String, Weights> {
        let n = text.ids.dims()[0];
        let all = self.item_vectors_of(text, Tensor::arange(1..n as i64, &text.ids.device()));
        let mut out = BTreeMap::new();
        out.insert(layout::ITEMS.into(), weights(all));
        let table = self.item_embedding.weight.val();
        out.insert(layout::UNKNOWN_ITEM.into(), weights(table.slice(0..1).reshape([self.d])));
        out.insert(layout::TOKENS.into(), weights(self.token_embedding.weight.val()));
        let layers = [
            (layout::TEXT_PROJECTION, &self.text_projection),
            (layout::GRU_INPUT, &self.gru_input),
            (layout::GRU_HIDDEN, &self.gru_hidden),
            (layout::PROFILE_PROJECTION, &self.profile_projection),
            (layout::SCORER_PROFILE, &self.scorer_profile),
            (layout::SCORER_ITEM, &self.scorer_item),
            (layout::SCORER_INTERACTION, &self.scorer_interaction),
            (layout::SCORER_CONTEXT, &self.scorer_context),
            (layout::SCORER_OUTPUT, &self.scorer_output),
        ];
        debug_assert_eq!(layers.len(), layout::LAYERS.len());
        for (layer, l) in &layers {
            linear_weights(&mut out, layer, l);
        }
        out
    }
}
