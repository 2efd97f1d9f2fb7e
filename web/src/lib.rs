//! pocketrank for JavaScript: the WebAssembly core of the `pocketrank` package.
//!
//! [`Model`] wraps the on-device runtime ([`pocketrank_runtime::Ranker`]): it decodes an
//! artifact, folds shopper events into a profile and reranks candidate lists. It is
//! stateless about shoppers — profiles go in and out as bytes — so the same module serves
//! a page (through the package's `Personalizer`, which keeps the profile in IndexedDB), a
//! worker, Node and an edge isolate (`rerankWithProfile`).
//!
//! Every failure is a JavaScript `Error` with a message meant for the developer reading
//! the console; nothing here panics on input.

use pocketrank_runtime::edge::{decode_edge_profile, encode_edge_profile};
use pocketrank_runtime::ranker::{ItemSource, MAX_CANDIDATES};
use pocketrank_runtime::{Candidate, EventKind, Profile, Ranker, ShopperEvent};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;


/// The version of the pocketrank package, e.g. `"0.1.0"`.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// A shopper event as JavaScript passes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsEvent {
    item_id: String,
    #[serde(default = "default_kind")]
    kind: String,
    /// Milliseconds since the Unix epoch (`Date.now()`).
    ts: f64,
    #[serde(default)]
    title: Option<String>,
}

fn default_kind() -> String {
    "view".into()
}

/// A candidate as JavaScript passes it.
#[derive(Debug, Deserialize)]
struct JsCandidate {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    score: Option<f64>,
}

/// Options of a rerank call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsRerankOptions {
    /// Keep only the best `topK` (all by default).
    #[serde(default)]
    top_k: Option<usize>,
}

/// One reranked candidate as JavaScript receives it.
#[derive(Debug, Serialize)]
struct JsScored {
    id: String,
    /// Position in the input list.
    index: usize,
    score: f32,
    /// "catalog", "title" or "unknown": how the item's vector was found.
    source: &'static str,
}

