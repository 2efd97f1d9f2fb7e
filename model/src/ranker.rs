//! The on-device runtime: a decoded student that updates profiles and reranks candidates.
//!
//! Plain Rust over `f32` slices, so it runs the same everywhere (native, wasm in a page, a
//! worker or an edge isolate) with no tensor runtime to ship. The arithmetic is the
//! student's (`student::Student`, the Burn module); a test keeps the two equal.
//!
//! Scoring is arranged so that one candidate costs one `d × hidden` multiply-add pass:
//! the profile-dependent parts of the scorer (the query `q`, `W_p·q + b` and
//! `W_i + diag(q)·W_x`) are computed once per call.

use rustc_hash::FxHashMap;

use thiserror::Error;

use crate::artifact::{Artifact, ArtifactError, Manifest};
use crate::events::EventKind;
use crate::features::{CONTEXT_FEATURES, EVENT_FEATURES, context_features, event_features};
use crate::text::PAD_TOKEN;

/// Most candidates one call accepts.
pub const MAX_CANDIDATES: usize = 100_000;

/// Widest profile or hidden layer an artifact may declare.
const MAX_WIDTH: usize = 4096;

/// Why a call could not be served. In every case the caller still has its original list.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RankError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{count} candidates is more than the {max} one call accepts; send the shop's top candidates")]
    TooManyCandidates { count: usize, max: usize },
    #[error("the profile has {found} values but this model's profiles have {expected}")]
    ProfileSize { expected: usize, found: usize },
    #[error("the profile contains NaN or infinite values")]
    ProfileNotFinite,
    #[error("the profile bytes are not a pocketrank profile: {0}")]
    ProfileBytes(String),
    #[error("event timestamp must be a finite number of seconds, got {0}")]
    BadTimestamp(f64),
    #[error("the embedded tokenizer cannot be loaded: {0}")]
    Tokenizer(String),
}

/// A shopper's profile: the student's GRU state plus what the next update needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The state vector (`d` values).
    pub state: Vec<f32>,
    /// Time of the latest event, in seconds.
    pub last_ts: Option<f64>,
    /// Events folded in so far.
    pub events: u64,
}

const PROFILE_MAGIC: [u8; 4] = *b"PKP1";

impl Profile {
    /// Bytes for local storage: magic, event count, last time, state (little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 + 8 + 4 * self.state.len());
        out.extend_from_slice(&PROFILE_MAGIC);
        out.extend_from_slice(&self.events.to_le_bytes());
        out.extend_from_slice(&self.last_ts.unwrap_or(f64::NAN).to_le_bytes());
        out.extend(self.state.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes) output; checks the layout and that every value is finite.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RankError> {
        let bad = |m: &str| RankError::ProfileBytes(m.to_string());
        if bytes.len() < 20 || bytes[..4] != PROFILE_MAGIC {
            return Err(bad("wrong header"));
        }
        if !(bytes.len() - 20).is_multiple_of(4) {
            return Err(bad("length is not a whole number of values"));
        }
        let events = u64::from_le_bytes(bytes[4..12].try_into().map_err(|_| bad("header"))?);
        let ts = f64::from_le_bytes(bytes[12..20].try_into().map_err(|_| bad("header"))?);
        let state: Vec<f32> =
            bytes[20..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if state.iter().any(|v| !v.is_finite()) || ts.is_infinite() {
            return Err(RankError::ProfileNotFinite);
        }
        Ok(Self { state, last_ts: (!ts.is_nan()).then_some(ts), events })
    }
}

/// Something the shopper did.
#[derive(Debug, Clone, Copy)]
pub struct ShopperEvent<'a> {
    /// The shop's item id.
    pub item_id: &'a str,
    pub kind: EventKind,
    /// Seconds since any fixed epoch (only differences are used).
    pub ts: f64,
    /// The item's title, used when the id is not in the model's catalog.
    pub title: Option<&'a str>,
}

