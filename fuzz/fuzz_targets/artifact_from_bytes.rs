//! `Ranker::from_bytes` on arbitrary bytes: errors are fine, panics are not.
//!
//! Each input is tried twice: as a whole file, and as the *body* of a file whose header
//! and checksum are made valid around it — otherwise nearly every mutation would stop at
//! the checksum and the tensor and manifest parsing would go unfuzzed. Inputs that load
//! are used once (a profile update and a rerank, with a candidate whose code is cut from
//! the input) to reach the runtime code too. Seed the corpus with real artifacts, a table
//! one and a catalog-free core one (`trainer export --items core`), see `fuzz/run.sh`.
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
    }
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    exercise(&frame(data));
});
