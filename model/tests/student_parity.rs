//! The hand-written runtime computes exactly what the Burn student computes.

use std::collections::HashMap;

use burn::backend::Flex;
use burn::tensor::{Int, Tensor, TensorData};
use pocketrank_model::student::{EVENT_FEATURES, StudentConfig, context_features, event_features};
use pocketrank_model::teacher::ItemText;
use pocketrank_model::text::ItemTokens;
use pocketrank_runtime::artifact::{Artifact, Dims, Encoding, Manifest};
use pocketrank_runtime::{Candidate, EventKind, Ranker, ShopperEvent};

type B = Flex;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-4 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn ranker_matches_the_burn_student() {
    let device = Default::default();
    let (n_items, vocab, d) = (40, 30, 16);
    let config = StudentConfig::new(n_items, vocab).with_d(d).with_hidden(16);
    let student = config.init::<B>(&device);
    let per_item: Vec<Vec<u32>> =
        (0..n_items as u32).map(|i| (0..i % 5).map(|k| 1 + (i * 7 + k) % 29).collect()).collect();
    let tokens = ItemTokens::new(&per_item, 4);
    let text = ItemText::<B>::new(&tokens, &device);

    let dims = Dims { n_items, d, hidden: 16, vocab_size: vocab, title_tokens: 4 };
    let ids = (0..n_items).map(|i| format!("item-{i}")).collect();
    let manifest = Manifest::new(dims, ids, "parity", Encoding::F32);
    let artifact = Artifact::new(manifest, student.export_tensors(&text), None);
    let ranker = Ranker::from_bytes(&artifact.encode(&HashMap::new()).unwrap()).unwrap();

    // A session of five events with mixed kinds and gaps.
    let session = [
        (3u32, EventKind::View, 0.0),
        (17, EventKind::Cart, 60.0),
        (3, EventKind::Purchase, 7200.0),
        (25, EventKind::View, 86_400.0 * 3.0),
        (8, EventKind::Review, 1.0),
    ];
    let mut profile = ranker.new_profile();
    let mut ts = 1_700_000_000.0;
    let mut states = Vec::new();
    for &(item, kind, gap) in &session {
        ts += gap;
        let id = format!("item-{item}");
        ranker.observe(&mut profile, &ShopperEvent { item_id: &id, kind, ts, code: None, title: None }).unwrap();
        states.push(profile.state.clone());
    }

    let ids: Vec<i64> = session.iter().map(|s| i64::from(s.0) + 1).collect();
    let items = student.item_vectors_of(&text, Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [5]), &device));
    let features: Vec<f32> = session.iter().flat_map(|&(_, k, gap)| event_features(k, gap)).collect();
    let events = Tensor::<B, 3>::from_data(TensorData::new(features, [1, 5, EVENT_FEATURES]), &device);
    let profiles = student.profiles(items.reshape([1, 5, d]), events);
    let burn_states = profiles.clone().into_data().to_vec::<f32>().unwrap();
    for (t, state) in states.iter().enumerate() {
        for (k, v) in state.iter().enumerate() {
            assert!(
                close(*v, burn_states[t * d + k]),
                "profile after event {t}, dim {k}: {v} vs {}",
                burn_states[t * d + k]
            );
        }
    }

    // Score every catalog item, with and without server scores.
    let ids: Vec<String> = (0..n_items).map(|i| format!("item-{i}")).collect();
    let candidates: Vec<Candidate> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Candidate { id, code: None, title: None, score: (i % 2 == 0).then_some(i as f32 / 10.0) })
        .collect();
    let ours = ranker.score(&profile, &candidates).unwrap();
    let last = profiles.narrow(1, 4, 1).reshape([1, d]);
    let all = student.item_vectors_of(&text, Tensor::arange(1..n_items as i64 + 1, &device)).reshape([1, n_items, d]);
    let context: Vec<f32> = candidates.iter().enumerate().flat_map(|(i, c)| context_features(c.score, i)).collect();
    let context = Tensor::<B, 3>::from_data(TensorData::new(context, [1, n_items, 3]), &device);
    let theirs = student.score(last, all, context).into_data().to_vec::<f32>().unwrap();
    // The runtime holds the scorer's item weights at 7 bits (runtime/src/kernel.rs): its
    // scores are the model's within 2e-3 of their size (6e-4 here), where the profiles,
    // computed in `f32` throughout, agree to 1e-4.
    for (s, t) in ours.iter().zip(&theirs) {
        assert!((s.score - t).abs() <= 2e-3 * t.abs().max(1.0), "item {}: {} vs {t}", s.index, s.score);
    }
    // And the scores are not all alike (the test would pass vacuously otherwise).
    let spread = theirs.iter().cloned().fold(f32::MIN, f32::max) - theirs.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 1e-3, "spread {spread}");
}
