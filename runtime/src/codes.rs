//! Compact item codes: an item's vector as `m` bytes (product quantisation).
//!
//! The student's item vector (`d` values) is cut into `m` sub-vectors of `d / m` values;
//! each is replaced by the nearest of 256 centroids of its subspace ([`Codebooks`], shared by
//! every item and shipped in the artifact). An item is then `m` bytes — 8 or 16 instead of
//! `d` int8 values plus a scale — and an artifact without any per-item table (the *core*
//! artifact) serves a catalog of any size: the shop's API sends each candidate's code.
//!
//! A code as hosts pass it is a string, base64 (URL-safe or standard, padding optional) of
//! the `m` centroid indices followed by two *tag* bytes, the first two bytes of the
//! codebooks' fingerprint. A code from another model is caught by its tag (all but 1 in
//! 65,536 of them) and the candidate falls back to the next source.
//!
//! The item-code file ([`CodeFile`]) carries codes for a whole catalog with the full
//! fingerprint; `trainer export-codes` writes it.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{self, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::artifact::{Artifact, ArtifactError};

/// Centroids, `[m, CENTROIDS, d / m]` (stored as f16).
pub const CODEBOOKS: &str = "codebooks";
/// Per-item codes when the artifact carries the catalog as codes, `u8 [n_items, m]`.
pub const ITEM_CODES: &str = "item_codes";
/// Centroids per subspace: one byte per subspace.
pub const CENTROIDS: usize = 256;
/// Bytes of the fingerprint that end every code string.
pub const TAG_LEN: usize = 2;

/// Why a candidate's code was not used.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    #[error("the code is not base64")]
    NotBase64,
    #[error("the code has {found} bytes, this model's codes have {expected}")]
    Length { expected: usize, found: usize },
    #[error("the code was made for another model (its tag does not match this model's codebooks)")]
    OtherModel,
    #[error("this model has no codebooks (export it with codes)")]
    NoCodebooks,
}

/// The shared centroids and their fingerprint.
#[derive(Debug, Clone, PartialEq)]
pub struct Codebooks {
    /// Subspaces (bytes per code).
    pub m: usize,
    /// Values per sub-vector (`d / m`).
    pub sub: usize,
    /// `[m, CENTROIDS, sub]`, row-major.
    pub centroids: Vec<f32>,
    fingerprint: [u8; 32],
}

