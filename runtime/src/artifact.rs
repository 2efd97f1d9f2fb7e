//! The artifact: one file that carries a trained student to every runtime.
//!
//! ```text
//! offset 0   magic  b"PKRANK\r\n"            (8 bytes; \r\n catches text-mode mangling)
//!        8   format version, u32 LE          (this code reads FORMAT_VERSION only)
//!       12   body length, u64 LE
//!       20   body: a safetensors file         (little-endian tensors by name; the JSON
//!                                              manifest in its metadata under "manifest";
//!                                              int8 tensors carry per-row "<name>.scale")
//!  20 + len  SHA-256 of every byte before it  (32 bytes)
//! ```
//!
//! [`Artifact::decode`] checks all of it — magic, version, length, checksum, header,
//! dtypes, finite values — and returns a typed [`ArtifactError`]; it never panics. The same
//! code runs natively and in wasm.

use std::collections::{BTreeMap, HashMap};

use half::f16;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// First bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"PKRANK\r\n";
/// The artifact format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8;
const CHECKSUM_LEN: usize = 32;
/// Largest artifact accepted (a 1M-item catalog at d = 32 in int8 is ≈ 50 MB).
pub const MAX_ARTIFACT_BYTES: usize = 512 << 20;

/// Why bytes are not a usable artifact.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ArtifactError {
    #[error("not a pocketrank artifact: {len} bytes is shorter than the {min}-byte header and checksum")]
    TooShort { len: usize, min: usize },
    #[error("not a pocketrank artifact: the file does not start with the pocketrank magic bytes")]
    BadMagic,
    #[error(
        "artifact format version {found} is not supported by this pocketrank (reads version {supported}); export the model again or upgrade the package"
    )]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("truncated artifact: expected {expected} bytes, got {found}")]
    Truncated { expected: u64, found: usize },
    #[error("artifact has {extra} unexpected bytes after its checksum")]
    TrailingBytes { extra: usize },
    #[error("artifact is larger than the {max}-byte limit")]
    TooLarge { max: usize },
    #[error("artifact checksum mismatch: the file is corrupted (a partial download or a changed byte)")]
    Checksum,
    #[error(
        "the artifact holds a {found:?} student, which this pocketrank cannot run (it runs {supported:?}); upgrade the package or export the model for it"
    )]
    UnsupportedArchitecture { found: String, supported: &'static str },
    #[error("artifact tensors are malformed: {0}")]
    Format(String),
    #[error("artifact manifest is malformed: {0}")]
    Manifest(String),
    #[error("artifact has no tensor named {0:?}")]
    MissingTensor(String),
    #[error("artifact tensor {name:?} has shape {found:?}, expected {expected:?}")]
    Shape { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("artifact tensor {name:?} has unsupported dtype {dtype}")]
    Dtype { name: String, dtype: String },
    #[error("artifact tensor {0:?} contains NaN or infinite values")]
    NonFinite(String),
}

/// How a tensor is stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    F32,
    F16,
    /// Symmetric int8 with one f32 scale per row (the first axis).
    Int8,
    /// The item table as compact codes (`item_codes`, see [`crate::codes`]); for a core
    /// artifact without any item table, the codes the candidates carry.
    Codes,
}

/// Model dimensions the runtime checks every tensor against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Catalog items in the item table.
    pub n_items: usize,
    /// Width of item vectors and of the profile.
    pub d: usize,
    /// Width of the scorer's hidden layer.
    pub hidden: usize,
    /// Token embedding rows.
    pub vocab_size: usize,
    /// Title tokens read per item.
    pub title_tokens: usize,
}

/// Where the model came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DatasetInfo {
    pub name: String,
    /// SHA-256 over the training data as the trainer saw it.
    pub fingerprint: String,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
}

