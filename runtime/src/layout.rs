//! The student's layout, defined once: every tensor an artifact carries for it (name and
//! shape), and the packed scorer parameters another implementation (the WebGPU shader)
//! reads.
//!
//! The Burn student (`pocketrank_model::student`) builds its layers and writes its
//! tensors from [`LAYERS`]; the runtime ([`crate::ranker`]) reads them with the same
//! names and shapes; the WGSL kernel gets its offsets from [`Packed::wgsl_prelude`]. A new
//! student architecture is a new [`ARCHITECTURE`] name and a new layout here.

use std::ops::Range;

use crate::artifact::{Artifact, ArtifactError, Dims, Int8Rows, ItemCodes};
use crate::codes::Codebooks;
use crate::features::{CONTEXT_FEATURES, EVENT_FEATURES};

/// The architecture this runtime serves, as written in the manifest.
pub const ARCHITECTURE: &str = "gru-mlp-v1";

/// Catalog item vectors, `[n_items, d]` (the final vectors: id part plus text part).
pub const ITEMS: &str = "items";
/// The unknown item's vector (the neutral prior), `[d]`.
pub const UNKNOWN_ITEM: &str = "unknown_item";
/// Title-token embeddings, `[vocab_size, d]`; only present with a tokenizer.
pub const TOKENS: &str = "tokens";

/// A tensor width in terms of the model's [`Dims`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// `d`: item vectors and profiles.
    D,
    /// The scorer's hidden layer.
    Hidden,
    /// `3 d`: the GRU's reset, update and candidate gates.
    Gates,
    /// `d + EVENT_FEATURES`: a GRU input (item vector and event features).
    GruInput,
    /// `CONTEXT_FEATURES`: a candidate's context.
    Context,
    /// One output.
    One,
}

impl Width {
    /// The width for `dims`.
    pub fn of(self, dims: &Dims) -> usize {
        match self {
            Self::D => dims.d,
            Self::Hidden => dims.hidden,
            Self::Gates => 3 * dims.d,
            Self::GruInput => dims.d + EVENT_FEATURES,
            Self::Context => CONTEXT_FEATURES,
            Self::One => 1,
        }
    }
}

/// A dense layer: `<name>.weight` `[input, output]` and, with a bias, `<name>.bias` `[output]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub name: &'static str,
    pub input: Width,
    pub output: Width,
    pub bias: bool,
}

impl Layer {
    const fn new(name: &'static str, input: Width, output: Width, bias: bool) -> Self {
        Self { name, input, output, bias }
    }

    /// Tensor name of the weight matrix.
    pub fn weight_name(&self) -> String {
        format!("{}.weight", self.name)
    }

    /// Tensor name of the bias.
    pub fn bias_name(&self) -> String {
        format!("{}.bias", self.name)
    }

    /// `[input, output]` for `dims`.
    pub fn weight_shape(&self, dims: &Dims) -> [usize; 2] {
        [self.input.of(dims), self.output.of(dims)]
    }
}

/// Title path: pooled token embeddings → the text part of an item vector.
pub const TEXT_PROJECTION: Layer = Layer::new("text_projection", Width::D, Width::D, true);
/// GRU input gates over `[item vector, event features]`.
pub const GRU_INPUT: Layer = Layer::new("gru_input", Width::GruInput, Width::Gates, true);
/// GRU hidden gates over the profile.
pub const GRU_HIDDEN: Layer = Layer::new("gru_hidden", Width::D, Width::Gates, true);
/// Profile → the scorer's query `q`.
pub const PROFILE_PROJECTION: Layer = Layer::new("profile_projection", Width::D, Width::D, true);
/// Scorer: `q` → hidden (with the scorer's bias).
pub const SCORER_PROFILE: Layer = Layer::new("scorer_profile", Width::D, Width::Hidden, true);
/// Scorer: the candidate's vector → hidden.
pub const SCORER_ITEM: Layer = Layer::new("scorer_item", Width::D, Width::Hidden, false);
/// Scorer: `q ⊙ item` → hidden.
pub const SCORER_INTERACTION: Layer = Layer::new("scorer_interaction", Width::D, Width::Hidden, false);
/// Scorer: the candidate's context → hidden.
pub const SCORER_CONTEXT: Layer = Layer::new("scorer_context", Width::Context, Width::Hidden, false);
/// Scorer: hidden → score.
pub const SCORER_OUTPUT: Layer = Layer::new("scorer_output", Width::Hidden, Width::One, true);

