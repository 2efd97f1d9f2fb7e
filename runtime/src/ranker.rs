//! The on-device runtime: a decoded student that updates profiles and reranks candidates.
//!
//! Plain Rust over `f32` slices, so it runs the same everywhere (native, wasm in a page, a
//! worker or an edge isolate) with no tensor runtime to ship. The arithmetic is the
//! student's (`pocketrank_model::student::Student`, the Burn module); a test keeps the two
//! equal. The tensors come from [`crate::layout`]; scoring is [`crate::kernel`].

use std::sync::{Arc, Mutex, OnceLock};

use crate::artifact::{Artifact, ArtifactError, Manifest};
use crate::code_kernel::worth_tables;
use crate::code_rows::CodeRows;
use crate::codes::{CodeError, Codebooks};
use crate::error::RankError;
use crate::event_kind::EventKind;
use crate::explain::{Attribution, Parts, Scratch, SlopeWeights};
use crate::features::{CONTEXT_FEATURES, EVENT_FEATURES, context_features, event_features};
use crate::id_index::IdIndex;
use crate::int_kernel::{IntKernel, QuantizedRows};
use crate::kernel::{KernelValues, ScoreKernel, add_vec_mat};
use crate::layout::{StudentWeights, TOKENS};
use crate::profile::Profile;
use crate::text::{MAX_TITLE_BYTES, PAD_TOKEN, TitleTokens, clip, load_tokenizer};

/// Most candidates one call accepts.
pub const MAX_CANDIDATES: usize = 100_000;

/// Something the shopper did.
#[derive(Debug, Clone, Copy)]
pub struct ShopperEvent<'a> {
    /// The shop's item id.
    pub item_id: &'a str,
    pub kind: EventKind,
    /// Seconds since any fixed epoch (only differences are used).
    pub ts: f64,
    /// The item's code (see [`crate::codes`]), used first when it reads.
    pub code: Option<&'a str>,
    /// The item's title, used when the id is not in the model's catalog.
    pub title: Option<&'a str>,
}

/// One entry of the shop's list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidate<'a> {
    /// The shop's item id.
    pub id: &'a str,
    /// The item's code (see [`crate::codes`]), used first when it reads.
    pub code: Option<&'a str>,
    /// Title, used when the id is not in the model's catalog (or its code does not read).
    pub title: Option<&'a str>,
    /// The shop's own score for this item, if it has one (NaN/∞ read as absent).
    pub score: Option<f32>,
}

/// How an item's vector was found: its code, else the model's catalog, else its title,
/// else the neutral prior.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemSource {
    /// The item's code, decoded with the model's codebooks.
    Code,
    /// The id is in the model's catalog.
    Catalog,
    /// Unknown id: the vector comes from the title.
    Title,
    /// Unknown id without a usable title: the neutral unknown-item vector.
    Unknown,
    /// Not scored: the shop's own order, returned after an error.
    Shop,
}

impl ItemSource {
    /// The name hosts see: `"code"`, `"catalog"`, `"title"`, `"unknown"` or `"shop"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Catalog => "catalog",
            Self::Title => "title",
            Self::Unknown => "unknown",
            Self::Shop => "shop",
        }
    }
}

/// A candidate's place in the reranked list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Position of the candidate in the input list.
    pub index: usize,
    /// The model's score (NaN for [`ItemSource::Shop`]).
    pub score: f32,
    pub source: ItemSource,
    /// Why the candidate's code was not used, when it had one that did not read.
    pub code_error: Option<CodeError>,
}

/// A sentence for the host's warning channel about candidates whose code was not used
/// (they were ranked from the catalog, their title or the prior), if there were any.
pub fn code_warning(scored: &[Scored]) -> Option<String> {
    let mut rejected = scored.iter().filter_map(|s| s.code_error.map(|e| (s.index, e)));
    let (index, first) = rejected.next()?;
    let more = rejected.count();
    let others = match more {
        0 => String::new(),
        1 => " (and 1 other candidate)".to_string(),
        n => format!(" (and {n} other candidates)"),
    };
    Some(format!(
        "the code of candidates[{index}] was not used: {first}{others}; they were ranked from the catalog, their title or the neutral prior"
    ))
}

