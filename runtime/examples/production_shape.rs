//! Artifacts in the production shape (d = 64, hidden = 32, 32-byte codes, the default) with
//! Beauty's catalog size (12,101 items) and seeded pseudo-random weights, for measuring the
//! on-device cost without training a full model first: what the device pays does not
//! depend on the values. Writes, like a trained run folder:
//!
//! - `OUT/model.pkr`: the table artifact (int8 item rows, codebooks in f16), stored as the
//!   trainer stores it (every matrix in int8);
//! - `OUT/codes.pkr`: the same catalog carried as 32-byte codes (`--items codes`);
//! - `OUT/core.pkr`: the catalog-free core artifact (weights and codebooks only);
//! - `OUT/codes.jsonl`: every item's code as JSON lines `{id, code}`.
//!
//! `cargo run --release -p pocketrank-runtime --example production_shape -- OUT`
//! (then e.g. `node bench/catalog-scale.mjs OUT`).

use std::collections::HashMap;
use std::io::Write;

use pocketrank_runtime::Ranker;
use pocketrank_runtime::artifact::{Dims, Encoding};
use pocketrank_runtime::codes::CODEBOOKS;
use pocketrank_runtime::layout::ITEMS;

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).ok_or("usage: production_shape OUT")?;
    std::fs::create_dir_all(&out)?;
    let dims = Dims { n_items: 12_101, d: 64, hidden: 32, vocab_size: 6_000, title_tokens: 24 };
    let mut table = common::with_codebooks(common::artifact(dims, "B"), 32, 5);
    table.manifest.dataset.name = "production-shape".into();
    let books = common::codebooks(&table);
    let matrices = |a: &pocketrank_runtime::Artifact, e: Encoding| -> HashMap<String, Encoding> {
        let mut m: HashMap<_, _> =
            a.tensors.iter().filter(|(_, w)| w.shape.len() == 2).map(|(k, _)| (k.clone(), e)).collect();
        m.insert(CODEBOOKS.into(), Encoding::F16);
        m
    };
    std::fs::write(format!("{out}/model.pkr"), table.encode(&matrices(&table, Encoding::Int8))?)?;
    let coded = common::coded(table.clone());
    std::fs::write(format!("{out}/codes.pkr"), coded.encode(&matrices(&coded, Encoding::Int8))?)?;
    let mut core = common::core(table.clone());
    core.tokenizer = None;
    core.tensors.remove(pocketrank_runtime::layout::TOKENS);
    std::fs::write(format!("{out}/core.pkr"), core.encode(&matrices(&core, Encoding::Int8))?)?;
    // Codes of the rows as the runtime reads them (f16 codebooks), tagged for this model.
    let ranker = Ranker::from_bytes(&std::fs::read(format!("{out}/core.pkr"))?)?;
    let stored = ranker.codebooks().ok_or("no codebooks")?;
    assert_eq!(stored.m, books.m);
    let rows = &table.tensors[ITEMS].values;
    let mut lines = std::io::BufWriter::new(std::fs::File::create(format!("{out}/codes.jsonl"))?);
    for (id, row) in table.manifest.item_ids.iter().zip(rows.chunks_exact(dims.d)) {
        writeln!(lines, "{}", serde_json::json!({"id": id, "code": stored.code_string(&stored.assign(row))}))?;
    }
    lines.flush()?;
    println!("wrote {out}/model.pkr, codes.pkr, core.pkr and codes.jsonl ({} items)", dims.n_items);
    Ok(())
}
