//! Native rerank and profile-update latency of the on-device runtime.
//!
//! Uses the artifact in `POCKETRANK_ARTIFACT` when set (e.g. the exported Beauty model);
//! otherwise a randomly initialised student with Beauty's dimensions (12,101 items,
//! d = 32, hidden = 32, 6,000 tokens) — the cost does not depend on the weights' values.

use std::collections::HashMap;
use std::hint::black_box;

use burn::backend::Flex;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pocketrank_model::artifact::{Artifact, Dims, Encoding, Manifest};
use pocketrank_model::student::StudentConfig;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{Candidate, EventKind, Ranker, ShopperEvent};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn artifact_bytes() -> Vec<u8> {
    if let Ok(path) = std::env::var("POCKETRANK_ARTIFACT") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    }
    let (n, vocab, d, hidden) = (12_101, 6_000, 32, 32);
    let device = Default::default();
    let student = StudentConfig::new(n, vocab).with_d(d).with_hidden(hidden).init::<Flex>(&device);
    let mut rng = StdRng::seed_from_u64(1);
    let per_item: Vec<Vec<u32>> =
        (0..n).map(|_| (0..12).map(|_| rng.random_range(1..vocab as u32)).collect()).collect();
    let text = ItemText::<Flex>::new(&ItemTokens::new(&per_item, 24), &device);
    let dims = Dims { n_items: n, d, hidden, vocab_size: vocab, title_tokens: 24 };
    let manifest = Manifest::new(dims, (0..n).map(|i| format!("B{i:09}")).collect(), "bench", Encoding::Int8);
    let enc: HashMap<String, Encoding> = [("items".into(), Encoding::Int8), ("tokens".into(), Encoding::Int8)].into();
    Artifact::new(manifest, student.export_tensors(&text), None).encode(&enc).expect("encode")
}

fn benches(c: &mut Criterion) {
    let bytes = artifact_bytes();
    c.bench_function("load artifact", |b| b.iter(|| Ranker::from_bytes(black_box(&bytes)).expect("load")));
    let ranker = Ranker::from_bytes(&bytes).expect("load");
    let ids = &ranker.manifest().item_ids;
    let mut rng = StdRng::seed_from_u64(7);
    let mut profile = ranker.new_profile();
    for k in 0..10 {
        let id = &ids[rng.random_range(0..ids.len())];
        let event = ShopperEvent { item_id: id, kind: EventKind::View, ts: 1e9 + 60.0 * k as f64, title: None };
        ranker.observe(&mut profile, &event).expect("observe");
    }

    c.bench_function("observe one event", |b| {
        let event = ShopperEvent { item_id: &ids[42], kind: EventKind::Cart, ts: 2e9, title: None };
        b.iter(|| {
            let mut p = profile.clone();
            ranker.observe(&mut p, black_box(&event)).expect("observe");
            p
        })
    });

    let mut group = c.benchmark_group("rerank");
    for n in [100usize, 1_000, 10_000] {
        let picked: Vec<&String> = (0..n).map(|_| &ids[rng.random_range(0..ids.len())]).collect();
        let candidates: Vec<Candidate> = picked
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate { id, title: None, score: Some(1.0 - i as f32 / n as f32) })
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