/// Everything about the model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The student architecture (see [`crate::layout`]); artifacts written before the
    /// field existed hold the first one.
    #[serde(default = "first_architecture")]
    pub architecture: String,
    pub dims: Dims,
    /// The shop's item ids, in item-table order (stored as one newline-separated UTF-8
    /// tensor, `item_ids`, not in the manifest JSON).
    #[serde(skip)]
    pub item_ids: Vec<String>,
    /// SHA-256 of the tokenizer JSON the item table was built with.
    pub tokenizer_sha256: Option<String>,
    pub dataset: DatasetInfo,
    /// How the item table is stored.
    pub item_encoding: Encoding,
    /// Training settings (free-form, for the record).
    #[serde(default)]
    pub training: Record,
    /// Evaluation results (free-form, for the record).
    #[serde(default)]
    pub metrics: Record,
    /// When the artifact was exported (RFC 3339).
    pub created: String,
    /// The codebooks' fingerprint (hex SHA-256, see [`crate::codes::Codebooks`]), written by
    /// [`Artifact::encode`] from the values as stored. The artifact's checksum covers it, so a
    /// runtime reads it instead of hashing the centroids on every load (in WebAssembly's
    /// first-run code that hash was most of a cold start). Absent: computed at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codebooks_sha256: Option<String>,
    /// The basket head's weights (see [`crate::basket`]), when the model was distilled on
    /// basket data; without them a rerank in the basket context is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basket: Option<crate::basket::BasketWeights>,
}

/// Free-form JSON in the manifest (the training settings, the evaluation results), kept as
/// written: a device loading the model never needs it, so it is checked as JSON but not
/// built into values (a trained model's metrics are kilobytes of numbers).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Record(Box<serde_json::value::RawValue>);

impl Record {
    /// The record of `value`.
    pub fn new(value: &serde_json::Value) -> Self {
        // A `Value` always serialises; the fallback keeps this infallible.
        serde_json::value::to_raw_value(value).map(Self).unwrap_or_default()
    }

    /// The record as a JSON value (parsed on each call).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// The JSON text as written.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Default for Record {
    /// `null`.
    fn default() -> Self {
        Self(serde_json::value::RawValue::NULL.to_owned())
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

fn first_architecture() -> String {
    crate::layout::ARCHITECTURE.to_string()
}

impl Manifest {
    /// A manifest with the required fields; the record fields (training, metrics,
    /// created, tokenizer hash, dataset counts) start empty.
    pub fn new(dims: Dims, item_ids: Vec<String>, dataset_name: &str, item_encoding: Encoding) -> Self {
        Self {
            architecture: crate::layout::ARCHITECTURE.to_string(),
            dims,
            item_ids,
            tokenizer_sha256: None,
            dataset: DatasetInfo { name: dataset_name.to_string(), ..Default::default() },
            item_encoding,
            training: Record::default(),
            metrics: Record::default(),
            created: String::new(),
            codebooks_sha256: None,
            basket: None,
        }
    }
}

/// A dense f32 tensor (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
    /// For a tensor stored in int8: the stored values and row scales (`values` are their
    /// products), which the integer kernel reads as they are.
    pub int8: Option<Int8Rows>,
}

impl Weights {
    pub fn new(shape: Vec<usize>, values: Vec<f32>) -> Self {
        Self { shape, values, int8: None }
    }
}

/// An int8 tensor as stored: row `i` is `values[i] · scales[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Rows {
    /// Row-major, as the tensor's shape.
    pub values: Vec<i8>,
    /// One per row (the first axis).
    pub scales: Vec<f32>,
}

/// A decoded artifact: manifest, f32 weights (dequantised) and the optional tokenizer.
#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub manifest: Manifest,
    pub tensors: BTreeMap<String, Weights>,
    /// The tokenizer JSON, when embedded (lets the runtime score unknown items by title).
    pub tokenizer: Option<String>,
    /// The item table as codes, `u8 [n_items, m]` row-major, when the artifact carries
    /// it that way (see [`crate::codes`]).
    pub item_codes: Option<ItemCodes>,
    /// SHA-256 of the file, set by [`decode`](Self::decode) (zero for an unsaved artifact).
    pub checksum: [u8; 32],
}

/// Per-item codes stored in an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemCodes {
    /// Bytes per item.
    pub m: usize,
    /// `[items, m]`.
    pub codes: Vec<u8>,
}

const TOKENIZER_TENSOR: &str = "tokenizer.json";
const ITEM_IDS_TENSOR: &str = "item_ids";
const MANIFEST_KEY: &str = "manifest";

