//! One pre-norm Transformer block of the teacher, whose token mixing is causal
//! self-attention, optionally blended with a [`CausalFilter`] (`filter_alpha > 0`).
//! With `filter_alpha = 0` it computes what Burn's `TransformerEncoderLayer` computes with
//! `norm_first`.

use burn::config::Config;
use burn::module::Module;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::transformer::{PositionWiseFeedForward, PositionWiseFeedForwardConfig};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Tensor, backend::Backend};

use super::filter::CausalFilter;

/// Shape of a block.
#[derive(Config, Debug)]
pub struct BlockConfig {
    pub d_model: usize,
    pub n_heads: usize,
    /// Longest sequence (the filter's number of taps).
    pub max_len: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Share of the token mixing done by the causal filter (0: attention only).
    #[config(default = 0.0)]
    pub filter_alpha: f64,
    /// The filter's starting decay per event.
    #[config(default = 0.8)]
    pub filter_decay: f64,
    /// Frequencies the filter keeps (BSARec's cut-off); 0: the learned decay.
    #[config(default = 0)]
    pub filter_frequencies: usize,
}

/// A pre-norm block: `x + mix(norm(x))`, then `x + ffn(norm(x))`.
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    mha: MultiHeadAttention<B>,
    filter: Option<CausalFilter<B>>,
    pwff: PositionWiseFeedForward<B>,
    norm_1: LayerNorm<B>,
    norm_2: LayerNorm<B>,
    dropout: Dropout,
    filter_alpha: f64,
}

impl BlockConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Block<B> {
        let d = self.d_model;
        Block {
            mha: MultiHeadAttentionConfig::new(d, self.n_heads).with_dropout(self.dropout).init(device),
            filter: (self.filter_alpha > 0.0).then(|| {
                CausalFilter::new(self.max_len, d, self.filter_decay, device).with_frequencies(self.filter_frequencies)
            }),
            pwff: PositionWiseFeedForwardConfig::new(d, 4 * d).with_dropout(self.dropout).init(device),
            norm_1: LayerNormConfig::new(d).init(device),
            norm_2: LayerNormConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            filter_alpha: self.filter_alpha,
        }
    }
}

impl<B: Backend> Block<B> {
    /// - `x`: `[batch, len, d_model]`; `mask`: `[batch, len, len]`, true where position `t`
    ///   must not attend to `s`;
    /// - `two_sided`: `None` for causal mixing; for a model that reads whole histories,
    ///   `[batch, len]` with 1 at events and 0 at padding (the filter then reads both ways).
    /// - returns `[batch, len, d_model]`.
    pub fn forward(&self, x: Tensor<B, 3>, mask: Tensor<B, 3, Bool>, two_sided: Option<Tensor<B, 2>>) -> Tensor<B, 3> {
        let z = self.norm_2.forward(x.clone());
        let attended = self.mha.forward(MhaInput::self_attn(z.clone()).mask_attn(mask)).context;
        let mixed = match (&self.filter, two_sided) {
            (Some(filter), None) => attended * (1.0 - self.filter_alpha) + filter.forward(z) * self.filter_alpha,
            (Some(filter), Some(valid)) => {
                attended * (1.0 - self.filter_alpha) + filter.forward_two_sided(z, valid) * self.filter_alpha
            }
            (None, _) => attended,
        };
        let x = x + self.dropout.forward(mixed);
        let y = self.pwff.forward(self.norm_1.forward(x.clone()));
        x + self.dropout.forward(y)
    }
}
