//! `Ranker::from_bytes` on arbitrary bytes: errors are fine, panics are not.
//!
//! Each input is tried twice: as a whole file, and as the *body* of a file whose header
//! and checksum are made valid around it — otherwise nearly every mutation would stop at
//! the checksum and the tensor and manifest parsing would go unfuzzed. Inputs that load
//! are used once (a profile update and a rerank, with a candidate whose code is cut from
//! the input; then a list long enough for the code tables, with codes made from the input
//! for the artifact's codebooks) to reach the runtime code too. Seed the corpus with real
//! artifacts: a table one, one with its catalog as codes (`trainer export --items codes`)
//! and a catalog-free core one (`--items core`), see `fuzz/run.sh`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pocketrank_runtime::artifact::frame;
use pocketrank_runtime::{Candidate, EventKind, Ranker, ShopperEvent};

fn exercise(bytes: &[u8]) {
    if let Ok(ranker) = Ranker::from_bytes(bytes) {
        let mut profile = ranker.new_profile();
        let id = ranker.manifest().item_ids.first().cloned().unwrap_or_default();
        let event = ShopperEvent { item_id: &id, kind: EventKind::View, ts: 0.0, code: None, title: Some("x") };
        let _ = ranker.observe(&mut profile, &event);
        let code = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]);
        let candidates = [
            Candidate { id: &id, code: None, title: None, score: Some(f32::NAN) },
            Candidate { id: "new", code: Some(&code), title: Some("x"), score: None },
            Candidate::default(),
        ];
        let _ = ranker.rerank(&profile, &candidates);

        // 400 candidates: catalog items and codes this model reads, through the code tables.
        let Some(books) = ranker.codebooks() else { return };
        let coded: Vec<String> = bytes
            .chunks(books.m.max(1))
            .take(8)
            .map(|c| books.code_string(&c.iter().cycle().take(books.m).copied().collect::<Vec<u8>>()))
            .collect();
        let ids = &ranker.manifest().item_ids;
        let long: Vec<Candidate> = (0..400)
            .map(|i| Candidate {
                id: ids.get(i % ids.len().max(1)).map_or("", String::as_str),
                code: (i % 3 != 0).then(|| coded.get(i % coded.len().max(1)).map(String::as_str)).flatten(),
                title: None,
                score: (i % 5 == 0).then_some(i as f32),
            })
            .collect();
        let _ = ranker.rerank(&profile, &long);
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    exercise(&frame(data));
});