/// Wraps a safetensors body in the artifact's header and checksum (what
/// [`Artifact::encode`] does last). Tests and the fuzzer use it to make mutated bodies
/// reach the parsers behind the checksum.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + CHECKSUM_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// The safetensors body of framed artifact bytes (between header and checksum), when
/// the bytes are long enough to have one.
pub fn body_of(bytes: &[u8]) -> Option<&[u8]> {
    bytes.get(HEADER_LEN..bytes.len().checked_sub(CHECKSUM_LEN)?)
}

fn quantize_rows(w: &Weights) -> (Vec<u8>, Vec<u8>) {
    let cols = w.shape.iter().skip(1).product::<usize>().max(1);
    let (mut q, mut scales) = (Vec::with_capacity(w.values.len()), Vec::new());
    for row in w.values.chunks(cols) {
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        // The scale is stored as f16: quantise with the value that will be read back.
        let scale = f16::from_f32(if max > 0.0 { max / 127.0 } else { 1.0 }).to_f32();
        let scale = if scale > 0.0 && scale.is_finite() { scale } else { 1.0 };
        q.extend(row.iter().map(|v| ((v / scale).round().clamp(-127.0, 127.0) as i8) as u8));
        scales.extend_from_slice(&f16::from_f32(scale).to_le_bytes());
    }
    (q, scales)
}

impl Artifact {
    /// A new artifact (checksum unset until encoded and decoded).
    pub fn new(manifest: Manifest, tensors: BTreeMap<String, Weights>, tokenizer: Option<String>) -> Self {
        Self { manifest, tensors, tokenizer, item_codes: None, checksum: [0; 32] }
    }

    /// A short version tag that changes whenever any byte of the model changes:
    /// the dataset name and the first 12 hex digits of the checksum.
    pub fn model_version(&self) -> String {
        let hex: String = self.checksum[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{hex}", self.manifest.dataset.name)
    }

    /// Serialises the artifact. Tensors named in `encodings` are stored that way (the rest
    /// as f32); the manifest's `item_encoding` should name how `"items"` is stored.
    pub fn encode(&self, encodings: &HashMap<String, Encoding>) -> Result<Vec<u8>, ArtifactError> {
        let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        for (name, w) in &self.tensors {
            if w.shape.iter().product::<usize>() != w.values.len() {
                return Err(ArtifactError::Shape {
                    name: name.clone(),
                    expected: w.shape.clone(),
                    found: vec![w.values.len()],
                });
            }
            match encodings.get(name).copied().unwrap_or_default() {
                Encoding::F32 => {
                    let bytes = w.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    owned.push((name.clone(), Dtype::F32, w.shape.clone(), bytes));
                }
                Encoding::F16 => {
                    let bytes = w.values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
                    owned.push((name.clone(), Dtype::F16, w.shape.clone(), bytes));
                }
                // Only the item table has codes (`item_codes`); any other tensor stays f32.
                Encoding::Codes => {
                    let bytes = w.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                    owned.push((name.clone(), Dtype::F32, w.shape.clone(), bytes));
                }
                Encoding::Int8 => {
                    let (q, scales) = quantize_rows(w);
                    let rows = w.shape.first().copied().unwrap_or(1);
                    owned.push((name.clone(), Dtype::I8, w.shape.clone(), q));
                    owned.push((format!("{name}.scale"), Dtype::F16, vec![rows], scales));
                }
            }
        }
        if let Some(c) = &self.item_codes {
            let rows = c.codes.len().checked_div(c.m).unwrap_or(0);
            if rows * c.m != c.codes.len() {
                return Err(ArtifactError::Shape {
                    name: crate::codes::ITEM_CODES.into(),
                    expected: vec![rows, c.m],
                    found: vec![c.codes.len()],
                });
            }
            owned.push((crate::codes::ITEM_CODES.into(), Dtype::U8, vec![rows, c.m], c.codes.clone()));
        }
        if let Some(t) = &self.tokenizer {
            owned.push((TOKENIZER_TENSOR.into(), Dtype::U8, vec![t.len()], t.as_bytes().to_vec()));
        }
        if let Some(bad) = self.manifest.item_ids.iter().find(|id| id.contains('\n')) {
            return Err(ArtifactError::Manifest(format!("item id {bad:?} contains a line break")));
        }
        let ids = self.manifest.item_ids.join("\n").into_bytes();
        owned.push((ITEM_IDS_TENSOR.into(), Dtype::U8, vec![ids.len()], ids));
        let views = owned
            .iter()
            .map(|(n, dt, shape, bytes)| Ok((n.clone(), TensorView::new(*dt, shape.clone(), bytes)?)))
            .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| ArtifactError::Format(e.to_string()))?;
        let mut manifest = self.manifest.clone();
        manifest.codebooks_sha256 = self.codebooks_fingerprint(encodings);
        let manifest = serde_json::to_string(&manifest).map_err(|e| ArtifactError::Manifest(e.to_string()))?;
        let meta = std::iter::once((MANIFEST_KEY.to_string(), manifest)).collect();
        let body = safetensors::serialize(views, Some(meta)).map_err(|e| ArtifactError::Format(e.to_string()))?;
        Ok(frame(&body))
    }

