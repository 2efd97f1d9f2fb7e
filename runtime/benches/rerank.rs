//! Native rerank and profile-update latency of the on-device runtime.
//!
//! Uses the artifact in `POCKETRANK_ARTIFACT` when set (e.g. the exported Beauty model);
//! otherwise seeded random weights in the production shape with Beauty's catalog (12,101
//! items, d = 64, hidden = 32, 6,000 tokens, 32-byte codes) — the cost does not depend on
//! the values. `rerank` takes catalog ids, `rerank by code` the same items' codes (as a
//! shop's API sends them to a catalog-free core artifact). `session rerank 100 / basket context`
//! runs when the model has a basket head (the seeded one has).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketrank_runtime::artifact::Dims;
use pocketrank_runtime::basket::BasketWeights;
use pocketrank_runtime::session::{RECENT_EVENTS, RerankOptions};
use pocketrank_runtime::{Candidate, Diversity, EventKind, ListContext, Ranker, RecordedEvent, Session, ShopperEvent};

#[path = "../tests/common/mod.rs"]
mod common;

fn artifact_bytes() -> Vec<u8> {
    if let Ok(path) = std::env::var("POCKETRANK_ARTIFACT") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    }
    let dims = Dims { n_items: 12_101, d: 64, hidden: 32, vocab_size: 6_000, title_tokens: 24 };
    let mut a = common::with_codebooks(common::artifact(dims, "B"), 32, 5);
    // Both basket terms on, as the small Instacart model fits them.
    a.manifest.basket = Some(BasketWeights { repeat: 4.0, together: 8.0 });
    common::encode(&a)
}

/// A fixed pseudo-random index sequence (no `rand` in the runtime's dependencies).
fn picks(n: usize, of: usize, seed: u64) -> impl Iterator<Item = usize> {
    let mut x = seed;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % of as u64) as usize
    })
}

