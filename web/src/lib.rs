//! pocketrank for JavaScript: the WebAssembly core of the `pocketrank` package.
//!
//! - [`Model`] wraps the on-device runtime ([`pocketrank_runtime::Ranker`]): it decodes an
//!   artifact once and serves every shopper of the page, worker or edge isolate.
//! - [`Session`] wraps [`pocketrank_runtime::Session`]: one shopper's profile, the ring of
//!   their recent events, the stored record (tagged with the model version, rebuilt after
//!   a model update) and reranking that falls back to the shop's order. The package's
//!   `Personalizer` only adds storage, the WebGPU path and the error policy.
//! - `rankState` / `edgeState` serve stateless edge reranking (`rerankWithProfile`).
//!
//! Every failure is a JavaScript `Error` with a message meant for the developer reading
//! the console and a stable `code` (`E_ARTIFACT`, `E_TOO_MANY`, …) to branch on; nothing
//! here panics on input.
//!
//! The methods used only by the package's JavaScript (the joined-string fast path, the
//! WebGPU inputs) are typed for its type check but left out of the package's public
//! types (web/js/index.d.ts).

mod events;

use pocketrank_runtime::edge::{decode_edge_profile, encode_edge_profile};
use pocketrank_runtime::explain::Because;
use pocketrank_runtime::features;
use pocketrank_runtime::session::{RerankOptions, shop_order};
use pocketrank_runtime::{
    Candidate, Diversity, ItemSource, ListContext, MAX_CANDIDATES, Profile, RankError, Ranker, Scored, Seen,
    code_warning,
};
use wasm_bindgen::prelude::*;

/// The list a rerank's impression is remembered under when the page names none.
const DEFAULT_LIST: &str = "default";

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** What the shopper did with an item. Common synonyms ("click", "add_to_cart", "order", "rating") are read as these. */
export type EventKind = 'view' | 'cart' | 'purchase' | 'review';

/** Something the shopper did. `kind` defaults to "view", `ts` to `Date.now()`. */
export interface ShopperEvent {
  itemId: string;
  kind?: EventKind;
  /** Milliseconds since the Unix epoch. */
  ts?: number;
  /** The item's code (base64, from the shop's catalog API): used first. */
  code?: string;
  /** Lets the model place items it has never seen (when the tokenizer is embedded). */
  title?: string;
}

/** An event as the session keeps it in its ring of recent events. */
export interface RecordedEvent {
  itemId: string;
  kind: EventKind;
  /** Milliseconds since the Unix epoch. */
  ts: number;
  code?: string;
  title?: string;
}

/** What an artifact says about itself (item ids left out). */
export interface ModelManifest {
  /** The student architecture, e.g. "gru-mlp-v1". */
  architecture: string;
  dims: { n_items: number; d: number; hidden: number; vocab_size: number; title_tokens: number };
  tokenizer_sha256: string | null;
  dataset: { name: string; fingerprint: string; users: number; items: number; interactions: number };
  item_encoding: 'f32' | 'f16' | 'int8' | 'codes';
  /** The item codes' fingerprint (hex SHA-256 of the codebooks), when the model has codes. */
  codebooks_sha256?: string;
  /** The basket head's weights (`rerank(…, { context: "basket" })`), when the model has one. */
  basket?: { repeat: number; together: number };
  /** Training settings, free-form. */
  training: unknown;
  /** Evaluation results, free-form. */
  metrics: unknown;
  /** When the artifact was exported (RFC 3339). */
  created: string;
}

/** One reason for an item's place: an item this shopper had, and its share of the personal part of the score. */
export interface Because {
  itemId: string;
  /** The latest kind of event the shopper had with it. */
  kind: EventKind;
  /** In (0, 1]: the item's events' contribution over the sizes of all history contributions. */
  share: number;
}

/** How the Rust core reports errors: an Error with a stable code. */
export interface CoreError extends Error {
  code: 'E_ARTIFACT' | 'E_UNSUPPORTED' | 'E_TOO_MANY' | 'E_CANDIDATES' | 'E_PROFILE' | 'E_EVENT' | 'E_TOKENIZER' | 'E_OPTIONS';
  // (`E_CODE` is a warning only, from `Ranking.codeWarning`.)
}
"#;