    /// The fingerprint of the codebooks as [`encode`](Self::encode) stores them (f32 or f16).
    /// `None` without codebooks, stored another way or malformed (a loader computes it, or
    /// rejects the tensor).
    fn codebooks_fingerprint(&self, encodings: &HashMap<String, Encoding>) -> Option<String> {
        let w = self.tensors.get(crate::codes::CODEBOOKS)?;
        let stored: Vec<f32> = match encodings.get(crate::codes::CODEBOOKS).copied().unwrap_or_default() {
            Encoding::F32 | Encoding::Codes => w.values.clone(),
            Encoding::F16 => w.values.iter().map(|v| f16::from_f32(*v).to_f32()).collect(),
            Encoding::Int8 => return None,
        };
        let [m, crate::codes::CENTROIDS, sub] = w.shape[..] else { return None };
        crate::codes::Codebooks::new(m * sub, m, stored).ok().map(|b| b.fingerprint_hex())
    }

    /// Reads and fully verifies an artifact.
    pub fn decode(bytes: &[u8]) -> Result<Self, ArtifactError> {
        Self::decode_with_digest(bytes, None)
    }

    /// [`decode`](Self::decode) where the caller already computed the SHA-256 of every byte
    /// but the last 32 (e.g. with the platform's native WebCrypto, much faster than hashing
    /// in WebAssembly). A wrong digest is a checksum error, as if the file were corrupted.
    pub fn decode_with_digest(bytes: &[u8], digest: Option<[u8; 32]>) -> Result<Self, ArtifactError> {
        let min = HEADER_LEN + CHECKSUM_LEN;
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(if bytes.len() < 8 && MAGIC.starts_with(bytes) {
                ArtifactError::TooShort { len: bytes.len(), min }
            } else {
                ArtifactError::BadMagic
            });
        }
        if bytes.len() < min {
            return Err(ArtifactError::TooShort { len: bytes.len(), min });
        }
        if bytes.len() > MAX_ARTIFACT_BYTES {
            return Err(ArtifactError::TooLarge { max: MAX_ARTIFACT_BYTES });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
        if version != FORMAT_VERSION {
            return Err(ArtifactError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        let body_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default());
        let expected = (HEADER_LEN as u64).saturating_add(body_len).saturating_add(CHECKSUM_LEN as u64);
        if (bytes.len() as u64) < expected {
            return Err(ArtifactError::Truncated { expected, found: bytes.len() });
        }
        if (bytes.len() as u64) > expected {
            return Err(ArtifactError::TrailingBytes { extra: bytes.len() - expected as usize });
        }
        let end = HEADER_LEN + body_len as usize;
        let mut checksum = [0u8; 32];
        checksum.copy_from_slice(&bytes[end..]);
        let actual = match digest {
            Some(d) => d,
            None => Sha256::digest(&bytes[..end]).into(),
        };
        if actual != checksum {
            return Err(ArtifactError::Checksum);
        }
        let body = &bytes[HEADER_LEN..end];
        let format = |e: safetensors::SafeTensorError| ArtifactError::Format(e.to_string());
        let (_, metadata) = SafeTensors::read_metadata(body).map_err(format)?;
        let manifest_json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(MANIFEST_KEY))
            .ok_or_else(|| ArtifactError::Manifest("no manifest in the metadata".into()))?;
        let mut manifest: Manifest =
            serde_json::from_str(manifest_json).map_err(|e| ArtifactError::Manifest(e.to_string()))?;
        let st = SafeTensors::deserialize(body).map_err(format)?;

        let mut tensors = BTreeMap::new();
        let mut tokenizer = None;
        let mut item_codes = None;
        for (name, view) in st.iter() {
            if name.ends_with(".scale") && st.tensor(&name[..name.len() - 6]).is_ok_and(|t| t.dtype() == Dtype::I8) {
                continue;
            }
            if name == ITEM_IDS_TENSOR {
                let text = std::str::from_utf8(view.data())
                    .map_err(|_| ArtifactError::Format("the item ids are not UTF-8".into()))?;
                manifest.item_ids =
                    if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_string).collect() };
                continue;
            }
            if name == TOKENIZER_TENSOR {
                let text = std::str::from_utf8(view.data())
                    .map_err(|_| ArtifactError::Format("the embedded tokenizer is not UTF-8".into()))?;
                tokenizer = Some(text.to_string());
                continue;
            }
            if name == crate::codes::ITEM_CODES {
                let (shape, dtype) = (view.shape(), view.dtype());
                let [_, m] = shape else {
                    return Err(ArtifactError::Format(format!("{name} must be a matrix, not of shape {shape:?}")));
                };
                if dtype != Dtype::U8 {
                    return Err(ArtifactError::Dtype { name: name.to_string(), dtype: format!("{dtype:?}") });
                }
                item_codes = Some(ItemCodes { m: *m, codes: view.data().to_vec() });
                continue;
            }
            let (values, int8) = decode_values(&st, name, &view)?;
            if values.iter().any(|v| !v.is_finite()) {
                return Err(ArtifactError::NonFinite(name.to_string()));
            }
            tensors.insert(name.to_string(), Weights { int8, ..Weights::new(view.shape().to_vec(), values) });
        }
        Ok(Self { manifest, tensors, tokenizer, item_codes, checksum })
    }

    /// Moves the tensor `name` out, checked to have `shape` (no copy).
    pub fn take_tensor(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ArtifactError> {
        self.tensor(name, shape)?;
        Ok(self.tensors.remove(name).map(|w| w.values).unwrap_or_default())
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<&[f32], ArtifactError> {
        let w = self.tensors.get(name).ok_or_else(|| ArtifactError::MissingTensor(name.to_string()))?;
        if w.shape != shape {
            return Err(ArtifactError::Shape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: w.shape.clone(),
            });
        }
        Ok(&w.values)
    }
}