fn js_error(context: &str, e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("pocketrank: {context}: {e}"))
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
    /// @throws Error when the bytes are not a valid artifact for this package version.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Model, JsError> {
        let ranker = Ranker::from_bytes(bytes).map_err(|e| js_error("cannot load the model", e))?;
        Ok(Model { ranker })
    }

    /// Like the constructor, with the SHA-256 of every byte but the last 32 computed by the
    /// caller (the package uses WebCrypto: hashing a 1 MB model in WebAssembly is the
    /// slowest part of a cold load). A wrong digest is rejected like a corrupted file.
    ///
    /// @throws Error when the bytes are not a valid artifact or the digest does not match.
    #[wasm_bindgen(js_name = withDigest)]
    pub fn with_digest(bytes: &[u8], digest: &[u8]) -> Result<Model, JsError> {
        let digest: [u8; 32] = digest
            .try_into()
            .map_err(|_| js_error("cannot load the model", "the digest must be 32 bytes (SHA-256)"))?;
        let ranker = Ranker::from_bytes_with_digest(bytes, digest).map_err(|e| js_error("cannot load the model", e))?;
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

    /// The manifest (dimensions, dataset, metrics, creation time) as JSON, item ids left out.
    #[wasm_bindgen(js_name = manifestJson)]
    pub fn manifest_json(&self) -> String {
        let mut m = self.ranker.manifest().clone();
        m.item_ids.clear();
        serde_json::to_string(&m).unwrap_or_default()
    }

    /// The profile of a shopper with no events, as bytes.
    #[wasm_bindgen(js_name = newProfile)]
    pub fn new_profile(&self) -> Vec<u8> {
        self.ranker.new_profile().to_bytes()
    }

    /// Folds one event into a profile and returns the new profile (the input is not changed).
    ///
    /// @param profile - profile bytes from `newProfile` or an earlier `observe`.
    /// @param event - `{ itemId: string, kind?: "view" | "cart" | "purchase" | "review", ts: number (ms), title?: string }`.
    /// @throws Error for a malformed event or profile.
    pub fn observe(&self, profile: &[u8], event: JsValue) -> Result<Vec<u8>, JsError> {
        let mut p = self.profile(profile)?;
        let e: JsEvent = serde_wasm_bindgen::from_value(event).map_err(|e| js_error("invalid event", e))?;
        let kind: EventKind = e.kind.parse().map_err(|e| js_error("invalid event", e))?;
        if e.item_id.is_empty() {
            return Err(js_error("invalid event", "itemId is empty"));
        }
        let event = ShopperEvent { item_id: &e.item_id, kind, ts: e.ts / 1000.0, title: e.title.as_deref() };
        self.ranker.observe(&mut p, &event).map_err(|e| js_error("invalid event", e))?;
        Ok(p.to_bytes())
    }

    /// Reranks candidates for a profile: best first.
    ///
    /// @param profile - profile bytes.
    /// @param candidates - `[{ id: string, title?: string, score?: number }]` in the shop's order.
    /// @param options - `{ topK?: number }`.
    /// @returns `[{ id, index, score, source }]`; `index` is the candidate's input position.
    /// @throws Error for malformed candidates, a profile of another model, or more than 100,000 candidates.
    pub fn rerank(&self, profile: &[u8], candidates: JsValue, options: JsValue) -> Result<JsValue, JsError> {
        let p = self.profile(profile)?;
        let options: JsRerankOptions = if options.is_undefined() || options.is_null() {
            JsRerankOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|e| js_error("invalid options", e))?
        };
        let list = candidates_from_js(&candidates)?;
        let borrowed: Vec<Candidate> = list
            .iter()
            .map(|c| Candidate { id: &c.id, title: c.title.as_deref(), score: c.score.map(|s| s as f32) })
            .collect();
        let mut ranked = self.ranker.rerank(&p, &borrowed).map_err(|e| js_error("cannot rerank", e))?;
        if let Some(k) = options.top_k {
            ranked.truncate(k);
        }
        let out: Vec<JsScored> = ranked
            .iter()
            .map(|s| JsScored {
                id: list[s.index].id.clone(),
                index: s.index,
                score: s.score,
                source: s.source.as_str(),
            })
            .collect();
        serde_wasm_bindgen::to_value(&out).map_err(|e| js_error("cannot return the ranking", e))
    }

    /// The fast path behind the package's `rerank`: candidates as one newline-joined id
    /// string (and optional server scores and newline-joined titles), the ranking back as
    /// typed arrays. One string crosses into WebAssembly instead of one object per item.
    ///
    /// @param profile - profile bytes.
    /// @param count - number of candidates (`ids` holds exactly this many lines).
    /// @param ids - candidate ids joined with "\n".
    /// @param scores - optional server scores (NaN = none), `count` long.
    /// @param titles - optional titles joined with "\n" (empty line = none).
    #[wasm_bindgen(js_name = rankJoined)]
    pub fn rank_joined(
        &self,
        profile: &[u8],
        count: usize,
        ids: &str,
        scores: Option<Vec<f32>>,
        titles: Option<String>,
    ) -> Result<Ranking, JsError> {
        let p = self.profile(profile)?;
        if count > MAX_CANDIDATES {
            return Err(js_error(
                "cannot rerank",
                format!("{count} candidates is more than the {MAX_CANDIDATES} one call accepts"),
            ));
        }
        let ids: Vec<&str> = if count == 0 { Vec::new() } else { ids.split('\n').collect() };
        let titles: Option<Vec<&str>> = titles.as_deref().map(|t| t.split('\n').collect());
        if ids.len() != count
            || scores.as_ref().is_some_and(|s| s.len() != count)
            || titles.as_ref().is_some_and(|t| t.len() != count)
        {
            return Err(js_error("invalid candidates", "ids, scores and titles disagree on the number of candidates"));
        }
        let candidates: Vec<Candidate> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate {
                id,
                title: titles.as_ref().map(|t| t[i]).filter(|t| !t.is_empty()),
                score: scores.as_ref().map(|s| s[i]),
            })
            .collect();
        let ranked = self.ranker.rerank(&p, &candidates).map_err(|e| js_error("cannot rerank", e))?;
        Ok(Ranking {
            order: ranked.iter().map(|s| s.index as u32).collect(),
            scores: ranked.iter().map(|s| s.score).collect(),
            sources: ranked
                .iter()
                .map(|s| match s.source {
                    ItemSource::Catalog => 0,
                    ItemSource::Title => 1,
                    ItemSource::Unknown => 2,
                    ItemSource::Shop => 3,
                })
                .collect(),
        })
    }

    /// Scores of candidate ids in input order (no objects: the fast path for large lists).
    ///
    /// @param profile - profile bytes.
    /// @param ids - item ids in the shop's order.
    /// @param scores - optional server scores, same length as `ids` (NaN = none).
    #[wasm_bindgen(js_name = scoreIds)]
    pub fn score_ids(&self, profile: &[u8], ids: Vec<String>, scores: Option<Vec<f32>>) -> Result<Vec<f32>, JsError> {
        let p = self.profile(profile)?;
        if let Some(s) = &scores
            && s.len() != ids.len()
        {
            return Err(js_error("invalid scores", format!("{} scores for {} ids", s.len(), ids.len())));
        }
        let candidates: Vec<Candidate> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate { id, title: None, score: scores.as_ref().map(|s| s[i]) })
            .collect();
        let scored = self.ranker.score(&p, &candidates).map_err(|e| js_error("cannot score", e))?;
        Ok(scored.iter().map(|s| s.score).collect())
    }

    /// The catalog's item vectors `[itemCount × profileLength]` (uploaded once to the GPU).
    #[wasm_bindgen(js_name = itemTable)]
    pub fn item_table(&self) -> Vec<f32> {
        self.ranker.item_table().to_vec()
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

    /// The profile-dependent scorer values for the WebGPU path, packed
    /// `[query | base | item weights | context weights | output weights | output bias]`.
    #[wasm_bindgen(js_name = kernelParams)]
    pub fn kernel_params(&self, profile: &[u8]) -> Result<Vec<f32>, JsError> {
        let p = self.profile(profile)?;
        self.ranker.kernel_params(&p).map_err(|e| js_error("invalid profile", e))
    }

    /// CPU scores of catalog items by index, list positions as context (input order).
    #[wasm_bindgen(js_name = scoreIndices)]
    pub fn score_indices(&self, profile: &[u8], indices: Vec<u32>) -> Result<Vec<f32>, JsError> {
        let p = self.profile(profile)?;
        let mut out = vec![0f32; indices.len()];
        self.ranker.score_indices(&p, &indices, true, &mut out).map_err(|e| js_error("cannot score", e))?;
        Ok(out)
    }

    /// Catalog indices of newline-joined ids (-1 for ids not in the catalog).
    #[wasm_bindgen(js_name = catalogIndices)]
    pub fn catalog_indices(&self, count: usize, ids: &str) -> Vec<i32> {
        if count == 0 {
            return Vec::new();
        }
        ids.split('\n').map(|id| self.ranker.item_index(id).map_or(-1, |i| i as i32)).collect()
    }

    /// Packs a profile for sending to an edge reranker: versioned, int8-quantised state
    /// only (no events, no times, no item ids). Only call this when the shopper opted in.
    #[wasm_bindgen(js_name = exportEdgeProfile)]
    pub fn export_edge_profile(&self, profile: &[u8]) -> Result<Vec<u8>, JsError> {
        let p = self.profile(profile)?;
        Ok(encode_edge_profile(&p.state))
    }

    /// Reads an edge profile blob (from `exportEdgeProfile`) back into profile bytes.
    #[wasm_bindgen(js_name = importEdgeProfile)]
    pub fn import_edge_profile(&self, blob: &[u8]) -> Result<Vec<u8>, JsError> {
        let state =
            decode_edge_profile(blob, self.ranker.profile_len()).map_err(|e| js_error("invalid edge profile", e))?;
        Ok(Profile { state, last_ts: None, events: 0 }.to_bytes())
    }

    /// Profile bytes from a raw profile vector (e.g. one sent to an edge worker as JSON).
    ///
    /// @throws Error when the length is not this model's profile length or a value is not finite.
    #[wasm_bindgen(js_name = profileFromVector)]
    pub fn profile_from_vector(&self, values: Vec<f32>) -> Result<Vec<u8>, JsError> {
        let expected = self.ranker.profile_len();
        if values.len() != expected {
            return Err(js_error(
                "invalid profile",
                format!("it has {} values but this model's profiles have {expected}", values.len()),
            ));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(js_error("invalid profile", "it contains NaN or infinite values"));
        }
        Ok(Profile { state: values, last_ts: None, events: 0 }.to_bytes())
    }

    fn profile(&self, bytes: &[u8]) -> Result<Profile, JsError> {
        let p = Profile::from_bytes(bytes).map_err(|e| js_error("invalid profile", e))?;
        if p.state.len() != self.ranker.profile_len() {
            return Err(js_error(
                "invalid profile",
                format!(
                    "it has {} values but this model's profiles have {}; it belongs to another model",
                    p.state.len(),
                    self.ranker.profile_len()
                ),
            ));
        }
        Ok(p)
    }
}