/// The version of the pocketrank package, e.g. `"0.1.0"`.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The WebAssembly SIMD this module was built with: `"relaxed"` (relaxed SIMD's 8-bit dot
/// product scores the catalog's rows) or `"simd128"`. Scores are the same either way.
#[wasm_bindgen(js_name = simd)]
pub fn simd() -> String {
    if cfg!(target_feature = "relaxed-simd") { "relaxed" } else { "simd128" }.to_string()
}

/// Most candidates one rerank call accepts.
#[wasm_bindgen(js_name = maxCandidates)]
pub fn max_candidates() -> usize {
    MAX_CANDIDATES
}

/// The shop's own order for `count` candidates, cut to `topK`: what a failed rerank returns.
#[wasm_bindgen(js_name = shopOrder)]
pub fn shop_order_js(count: usize, top_k: Option<u32>) -> Vec<u32> {
    shop_order(count, top_k.map(|k| k as usize)).iter().map(|s| s.index as u32).collect()
}

/// An `Error` with `message` (prefixed "pocketrank: ") and a `code` property.
pub(crate) fn coded_error(code: &str, message: &str) -> JsValue {
    let e = js_sys::Error::new(&format!("pocketrank: {message}"));
    // Setting a property on a fresh Error cannot fail; if it somehow did, the message stays.
    let _ = js_sys::Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

/// A runtime error as JavaScript sees it: `"pocketrank: <context>: <error>"` with its code.
fn rank_error(context: &str, e: &RankError) -> JsValue {
    coded_error(e.code().as_str(), &format!("{context}: {e}"))
}

/// The artifact's bytes from a `Uint8Array` (or any typed-array view, of this realm or
/// another, e.g. a Node `Buffer`) or an `ArrayBuffer`; anything else is an `E_OPTIONS` error rather than bytes
/// made up from it.
fn artifact_bytes(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    let get = |name: &str| js_sys::Reflect::get(value, &JsValue::from_str(name)).ok();
    if js_sys::ArrayBuffer::is_view(value) {
        let (Some(buffer), Some(offset), Some(len)) =
            (get("buffer"), get("byteOffset").and_then(|v| v.as_f64()), get("byteLength").and_then(|v| v.as_f64()))
        else {
            return Err(coded_error("E_OPTIONS", "cannot load the model: the byte view cannot be read"));
        };
        return Ok(js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, len as u32).to_vec());
    }
    if value.is_instance_of::<js_sys::ArrayBuffer>() {
        return Ok(js_sys::Uint8Array::new(value).to_vec());
    }
    Err(coded_error(
        "E_OPTIONS",
        "cannot load the model: it must be the artifact's bytes (a Uint8Array or an ArrayBuffer)",
    ))
}

/// A loaded pocketrank model.
#[wasm_bindgen]
pub struct Model {
    ranker: Ranker,
}

