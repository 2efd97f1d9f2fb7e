//! Writes what the native runtime computes for a fixed shopping session on an artifact, so
//! other runtimes (the WebAssembly package in Node, browsers and workerd) can be checked
//! against it.
//!
//! `cargo run -p pocketrank-runtime --example parity_fixture -- model.pkr fixture.json`

use pocketrank_runtime::{Candidate, EventKind, Ranker, ShopperEvent};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(artifact), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: parity_fixture MODEL.pkr FIXTURE.json".into());
    };
    let ranker = Ranker::from_bytes(&std::fs::read(&artifact)?)?;
    let ids = &ranker.manifest().item_ids;
    let n = ids.len();

    // A session: catalog items of mixed kinds, one unknown item with a title.
    let kinds = [EventKind::View, EventKind::View, EventKind::Cart, EventKind::Purchase];
    let mut events = Vec::new();
    for k in 0..8 {
        let item = ids[(k * 37 + 11) % n].clone();
        events.push((item, kinds[k % 4], 1_700_000_000_000.0 + 95_000.0 * (k * k) as f64, None::<String>));
    }
    events.push(("not-in-catalog-1".into(), EventKind::View, 1_700_000_900_000.0, Some("Matte red lipstick".into())));
    let mut profile = ranker.new_profile();
    for (id, kind, ts_ms, title) in &events {
        let e = ShopperEvent { item_id: id, kind: *kind, ts: ts_ms / 1000.0, code: None, title: title.as_deref() };
        ranker.observe(&mut profile, &e)?;
    }

    // 1,000 candidates: catalog items (some with server scores), duplicates, unknown ids.
    let mut candidates: Vec<(String, Option<String>, Option<f32>)> = (0..990)
        .map(|i| (ids[(i * 13 + 5) % n].clone(), None, (i % 3 == 0).then_some(1.0 - i as f32 / 990.0)))
        .collect();
    candidates.push((ids[5 % n].clone(), None, None));
    candidates.push((ids[18 % n].clone(), None, Some(0.5)));
    for u in 0..8 {
        let title = (u % 2 == 0).then(|| format!("Nail polish shade {u}"));
        candidates.push((format!("unknown-{u}"), title, None));
    }
    let borrowed: Vec<Candidate> =
        candidates.iter().map(|(id, t, s)| Candidate { id, code: None, title: t.as_deref(), score: *s }).collect();
    let ranked = ranker.rerank(&profile, &borrowed)?;

    let fixture = json!({
        "modelVersion": ranker.model_version(),
        "events": events.iter().map(|(id, kind, ts, title)| json!({"itemId": id, "kind": kind.as_str(), "ts": ts, "title": title})).collect::<Vec<_>>(),
        "candidates": candidates.iter().map(|(id, title, score)| json!({"id": id, "title": title, "score": score})).collect::<Vec<_>>(),
        "profile": profile.state,
        "ranked": ranked.iter().map(|s| json!({"index": s.index, "score": s.score})).collect::<Vec<_>>(),
    });
    std::fs::write(&out, serde_json::to_string(&fixture)?)?;
    println!("wrote {out}: {} events, {} candidates", events.len(), candidates.len());
    Ok(())
}