/// A ranking as typed arrays: best first.
#[wasm_bindgen]
pub struct Ranking {
    order: Vec<u32>,
    scores: Vec<f32>,
    sources: Vec<u8>,
}

#[wasm_bindgen]
impl Ranking {
    /// Input positions, best first.
    #[wasm_bindgen(getter)]
    pub fn order(&self) -> Vec<u32> {
        self.order.clone()
    }

    /// Scores in ranked order.
    #[wasm_bindgen(getter)]
    pub fn scores(&self) -> Vec<f32> {
        self.scores.clone()
    }

    /// How each item's vector was found, in ranked order: 0 catalog, 1 title, 2 unknown.
    #[wasm_bindgen(getter)]
    pub fn sources(&self) -> Vec<u8> {
        self.sources.clone()
    }
}

/// Reads the candidate array, checking its shape first so the message says what is wrong.
fn candidates_from_js(candidates: &JsValue) -> Result<Vec<JsCandidate>, JsError> {
    if !js_sys::Array::is_array(candidates) {
        return Err(js_error("invalid candidates", "expected an array of { id, title?, score? }"));
    }
    let n = js_sys::Array::from(candidates).length() as usize;
    if n > MAX_CANDIDATES {
        return Err(js_error(
            "cannot rerank",
            format!("{n} candidates is more than the {MAX_CANDIDATES} one call accepts"),
        ));
    }
    serde_wasm_bindgen::from_value(candidates.clone())
        .map_err(|e| js_error("invalid candidates", format!("{e} (each candidate needs a string id)")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(super::version(), env!("CARGO_PKG_VERSION"));
    }
}