#[wasm_bindgen]
impl Model {
    /// Decodes and checks an artifact (magic, format version, checksum, shapes).
    ///
    /// @param bytes - the artifact file's bytes.
    /// @throws Error with `code` `E_ARTIFACT` (not a valid artifact), `E_UNSUPPORTED` (a
    /// newer format or another student architecture) or `E_TOKENIZER`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
    ) -> Result<Model, JsValue> {
        let bytes = artifact_bytes(&bytes)?;
        let ranker = Ranker::from_bytes(&bytes).map_err(|e| rank_error("cannot load the model", &e))?;
        Ok(Model { ranker })
    }

    /// Like the constructor, with the SHA-256 of every byte but the last 32 computed by the
    /// caller (the package uses WebCrypto: hashing a 1 MB model in WebAssembly is the
    /// slowest part of a cold load). A wrong digest is rejected like a corrupted file.
    #[wasm_bindgen(js_name = withDigest)]
    pub fn with_digest(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | ArrayBuffer")] bytes: JsValue,
        digest: &[u8],
    ) -> Result<Model, JsValue> {
        let bytes = artifact_bytes(&bytes)?;
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| coded_error("E_ARTIFACT", "cannot load the model: the digest must be 32 bytes (SHA-256)"))?;
        let ranker =
            Ranker::from_bytes_with_digest(&bytes, digest).map_err(|e| rank_error("cannot load the model", &e))?;
        Ok(Model { ranker })
    }

    /// A tag that changes with every different model: stored profiles are tagged with it.
    #[wasm_bindgen(getter, js_name = modelVersion)]
    pub fn model_version(&self) -> String {
        self.ranker.model_version().to_string()
    }

    /// Items in the model's catalog.
    #[wasm_bindgen(getter, js_name = itemCount)]
    pub fn item_count(&self) -> usize {
        self.ranker.manifest().dims.n_items
    }

    /// Whether unknown items can be placed by their title (the tokenizer is embedded).
    #[wasm_bindgen(getter, js_name = hasTokenizer)]
    pub fn has_tokenizer(&self) -> bool {
        self.ranker.has_tokenizer()
    }

    /// The manifest: dimensions, dataset, metrics, creation time (item ids left out).
    #[wasm_bindgen(unchecked_return_type = "ModelManifest")]
    pub fn manifest(&self) -> JsValue {
        let mut m = self.ranker.manifest().clone();
        m.item_ids.clear();
        serde_json::to_string(&m).ok().and_then(|json| js_sys::JSON::parse(&json).ok()).unwrap_or(JsValue::NULL)
    }

    /// Width of profiles and item vectors.
    #[wasm_bindgen(getter, js_name = profileLength)]
    pub fn profile_length(&self) -> usize {
        self.ranker.profile_len()
    }

    /// Width of the scorer's hidden layer.
    #[wasm_bindgen(getter, js_name = hiddenLength)]
    pub fn hidden_length(&self) -> usize {
        self.ranker.hidden_len()
    }

    /// WGSL constants for the WebGPU scorer: this model's widths, the offsets into
    /// `Session.kernelParams` and the list-position feature (from the runtime's layout).
    #[wasm_bindgen(js_name = wgslPrelude)]
    pub fn wgsl_prelude(&self) -> String {
        self.ranker.packed_layout().wgsl_prelude()
    }

    /// The catalog's item vectors `[itemCount × profileLength]` (uploaded once to the GPU).
    #[wasm_bindgen(js_name = itemTable)]
    pub fn item_table(&self) -> Vec<f32> {
        self.ranker.item_table().to_vec()
    }

    /// Catalog indices of `count` newline-joined ids (-1 for ids not in the catalog).
    #[wasm_bindgen(js_name = catalogIndices)]
    pub fn catalog_indices(&self, count: usize, ids: &str) -> Vec<i32> {
        if count == 0 {
            return Vec::new();
        }
        ids.split('\n').map(|id| self.ranker.item_index(id).map_or(-1, |i| i as i32)).collect()
    }

    /// The context features of `count` candidates in list order (`CONTEXT_FEATURES` values
    /// each: the server score, whether there is one, the list position), for the WebGPU
    /// scorer; the same values the CPU kernel reads.
    #[wasm_bindgen(js_name = contextFeatures)]
    pub fn context_features(&self, count: usize, scores: Option<Vec<f32>>) -> Vec<f32> {
        (0..count)
            .flat_map(|i| features::context_features(scores.as_ref().and_then(|s| s.get(i).copied()), i))
            .collect()
    }

    /// Reads an edge profile blob (from `Session.edgeProfile`) into a profile vector.
    ///
    /// @throws Error with `code` `E_PROFILE` when it is not an edge profile of this model.
    #[wasm_bindgen(js_name = edgeState)]
    pub fn edge_state(&self, blob: &[u8]) -> Result<Vec<f32>, JsValue> {
        decode_edge_profile(blob, self.ranker.profile_len())
            .map_err(|e| coded_error("E_PROFILE", &format!("invalid edge profile: {e}")))
    }

    /// Stateless rerank for a profile vector (edge workers), through the joined-string
    /// fast path (see `Session.rankJoined`).
    ///
    /// @throws Error with `code` `E_PROFILE` (wrong length, NaN or infinite values),
    /// `E_TOO_MANY` or `E_CANDIDATES`.
    #[wasm_bindgen(js_name = rankState)]
    // Flat arguments: the fast path passes strings and typed arrays, no object to read.
    #[allow(clippy::too_many_arguments)]
    pub fn rank_state(
        &self,
        state: Vec<f32>,
        count: usize,
        ids: &[u8],
        scores: Option<Vec<f32>>,
        titles: Option<Vec<u8>>,
        codes: Option<Vec<u8>>,
        top_k: Option<u32>,
    ) -> Result<Ranking, JsValue> {
        let profile = Profile::from_state(state);
        profile.check(self.ranker.profile_len()).map_err(|e| rank_error("invalid profile", &e))?;
        let result = Joined::read(ids, scores.as_deref(), titles.as_deref(), codes.as_deref())
            .and_then(|joined| joined_candidates(count, &joined))
            .and_then(|candidates| self.ranker.rerank(&profile, &candidates));
        match result {
            Ok(mut ranked) => {
                if let Some(k) = top_k {
                    ranked.truncate(k as usize);
                }
                Ok(Ranking::new(&ranked, None))
            }
            Err(e) => Err(rank_error("cannot rerank", &e)),
        }
    }
}