fn benches(c: &mut Criterion) {
    let bytes = artifact_bytes();
    c.bench_function("load artifact", |b| b.iter(|| Ranker::from_bytes(black_box(&bytes)).expect("load")));
    let ranker = Ranker::from_bytes(&bytes).expect("load");
    let ids = &ranker.manifest().item_ids;
    let mut profile = ranker.new_profile();
    for (k, i) in picks(10, ids.len(), 7).enumerate() {
        let id = &ids[i];
        let event =
            ShopperEvent { item_id: id, kind: EventKind::View, ts: 1e9 + 60.0 * k as f64, code: None, title: None };
        ranker.observe(&mut profile, &event).expect("observe");
    }

    c.bench_function("observe one event", |b| {
        let event = ShopperEvent { item_id: &ids[42], kind: EventKind::Cart, ts: 2e9, code: None, title: None };
        b.iter(|| {
            let mut p = profile.clone();
            ranker.observe(&mut p, black_box(&event)).expect("observe");
            p
        })
    });

    let mut group = c.benchmark_group("rerank");
    for n in [100usize, 1_000, 10_000] {
        let picked: Vec<&String> = picks(n, ids.len(), 11 + n as u64).map(|i| &ids[i]).collect();
        let candidates: Vec<Candidate> = picked
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate { id, code: None, title: None, score: Some(1.0 - i as f32 / n as f32) })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &candidates, |b, cands| {
            b.iter(|| ranker.rerank(&profile, black_box(cands)).expect("rerank"))
        });
    }
    group.finish();

    // The options that need a session, on 100 candidates, with a full ring of events
    // (every one of them explains each result): what they add to a plain rerank.
    let mut session = Session::new(&ranker);
    for (k, i) in picks(RECENT_EVENTS, ids.len(), 5).enumerate() {
        let event = RecordedEvent {
            item_id: ids[i].clone(),
            kind: EventKind::View,
            ts: 1e12 + 6e4 * k as f64,
            code: None,
            title: None,
        };
        session.observe(&ranker, event).expect("observe");
    }
    let picked: Vec<&String> = picks(100, ids.len(), 111).map(|i| &ids[i]).collect();
    let candidates: Vec<Candidate> =
        picked.iter().map(|id| Candidate { id, code: None, title: None, score: None }).collect();
    let groups: Vec<u32> = (0..100).map(|i| (i % 7) as u32 + 1).collect();
    let mut group = c.benchmark_group("session rerank 100");
    let cases = [
        ("plain", RerankOptions::default()),
        ("explain first 10", RerankOptions { explain: 10, ..Default::default() }),
        ("explain all 100", RerankOptions { explain: 100, ..Default::default() }),
        (
            "diversity 0.3, top 10",
            RerankOptions {
                top_k: Some(10),
                diversity: Diversity { lambda: 0.3, ..Default::default() },
                ..Default::default()
            },
        ),
        (
            "diversity 0.3, top 100",
            RerankOptions { diversity: Diversity { lambda: 0.3, ..Default::default() }, ..Default::default() },
        ),
        (
            "max 2 per group, top 10",
            RerankOptions {
                top_k: Some(10),
                diversity: Diversity { lambda: 0.0, max_per_group: Some(2), groups },
                ..Default::default()
            },
        ),
    ];
    for (name, options) in &cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), options, |b, options| {
            b.iter(|| session.rerank_options(&ranker, black_box(&candidates), options))
        });
    }
    // After feedback (a list shown, its 8th place clicked): the top 50 corrected.
    let mut learned = session.clone();
    let shown = learned.rerank(&ranker, &candidates, None).ranked;
    learned.shown(&ranker, "home", &candidates, &shown, 2e12);
    let click = RecordedEvent {
        item_id: candidates[shown[7].index].id.to_string(),
        kind: EventKind::View,
        ts: 2e12 + 3e3,
        code: None,
        title: None,
    };
    learned.observe(&ranker, click).expect("observe");
    assert!(learned.is_adapting());
    group.bench_function("after feedback", |b| {
        b.iter(|| learned.rerank_options(&ranker, black_box(&candidates), &RerankOptions::default()))
    });
    // The basket context, when the model has a basket head: a full ring of 42 purchases
    // of 20 products over six weeks, then 8 products in the open basket.
    if ranker.manifest().basket.is_some() {
        let mut shopper = Session::new(&ranker);
        let bought: Vec<usize> = picks(20, ids.len(), 9).collect();
        let open = picks(8, ids.len(), 13);
        let events = (0..42).map(|k| (bought[k % 20], EventKind::Purchase, 1e12 + 864e5 * k as f64));
        let events =
            events.chain(open.enumerate().map(|(k, i)| (i, EventKind::Cart, 1e12 + 864e5 * 43.0 + 6e4 * k as f64)));
        for (i, kind, ts) in events {
            let event = RecordedEvent { item_id: ids[i].clone(), kind, ts, code: None, title: None };
            shopper.observe(&ranker, event).expect("observe");
        }
        let options = RerankOptions { context: ListContext::Basket, ..Default::default() };
        assert_eq!(shopper.rerank_options(&ranker, &candidates, &options).error, None);
        group.bench_function("basket context", |b| {
            b.iter(|| shopper.rerank_options(&ranker, black_box(&candidates), &options))
        });
    }
    group.finish();

    let Some(books) = ranker.codebooks() else { return };
    let table = ranker.item_table();
    let d = ranker.profile_len();
    let mut group = c.benchmark_group("rerank by code");
    for n in [100usize, 1_000, 10_000] {
        let picked: Vec<usize> = picks(n, ids.len(), 11 + n as u64).collect();
        let codes: Vec<String> =
            picked.iter().map(|&i| books.code_string(&books.assign(&table[i * d..(i + 1) * d]))).collect();
        let candidates: Vec<Candidate> = picked
            .iter()
            .zip(&codes)
            .map(|(&i, code)| Candidate { id: &ids[i], code: Some(code), title: None, score: None })
            .collect();
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &candidates, |b, cands| {
            b.iter(|| ranker.rerank(&profile, black_box(cands)).expect("rerank"))
        });
    }
    group.finish();
}

criterion_group!(rerank, benches);
criterion_main!(rerank);
