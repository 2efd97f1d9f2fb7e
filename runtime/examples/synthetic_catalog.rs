//! A table artifact for a larger catalog, for measuring what the device pays as the catalog
//! grows: the model of `MODEL.pkr` with `N` items whose rows are the real items' rows in
//! turn (`sku-0`, `sku-1`, …), and their codes as JSON lines `{id, code}`.
//!
//! `cargo run --release -p pocketrank-runtime --example synthetic_catalog -- MODEL.pkr N OUT.pkr OUT.jsonl`

use std::collections::HashMap;
use std::io::Write;

use pocketrank_runtime::Ranker;
use pocketrank_runtime::artifact::{Artifact, Encoding};
use pocketrank_runtime::codes::CODEBOOKS;
use pocketrank_runtime::layout::ITEMS;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, n, out, jsonl] = args.as_slice() else {
        return Err("usage: synthetic_catalog MODEL.pkr N OUT.pkr OUT.jsonl".into());
    };
    let n: usize = n.parse()?;
    let bytes = std::fs::read(model)?;
    let ranker = Ranker::from_bytes(&bytes)?;
    let books = ranker.codebooks().ok_or("the model has no codebooks (export it again)")?;
    let mut artifact = Artifact::decode(&bytes)?;
    let items = artifact.tensors.get(ITEMS).ok_or("the model has no item table (export it with --items int8)")?;
    let d = items.shape[1];
    let real = items.shape[0];
    let values: Vec<f32> = (0..n).flat_map(|k| items.values[(k % real) * d..(k % real + 1) * d].to_vec()).collect();
    let codes: Vec<String> =
        (0..real).map(|i| books.code_string(&books.assign(&items.values[i * d..(i + 1) * d]))).collect();
    artifact.tensors.insert(ITEMS.into(), pocketrank_runtime::artifact::Weights::new(vec![n, d], values));
    artifact.manifest.item_ids = (0..n).map(|k| format!("sku-{k}")).collect();
    artifact.manifest.dims.n_items = n;
    // Stored as the trainer stores them: matrices in the table's encoding, codebooks in f16.
    let table = artifact.manifest.item_encoding;
    let mut encodings: HashMap<String, Encoding> =
        artifact.tensors.iter().filter(|(_, w)| w.shape.len() == 2).map(|(k, _)| (k.clone(), table)).collect();
    encodings.insert(CODEBOOKS.into(), Encoding::F16);
    std::fs::write(out, artifact.encode(&encodings)?)?;
    let mut lines = std::io::BufWriter::new(std::fs::File::create(jsonl)?);
    for k in 0..n {
        writeln!(lines, "{}", serde_json::json!({"id": format!("sku-{k}"), "code": codes[k % real]}))?;
    }
    lines.flush()?;
    println!("wrote {out} ({n} items) and {jsonl}");
    Ok(())
}