/// Candidates as the package's fast path passes them: `count` ids, optional titles and
/// optional codes, each newline-joined (an empty line = none), optional server scores
/// (NaN = none). The text arrives as UTF-8 bytes (the package's `TextEncoder`, native code)
/// rather than as JavaScript strings, which the bindings copy a character at a time.
struct Joined<'a> {
    ids: &'a str,
    scores: Option<&'a [f32]>,
    titles: Option<&'a str>,
    codes: Option<&'a str>,
}

impl<'a> Joined<'a> {
    fn read(
        ids: &'a [u8],
        scores: Option<&'a [f32]>,
        titles: Option<&'a [u8]>,
        codes: Option<&'a [u8]>,
    ) -> Result<Self, RankError> {
        let text = |bytes: &'a [u8], what: &str| {
            std::str::from_utf8(bytes)
                .map_err(|_| RankError::Candidates(format!("the candidates' {what} are not UTF-8")))
        };
        Ok(Joined {
            ids: text(ids, "ids")?,
            scores,
            titles: titles.map(|t| text(t, "titles")).transpose()?,
            codes: codes.map(|c| text(c, "codes")).transpose()?,
        })
    }
}

/// The newline-separated parts of `text` (found with SIMD: the per-part cost of
/// `str::split` showed in long lists).
fn lines(text: &str, expected: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(expected);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        // A newline is one byte of its own in UTF-8: both ends are character boundaries.
        out.push(text.get(start..end).unwrap_or_default());
        start = end + 1;
    }
    out.push(text.get(start..).unwrap_or_default());
    out
}

fn joined_candidates<'a>(count: usize, joined: &Joined<'a>) -> Result<Vec<Candidate<'a>>, RankError> {
    if count > MAX_CANDIDATES {
        return Err(RankError::TooManyCandidates { count, max: MAX_CANDIDATES });
    }
    let split = |text: &'a str| if count == 0 { Vec::new() } else { lines(text, count) };
    let ids = split(joined.ids);
    let titles = joined.titles.map(split);
    let codes = joined.codes.map(split);
    if ids.len() != count
        || joined.scores.is_some_and(|s| s.len() != count)
        || titles.as_ref().is_some_and(|t| t.len() != count)
        || codes.as_ref().is_some_and(|c| c.len() != count)
    {
        return Err(RankError::Candidates("ids, scores, titles and codes disagree on the number of candidates".into()));
    }
    let nonempty = |list: &Option<Vec<&'a str>>, i: usize| list.as_ref().map(|l| l[i]).filter(|t| !t.is_empty());
    Ok(ids
        .iter()
        .enumerate()
        .map(|(i, id)| Candidate {
            id,
            code: nonempty(&codes, i),
            title: nonempty(&titles, i),
            score: joined.scores.map(|s| s[i]),
        })
        .collect())
}

#[wasm_bindgen]
pub struct Session {
    inner: pocketrank_runtime::Session,
    warning: Option<String>,
}