/// One entry of the shop's list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidate<'a> {
    /// The shop's item id.
    pub id: &'a str,
    /// Title, used when the id is not in the model's catalog.
    pub title: Option<&'a str>,
    /// The shop's own score for this item, if it has one (NaN/∞ read as absent).
    pub score: Option<f32>,
}

/// How an item's vector was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSource {
    /// The id is in the model's catalog.
    Catalog,
    /// Unknown id: the vector comes from the title.
    Title,
    /// Unknown id without a usable title: the neutral unknown-item vector.
    Unknown,
}

/// A candidate's place in the reranked list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Position of the candidate in the input list.
    pub index: usize,
    pub score: f32,
    pub source: ItemSource,
}

/// Turns a title into the student's token ids.
trait TitleTokens: Send + Sync {
    fn encode(&self, title: &str) -> Option<Vec<u32>>;
}

#[cfg(feature = "text")]
struct WordPiece(tokenizers::Tokenizer);

#[cfg(feature = "text")]
impl TitleTokens for WordPiece {
    fn encode(&self, title: &str) -> Option<Vec<u32>> {
        self.0.encode(title, false).ok().map(|e| e.get_ids().to_vec())
    }
}

#[cfg(feature = "text")]
fn load_tokenizer(json: &str) -> Result<Option<Box<dyn TitleTokens>>, RankError> {
    let t: tokenizers::Tokenizer = json.parse().map_err(|e: tokenizers::Error| RankError::Tokenizer(e.to_string()))?;
    Ok(Some(Box::new(WordPiece(t))))
}

/// Builds without the `text` feature ignore an embedded tokenizer: unknown items then
/// score from the neutral prior, everything else is the same.
#[cfg(not(feature = "text"))]
fn load_tokenizer(_json: &str) -> Result<Option<Box<dyn TitleTokens>>, RankError> {
    Ok(None)
}

/// A student ready to serve.
pub struct Ranker {
    manifest: Manifest,
    version: String,
    d: usize,
    hidden: usize,
    /// Item id → dense index. FxHash: SipHash made the id map the slowest part of a cold
    /// load in WebAssembly, and the ids come from the model, not from an attacker.
    index: FxHashMap<String, u32>,
    /// `[n_items, d]` item vectors.
    items: Vec<f32>,
    unknown: Vec<f32>,
    tokens: Vec<f32>,
    text_w: Vec<f32>,
    text_b: Vec<f32>,
    gru_iw: Vec<f32>,
    gru_ib: Vec<f32>,
    gru_hw: Vec<f32>,
    gru_hb: Vec<f32>,
    query_w: Vec<f32>,
    query_b: Vec<f32>,
    profile_w: Vec<f32>,
    profile_b: Vec<f32>,
    item_w: Vec<f32>,
    inter_w: Vec<f32>,
    context_w: Vec<f32>,
    out_w: Vec<f32>,
    out_b: f32,
    tokenizer: Option<Box<dyn TitleTokens>>,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker").field("version", &self.version).field("dims", &self.manifest.dims).finish()
    }
}