const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Codebooks {
    /// Codebooks for `d`-wide vectors in `m` subspaces from their centroids `[m, 256, d/m]`
    /// (hashed for their fingerprint).
    pub fn new(d: usize, m: usize, centroids: Vec<f32>) -> Result<Self, ArtifactError> {
        let fingerprint = Self::hash(d, m, &centroids);
        Self::with_fingerprint(d, m, centroids, fingerprint)
    }

    /// [`new`](Self::new) with the fingerprint already known (from a checksummed manifest).
    pub fn with_fingerprint(
        d: usize,
        m: usize,
        centroids: Vec<f32>,
        fingerprint: [u8; 32],
    ) -> Result<Self, ArtifactError> {
        if m == 0 || d == 0 || !d.is_multiple_of(m) || m > 256 {
            return Err(ArtifactError::Manifest(format!("{m} code subspaces do not divide d = {d}")));
        }
        let sub = d / m;
        if centroids.len() != m * CENTROIDS * sub {
            return Err(ArtifactError::Shape {
                name: CODEBOOKS.into(),
                expected: vec![m, CENTROIDS, sub],
                found: vec![centroids.len()],
            });
        }
        Ok(Self { m, sub, centroids, fingerprint })
    }

    /// SHA-256 over the layout and the centroids (little-endian f32).
    fn hash(d: usize, m: usize, centroids: &[f32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"pocketrank codebooks v1");
        h.update((m as u32).to_le_bytes());
        h.update((d.checked_div(m).unwrap_or(0) as u32).to_le_bytes());
        for c in centroids {
            h.update(c.to_le_bytes());
        }
        h.finalize().into()
    }

    /// Codebooks from freshly trained centroids, rounded to the f16 the artifact stores
    /// them in, so that the fingerprint is the one every runtime computes.
    pub fn from_trained(d: usize, m: usize, centroids: &[f32]) -> Result<Self, ArtifactError> {
        let stored = centroids.iter().map(|&c| half::f16::from_f32(c).to_f32()).collect();
        Self::new(d, m, stored)
    }

    /// The codebooks of an artifact, if it has them (moved out of its tensors).
    pub fn take(artifact: &mut Artifact, d: usize) -> Result<Option<Self>, ArtifactError> {
        let Some(w) = artifact.tensors.get(CODEBOOKS) else { return Ok(None) };
        let m = match w.shape.as_slice() {
            [m, CENTROIDS, sub] if *m > 0 && m * sub == d => *m,
            _ => {
                let found = w.shape.clone();
                return Err(ArtifactError::Shape { name: CODEBOOKS.into(), expected: vec![0, CENTROIDS, 0], found });
            }
        };
        let values = artifact.take_tensor(CODEBOOKS, &[m, CENTROIDS, d / m])?;
        match &artifact.manifest.codebooks_sha256 {
            Some(hex) => Self::with_fingerprint(d, m, values, parse_sha256(hex)?).map(Some),
            None => Self::new(d, m, values).map(Some),
        }
    }

    /// Width of the vectors.
    pub fn d(&self) -> usize {
        self.m * self.sub
    }

    /// SHA-256 over the centroids as the runtime reads them: what ties codes to a model.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// The fingerprint as lowercase hex.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Writes the vector of `code` (`m` centroid indices) into `out` `[d]`.
    pub fn decode_into(&self, code: &[u8], out: &mut [f32]) {
        for ((s, &c), dst) in code.iter().enumerate().zip(out.chunks_exact_mut(self.sub)) {
            let at = (s * CENTROIDS + c as usize) * self.sub;
            dst.copy_from_slice(&self.centroids[at..at + self.sub]);
        }
    }

    /// The code (`m` centroid indices) nearest to `vector` `[d]`, subspace by subspace
    /// (values missing from a short vector read as zeros).
    pub fn assign(&self, vector: &[f32]) -> Vec<u8> {
        let mut padded = vector.to_vec();
        padded.resize(self.d(), 0.0);
        (0..self.m)
            .map(|s| {
                let x = &padded[s * self.sub..(s + 1) * self.sub];
                let book = &self.centroids[s * CENTROIDS * self.sub..(s + 1) * CENTROIDS * self.sub];
                nearest(x, book, self.sub) as u8
            })
            .collect()
    }

    /// The code string of `code` (`m` indices): URL-safe base64 of the indices and the tag.
    pub fn code_string(&self, code: &[u8]) -> String {
        let mut bytes = code.to_vec();
        bytes.extend_from_slice(&self.fingerprint[..TAG_LEN]);
        general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a code string into `m` centroid indices, checking length and tag.
    pub fn parse(&self, code: &str) -> Result<Vec<u8>, CodeError> {
        let mut out = Vec::with_capacity(self.m);
        self.parse_into(code, &mut out)?;
        Ok(out)
    }

    /// [`parse`](Self::parse), appending the `m` indices to `out` (left as it was on an
    /// error) without allocating: the rerank path reads a code per candidate.
    pub fn parse_into(&self, code: &str, out: &mut Vec<u8>) -> Result<(), CodeError> {
        let code = code.trim();
        // Standard base64 is accepted too; a byte scan, as every character of a code is ASCII.
        let engine = if code.bytes().any(|b| matches!(b, b'+' | b'/')) { &STANDARD_LENIENT } else { &URL_SAFE_LENIENT };
        // Longer strings cannot be a code: refuse them before decoding anything.
        let expected = self.m + TAG_LEN;
        if code.len() > 4 * expected.div_ceil(3) + 2 {
            return Err(CodeError::Length { expected, found: code.len() * 3 / 4 });
        }
        // m ≤ 256, so a string that passed the check above decodes to at most 261 bytes.
        let mut bytes = [0u8; 264];
        let found = engine.decode_slice(code, &mut bytes).map_err(|_| CodeError::NotBase64)?;
        if found != expected {
            return Err(CodeError::Length { expected, found });
        }
        if bytes[self.m..expected] != self.fingerprint[..TAG_LEN] {
            return Err(CodeError::OtherModel);
        }
        out.extend_from_slice(&bytes[..self.m]);
        Ok(())
    }
}

/// A SHA-256 written as 64 hex digits.
fn parse_sha256(hex: &str) -> Result<[u8; 32], ArtifactError> {
    let bad = || ArtifactError::Manifest(format!("codebooks_sha256 {hex:?} is not a SHA-256 in hex"));
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
        *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// Index of the row of `book` `[rows, width]` nearest to `x` (squared distance; ties: first).
pub fn nearest(x: &[f32], book: &[f32], width: usize) -> usize {
    let mut best = (0, f32::INFINITY);
    for (k, c) in book.chunks_exact(width).enumerate() {
        let dist: f32 = x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
        if dist < best.1 {
            best = (k, dist);
        }
    }
    best.0
}

/// First bytes of an item-code file.
pub const CODE_FILE_MAGIC: [u8; 8] = *b"PKCODES\n";
/// The item-code file format this code reads and writes.
pub const CODE_FILE_VERSION: u32 = 1;
const CODE_HEADER_LEN: usize = 8 + 4 + 4 + 8 + 32;

/// Why bytes are not a usable item-code file.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodeFileError {
    #[error("not a pocketrank item-code file: {0}")]
    Format(String),
    #[error("item-code file version {found} is not supported (this pocketrank reads version {supported})")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("item-code file checksum mismatch: the file is corrupted")]
    Checksum,
    #[error("the item codes were made for another model (codebooks {found}, this model has {expected})")]
    OtherModel { expected: String, found: String },
}

/// Codes for a whole catalog, tied to one model's codebooks by their fingerprint.
///
/// ```text
/// magic b"PKCODES\n" | version u32 LE | m u32 LE | items u64 LE | codebook fingerprint (32)
/// | codes (items × m bytes) | ids (UTF-8, newline-separated) | SHA-256 of all before (32)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFile {
    pub m: usize,
    pub fingerprint: [u8; 32],
    /// `[ids.len(), m]`.
    pub codes: Vec<u8>,
    pub ids: Vec<String>,
}