#[wasm_bindgen]
impl Session {
    /// The session stored as `bytes` (from `toBytes`; empty for a new shopper). Never
    /// fails: a record of another model version or a damaged one is rebuilt from its
    /// recent events, and `warning` says so.
    pub fn restore(model: &Model, bytes: &[u8]) -> Session {
        let (inner, how) = pocketrank_runtime::Session::restore(&model.ranker, bytes);
        Session { warning: how.warning(model.ranker.model_version()), inner }
    }

    /// A session rebuilt from events kept by an earlier version of the package (records
    /// `{ v: 1, modelVersion, profile, events }`): the latest readable ones are folded in,
    /// unreadable ones skipped.
    #[wasm_bindgen(js_name = fromEvents)]
    pub fn from_events(model: &Model, #[wasm_bindgen(unchecked_param_type = "unknown")] events: JsValue) -> Session {
        let list: Vec<JsValue> =
            if js_sys::Array::is_array(&events) { js_sys::Array::from(&events).iter().collect() } else { Vec::new() };
        // Events that no longer read are dropped here, those that no longer fold in by `rebuild`.
        let read = list.iter().filter_map(|raw| events::event_from_js(raw, false).ok()).collect();
        let inner = pocketrank_runtime::Session::rebuild(&model.ranker, read);
        let kept = inner.recent_events().len();
        let warning = Some(format!(
            "profile stored by an earlier pocketrank version; rebuilt from {kept} recent events for model {}",
            model.ranker.model_version()
        ));
        Session { inner, warning }
    }

    /// What `restore` or `fromEvents` had to do, when it was more than reading the record back.
    #[wasm_bindgen(getter)]
    pub fn warning(&self) -> Option<String> {
        self.warning.clone()
    }

    /// The model version this session's profile belongs to.
    #[wasm_bindgen(getter, js_name = modelVersion)]
    pub fn model_version(&self) -> String {
        self.inner.model_version().to_string()
    }

    /// Checks one event, folds it into the profile and keeps it in the ring of recent
    /// events. `kind` defaults to "view", `ts` to now.
    ///
    /// @throws Error with `code` `E_EVENT` for a malformed event (nothing changes).
    pub fn observe(
        &mut self,
        model: &Model,
        #[wasm_bindgen(unchecked_param_type = "ShopperEvent")] event: JsValue,
    ) -> Result<(), JsValue> {
        let event = events::event_from_js(&event, true)?;
        self.inner.observe(&model.ranker, event).map(|_| ()).map_err(|e| rank_error("cannot record the event", &e))
    }

    /// The stored record: JSON bytes tagged with the model version.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// Wipes the profile, the recent events and what feedback taught.
    pub fn forget(&mut self, model: &Model) {
        self.inner.forget(&model.ranker);
    }

    /// The recent events, oldest first (copies).
    #[wasm_bindgen(js_name = recentEvents, unchecked_return_type = "RecordedEvent[]")]
    pub fn recent_events(&self) -> JsValue {
        let list: Vec<_> = self.inner.recent_events().collect();
        serde_json::to_string(&list)
            .ok()
            .and_then(|json| js_sys::JSON::parse(&json).ok())
            .unwrap_or_else(|| js_sys::Array::new().into())
    }

    /// The profile vector (what `rerankWithProfile` accepts).
    #[wasm_bindgen(js_name = profileVector)]
    pub fn profile_vector(&self) -> Vec<f32> {
        self.inner.profile().state.clone()
    }

    /// The compact, int8-quantised profile for an edge reranker: state only (no events, no
    /// times, no item ids). Only for shoppers who opted in.
    #[wasm_bindgen(js_name = edgeProfile)]
    pub fn edge_profile(&self) -> Vec<u8> {
        encode_edge_profile(&self.inner.profile().state)
    }