/// An item's vector and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemVector {
    /// `[d]`.
    pub values: Vec<f32>,
    pub source: ItemSource,
    /// Why the item's code was not used, when it had one that did not read.
    pub code_error: Option<CodeError>,
}

/// What one GRU step did, per state value: the new state is `added + kept ⊙ previous`.
/// Explanations ([`crate::explain`]) follow each event's part of the state with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepTrace {
    /// The update gate `u`, `[d]`: the share of the previous state kept.
    pub kept: Vec<f32>,
    /// `(1 − u) ⊙ h̃`, `[d]`: what this event put into the state.
    pub added: Vec<f32>,
}

/// Where a candidate's vector is, once resolved.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// The `k`-th code read (a candidate's, or a catalog item's in an artifact that
    /// carries its catalog as codes).
    Code(usize),
    /// A catalog row.
    Row(usize),
    /// The `k`-th vector computed from a title or the prior.
    Computed(usize),
}

/// Candidates scored by one kernel: their positions in the list and their contexts.
#[derive(Default)]
struct Batch {
    at: Vec<usize>,
    contexts: Vec<[f32; CONTEXT_FEATURES]>,
}

impl Batch {
    fn push(&mut self, at: usize, context: [f32; CONTEXT_FEATURES]) {
        self.at.push(at);
        self.contexts.push(context);
    }

    /// Writes the batch's scores to their positions in `scores`.
    fn scatter(&self, out: &[f32], scores: &mut [f32]) {
        for (&i, &score) in self.at.iter().zip(out) {
            scores[i] = score;
        }
    }
}

/// A student ready to serve.
pub struct Ranker {
    manifest: Manifest,
    version: String,
    weights: StudentWeights,
    /// The catalog's rows in int8, as the integer kernel reads them (empty unless the
    /// kernel's shape is supported and the artifact stores its item table in int8, or as
    /// codes: then the codes' int8 rows, [`CodeRows`]).
    rows: QuantizedRows,
    /// The codebooks at int8, so that coded candidates are scored as int8 rows (when the
    /// kernel's shape is supported).
    code_rows: Option<CodeRows>,
    /// Item id → dense index.
    index: IdIndex,
    tokenizer: Option<Box<dyn TitleTokens>>,
    /// The kernel values of the last profile scored (with its state, and its code tables
    /// once built): a page reranks several lists between two events, and they depend on
    /// the profile alone.
    kernels: Mutex<Option<(Vec<f32>, Arc<KernelValues>)>>,
    /// The scorer's matrices as explanations read them, built on the first explanation.
    slopes: OnceLock<SlopeWeights>,
}