impl CodeFile {
    /// The file's bytes. Ids must not contain line breaks.
    pub fn encode(&self) -> Result<Vec<u8>, CodeFileError> {
        if self.codes.len() != self.ids.len() * self.m {
            return Err(CodeFileError::Format(format!("{} code bytes for {} items", self.codes.len(), self.ids.len())));
        }
        if let Some(bad) = self.ids.iter().find(|id| id.contains('\n')) {
            return Err(CodeFileError::Format(format!("item id {bad:?} contains a line break")));
        }
        let mut out = Vec::with_capacity(CODE_HEADER_LEN + self.codes.len() + self.ids.len() * 12 + 32);
        out.extend_from_slice(&CODE_FILE_MAGIC);
        out.extend_from_slice(&CODE_FILE_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.m as u32).to_le_bytes());
        out.extend_from_slice(&(self.ids.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.fingerprint);
        out.extend_from_slice(&self.codes);
        out.extend_from_slice(self.ids.join("\n").as_bytes());
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        Ok(out)
    }

    /// Reads and verifies an item-code file; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodeFileError> {
        let format = |m: &str| CodeFileError::Format(m.to_string());
        if bytes.len() < CODE_HEADER_LEN + 32 || bytes[..8] != CODE_FILE_MAGIC {
            return Err(format("the file does not start with the item-code header"));
        }
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let version = u32_at(8);
        if version != CODE_FILE_VERSION {
            return Err(CodeFileError::UnsupportedVersion { found: version, supported: CODE_FILE_VERSION });
        }
        let end = bytes.len() - 32;
        if Sha256::digest(&bytes[..end]).as_slice() != &bytes[end..] {
            return Err(CodeFileError::Checksum);
        }
        let m = u32_at(12) as usize;
        let mut items = [0u8; 8];
        items.copy_from_slice(&bytes[16..24]);
        let items = u64::from_le_bytes(items);
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(&bytes[24..56]);
        if m == 0 || m > 256 {
            return Err(format("the code width must be between 1 and 256 bytes"));
        }
        let code_bytes = usize::try_from(items)
            .ok()
            .and_then(|n| n.checked_mul(m))
            .filter(|&len| len <= end - CODE_HEADER_LEN)
            .ok_or_else(|| format("the file is shorter than its item count says"))?;
        let codes = bytes[CODE_HEADER_LEN..CODE_HEADER_LEN + code_bytes].to_vec();
        let text = std::str::from_utf8(&bytes[CODE_HEADER_LEN + code_bytes..end])
            .map_err(|_| format("the item ids are not UTF-8"))?;
        let ids: Vec<String> =
            if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_string).collect() };
        if ids.len() as u64 != items {
            return Err(CodeFileError::Format(format!("{} item ids for {items} codes", ids.len())));
        }
        Ok(Self { m, fingerprint, codes, ids })
    }

    /// Checks that these codes were made with `books`.
    pub fn check(&self, books: &Codebooks) -> Result<(), CodeFileError> {
        if self.fingerprint != books.fingerprint() || self.m != books.m {
            let hex = |f: &[u8; 32]| f[..6].iter().map(|b| format!("{b:02x}")).collect::<String>();
            return Err(CodeFileError::OtherModel {
                expected: hex(&books.fingerprint()),
                found: hex(&self.fingerprint),
            });
        }
        Ok(())
    }

    /// The code of item `i` (`m` bytes).
    pub fn code(&self, i: usize) -> Option<&[u8]> {
        self.codes.get(i * self.m..(i + 1) * self.m)
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn books(d: usize, m: usize) -> Codebooks {
        let sub = d / m;
        let centroids = (0..m * CENTROIDS * sub).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
        Codebooks::new(d, m, centroids).unwrap()
    }

    #[test]
    fn code_strings_round_trip_and_carry_the_model() {
        let b = books(16, 8);
        let code: Vec<u8> = (0..8).map(|i| (i * 37) as u8).collect();
        let s = b.code_string(&code);
        assert_eq!(s.len(), 14, "10 bytes in unpadded base64");
        assert_eq!(b.parse(&s).unwrap(), code);
        assert_eq!(b.parse(&format!("{s}==")).unwrap(), code, "padding is optional");
        let standard = STANDARD.encode(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&s).unwrap());
        assert_eq!(b.parse(&standard).unwrap(), code, "the standard alphabet reads too");
        let other = books(16, 4);
        assert_ne!(other.fingerprint(), b.fingerprint());
        assert!(matches!(other.parse(&s), Err(CodeError::Length { expected: 6, found: 10 })));
        let mut shifted = b.centroids.clone();
        shifted[0] += 1e-3;
        let retrained = Codebooks::new(16, 8, shifted).unwrap();
        assert_eq!(retrained.parse(&s), Err(CodeError::OtherModel));
        assert_eq!(b.parse("not base64!"), Err(CodeError::NotBase64));
        assert_eq!(b.parse(""), Err(CodeError::Length { expected: 10, found: 0 }));
        assert!(matches!(b.parse(&"A".repeat(100_000)), Err(CodeError::Length { .. })));
    }

    #[test]
    fn assign_finds_the_centroids_it_decodes_to() {
        let b = books(12, 4);
        let code = vec![3, 200, 17, 255];
        let mut v = vec![0f32; 12];
        b.decode_into(&code, &mut v);
        let back = b.assign(&v);
        let mut w = vec![0f32; 12];
        b.decode_into(&back, &mut w);
        assert_eq!(v, w, "the nearest centroid of a centroid is itself (or an equal one)");
    }

    #[test]
    fn code_files_round_trip_and_every_corruption_is_typed() {
        let b = books(8, 4);
        let file = CodeFile {
            m: 4,
            fingerprint: b.fingerprint(),
            codes: (0..12).collect(),
            ids: vec!["a".into(), "β".into(), "c".into()],
        };
        let bytes = file.encode().unwrap();
        let back = CodeFile::decode(&bytes).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.code(1), Some(&[4u8, 5, 6, 7][..]));
        assert!(back.check(&b).is_ok());
        assert!(matches!(back.check(&books(8, 2)), Err(CodeFileError::OtherModel { .. })));
        assert!(matches!(CodeFile::decode(&bytes[..20]), Err(CodeFileError::Format(_))));
        let mut flipped = bytes.clone();
        flipped[60] ^= 1;
        assert_eq!(CodeFile::decode(&flipped), Err(CodeFileError::Checksum));
        let mut future = bytes.clone();
        future[8] = 9;
        assert!(matches!(CodeFile::decode(&future), Err(CodeFileError::UnsupportedVersion { found: 9, .. })));
        let empty = CodeFile { m: 4, fingerprint: b.fingerprint(), codes: vec![], ids: vec![] };
        assert_eq!(CodeFile::decode(&empty.encode().unwrap()).unwrap(), empty);
    }
}