    /// Reranks the joined fast path: `count` ids, optional titles and optional codes, each
    /// newline-joined UTF-8 (empty line = none), optional server scores (NaN = none); best
    /// first, cut to `topK`. `excludeSeen`: the event kinds (bit `i` for the `i`-th of view,
    /// cart, purchase, review) whose recent items go after all the others. `explain`: how
    /// many of the first results get `explanations`. `diversity` (λ in [0, 1]),
    /// `maxPerGroup` and `groups` (one per candidate, 0 = none) reorder the first places
    /// for variety. `learn` (default true): rank with what this shopper's feedback taught
    /// and, when `now` (ms) is given, remember the first places as shown in the list named
    /// `list` (a later event on one of them is a click on it); false: the student alone,
    /// nothing remembered. `context` "basket": add-ons to the open basket, ranked with the
    /// model's basket head (items bought again first). Never throws: on any error the
    /// ranking is the shop's order and `error` says why.
    #[wasm_bindgen(js_name = rankJoined)]
    // Flat arguments: the fast path passes strings and typed arrays, no object to read.
    #[allow(clippy::too_many_arguments)]
    pub fn rank_joined(
        &mut self,
        model: &Model,
        count: usize,
        ids: &[u8],
        scores: Option<Vec<f32>>,
        titles: Option<Vec<u8>>,
        codes: Option<Vec<u8>>,
        top_k: Option<u32>,
        exclude_seen: Option<u8>,
        explain: Option<u32>,
        diversity: Option<f32>,
        max_per_group: Option<u32>,
        groups: Option<Vec<u32>>,
        list: Option<String>,
        learn: Option<bool>,
        now: Option<f64>,
        context: Option<String>,
    ) -> Ranking {
        let learn = learn.unwrap_or(true);
        let context = match context.as_deref().map_or(Ok(ListContext::Default), ListContext::from_name) {
            Ok(context) => context,
            Err(e) => return Ranking::new(&shop_order(count, top_k.map(|k| k as usize)), Some(e)),
        };
        let options = RerankOptions {
            top_k: top_k.map(|k| k as usize),
            seen: Seen::from_bits(exclude_seen.unwrap_or(0)),
            explain: explain.unwrap_or(0) as usize,
            diversity: Diversity {
                lambda: diversity.unwrap_or(0.0),
                max_per_group: max_per_group.map(|m| m as usize),
                groups: groups.unwrap_or_default(),
            },
            ignore_feedback: !learn,
            context,
        };
        let joined = Joined::read(ids, scores.as_deref(), titles.as_deref(), codes.as_deref());
        match joined.and_then(|joined| joined_candidates(count, &joined)) {
            Ok(candidates) => {
                let out = self.inner.rerank_options(&model.ranker, &candidates, &options);
                if let (true, None, Some(now)) = (learn, &out.error, now) {
                    let list = list.as_deref().unwrap_or(DEFAULT_LIST);
                    self.inner.shown(&model.ranker, list, &candidates, &out.ranked, now);
                }
                Ranking { seen: out.seen, explanations: out.explanations, ..Ranking::new(&out.ranked, out.error) }
            }
            // The whole list, however long: a failed call drops no candidate.
            Err(e) => Ranking::new(&shop_order(count, options.top_k), Some(e)),
        }
    }

    /// Remembers that the list named `list` (default "default") showed these `count` items,
    /// best first (newline-joined ids), at `now` (ms): what the WebGPU path ranked. Items
    /// not in the model's catalog are placed by the neutral prior. Ignores malformed input.
    pub fn shown(&mut self, model: &Model, count: usize, ids: &[u8], list: Option<String>, now: f64) {
        let Ok(joined) = Joined::read(ids, None, None, None) else { return };
        let Ok(candidates) = joined_candidates(count, &joined) else { return };
        let ranked: Vec<Scored> = (0..candidates.len())
            .map(|index| Scored { index, score: 0.0, source: ItemSource::Catalog, code_error: None })
            .collect();
        let list = list.as_deref().unwrap_or(DEFAULT_LIST);
        self.inner.shown(&model.ranker, list, &candidates, &ranked, now);
    }

    /// Turns learning from this shopper's feedback on or off (on by default); off, lists
    /// are ranked by the student alone and nothing is learned.
    #[wasm_bindgen(js_name = setLearning)]
    pub fn set_learning(&mut self, on: bool) {
        self.inner.set_learning(on);
    }

    /// Whether reranks are corrected by what feedback taught (then they take the CPU path).
    #[wasm_bindgen(getter)]
    pub fn adapting(&self) -> bool {
        self.inner.is_adapting()
    }

