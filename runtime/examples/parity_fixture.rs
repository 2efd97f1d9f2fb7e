//! Writes what the native runtime computes for a fixed shopping session on an artifact, so
//! other runtimes (the WebAssembly package in Node, browsers and workerd) can be checked
//! against it.
//!
//! `cargo run -p pocketrank-runtime --example parity_fixture -- model.pkr fixture.json`

use pocketrank_runtime::session::RerankOptions;
use pocketrank_runtime::{Candidate, Diversity, EventKind, ListContext, Ranker, RecordedEvent, Session, ShopperEvent};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(artifact), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: parity_fixture MODEL.pkr FIXTURE.json".into());
    };
    let ranker = Ranker::from_bytes(&std::fs::read(&artifact)?)?;
    let ids = &ranker.manifest().item_ids;
    let n = ids.len();

    // Codes of catalog items, when the model has codebooks (a model exported without them
    // gets none: its code candidates fall back like malformed codes do).
    let code_of = |i: usize| -> Option<String> {
        let books = ranker.codebooks()?;
        let d = ranker.profile_len();
        let row = ranker.item_table().get(i * d..(i + 1) * d)?;
        Some(books.code_string(&books.assign(row)))
    };

    // A session: catalog items of mixed kinds, one unknown item with a title, one by code.
    let kinds = [EventKind::View, EventKind::View, EventKind::Cart, EventKind::Purchase];
    let mut events = Vec::new();
    for k in 0..8 {
        let item = ids[(k * 37 + 11) % n].clone();
        events.push((item, kinds[k % 4], 1_700_000_000_000.0 + 95_000.0 * (k * k) as f64, None::<String>));
    }
    events.push(("not-in-catalog-1".into(), EventKind::View, 1_700_000_900_000.0, Some("Matte red lipstick".into())));
    let codes = [code_of(7 % n)];
    let mut profile = ranker.new_profile();
    let mut observe = |id: &str, kind: EventKind, ts_ms: f64, code: Option<&str>, title: Option<&str>| {
        ranker.observe(&mut profile, &ShopperEvent { item_id: id, kind, ts: ts_ms / 1000.0, code, title })
    };
    for (id, kind, ts_ms, title) in &events {
        observe(id, *kind, *ts_ms, None, title.as_deref())?;
    }
    let coded_event = ("new-by-code-1".to_string(), EventKind::Cart, 1_700_001_000_000.0, codes[0].clone());
    observe(&coded_event.0, coded_event.1, coded_event.2, coded_event.3.as_deref(), None)?;

    // 1,000 candidates: catalog items (some with server scores), duplicates, unknown ids,
    // new ids with codes (and two codes that do not read: malformed, wrong length).
    type Row = (String, Option<String>, Option<f32>, Option<String>);
    let mut candidates: Vec<Row> = (0..980)
        .map(|i| (ids[(i * 13 + 5) % n].clone(), None, (i % 3 == 0).then_some(1.0 - i as f32 / 980.0), None))
        .collect();
    candidates.push((ids[5 % n].clone(), None, None, None));
    candidates.push((ids[18 % n].clone(), None, Some(0.5), None));
    for u in 0..8 {
        let title = (u % 2 == 0).then(|| format!("Nail polish shade {u}"));
        candidates.push((format!("unknown-{u}"), title, None, None));
    }
    for u in 0..8 {
        candidates.push((format!("new-by-code-{u}"), None, None, code_of((u * 101 + 3) % n)));
    }
    candidates.push(("bad-code-1".into(), None, None, Some("!!".into())));
    candidates.push((ids[9 % n].clone(), None, None, Some("AAAA".into())));
    let borrowed: Vec<Candidate> = candidates
        .iter()
        .map(|(id, t, s, c)| Candidate { id, code: c.as_deref(), title: t.as_deref(), score: *s })
        .collect();
    let ranked = ranker.rerank(&profile, &borrowed)?;

    // The same events in a session, for the options that need them: explanations of the
    // first 12 and a diversified top 12 (λ 0.5, at most 3 per group of 4).
    let mut session = Session::new(&ranker);
    let recorded = events.iter().map(|(id, kind, ts, title)| (id, *kind, *ts, None, title.clone()));
    for (id, kind, ts, code, title) in
        recorded.chain([(&coded_event.0, coded_event.1, coded_event.2, coded_event.3.clone(), None)])
    {
        session.observe(&ranker, RecordedEvent { item_id: id.clone(), kind, ts, code, title })?;
    }
    let group_of = |i: usize| (i % 4) as u32 + 1;
    let diversity =
        Diversity { lambda: 0.5, max_per_group: Some(3), groups: (0..candidates.len()).map(group_of).collect() };
    let options = RerankOptions { top_k: Some(12), explain: 12, diversity, ..Default::default() };
    let diverse = session.rerank_options(&ranker, &borrowed, &options);
    if let Some(e) = diverse.error {
        return Err(e.into());
    }
    let diverse: Vec<_> = diverse
        .ranked
        .iter()
        .zip(&diverse.explanations)
        .map(|(s, because)| {
            let because: Vec<_> = because
                .iter()
                .map(|b| json!({"itemId": b.item_id, "kind": b.kind.as_str(), "share": b.share}))
                .collect();
            json!({"index": s.index, "score": s.score, "because": because})
        })
        .collect();

    // Feedback: the whole list shown as "home", its 6th place clicked; the stored record
    // then carries what was learned, and the next rerank is corrected by it.
    let mut learned = session.clone();
    let shown_at = 1_700_001_060_000.0;
    let first = learned.rerank(&ranker, &borrowed, None).ranked;
    learned.shown(&ranker, "home", &borrowed, &first, shown_at);
    let clicked = borrowed[first[5].index].id.to_string();
    let click =
        RecordedEvent { item_id: clicked, kind: EventKind::View, ts: shown_at + 3_000.0, code: None, title: None };
    learned.observe(&ranker, click)?;
    if learned.feedback().judged() == 0 {
        return Err("the click on a shown item was not learned from".into());
    }
    let adapted = learned.rerank(&ranker, &borrowed, Some(60)).ranked;

    // With a basket head: a shopper who bought two candidates last week (one of them twice)
    // and has two others in the basket now, their add-ons ranked in the basket context.
    let basket = match ranker.manifest().basket {
        Some(_) => {
            let week_ago = 1_700_000_000_000.0 - 7.0 * 86_400_000.0;
            let kinds = [(0, EventKind::Purchase, 0.0), (2, EventKind::Purchase, 60_000.0)];
            let later = [(2, EventKind::Purchase, 86_400_000.0)];
            let now = 1_700_001_200_000.0;
            let open = [(4, EventKind::Cart, now), (5, EventKind::Cart, now + 30_000.0)];
            let mut shopper = session.clone();
            let mut basket_events = Vec::new();
            for (c, kind, ts) in kinds.iter().chain(&later).map(|&(c, k, t)| (c, k, week_ago + t)).chain(open) {
                let item_id = candidates[c].0.clone();
                shopper
                    .observe(&ranker, RecordedEvent { item_id: item_id.clone(), kind, ts, code: None, title: None })?;
                basket_events.push(json!({"itemId": item_id, "kind": kind.as_str(), "ts": ts}));
            }
            let options = RerankOptions { context: ListContext::Basket, ..Default::default() };
            let out = shopper.rerank_options(&ranker, &borrowed, &options);
            if let Some(e) = out.error {
                return Err(e.into());
            }
            json!({
                "events": basket_events,
                "seen": out.seen,
                "ranked": out.ranked.iter().map(|s| json!({"index": s.index, "score": s.score})).collect::<Vec<_>>(),
            })
        }
        None => serde_json::Value::Null,
    };

    let mut events: Vec<_> = events
        .iter()
        .map(|(id, kind, ts, title)| json!({"itemId": id, "kind": kind.as_str(), "ts": ts, "title": title}))
        .collect();
    let (id, kind, ts, code) = coded_event;
    events.push(json!({"itemId": id, "kind": kind.as_str(), "ts": ts, "code": code}));
    let fixture = json!({
        "modelVersion": ranker.model_version(),
        // Built with the `text` feature: unknown items with a title are placed by it.
        "text": cfg!(feature = "text"),
        "events": events,
        "candidates": candidates.iter().enumerate().map(|(i, (id, title, score, code))| json!({"id": id, "title": title, "score": score, "code": code, "group": format!("g{}", group_of(i))})).collect::<Vec<_>>(),
        "profile": profile.state,
        "diverseOptions": {"topK": 12, "explain": 12, "diversity": 0.5, "maxPerGroup": 3},
        "diverse": diverse,
        "adaptedRecord": String::from_utf8(learned.to_bytes())?,
        // After `events`, the basket shopper's events, then the basket context's ranking.
        "basket": basket,
        "adapted": adapted.iter().map(|s| json!({"index": s.index, "score": s.score})).collect::<Vec<_>>(),
        "ranked": ranked.iter().map(|s| json!({"index": s.index, "score": s.score, "source": s.source.as_str()})).collect::<Vec<_>>(),
    });
    std::fs::write(&out, serde_json::to_string(&fixture)?)?;
    println!("wrote {out}: {} events, {} candidates", events.len(), candidates.len());
    Ok(())
}