impl std::fmt::Debug for Ranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker").field("version", &self.version).field("dims", &self.manifest.dims).finish()
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

    /// Builds the runtime from a decoded artifact, checking the architecture and every
    /// tensor's shape.
    pub fn from_artifact(mut a: Artifact) -> Result<Self, RankError> {
        let n = a.manifest.dims.n_items;
        // The text path needs both the tokenizer and the token table.
        let tokenizer = match (&a.tokenizer, a.tensors.contains_key(TOKENS)) {
            (Some(json), true) => load_tokenizer(json)?,
            _ => None,
        };
        let mut weights = StudentWeights::take(&mut a)?;
        if a.manifest.item_ids.len() != n {
            return Err(ArtifactError::Manifest(format!("{} item ids for {n} items", a.manifest.item_ids.len())).into());
        }
        let index = IdIndex::new(a.manifest.item_ids.iter().map(String::as_str))
            .map_err(|id| ArtifactError::Manifest(format!("item id {id:?} appears twice")))?;
        let (d, hidden) = (weights.dims.d, weights.dims.hidden);
        let code_rows = weights.codebooks.as_ref().filter(|_| IntKernel::supports(d, hidden)).and_then(CodeRows::new);
        let rows = match (weights.item_rows.take(), &code_rows) {
            (Some(rows), _) if IntKernel::supports(d, hidden) => QuantizedRows::new(rows, d).unwrap_or_default(),
            // A catalog carried as codes: its int8 rows, the same as its codes score by, so
            // that the whole catalog (`score_catalog`) scores as the device scores its items.
            (_, Some(code_rows)) if !weights.item_codes.is_empty() => code_rows.rows(&weights.item_codes),
            _ => QuantizedRows::default(),
        };
        Ok(Self {
            version: a.model_version(),
            manifest: a.manifest,
            weights,
            rows,
            code_rows,
            index,
            tokenizer,
            kernels: Mutex::new(None),
            slopes: OnceLock::new(),
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
        self.weights.dims.d
    }

    /// Whether unknown items can be placed by their title.
    pub fn has_tokenizer(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// The profile of a shopper with no events.
    pub fn new_profile(&self) -> Profile {
        Profile::empty(self.profile_len())
    }

    /// Dense index of a catalog item.
    pub fn item_index(&self, id: &str) -> Option<u32> {
        self.index.get(id)
    }

    fn check(&self, profile: &Profile) -> Result<(), RankError> {
        profile.check(self.profile_len())
    }

    /// Row `i` of the item table, if `i` is a catalog item.
    fn row(&self, i: usize) -> Option<&[f32]> {
        let d = self.profile_len();
        self.weights.items.get(i * d..(i + 1) * d)
    }

    /// The model's codebooks, if it has them (a core artifact always does).
    pub fn codebooks(&self) -> Option<&Codebooks> {
        self.weights.codebooks.as_ref()
    }

    /// The centroid indices of a code string, checked against this model.
    pub fn parse_code(&self, code: &str) -> Result<Vec<u8>, CodeError> {
        self.codebooks().ok_or(CodeError::NoCodebooks)?.parse(code)
    }

    /// Writes the vector of a code string into `out` `[d]`.
    fn code_vector(&self, code: &str, out: &mut [f32]) -> Result<(), CodeError> {
        let books = self.codebooks().ok_or(CodeError::NoCodebooks)?;
        books.decode_into(&books.parse(code)?, out);
        Ok(())
    }

    /// The vector of an item: by its code, else by id in the catalog, else by title, else
    /// the unknown item's.
    pub fn item_vector(&self, id: &str, code: Option<&str>, title: Option<&str>) -> ItemVector {
        let mut code_error = None;
        if let Some(code) = code {
            let mut values = vec![0f32; self.profile_len()];
            match self.code_vector(code, &mut values) {
                Ok(()) => return ItemVector { values, source: ItemSource::Code, code_error },
                Err(e) => code_error = Some(e),
            }
        }
        if let Some(row) = self.item_index(id).and_then(|i| self.row(i as usize)) {
            return ItemVector { values: row.to_vec(), source: ItemSource::Catalog, code_error };
        }
        let tokens = match (title, &self.tokenizer) {
            (Some(t), Some(tok)) if !t.trim().is_empty() => tok.encode(clip(t, MAX_TITLE_BYTES)).unwrap_or_default(),
            _ => Vec::new(),
        };
        let (values, source) = self.text_vector(&tokens);
        ItemVector { values, source, code_error }
    }

    /// Unknown-item vector plus the text path over `tokens` (ids out of range are skipped).
    pub fn text_vector(&self, tokens: &[u32]) -> (Vec<f32>, ItemSource) {
        let w = &self.weights;
        let d = w.dims.d;
        let width = w.dims.title_tokens.max(1);
        let vocab = if w.tokens.is_empty() { 0 } else { w.dims.vocab_size };
        let kept: Vec<usize> = tokens
            .iter()
            .filter(|&&t| t != PAD_TOKEN && (t as usize) < vocab)
            .take(width)
            .map(|&t| t as usize)
            .collect();
        let mut pooled = vec![0f32; d];
        for &t in &kept {
            for (p, e) in pooled.iter_mut().zip(&w.tokens[t * d..(t + 1) * d]) {
                *p += e;
            }
        }
        if !kept.is_empty() {
            pooled.iter_mut().for_each(|p| *p /= kept.len() as f32);
        }
        let mut v = w.text_projection.bias.clone();
        add_vec_mat(&pooled, &w.text_projection.weight, &mut v);
        for (x, u) in v.iter_mut().zip(&w.unknown) {
            *x += u;
        }
        (v, if kept.is_empty() { ItemSource::Unknown } else { ItemSource::Title })
    }

    /// Folds one event into the profile (a GRU step; O(d²)).
    pub fn observe(&self, profile: &mut Profile, event: &ShopperEvent<'_>) -> Result<ItemSource, RankError> {
        self.observe_step(profile, event, None)
    }

    /// [`observe`](Self::observe), also writing the step's [`StepTrace`] (what the event
    /// added to the state and how much of the earlier state it kept), for explanations.
    pub fn observe_traced(
        &self,
        profile: &mut Profile,
        event: &ShopperEvent<'_>,
        trace: &mut StepTrace,
    ) -> Result<ItemSource, RankError> {
        self.observe_step(profile, event, Some(trace))
    }

    fn observe_step(
        &self,
        profile: &mut Profile,
        event: &ShopperEvent<'_>,
        trace: Option<&mut StepTrace>,
    ) -> Result<ItemSource, RankError> {
        self.check(profile)?;
        if !event.ts.is_finite() {
            return Err(RankError::BadTimestamp(event.ts));
        }
        let item = self.item_vector(event.item_id, event.code, event.title);
        let gap = profile.last_ts.map_or(0.0, |last| event.ts - last);
        self.step(&mut profile.state, &item.values, &event_features(event.kind, gap), trace);
        profile.last_ts = Some(profile.last_ts.map_or(event.ts, |last| last.max(event.ts)));
        profile.events += 1;
        Ok(item.source)
    }

    /// [`observe`](Self::observe) for a catalog item by dense index (the trainer's path).
    pub fn observe_item(&self, profile: &mut Profile, item: u32, kind: EventKind, ts: f64) -> Result<(), RankError> {
        self.check(profile)?;
        if !ts.is_finite() {
            return Err(RankError::BadTimestamp(ts));
        }
        let unknown;
        let vector = match self.row(item as usize) {
            Some(v) => v,
            None => {
                unknown = self.text_vector(&[]).0;
                &unknown
            }
        };
        let gap = profile.last_ts.map_or(0.0, |last| ts - last);
        let mut state = std::mem::take(&mut profile.state);
        self.step(&mut state, vector, &event_features(kind, gap), None);
        profile.state = state;
        profile.last_ts = Some(profile.last_ts.map_or(ts, |last| last.max(ts)));
        profile.events += 1;
        Ok(())
    }

    /// The GRU step on raw features (as in the student's `step`); `state` and `item` are
    /// `d` long (callers check). The new state is `(1 − u) ⊙ h̃ + u ⊙ state`; `trace` gets
    /// `u` and `(1 − u) ⊙ h̃`.
    fn step(&self, state: &mut [f32], item: &[f32], event: &[f32; EVENT_FEATURES], mut trace: Option<&mut StepTrace>) {
        let w = &self.weights;
        let d = w.dims.d;
        let mut gi = w.gru_input.bias.clone();
        add_vec_mat(item, &w.gru_input.weight[..d * 3 * d], &mut gi);
        add_vec_mat(event, &w.gru_input.weight[d * 3 * d..], &mut gi);
        let mut gh = w.gru_hidden.bias.clone();
        add_vec_mat(state, &w.gru_hidden.weight, &mut gh);
        if let Some(t) = trace.as_deref_mut() {
            t.kept.resize(d, 0.0);
            t.added.resize(d, 0.0);
        }
        for k in 0..d {
            let reset = sigmoid(gi[k] + gh[k]);
            let update = sigmoid(gi[d + k] + gh[d + k]);
            let candidate = (gi[2 * d + k] + reset * gh[2 * d + k]).tanh();
            state[k] = candidate + update * (state[k] - candidate);
            if let Some(t) = trace.as_deref_mut() {
                t.kept[k] = update;
                t.added[k] = candidate - update * candidate;
            }
        }
    }

    /// Scores candidates for a profile (input order; see [`rerank`](Self::rerank) to sort).
    ///
    /// Every candidate's vector is resolved first (its code, else its catalog row, else
    /// its title, else the prior); then all are scored in one pass of the kernel. Coded
    /// candidates (codes sent by the shop, and catalog items of an artifact that carries
    /// its catalog as codes, whose int8 rows are built once at load) become int8 rows for
    /// the integer kernel where the model's shape has one ([`crate::code_rows`]);
    /// otherwise, from [`worth_tables`] of them on, they are scored through the profile's
    /// lookup tables ([`crate::code_kernel`]), and decoded below that.
    pub fn score(&self, profile: &Profile, candidates: &[Candidate<'_>]) -> Result<Vec<Scored>, RankError> {
        self.check(profile)?;
        if candidates.len() > MAX_CANDIDATES {
            return Err(RankError::TooManyCandidates { count: candidates.len(), max: MAX_CANDIDATES });
        }
        let d = self.profile_len();
        let books = self.codebooks();
        let m = books.map_or(1, |b| b.m);
        // Centroid indices of the candidates' codes, `[n_coded, m]`.
        let mut codes: Vec<u8> = Vec::new();
        // Vectors computed from titles or the prior, `[n_computed, d]`.
        let mut computed: Vec<f32> = Vec::new();
        let mut places = Vec::with_capacity(candidates.len());
        let mut sources = Vec::with_capacity(candidates.len());
        let mut code_errors = Vec::with_capacity(candidates.len());
        for c in candidates {
            let mut code_error = None;
            if let Some(code) = c.code {
                match books.ok_or(CodeError::NoCodebooks).and_then(|b| b.parse_into(code, &mut codes)) {
                    Ok(()) => {
                        places.push(Place::Code(codes.len() / m - 1));
                        sources.push(ItemSource::Code);
                        code_errors.push(None);
                        continue;
                    }
                    Err(e) => code_error = Some(e),
                }
            }
            code_errors.push(code_error);
            match self.item_index(c.id) {
                Some(i) => {
                    sources.push(ItemSource::Catalog);
                    // An artifact that carries its catalog as codes: the int8 rows built from
                    // them at load where there are some, else the item's code, like a shop's.
                    match self.weights.item_codes.get(i as usize * m..(i as usize + 1) * m) {
                        Some(code) if books.is_some() && self.rows.is_empty() => {
                            codes.extend_from_slice(code);
                            places.push(Place::Code(codes.len() / m - 1));
                        }
                        _ => places.push(Place::Row(i as usize)),
                    }
                }
                None => {
                    let v = self.item_vector(c.id, None, c.title);
                    places.push(Place::Computed(computed.len() / d));
                    computed.extend_from_slice(&v.values);
                    sources.push(v.source);
                }
            }
        }
        let kernel = self.kernel(&profile.state);
        let mut scores = vec![0f32; candidates.len()];
        let int_codes = self.code_rows.as_ref().zip(IntKernel::new(&kernel));
        let tables = books.filter(|b| int_codes.is_none() && worth_tables(codes.len() / m, b));
        // Without tables, the codes are decoded into vectors.
        let mut decoded = Vec::new();
        if let (None, None, Some(books)) = (&int_codes, tables, books) {
            decoded.resize(codes.len() / m * d, 0.0);
            for (code, out) in codes.chunks_exact(m).zip(decoded.chunks_exact_mut(d)) {
                books.decode_into(code, out);
            }
        }
        // Codes are read in list order, so the coded batch takes `codes` as it is.
        let (mut direct, mut by_code, mut by_row) = (Batch::default(), Batch::default(), Batch::default());
        let mut vectors: Vec<&[f32]> = Vec::with_capacity(candidates.len());
        let mut rows: Vec<u32> = Vec::new();
        for ((i, place), c) in places.iter().enumerate().zip(candidates) {
            let context = context_features(c.score, i);
            let vector = match *place {
                Place::Code(_) if int_codes.is_some() || tables.is_some() => {
                    by_code.push(i, context);
                    continue;
                }
                Place::Row(r) if !self.rows.is_empty() => {
                    rows.push(r as u32);
                    by_row.push(i, context);
                    continue;
                }
                Place::Code(k) => decoded.get(k * d..(k + 1) * d),
                Place::Row(r) => self.row(r),
                Place::Computed(k) => computed.get(k * d..(k + 1) * d),
            };
            vectors.push(vector.unwrap_or(&[]));
            direct.push(i, context);
        }
        let mut out = vec![0f32; direct.at.len()];
        kernel.score_all(&vectors, &direct.contexts, &mut out);
        direct.scatter(&out, &mut scores);
        if !rows.is_empty() {
            let mut out = vec![0f32; rows.len()];
            self.score_rows(&kernel, &rows, &by_row.contexts, &mut out);
            by_row.scatter(&out, &mut scores);
        }
        if let Some((code_rows, int)) = &int_codes {
            let mut out = vec![0f32; by_code.at.len()];
            let all: Vec<u32> = (0..out.len() as u32).collect();
            int.score_rows(&code_rows.rows(&codes), &all, &by_code.contexts, &mut out);
            by_code.scatter(&out, &mut scores);
        } else if let Some(books) = tables {
            let mut out = vec![0f32; by_code.at.len()];
            kernel.code_tables(books).score_all(&kernel, &codes, &by_code.contexts, &mut out);
            by_code.scatter(&out, &mut scores);
        }
        Ok(scores
            .into_iter()
            .zip(sources)
            .zip(code_errors)
            .enumerate()
            .map(|(index, ((score, source), code_error))| Scored { index, score, source, code_error })
            .collect())
    }

    /// The scoring kernel of `state`: the cached values when they are this state's, else
    /// new ones (cached unless another thread holds the cache).
    fn kernel(&self, state: &[f32]) -> ScoreKernel<'_> {
        let Ok(mut cache) = self.kernels.try_lock() else { return ScoreKernel::new(&self.weights, state) };
        if let Some((cached, values)) = cache.as_ref()
            && same_bits(cached, state)
        {
            return ScoreKernel::with_values(&self.weights, values.clone());
        }
        let kernel = ScoreKernel::new(&self.weights, state);
        *cache = Some((state.to_vec(), kernel.values().clone()));
        kernel
    }

    /// A candidate's vector as [`score`](Self::score) resolves it: its code, else its
    /// catalog row (or the catalog item's code), else its title, else the prior.
    pub fn candidate_vector(&self, c: &Candidate<'_>) -> Vec<f32> {
        let mut out = Vec::new();
        self.candidate_vector_into(c, &mut out);
        out
    }

    /// [`candidate_vector`](Self::candidate_vector) into `out` (resized to `d`).
    pub(crate) fn candidate_vector_into(&self, c: &Candidate<'_>, out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.profile_len(), 0.0);
        if let Some(code) = c.code
            && self.code_vector(code, out).is_ok()
        {
            return;
        }
        if let Some(i) = self.item_index(c.id) {
            let m = self.codebooks().map_or(1, |b| b.m);
            let i = i as usize;
            match (self.row(i), self.codebooks(), self.weights.item_codes.get(i * m..(i + 1) * m)) {
                (Some(row), ..) => return out.copy_from_slice(row),
                (None, Some(books), Some(code)) => return books.decode_into(code, out),
                _ => {}
            }
        }
        *out = self.item_vector(c.id, None, c.title).values;
    }

    /// How each candidate in `which` (positions in `candidates`, whose context is their
    /// place in that list) owes its score to `parts` of the profile's state, over and above
    /// the average of the candidates in `baseline` (see [`crate::explain`]; an empty
    /// baseline splits the whole score). Positions outside the list are skipped.
    pub fn attribute(
        &self,
        profile: &Profile,
        parts: &[&[f32]],
        candidates: &[Candidate<'_>],
        which: &[usize],
        baseline: &[usize],
    ) -> Result<Vec<Attribution>, RankError> {
        self.check(profile)?;
        let d = self.profile_len();
        if let Some(p) = parts.iter().find(|p| p.len() != d) {
            return Err(RankError::ProfileSize { expected: d, found: p.len() });
        }
        let kernel = self.kernel(&profile.state);
        let slopes = self.slopes.get_or_init(|| SlopeWeights::new(&self.weights));
        let parts = Parts::new(parts, d);
        let mut scratch = Scratch::default();
        // The baseline: the mean item and context of `baseline`, as one more candidate.
        let base: Vec<(usize, &Candidate<'_>)> =
            baseline.iter().filter_map(|&i| candidates.get(i).map(|c| (i, c))).collect();
        let mut mean_slope = vec![0f32; d];
        if !base.is_empty() {
            let share = 1.0 / base.len() as f32;
            let (mut item, mut context) = (vec![0f32; d], [0f32; CONTEXT_FEATURES]);
            for (i, c) in &base {
                self.candidate_vector_into(c, &mut scratch.item);
                item.iter_mut().zip(&scratch.item).for_each(|(m, x)| *m += share * x);
                context.iter_mut().zip(context_features(c.score, *i)).for_each(|(m, x)| *m += share * x);
            }
            slopes.query_slope(&kernel, &item, &context, &mut scratch);
            mean_slope.copy_from_slice(&scratch.g);
        }
        let mut item = Vec::with_capacity(d);
        Ok(which
            .iter()
            .filter_map(|&i| candidates.get(i).map(|c| (i, c)))
            .map(|(i, c)| {
                self.candidate_vector_into(c, &mut item);
                let score = slopes.query_slope(&kernel, &item, &context_features(c.score, i), &mut scratch);
                scratch.g.iter_mut().zip(&mean_slope).for_each(|(g, m)| *g -= m);
                slopes.state_slope(&mut scratch);
                parts.split(&scratch.r, score, &profile.state)
            })
            .collect())
    }

    /// Reorders candidates for a profile: best first, ties kept in the shop's order.
    pub fn rerank(&self, profile: &Profile, candidates: &[Candidate<'_>]) -> Result<Vec<Scored>, RankError> {
        let mut scored = self.score(profile, candidates)?;
        sort_best_first(&mut scored);
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
        let n = out.len().min(items.len());
        let contexts: Vec<_> = (0..n).map(|k| context_features(None, if positions { k } else { 0 })).collect();
        let kernel = self.kernel(&profile.state);
        self.score_rows(&kernel, &items[..n], &contexts, &mut out[..n]);
        // Indices outside the catalog: the unknown item.
        let outside: Vec<usize> = (0..n).filter(|&k| self.row(items[k] as usize).is_none()).collect();
        if !outside.is_empty() {
            let unknown = self.text_vector(&[]).0;
            let vectors = vec![unknown.as_slice(); outside.len()];
            let contexts: Vec<_> = outside.iter().map(|&k| contexts[k]).collect();
            let mut scores = vec![0f32; outside.len()];
            kernel.score_all(&vectors, &contexts, &mut scores);
            outside.iter().zip(scores).for_each(|(&k, s)| out[k] = s);
        }
        Ok(())
    }

    /// Scores catalog rows `items` (in range; others score NaN) with their contexts into
    /// `out`: integer dot products on the int8 rows where the kernel's shape allows, else
    /// the `f32` kernel.
    fn score_rows(
        &self,
        kernel: &ScoreKernel<'_>,
        items: &[u32],
        contexts: &[[f32; CONTEXT_FEATURES]],
        out: &mut [f32],
    ) {
        if let (false, Some(int)) = (self.rows.is_empty(), IntKernel::new(kernel)) {
            return int.score_rows(&self.rows, items, contexts, out);
        }
        let vectors: Vec<&[f32]> = items.iter().map(|&i| self.row(i as usize).unwrap_or(&[])).collect();
        kernel.score_all(&vectors, contexts, out);
    }

    /// Everything another scorer needs for `profile`: the profile-dependent kernel in the
    /// [`Packed`](crate::layout::Packed) layout. The WebGPU path computes the same scores
    /// from it and [`item_table`](Self::item_table).
    pub fn kernel_params(&self, profile: &Profile) -> Result<Vec<f32>, RankError> {
        self.check(profile)?;
        Ok(self.kernel(&profile.state).packed())
    }

    /// The [`Packed`](crate::layout::Packed) layout of [`kernel_params`](Self::kernel_params).
    pub fn packed_layout(&self) -> crate::layout::Packed {
        crate::layout::Packed::new(self.weights.dims.d, self.weights.dims.hidden)
    }

    /// The catalog's item vectors, row-major `[n_items, d]`.
    pub fn item_table(&self) -> &[f32] {
        &self.weights.items
    }

    /// Width of the scorer's hidden layer.
    pub fn hidden_len(&self) -> usize {
        self.weights.dims.hidden
    }

    /// Scores of every catalog item (no context), into `out` `[n_items]`.
    pub fn score_catalog(&self, profile: &Profile, out: &mut [f32]) -> Result<(), RankError> {
        self.check(profile)?;
        let n = out.len().min(self.weights.dims.n_items);
        let items: Vec<u32> = (0..n as u32).collect();
        let contexts = vec![context_features(None, 0); n];
        self.score_rows(&self.kernel(&profile.state), &items, &contexts, &mut out[..n]);
        Ok(())
    }
}

/// Whether two profile states are the same, bit for bit.
fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Sorts scored candidates best first, ties in the shop's order (by index), scores in
/// [`f32::total_cmp`]'s order. Indices are unique, so the order is total.
///
/// A list in the shop's order (indices rising, as [`Ranker::score`] returns it) is sorted
/// as one `u64` key per candidate, the score's order above its position: half the time of
/// sorting the records with a comparison.
pub(crate) fn sort_best_first(scored: &mut [Scored]) {
    let in_shop_order = scored.windows(2).all(|w| w[0].index < w[1].index);
    if !in_shop_order || scored.len() > u32::MAX as usize {
        return scored.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    }
    let mut keys: Vec<u64> =
        scored.iter().enumerate().map(|(at, s)| (u64::from(!total_order(s.score)) << 32) | at as u64).collect();
    keys.sort_unstable();
    let records = scored.to_vec();
    for (slot, key) in scored.iter_mut().zip(&keys) {
        *slot = records[(key & u64::from(u32::MAX)) as usize];
    }
}

/// `x`'s place in [`f32::total_cmp`]'s order as an unsigned integer.
fn total_order(x: f32) -> u32 {
    let bits = x.to_bits() as i32;
    // As `total_cmp`: negative values' other bits flipped, then signed becomes unsigned.
    ((bits ^ ((((bits >> 31) as u32) >> 1) as i32)) as u32) ^ 0x8000_0000
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{ItemSource, Scored, sort_best_first};
    use proptest::prelude::*;

    /// Scores with ties, signed zeros, infinities and NaNs of both signs.
    fn any_score() -> impl Strategy<Value = f32> {
        prop_oneof![
            (-3i32..3).prop_map(|x| x as f32 * 0.5),
            any::<f32>(),
            Just(-0.0f32),
            Just(f32::NAN),
            Just(-f32::NAN),
            Just(f32::INFINITY),
            Just(f32::NEG_INFINITY),
        ]
    }

    proptest! {
        #[test]
        fn the_key_sort_is_the_comparison_sort(scores in prop::collection::vec(any_score(), 0..200), shuffle in any::<bool>()) {
            let mut list = scored_list(&scores);
            if shuffle {
                list.reverse();
            }
            let mut expected = list.clone();
            expected.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
            sort_best_first(&mut list);
            let key = |s: &Scored| (s.index, s.score.to_bits());
            prop_assert_eq!(list.iter().map(key).collect::<Vec<_>>(), expected.iter().map(key).collect::<Vec<_>>());
        }
    }

    /// Catalog entries with these scores, at their positions in the list.
    pub(crate) fn scored_list(scores: &[f32]) -> Vec<Scored> {
        scores
            .iter()
            .enumerate()
            .map(|(index, &score)| Scored { index, score, source: ItemSource::Catalog, code_error: None })
            .collect()
    }
}
