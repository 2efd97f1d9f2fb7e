//! Small artifacts built straight from the student layout, with seeded pseudo-random
//! weights: runtime tests need no training stack.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use pocketrank_runtime::artifact::{Artifact, Dims, Encoding, Manifest, Weights};
use pocketrank_runtime::layout::{self, LAYERS};

/// Deterministic values in `[-0.5, 0.5)` (a 64-bit LCG).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

/// `n_items` items named `item-0..`, d = 8, hidden = 8, every tensor the layout names.
pub fn small_artifact(n_items: usize) -> Artifact {
    artifact(Dims { n_items, d: 8, hidden: 8, vocab_size: 30, title_tokens: 4 }, "item-")
}

/// An artifact of any dimensions, items named `<prefix>0..`, weights seeded pseudo-random.
pub fn artifact(dims: Dims, prefix: &str) -> Artifact {
    let n_items = dims.n_items;
    let mut tensors = BTreeMap::new();
    let mut seed = 1;
    let mut add = |name: String, shape: Vec<usize>| {
        seed += 1;
        let n = shape.iter().product();
        tensors.insert(name, Weights::new(shape, values(n, seed)));
    };
    add(layout::ITEMS.into(), vec![n_items, dims.d]);
    add(layout::UNKNOWN_ITEM.into(), vec![dims.d]);
    add(layout::TOKENS.into(), vec![dims.vocab_size, dims.d]);
    for l in &LAYERS {
        add(l.weight_name(), l.weight_shape(&dims).to_vec());
        if l.bias {
            add(l.bias_name(), vec![l.output.of(&dims)]);
        }
    }
    let ids = (0..n_items).map(|i| format!("{prefix}{i}")).collect();
    Artifact::new(Manifest::new(dims, ids, "small", Encoding::Int8), tensors, None)
}

/// The artifact's bytes with the item table in int8.
pub fn encode(artifact: &Artifact) -> Vec<u8> {
    let enc: HashMap<String, Encoding> = [(layout::ITEMS.to_string(), Encoding::Int8)].into_iter().collect();
    artifact.encode(&enc).expect("encodes")
}

/// `body` wrapped in a valid header and checksum, as the fuzz target does: so that
/// mutations reach the tensor and manifest parsing instead of stopping at the checksum.
pub fn seal(body: &[u8]) -> Vec<u8> {
    pocketrank_runtime::artifact::frame(body)
}

/// The body of an encoded artifact (between header and checksum).
pub fn body(bytes: &[u8]) -> &[u8] {
    pocketrank_runtime::artifact::body_of(bytes).expect("a whole artifact")
}

/// `artifact` with seeded codebooks of `m` subspaces (`d` must be a multiple of `m`).
pub fn with_codebooks(mut artifact: Artifact, m: usize, seed: u64) -> Artifact {
    let d = artifact.manifest.dims.d;
    let shape = vec![m, pocketrank_runtime::codes::CENTROIDS, d / m];
    let n = shape.iter().product();
    artifact.tensors.insert(pocketrank_runtime::codes::CODEBOOKS.into(), Weights::new(shape, values(n, seed)));
    artifact
}

/// The codebooks of an artifact built by [`with_codebooks`].
pub fn codebooks(artifact: &Artifact) -> pocketrank_runtime::Codebooks {
    let w = &artifact.tensors[pocketrank_runtime::codes::CODEBOOKS];
    pocketrank_runtime::Codebooks::new(artifact.manifest.dims.d, w.shape[0], w.values.clone()).expect("codebooks")
}

/// `artifact` (with codebooks) carrying its item table as codes: each item's row is
/// replaced by its nearest code.
pub fn coded(mut artifact: Artifact) -> Artifact {
    let books = codebooks(&artifact);
    let items = artifact.tensors.remove(layout::ITEMS).expect("an item table");
    let codes = items.values.chunks_exact(books.d()).flat_map(|row| books.assign(row)).collect();
    artifact.item_codes = Some(pocketrank_runtime::artifact::ItemCodes { m: books.m, codes });
    artifact.manifest.item_encoding = Encoding::Codes;
    artifact
}

/// The catalog-free core of `artifact`: no item table, no item ids.
pub fn core(mut artifact: Artifact) -> Artifact {
    artifact.tensors.remove(layout::ITEMS);
    artifact.item_codes = None;
    artifact.manifest.item_ids.clear();
    artifact.manifest.dims.n_items = 0;
    artifact.manifest.item_encoding = Encoding::Codes;
    artifact
}