    /// How many shown items feedback has judged so far (clicked or passed over).
    #[wasm_bindgen(getter)]
    pub fn learned(&self) -> f64 {
        self.inner.feedback().judged() as f64
    }

    /// The profile-dependent scorer values for the WebGPU path, in the layout `wgslPrelude`
    /// describes.
    #[wasm_bindgen(js_name = kernelParams)]
    pub fn kernel_params(&self, model: &Model) -> Result<Vec<f32>, JsValue> {
        self.check_model(model)?;
        model.ranker.kernel_params(self.inner.profile()).map_err(|e| rank_error("invalid profile", &e))
    }

    /// CPU scores of catalog items by index, list positions as context (input order): the
    /// WebGPU calibration's yardstick.
    #[wasm_bindgen(js_name = scoreIndices)]
    pub fn score_indices(&self, model: &Model, indices: Vec<u32>) -> Result<Vec<f32>, JsValue> {
        self.check_model(model)?;
        let mut out = vec![0f32; indices.len()];
        model
            .ranker
            .score_indices(self.inner.profile(), &indices, true, &mut out)
            .map_err(|e| rank_error("cannot score", &e))?;
        Ok(out)
    }

    fn check_model(&self, model: &Model) -> Result<(), JsValue> {
        self.inner.check_model(&model.ranker).map_err(|e| rank_error("invalid session", &e))
    }
}

/// A ranking as typed arrays: best first.
#[wasm_bindgen]
pub struct Ranking {
    order: Vec<u32>,
    scores: Vec<f32>,
    sources: Vec<u8>,
    error: Option<RankError>,
    code_warning: Option<String>,
    seen: usize,
    explanations: Vec<Vec<Because>>,
}

impl Ranking {
    fn new(ranked: &[Scored], error: Option<RankError>) -> Self {
        Ranking {
            seen: 0,
            explanations: Vec::new(),
            code_warning: code_warning(ranked),
            order: ranked.iter().map(|s| s.index as u32).collect(),
            scores: ranked.iter().map(|s| s.score).collect(),
            sources: ranked
                .iter()
                .map(|s| match s.source {
                    ItemSource::Code => 4,
                    ItemSource::Catalog => 0,
                    ItemSource::Title => 1,
                    ItemSource::Unknown => 2,
                    ItemSource::Shop => 3,
                })
                .collect(),
            error,
        }
    }
}

#[wasm_bindgen]
impl Ranking {
    /// Input positions, best first.
    #[wasm_bindgen(getter)]
    pub fn order(&self) -> Vec<u32> {
        self.order.clone()
    }

    /// Scores in ranked order (NaN for the shop's order after an error).
    #[wasm_bindgen(getter)]
    pub fn scores(&self) -> Vec<f32> {
        self.scores.clone()
    }

    /// How each item's vector was found, in ranked order: 0 catalog, 1 title, 2 unknown,
    /// 3 shop (not scored: the shop's order after an error), 4 code.
    #[wasm_bindgen(getter)]
    pub fn sources(&self) -> Vec<u8> {
        self.sources.clone()
    }

    /// How many entries at the end are items the shopper already had (`excludeSeen`).
    #[wasm_bindgen(getter, js_name = seenCount)]
    pub fn seen_count(&self) -> usize {
        self.seen
    }

    /// How many reasons each explained result has (the first results, in order); the
    /// reasons themselves are `becauseIds`, `becauseKinds` and `becauseShares`, flat, in
    /// the same order: typed arrays cross to JavaScript at once, objects one by one.
    #[wasm_bindgen(getter, js_name = becauseCounts)]
    pub fn because_counts(&self) -> Vec<u8> {
        self.explanations.iter().map(|b| b.len() as u8).collect()
    }

    /// The ids of the items the reasons name (see `becauseCounts`), joined by U+001E (the
    /// record separator; one inside an id reads as U+FFFD): one string crosses instead of
    /// one per reason.
    #[wasm_bindgen(getter, js_name = becauseIds)]
    pub fn because_ids(&self) -> String {
        let ids: Vec<String> =
            self.explanations.iter().flatten().map(|b| b.item_id.replace('\u{1e}', "\u{fffd}")).collect();
        ids.join("\u{1e}")
    }