/// Every dense layer of the student.
pub const LAYERS: [Layer; 9] = [
    TEXT_PROJECTION,
    GRU_INPUT,
    GRU_HIDDEN,
    PROFILE_PROJECTION,
    SCORER_PROFILE,
    SCORER_ITEM,
    SCORER_INTERACTION,
    SCORER_CONTEXT,
    SCORER_OUTPUT,
];

/// Widest profile or hidden layer an artifact may declare.
pub const MAX_WIDTH: usize = 4096;

/// A dense layer read from an artifact.
#[derive(Debug, Clone, Default)]
pub struct LayerWeights {
    /// Row-major `[input, output]`.
    pub weight: Vec<f32>,
    /// `[output]`, empty for a layer without bias.
    pub bias: Vec<f32>,
}

/// Every student weight, checked against the layout: what the runtime computes with.
#[derive(Debug, Clone)]
pub struct StudentWeights {
    pub dims: Dims,
    /// `[n_items, d]`.
    pub items: Vec<f32>,
    /// The item table as the artifact stored it, when in int8 (the integer kernel's rows).
    pub item_rows: Option<Int8Rows>,
    /// `[n_items, m]` centroid indices when the artifact carries its catalog as codes
    /// (`items` then holds their decoded vectors); empty otherwise.
    pub item_codes: Vec<u8>,
    /// `[d]`.
    pub unknown: Vec<f32>,
    /// `[vocab_size, d]`, empty without a text path.
    pub tokens: Vec<f32>,
    /// The item-code centroids, when the artifact has them (see [`crate::codes`]).
    pub codebooks: Option<Codebooks>,
    pub text_projection: LayerWeights,
    pub gru_input: LayerWeights,
    pub gru_hidden: LayerWeights,
    pub profile_projection: LayerWeights,
    pub scorer_profile: LayerWeights,
    pub scorer_item: LayerWeights,
    pub scorer_interaction: LayerWeights,
    pub scorer_context: LayerWeights,
    pub scorer_output: LayerWeights,
}