/// A tensor's values in f32, and for an int8 tensor its stored values and row scales.
fn decode_values(
    st: &SafeTensors<'_>,
    name: &str,
    view: &TensorView<'_>,
) -> Result<(Vec<f32>, Option<Int8Rows>), ArtifactError> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::F32 => (data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(), None),
        Dtype::F16 => (data.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(), None),
        Dtype::I8 => {
            let rows = view.shape().first().copied().unwrap_or(1);
            let cols = view.shape().iter().skip(1).product::<usize>();
            let scale_name = format!("{name}.scale");
            let scales = st.tensor(&scale_name).map_err(|_| ArtifactError::MissingTensor(scale_name.clone()))?;
            if scales.shape() != [rows] {
                return Err(ArtifactError::Shape {
                    name: scale_name,
                    expected: vec![rows],
                    found: scales.shape().to_vec(),
                });
            }
            let scales: Vec<f32> = match scales.dtype() {
                Dtype::F32 => {
                    scales.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
                }
                Dtype::F16 => {
                    scales.data().chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()
                }
                other => return Err(ArtifactError::Dtype { name: scale_name, dtype: format!("{other:?}") }),
            };
            if cols == 0 {
                (Vec::new(), None)
            } else {
                let mut out = Vec::with_capacity(data.len());
                for (row, &s) in data.chunks_exact(cols).zip(&scales) {
                    out.extend(row.iter().map(|&q| f32::from(q as i8) * s));
                }
                let mut values = vec![0i8; data.len()];
                values.iter_mut().zip(data).for_each(|(v, &q)| *v = q as i8);
                (out, Some(Int8Rows { values, scales }))
            }
        }
        other => return Err(ArtifactError::Dtype { name: name.to_string(), dtype: format!("{other:?}") }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Artifact {
        let manifest = Manifest {
            architecture: crate::layout::ARCHITECTURE.to_string(),
            dims: Dims { n_items: 3, d: 2, hidden: 2, vocab_size: 1, title_tokens: 4 },
            item_ids: vec!["a".into(), "b".into(), "c".into()],
            tokenizer_sha256: None,
            dataset: DatasetInfo { name: "toy".into(), ..Default::default() },
            item_encoding: Encoding::Int8,
            training: Record::default(),
            metrics: Record::new(&serde_json::json!({"ndcg@10": 0.5})),
            created: "2026-01-01T00:00:00Z".into(),
            codebooks_sha256: None,
            basket: None,
        };
        let mut tensors = BTreeMap::new();
        tensors.insert("items".into(), Weights::new(vec![3, 2], vec![1.0, -0.5, 0.25, 0.0, 0.0, 0.0]));
        tensors.insert("bias".into(), Weights::new(vec![2], vec![0.1, -0.2]));
        Artifact::new(manifest, tensors, Some("{\"tok\": 1}".into()))
    }

    fn encodings(items: Encoding) -> HashMap<String, Encoding> {
        [("items".to_string(), items)].into_iter().collect()
    }

    #[test]
    fn round_trips_every_encoding() {
        let a = sample();
        for enc in [Encoding::F32, Encoding::F16, Encoding::Int8] {
            let bytes = a.encode(&encodings(enc)).unwrap();
            let back = Artifact::decode(&bytes).unwrap();
            assert_eq!(back.manifest, a.manifest);
            assert_eq!(back.tokenizer, a.tokenizer);
            assert_eq!(back.tensors["bias"], a.tensors["bias"], "f32 tensors are exact");
            let (x, y) = (&back.tensors["items"].values, &a.tensors["items"].values);
            let tol = if enc == Encoding::F32 { 0.0 } else { 1.0 / 127.0 };
            assert!(x.iter().zip(y).all(|(p, q)| (p - q).abs() <= tol), "{enc:?}: {x:?} vs {y:?}");
            assert_eq!(back.checksum.as_slice(), &bytes[bytes.len() - 32..]);
            assert!(back.model_version().starts_with("toy-"));
        }
    }

    #[test]
    fn every_corruption_is_a_typed_error() {
        let bytes = sample().encode(&encodings(Encoding::Int8)).unwrap();
        assert!(matches!(Artifact::decode(&[]), Err(ArtifactError::TooShort { .. })));
        assert!(matches!(Artifact::decode(b"{\"not\": 1}"), Err(ArtifactError::BadMagic)));
        assert!(matches!(Artifact::decode(&bytes[..40]), Err(ArtifactError::TooShort { .. })));
        assert!(matches!(Artifact::decode(&bytes[..60]), Err(ArtifactError::Truncated { .. })));
        assert!(matches!(Artifact::decode(&bytes[..bytes.len() - 1]), Err(ArtifactError::Truncated { .. })));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(Artifact::decode(&longer), Err(ArtifactError::TrailingBytes { extra: 1 })));
        let mut future = bytes.clone();
        future[8] = 2;
        assert_eq!(
            Artifact::decode(&future),
            Err(ArtifactError::UnsupportedVersion { found: 2, supported: FORMAT_VERSION })
        );
        for at in [HEADER_LEN + 3, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert_eq!(Artifact::decode(&flipped), Err(ArtifactError::Checksum), "byte {at}");
        }
    }

    #[test]
    fn non_finite_weights_are_refused_and_shapes_checked() {
        let mut a = sample();
        a.tensors.get_mut("bias").unwrap().values[0] = f32::NAN;
        let bytes = a.encode(&HashMap::new()).unwrap();
        assert_eq!(Artifact::decode(&bytes), Err(ArtifactError::NonFinite("bias".into())));
        let ok = Artifact::decode(&sample().encode(&HashMap::new()).unwrap()).unwrap();
        assert!(ok.tensor("bias", &[2]).is_ok());
        assert!(matches!(ok.tensor("bias", &[3]), Err(ArtifactError::Shape { .. })));
        assert!(matches!(ok.tensor("nope", &[1]), Err(ArtifactError::MissingTensor(_))));
    }
}
