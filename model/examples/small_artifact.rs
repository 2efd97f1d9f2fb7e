//! Writes a small, randomly initialised artifact (3 items, d = 4) — a seed for the fuzzer
//! and a minimal example of the format.
//!
//! `cargo run -p pocketrank-model --example small_artifact -- out.pkr`

use std::collections::HashMap;

use burn::backend::Flex;
use pocketrank_model::student::StudentConfig;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::text::ItemTokens;
use pocketrank_runtime::artifact::{Artifact, Dims, Encoding, Manifest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: small_artifact OUT.pkr")?;
    let (n_items, vocab, d, hidden) = (3, 5, 4, 4);
    let device = Default::default();
    let student = StudentConfig::new(n_items, vocab).with_d(d).with_hidden(hidden).init::<Flex>(&device);
    let tokens = ItemTokens::new(&[vec![1, 2], vec![3], vec![]], 2);
    let text = ItemText::<Flex>::new(&tokens, &device);
    let dims = Dims { n_items, d, hidden, vocab_size: vocab, title_tokens: 2 };
    let manifest = Manifest::new(dims, vec!["a".into(), "b".into(), "c".into()], "small", Encoding::Int8);
    let encodings: HashMap<String, Encoding> = [("items".to_string(), Encoding::Int8)].into_iter().collect();
    let bytes = Artifact::new(manifest, student.export_tensors(&text), None).encode(&encodings)?;
    std::fs::write(&out, &bytes)?;
    println!("wrote {out} ({} bytes)", bytes.len());
    Ok(())
}