impl StudentWeights {
    /// Moves the student's tensors out of `artifact`, checking the architecture, the
    /// dimensions and every shape.
    pub fn take(artifact: &mut Artifact) -> Result<Self, ArtifactError> {
        let arch = &artifact.manifest.architecture;
        if arch != ARCHITECTURE {
            return Err(ArtifactError::UnsupportedArchitecture { found: arch.clone(), supported: ARCHITECTURE });
        }
        let dims = artifact.manifest.dims;
        let (d, h, v) = (dims.d, dims.hidden, dims.vocab_size);
        // Bounded so that no shape arithmetic below can overflow, whatever the manifest says.
        if !(1..=MAX_WIDTH).contains(&d) || !(1..=MAX_WIDTH).contains(&h) || v == 0 {
            return Err(ArtifactError::Manifest(format!(
                "model dimensions must be between 1 and {MAX_WIDTH} (d = {d}, hidden = {h}, vocabulary = {v})"
            )));
        }
        let mut layer = |l: &Layer| -> Result<LayerWeights, ArtifactError> {
            let weight = artifact.take_tensor(&l.weight_name(), &l.weight_shape(&dims))?;
            let bias = if l.bias { artifact.take_tensor(&l.bias_name(), &[l.output.of(&dims)])? } else { Vec::new() };
            Ok(LayerWeights { weight, bias })
        };
        let text_projection = layer(&TEXT_PROJECTION)?;
        let gru_input = layer(&GRU_INPUT)?;
        let gru_hidden = layer(&GRU_HIDDEN)?;
        let profile_projection = layer(&PROFILE_PROJECTION)?;
        let scorer_profile = layer(&SCORER_PROFILE)?;
        let scorer_item = layer(&SCORER_ITEM)?;
        let scorer_interaction = layer(&SCORER_INTERACTION)?;
        let scorer_context = layer(&SCORER_CONTEXT)?;
        let scorer_output = layer(&SCORER_OUTPUT)?;
        let tokens =
            if artifact.tensors.contains_key(TOKENS) { artifact.take_tensor(TOKENS, &[v, d])? } else { Vec::new() };
        let codebooks = Codebooks::take(artifact, d)?;
        let item_rows = artifact.tensors.get_mut(ITEMS).and_then(|w| w.int8.take());
        let (items, item_codes) = match (artifact.tensors.contains_key(ITEMS), artifact.item_codes.take()) {
            (true, _) => (artifact.take_tensor(ITEMS, &[dims.n_items, d])?, Vec::new()),
            (false, Some(codes)) => (decode_item_codes(&codes, codebooks.as_ref(), dims.n_items)?, codes.codes),
            // A core artifact: no item table, the candidates carry codes.
            (false, None) if dims.n_items == 0 => (Vec::new(), Vec::new()),
            (false, None) => return Err(ArtifactError::MissingTensor(ITEMS.into())),
        };
        Ok(Self {
            items,
            item_rows,
            item_codes,
            codebooks,
            unknown: artifact.take_tensor(UNKNOWN_ITEM, &[d])?,
            tokens,
            text_projection,
            gru_input,
            gru_hidden,
            profile_projection,
            scorer_profile,
            scorer_item,
            scorer_interaction,
            scorer_context,
            scorer_output,
            dims,
        })
    }

    /// The output layer's bias (one value).
    pub fn out_bias(&self) -> f32 {
        self.scorer_output.bias.first().copied().unwrap_or(0.0)
    }
}

/// The item table `[n_items, d]` from the artifact's per-item codes.
fn decode_item_codes(codes: &ItemCodes, books: Option<&Codebooks>, n_items: usize) -> Result<Vec<f32>, ArtifactError> {
    let books = books.ok_or_else(|| ArtifactError::MissingTensor(crate::codes::CODEBOOKS.into()))?;
    if codes.m != books.m || codes.codes.len() != n_items * books.m {
        return Err(ArtifactError::Shape {
            name: crate::codes::ITEM_CODES.into(),
            expected: vec![n_items, books.m],
            found: vec![codes.codes.len() / codes.m.max(1), codes.m],
        });
    }
    let d = books.d();
    let mut items = vec![0f32; n_items * d];
    for (code, row) in codes.codes.chunks_exact(books.m).zip(items.chunks_exact_mut(d)) {
        books.decode_into(code, row);
    }
    Ok(items)
}

/// The scorer's profile-dependent values packed into one `f32` array, for a scorer outside
/// this crate (the WebGPU shader): `[query (d) | base (h) | item_w (d × h) |
/// context_w (CONTEXT_FEATURES × h) | out_w (h) | out_b (1)]`.
///
/// With `q` the query and `x` a candidate's vector and `c` its context, the score is
/// `out_w · relu(base + x · item_w + c · context_w) + out_b + q · x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    pub d: usize,
    pub hidden: usize,
}

impl Packed {
    pub fn new(d: usize, hidden: usize) -> Self {
        Self { d, hidden }
    }

    pub fn query(&self) -> Range<usize> {
        0..self.d
    }

    pub fn base(&self) -> Range<usize> {
        let s = self.query().end;
        s..s + self.hidden
    }

    pub fn item_w(&self) -> Range<usize> {
        let s = self.base().end;
        s..s + self.d * self.hidden
    }

    pub fn context_w(&self) -> Range<usize> {
        let s = self.item_w().end;
        s..s + CONTEXT_FEATURES * self.hidden
    }