/// `x · W` for a row vector `x` `[n]` and `W` `[n, m]`, added into `out` `[m]`.
fn add_vec_mat(x: &[f32], w: &[f32], out: &mut [f32]) {
    let m = out.len();
    for (xi, row) in x.iter().zip(w.chunks_exact(m)) {
        for (o, wij) in out.iter_mut().zip(row) {
            *o += xi * wij;
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Ranker {
    /// Decodes and checks an artifact (see [`Artifact::decode`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RankError> {
        Self::from_artifact(Artifact::decode(bytes)?)
    }

    /// [`from_bytes`](Self::from_bytes) with the SHA-256 computed by the caller (see
    /// [`Artifact::decode_with_digest`]).
    pub fn from_bytes_with_digest(bytes: &[u8], digest: [u8; 32]) -> Result<Self, RankError> {
        Self::from_artifact(Artifact::decode_with_digest(bytes, Some(digest))?)
    }

    /// Builds the runtime from a decoded artifact, checking every tensor's shape.
    pub fn from_artifact(mut a: Artifact) -> Result<Self, RankError> {
        let dims = a.manifest.dims;
        let (n, d, h, v) = (dims.n_items, dims.d, dims.hidden, dims.vocab_size);
        // Bounded so that no shape arithmetic below can overflow, whatever the manifest says.
        if !(1..=MAX_WIDTH).contains(&d) || !(1..=MAX_WIDTH).contains(&h) || v == 0 {
            return Err(ArtifactError::Manifest(format!(
                "model dimensions must be between 1 and {MAX_WIDTH} (d = {d}, hidden = {h}, vocabulary = {v})"
            ))
            .into());
        }
        if a.manifest.item_ids.len() != n {
            return Err(ArtifactError::Manifest(format!("{} item ids for {n} items", a.manifest.item_ids.len())).into());
        }
        let mut index = FxHashMap::with_capacity_and_hasher(n, Default::default());
        for (i, id) in a.manifest.item_ids.iter().enumerate() {
            if index.insert(id.clone(), i as u32).is_some() {
                return Err(ArtifactError::Manifest(format!("item id {id:?} appears twice")).into());
            }
        }
        // The text path needs both the tokenizer and the token table.
        let tokenizer = match (&a.tokenizer, a.tensors.contains_key("tokens")) {
            (Some(json), true) => load_tokenizer(json)?,
            _ => None,
        };
        let version = a.model_version();
        let has_tokens = a.tensors.contains_key("tokens");
        let mut t = |name: &str, shape: &[usize]| a.take_tensor(name, shape);
        Ok(Self {
            items: t("items", &[n, d])?,
            unknown: t("unknown_item", &[d])?,
            tokens: if has_tokens { t("tokens", &[v, d])? } else { Vec::new() },
            text_w: t("text_projection.weight", &[d, d])?,
            text_b: t("text_projection.bias", &[d])?,
            gru_iw: t("gru_input.weight", &[d + EVENT_FEATURES, 3 * d])?,
            gru_ib: t("gru_input.bias", &[3 * d])?,
            gru_hw: t("gru_hidden.weight", &[d, 3 * d])?,
            gru_hb: t("gru_hidden.bias", &[3 * d])?,
            query_w: t("profile_projection.weight", &[d, d])?,
            query_b: t("profile_projection.bias", &[d])?,
            profile_w: t("scorer_profile.weight", &[d, h])?,
            profile_b: t("scorer_profile.bias", &[h])?,
            item_w: t("scorer_item.weight", &[d, h])?,
            inter_w: t("scorer_interaction.weight", &[d, h])?,
            context_w: t("scorer_context.weight", &[CONTEXT_FEATURES, h])?,
            out_w: t("scorer_output.weight", &[h, 1])?,
            out_b: t("scorer_output.bias", &[1])?[0],
            version,
            manifest: a.manifest,
            d,
            hidden: h,
            index,
            tokenizer,
        })
    }

    /// The manifest the model was exported with.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Tag that changes with every different model (see [`Artifact::model_version`]).
    pub fn model_version(&self) -> &str {
        &self.version
    }

    /// Width of profiles.
    pub fn profile_len(&self) -> usize {
        self.d
    }

    /// Whether unknown items can be placed by their title.
    pub fn has_tokenizer(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// The profile of a shopper with no events.
    pub fn new_profile(&self) -> Profile {
        Profile { state: vec![0.0; self.d], last_ts: None, events: 0 }
    }

    /// Dense index of a catalog item.
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    fn check(&self, profile: &Profile) -> Result<(), RankError> {
        if profile.state.len() != self.d {
            return Err(RankError::ProfileSize { expected: self.d, found: profile.state.len() });
        }
        if profile.state.iter().any(|v| !v.is_finite()) {
            return Err(RankError::ProfileNotFinite);
        }
        Ok(())
    }

    /// The vector of an item by id, else by title, else the unknown item's.
    pub fn item_vector(&self, id: &str, title: Option<&str>) -> (Vec<f32>, ItemSource) {
        if let Some(i) = self.item_index(id) {
            let i = i as usize;
            return (self.items[i * self.d..(i + 1) * self.d].to_vec(), ItemSource::Catalog);
        }
        let tokens = match (title, &self.tokenizer) {
            (Some(t), Some(tok)) if !t.trim().is_empty() => tok.encode(t).unwrap_or_default(),
            _ => Vec::new(),
        };
        self.text_vector(&tokens)
    }

    /// Unknown-item vector plus the text path over `tokens` (ids out of range are skipped).
    pub fn text_vector(&self, tokens: &[u32]) -> (Vec<f32>, ItemSource) {
        let d = self.d;
        let vocab = self.manifest.dims.vocab_size;
        let width = self.manifest.dims.title_tokens.max(1);
        let vocab = if self.tokens.is_empty() { 0 } else { vocab };
        let kept: Vec<usize> = tokens
            .iter()
            .filter(|&&t| t != PAD_TOKEN && (t as usize) < vocab)
            .take(width)
            .map(|&t| t as usize)
            .collect();
        let mut pooled = vec![0f32; d];
        for &t in &kept {
            for (p, e) in pooled.iter_mut().zip(&self.tokens[t * d..(t + 1) * d]) {
                *p += e;
            }
        }
        if !kept.is_empty() {
            pooled.iter_mut().for_each(|p| *p /= kept.len() as f32);
        }
        let mut v = self.text_b.clone();
        add_vec_mat(&pooled, &self.text_w, &mut v);
        for (x, u) in v.iter_mut().zip(&self.unknown) {
            *x += u;
        }
        (v, if kept.is_empty() { ItemSource::Unknown } else { ItemSource::Title })
    }

    /// Folds one event into the profile (a GRU step; O(d²)).
    pub fn observe(&self, profile: &mut Profile, event: &ShopperEvent<'_>) -> Result<ItemSource, RankError> {
        self.check(profile)?;
        if !event.ts.is_finite() {
            return Err(RankError::BadTimestamp(event.ts));
        }
        let (item, source) = self.item_vector(event.item_id, event.title);
        let gap = profile.last_ts.map_or(0.0, |last| event.ts - last);
        self.step(&mut profile.state, &item, &event_features(event.kind, gap));
        profile.last_ts = Some(profile.last_ts.map_or(event.ts, |last| last.max(event.ts)));
        profile.events += 1;
        Ok(source)
    }

    /// [`observe`](Self::observe) for a catalog item by dense index (the trainer's path).
    pub fn observe_item(&self, profile: &mut Profile, item: u32, kind: EventKind, ts: f64) -> Result<(), RankError> {
        self.check(profile)?;
        if !ts.is_finite() {
            return Err(RankError::BadTimestamp(ts));
        }
        let unknown;
        let vector = match self.items.get(item as usize * self.d..(item as usize + 1) * self.d) {
            Some(v) => v,
            None => {
                unknown = self.text_vector(&[]).0;
                &unknown
            }
        };
        let gap = profile.last_ts.map_or(0.0, |last| ts - last);
        let mut state = std::mem::take(&mut profile.state);
        self.step(&mut state, vector, &event_features(kind, gap));
        profile.state = state;
        profile.last_ts = Some(profile.last_ts.map_or(ts, |last| last.max(ts)));
        profile.events += 1;
        Ok(())
    }

    /// The GRU step on raw features (as in the student's `step`); `state` and `item` are
    /// `d` long (callers check).
    fn step(&self, state: &mut [f32], item: &[f32], event: &[f32; EVENT_FEATURES]) {
        let d = self.d;
        let mut gi = self.gru_ib.clone();
        add_vec_mat(item, &self.gru_iw[..d * 3 * d], &mut gi);
        add_vec_mat(event, &self.gru_iw[d * 3 * d..], &mut gi);
        let mut gh = self.gru_hb.clone();
        add_vec_mat(state, &self.gru_hw, &mut gh);
        for k in 0..d {
            let reset = sigmoid(gi[k] + gh[k]);
            let update = sigmoid(gi[d + k] + gh[d + k]);
            let candidate = (gi[2 * d + k] + reset * gh[2 * d + k]).tanh();
            state[k] = candidate + update * (state[k] - candidate);
        }
    }

    /// Scores candidates for a profile (input order; see [`rerank`](Self::rerank) to sort).
    pub fn score(&self, profile: &Profile, candidates: &[Candidate<'_>]) -> Result<Vec<Scored>, RankError> {
        self.check(profile)?;
        if candidates.len() > MAX_CANDIDATES {
            return Err(RankError::TooManyCandidates { count: candidates.len(), max: MAX_CANDIDATES });
        }
        // Resolve every candidate's vector first (catalog rows borrowed, others computed),
        // then score them all in one pass of the kernel.
        let mut fallback: Vec<Vec<f32>> = Vec::new();
        let mut sources = Vec::with_capacity(candidates.len());
        let rows: Vec<Option<usize>> = candidates
            .iter()
            .map(|c| match self.item_index(c.id) {
                Some(i) => {
                    sources.push(ItemSource::Catalog);
                    Some(i as usize)
                }
                None => {
                    let (v, s) = self.item_vector(c.id, c.title);
                    sources.push(s);
                    fallback.push(v);
                    None
                }
            })
            .collect();
        let mut computed = fallback.iter();
        let vectors: Vec<&[f32]> = rows
            .iter()
            .map(|row| match row {
                Some(i) => &self.items[i * self.d..(i + 1) * self.d],
                None => computed.next().map_or(&[][..], Vec::as_slice),
            })
            .collect();
        let contexts: Vec<[f32; CONTEXT_FEATURES]> =
            candidates.iter().enumerate().map(|(i, c)| context_features(c.score, i)).collect();
        let mut scores = vec![0f32; candidates.len()];
        ScoreKernel::new(self, &profile.state).score_all(&vectors, &contexts, &mut scores);
        Ok(scores
            .into_iter()
            .zip(sources)
            .enumerate()
            .map(|(index, (score, source))| Scored { index, score, source })
            .collect())
    }

    /// Reorders candidates for a profile: best first, ties kept in the shop's order.
    pub fn rerank(&self, profile: &Profile, candidates: &[Candidate<'_>]) -> Result<Vec<Scored>, RankError> {
        let mut scored = self.score(profile, candidates)?;
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        Ok(scored)
    }

    /// Scores of catalog items by dense index, into `out` (same length as `items`). With
    /// `positions`, each item's place in `items` is its list position; no server scores.
    /// Indices outside the catalog score as the unknown item.
    pub fn score_indices(
        &self,
        profile: &Profile,
        items: &[u32],
        positions: bool,
        out: &mut [f32],
    ) -> Result<(), RankError> {
        self.check(profile)?;
        let unknown = self.text_vector(&[]).0;
        let vectors: Vec<&[f32]> = items
            .iter()
            .map(|&i| self.items.get(i as usize * self.d..(i as usize + 1) * self.d).unwrap_or(&unknown))
            .collect();
        let contexts: Vec<_> =
            (0..items.len()).map(|k| context_features(None, if positions { k } else { 0 })).collect();
        let n = out.len().min(items.len());
        ScoreKernel::new(self, &profile.state).score_all(&vectors[..n], &contexts[..n], &mut out[..n]);
        Ok(())
    }

    /// Everything another scorer needs for `profile` (see `ScoreKernel::packed`): the
    /// profile-dependent kernel, packed `[query (d) | base (h) | item_w (d×h) |
    /// context_w (3×h) | out_w (h) | out_b]`. The WebGPU path computes the same scores
    /// from it and [`item_table`](Self::item_table).
    pub fn kernel_params(&self, profile: &Profile) -> Result<Vec<f32>, RankError> {
        self.check(profile)?;
        Ok(ScoreKernel::new(self, &profile.state).packed())
    }

    /// The catalog's item vectors, row-major `[n_items, d]`.
    pub fn item_table(&self) -> &[f32] {
        &self.items
    }

    /// Width of the scorer's hidden layer.
    pub fn hidden_len(&self) -> usize {
        self.hidden
    }

    /// Scores of every catalog item (no context), into `out` `[n_items]`.
    pub fn score_catalog(&self, profile: &Profile, out: &mut [f32]) -> Result<(), RankError> {
        self.check(profile)?;
        let vectors: Vec<&[f32]> = self.items.chunks_exact(self.d).collect();
        let contexts = vec![context_features(None, 0); vectors.len()];
        let n = out.len().min(vectors.len());
        ScoreKernel::new(self, &profile.state).score_all(&vectors[..n], &contexts[..n], &mut out[..n]);
        Ok(())
    }
}

/// The profile-dependent parts of the scorer, computed once per call.
struct ScoreKernel<'a> {
    ranker: &'a Ranker,
    /// The query `q = W_q·state + b_q`, `[d]`.
    query: Vec<f32>,
    /// `W_p·q + b`, `[hidden]`.
    base: Vec<f32>,
    /// `W_i + diag(q)·W_x`, `[d, hidden]`.
    item_w: Vec<f32>,
}

impl<'a> ScoreKernel<'a> {
    fn new(ranker: &'a Ranker, state: &[f32]) -> Self {
        let h = ranker.hidden;
        let mut query = ranker.query_b.clone();
        add_vec_mat(state, &ranker.query_w, &mut query);
        let profile = &query;
        let mut base = ranker.profile_b.clone();
        add_vec_mat(profile, &ranker.profile_w, &mut base);
        let mut item_w = ranker.item_w.clone();
        for ((row, inter), p) in item_w.chunks_exact_mut(h).zip(ranker.inter_w.chunks_exact(h)).zip(profile) {
            for (w, x) in row.iter_mut().zip(inter) {
                *w += p * x;
            }
        }
        Self { ranker, query, base, item_w }
    }

    /// The score from the hidden layer's pre-activations: `w_out · relu(h) + b_out + q · item`.
    #[inline(always)]
    fn output(&self, hidden: &[f32], out_w: &[f32], item: &[f32]) -> f32 {
        lane_sum(hidden, out_w, |x, w| x.max(0.0) * w) + self.ranker.out_b + lane_sum(&self.query, item, |q, v| q * v)
    }

    /// The kernel's values packed for another implementation (the WebGPU shader):
    /// `[query (d) | base (h) | item_w (d×h) | context_w (3×h) | out_w (h) | out_b]`.
    fn packed(&self) -> Vec<f32> {
        let r = self.ranker;
        let mut out = Vec::with_capacity(self.query.len() + self.base.len() + self.item_w.len() + 5 * r.hidden + 1);
        out.extend_from_slice(&self.query);
        out.extend_from_slice(&self.base);
        out.extend_from_slice(&self.item_w);
        out.extend_from_slice(&r.context_w);
        out.extend_from_slice(&r.out_w);
        out.push(r.out_b);
        out
    }

    /// Scores `items` (each `d` values) with their contexts into `out`. On x86-64 CPUs with
    /// AVX2 and FMA the same loop runs compiled for them (chosen at run time).
    fn score_all(&self, items: &[&[f32]], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `score_all_avx2` is compiled for.
            unsafe { score_all_avx2(self, items, contexts, out) };
            return;
        }
        score_all_body::<false>(self, items, contexts, out);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn score_all_avx2(k: &ScoreKernel<'_>, items: &[&[f32]], contexts: &[[f32; CONTEXT_FEATURES]], out: &mut [f32]) {
    score_all_body::<true>(k, items, contexts, out);
}

/// `out += x · W` (`W` row-major `[x.len(), out.len()]`), fused multiply-adds when `FMA`.
#[inline(always)]
fn mac<const FMA: bool>(x: &[f32], w: &[f32], out: &mut [f32]) {
    let m = out.len();
    for (xi, row) in x.iter().zip(w.chunks_exact(m)) {
        for (o, wij) in out.iter_mut().zip(row) {
            *o = if FMA { xi.mul_add(*wij, *o) } else { *o + xi * wij };
        }
    }
}

/// `Σ f(a_i, b_i)` in 8 independent lanes, so the sum vectorises.
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| f(*x, *y)).sum();
    for (xa, xb) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += f(xa[l], xb[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn score_all_body<const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    match k.ranker.hidden {
        16 => score_fixed::<16, FMA>(k, items, contexts, out),
        32 => score_fixed::<32, FMA>(k, items, contexts, out),
        64 => score_fixed::<64, FMA>(k, items, contexts, out),
        _ => score_any::<FMA>(k, items, contexts, out),
    }
}

/// The hidden layer width known at compile time: the accumulators live in registers, and
/// even and odd input rows go to separate accumulators to halve the dependency chains.
#[inline(always)]
fn score_fixed<const H: usize, const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    let r = k.ranker;
    let (Ok(base), Ok(out_w)) = (<&[f32; H]>::try_from(&k.base[..]), <&[f32; H]>::try_from(&r.out_w[..])) else {
        return score_any::<FMA>(k, items, contexts, out);
    };
    let (item_w, context_w) = (k.item_w.as_chunks::<H>().0, r.context_w.as_chunks::<H>().0);
    let step = |acc: &mut [f32; H], x: f32, row: &[f32; H]| {
        for j in 0..H {
            acc[j] = if FMA { x.mul_add(row[j], acc[j]) } else { acc[j] + x * row[j] };
        }
    };
    for ((item, context), o) in items.iter().zip(contexts).zip(out) {
        if item.len() != r.d {
            *o = f32::NAN;
            continue;
        }
        let mut even = *base;
        let mut odd = [0f32; H];
        for (x, row) in context.iter().zip(context_w) {
            step(&mut odd, *x, row);
        }
        let mut pairs = item.chunks_exact(2).zip(item_w.chunks_exact(2));
        for (x, w) in &mut pairs {
            step(&mut even, x[0], &w[0]);
            step(&mut odd, x[1], &w[1]);
        }
        if !item.len().is_multiple_of(2) {
            step(&mut even, item[item.len() - 1], &item_w[item.len() - 1]);
        }
        let mut hidden = [0f32; H];
        for j in 0..H {
            hidden[j] = even[j] + odd[j];
        }
        *o = k.output(&hidden, out_w, item);
    }
}

#[inline(always)]
fn score_any<const FMA: bool>(
    k: &ScoreKernel<'_>,
    items: &[&[f32]],
    contexts: &[[f32; CONTEXT_FEATURES]],
    out: &mut [f32],
) {
    let r = k.ranker;
    let mut hidden = vec![0f32; r.hidden];
    for ((item, context), o) in items.iter().zip(contexts).zip(out) {
        if item.len() != r.d {
            *o = f32::NAN;
            continue;
        }
        hidden.copy_from_slice(&k.base);
        mac::<FMA>(context, &r.context_w, &mut hidden);
        mac::<FMA>(item, &k.item_w, &mut hidden);
        *o = k.output(&hidden, &r.out_w, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_bytes_round_trip_and_reject_garbage() {
        let p = Profile { state: vec![0.5, -1.0, 2.0], last_ts: Some(12.5), events: 7 };
        assert_eq!(Profile::from_bytes(&p.to_bytes()).unwrap(), p);
        let fresh = Profile { state: vec![0.0; 2], last_ts: None, events: 0 };
        assert_eq!(Profile::from_bytes(&fresh.to_bytes()).unwrap(), fresh);
        assert!(matches!(Profile::from_bytes(b"nope"), Err(RankError::ProfileBytes(_))));
        let mut odd = p.to_bytes();
        odd.push(1);
        assert!(matches!(Profile::from_bytes(&odd), Err(RankError::ProfileBytes(_))));
        let mut nan = p.to_bytes();
        nan[20..24].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(Profile::from_bytes(&nan), Err(RankError::ProfileNotFinite));
    }
}