    /// The latest kind of event with each item the reasons name, as `EventKind.index`.
    #[wasm_bindgen(getter, js_name = becauseKinds)]
    pub fn because_kinds(&self) -> Vec<u8> {
        self.explanations.iter().flatten().map(|b| b.kind.index() as u8).collect()
    }

    /// Each reason's share of the personal part of the score.
    #[wasm_bindgen(getter, js_name = becauseShares)]
    pub fn because_shares(&self) -> Vec<f32> {
        self.explanations.iter().flatten().map(|b| b.share).collect()
    }

    /// Why some candidates' codes were not used (they were ranked another way), if any.
    #[wasm_bindgen(getter, js_name = codeWarning)]
    pub fn code_warning(&self) -> Option<String> {
        self.code_warning.clone()
    }

    /// Why the shop's order came back instead of the model's, if it did.
    #[wasm_bindgen(getter, unchecked_return_type = "CoreError | undefined")]
    pub fn error(&self) -> JsValue {
        self.error.as_ref().map_or(JsValue::UNDEFINED, |e| rank_error("cannot rerank", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn lines_split_at_every_newline() {
        assert_eq!(lines("a\nbé\n\nd", 4), ["a", "bé", "", "d"]);
        assert_eq!(lines("", 1), [""]);
        assert_eq!(lines("\n", 2), ["", ""]);
        let long: Vec<String> = (0..1000).map(|i| format!("item-{i}")).collect();
        assert_eq!(lines(&long.join("\n"), 1000), long);
    }

    #[test]
    fn joined_candidates_check_their_counts() {
        let joined = |ids, scores, titles, codes| Joined { ids, scores, titles, codes };
        let c = joined_candidates(3, &joined("a\nb\nc", Some(&[1.0, f32::NAN, 2.0]), Some("x\n\nz"), Some("\nQUJD\n")))
            .unwrap();
        assert_eq!(c.iter().map(|c| c.id).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(c[1].title, None);
        assert_eq!(c[2].title, Some("z"));
        assert_eq!(c[0].score, Some(1.0));
        assert_eq!(c.iter().map(|c| c.code).collect::<Vec<_>>(), [None, Some("QUJD"), None]);
        assert!(joined_candidates(0, &joined("", None, Some(""), None)).unwrap().is_empty());
        let e = joined_candidates(2, &joined("a", None, None, None)).unwrap_err();
        assert_eq!(e.code().as_str(), "E_CANDIDATES");
        let e = joined_candidates(2, &joined("a\nb", Some(&[1.0]), None, None)).unwrap_err();
        assert_eq!(e.code().as_str(), "E_CANDIDATES");
        let e = joined_candidates(2, &joined("a\nb", None, None, Some("x"))).unwrap_err();
        assert_eq!(e.code().as_str(), "E_CANDIDATES");
        let e = joined_candidates(MAX_CANDIDATES + 1, &joined("", None, None, None)).unwrap_err();
        assert_eq!(e.code().as_str(), "E_TOO_MANY");
        let read = Joined::read("é\nb".as_bytes(), None, Some(b"t\n"), None).unwrap();
        assert_eq!((read.ids, read.titles), ("é\nb", Some("t\n")));
        for (ids, titles, codes) in
            [(&b"\xff"[..], None, None), (b"a", Some(&b"\xc3"[..]), None), (b"a", None, Some(&b"\x80"[..]))]
        {
            let e = Joined::read(ids, None, titles, codes).err().expect("not UTF-8");
            assert_eq!(e.code().as_str(), "E_CANDIDATES");
        }
    }

    #[test]
    fn the_shop_order_is_cut_to_top_k() {
        assert_eq!(shop_order_js(3, None), [0, 1, 2]);
        assert_eq!(shop_order_js(3, Some(2)), [0, 1]);
        assert_eq!(shop_order_js(3, Some(9)), [0, 1, 2]);
        assert!(shop_order_js(0, Some(1)).is_empty());
        assert_eq!(shop_order_js(MAX_CANDIDATES + 1, None).len(), MAX_CANDIDATES + 1, "no candidate is dropped");
    }
}