    pub fn out_w(&self) -> Range<usize> {
        let s = self.context_w().end;
        s..s + self.hidden
    }

    pub fn out_b(&self) -> usize {
        self.out_w().end
    }

    /// Values in all.
    pub fn len(&self) -> usize {
        self.out_b() + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// WGSL constants for a shader that reads the packed array: the widths (`D`, `H`,
    /// `CONTEXT_FEATURES`), every offset (`QUERY`, `BASE`, `ITEM_W`, `CONTEXT_W`, `OUT_W`,
    /// `OUT_B`) and `position_feature`, the list-position context feature.
    pub fn wgsl_prelude(&self) -> String {
        format!(
            "// Generated by pocketrank-runtime (layout {ARCHITECTURE}).\n\
             const D: u32 = {d}u;\n\
             const H: u32 = {h}u;\n\
             const CONTEXT_FEATURES: u32 = {c}u;\n\
             const QUERY: u32 = {q}u;\n\
             const BASE: u32 = {b}u;\n\
             const ITEM_W: u32 = {iw}u;\n\
             const CONTEXT_W: u32 = {cw}u;\n\
             const OUT_W: u32 = {ow}u;\n\
             const OUT_B: u32 = {ob}u;\n\
             fn position_feature(position: u32) -> f32 {{ return log(1.0 + f32(position)) / 8.0; }}\n",
            d = self.d,
            h = self.hidden,
            c = CONTEXT_FEATURES,
            q = self.query().start,
            b = self.base().start,
            iw = self.item_w().start,
            cw = self.context_w().start,
            ow = self.out_w().start,
            ob = self.out_b(),
        )
    }
}

/// Seeded pseudo-random weights of any shape, for the kernels' unit tests: an artifact
/// with every tensor of the layout, read as any artifact is.
#[cfg(test)]
pub(crate) fn seeded_weights(dims: Dims, seed: u64) -> StudentWeights {
    use crate::artifact::{Encoding, Manifest, Weights};
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut tensor = |shape: Vec<usize>| {
        let values = (0..shape.iter().product())
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        Weights::new(shape, values)
    };
    let mut tensors = std::collections::BTreeMap::new();
    for l in &LAYERS {
        tensors.insert(l.weight_name(), tensor(l.weight_shape(&dims).to_vec()));
        if l.bias {
            tensors.insert(l.bias_name(), tensor(vec![l.output.of(&dims)]));
        }
    }
    tensors.insert(ITEMS.into(), tensor(vec![dims.n_items, dims.d]));
    tensors.insert(UNKNOWN_ITEM.into(), tensor(vec![dims.d]));
    let ids = (0..dims.n_items).map(|i| format!("item-{i}")).collect();
    let mut artifact = Artifact::new(Manifest::new(dims, ids, "seeded", Encoding::F32), tensors, None);
    StudentWeights::take(&mut artifact).expect("every tensor of the layout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_ranges_tile_the_array() {
        let p = Packed::new(4, 3);
        let ranges = [p.query(), p.base(), p.item_w(), p.context_w(), p.out_w()];
        assert_eq!(ranges[0].start, 0);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(p.out_b() + 1, p.len());
        assert_eq!(p.len(), 4 + 3 + 12 + 9 + 3 + 1);
        let prelude = p.wgsl_prelude();
        assert!(prelude.contains("const ITEM_W: u32 = 7u;"), "{prelude}");
        assert!(prelude.contains(&format!("const OUT_B: u32 = {}u;", p.out_b())));
    }

    #[test]
    fn layer_names_are_unique_and_shapes_follow_dims() {
        let dims = Dims { n_items: 10, d: 8, hidden: 4, vocab_size: 5, title_tokens: 2 };
        let mut names: Vec<String> = LAYERS.iter().map(Layer::weight_name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LAYERS.len());
        assert_eq!(GRU_INPUT.weight_shape(&dims), [8 + EVENT_FEATURES, 24]);
        assert_eq!(SCORER_OUTPUT.weight_shape(&dims), [4, 1]);
    }
}
