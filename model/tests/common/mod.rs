//! A small random student exported as an artifact, for runtime tests.

use std::collections::HashMap;

use burn::backend::Flex;
use pocketrank_model::artifact::{Artifact, Dims, Encoding, Manifest};
use pocketrank_model::student::StudentConfig;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::text::ItemTokens;

/// `n_items` items named `item-0..`, each with a few title tokens.
pub fn small_artifact(n_items: usize) -> Artifact {
    let (vocab, d, hidden) = (30, 8, 8);
    let device = Default::default();
    let student = StudentConfig::new(n_items, vocab).with_d(d).with_hidden(hidden).init::<Flex>(&device);
    let per_item: Vec<Vec<u32>> =
        (0..n_items as u32).map(|i| (0..1 + i % 4).map(|k| 1 + (i * 7 + k) % 29).collect()).collect();
    let text = ItemText::<Flex>::new(&ItemTokens::new(&per_item, 4), &device);
    let dims = Dims { n_items, d, hidden, vocab_size: vocab, title_tokens: 4 };
    let ids = (0..n_items).map(|i| format!("item-{i}")).collect();
    let manifest = Manifest::new(dims, ids, "small", Encoding::Int8);
    Artifact::new(manifest, student.export_tensors(&text), None)
}

/// The artifact's bytes with the item table in int8.
pub fn encode(artifact: &Artifact) -> Vec<u8> {
    let enc: HashMap<String, Encoding> = [("items".to_string(), Encoding::Int8)].into_iter().collect();
    artifact.encode(&enc).expect("encodes")
}
