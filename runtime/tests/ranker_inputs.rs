//! Every bad input to the runtime gets a typed error or a defined result, never a panic.

mod common;

use pocketrank_runtime::artifact::{ArtifactError, Weights};
use pocketrank_runtime::ranker::{ItemSource, MAX_CANDIDATES};
use pocketrank_runtime::{Candidate, EventKind, Profile, RankError, Ranker, ShopperEvent};
use proptest::prelude::*;

fn ranker() -> Ranker {
    Ranker::from_bytes(&common::encode(&common::small_artifact(50))).unwrap()
}

fn shopper(r: &Ranker) -> Profile {
    let mut p = r.new_profile();
    for (k, id) in ["item-3", "item-7", "item-3"].iter().enumerate() {
        r.observe(
            &mut p,
            &ShopperEvent { item_id: id, kind: EventKind::View, ts: 100.0 * k as f64, code: None, title: None },
        )
        .unwrap();
    }
    p
}

fn cands(ids: &[String]) -> Vec<Candidate<'_>> {
    ids.iter().map(|id| Candidate { id, code: None, title: None, score: None }).collect()
}

#[test]
fn corrupt_artifacts_are_typed_errors() {
    let bytes = common::encode(&common::small_artifact(5));
    let err = |b: &[u8]| Ranker::from_bytes(b).unwrap_err();
    assert!(matches!(err(&bytes[..10]), RankError::Artifact(ArtifactError::TooShort { len: 10, .. })));
    assert!(matches!(
        err(b"GIF89a..........................................."),
        RankError::Artifact(ArtifactError::BadMagic)
    ));
    assert!(matches!(err(&bytes[..bytes.len() / 2]), RankError::Artifact(ArtifactError::Truncated { .. })));
    let mut future = bytes.clone();
    future[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = err(&future);
    assert!(matches!(e, RankError::Artifact(ArtifactError::UnsupportedVersion { found: 7, .. })));
    assert!(e.to_string().contains("version 7"), "{e}");
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    assert_eq!(err(&flipped), RankError::Artifact(ArtifactError::Checksum));
}

#[test]
fn shape_mismatches_and_missing_tensors_are_refused() {
    let mut a = common::small_artifact(5);
    a.tensors.insert("scorer_item.weight".into(), Weights::new(vec![8, 9], vec![0.0; 72]));
    let e = Ranker::from_bytes(&common::encode(&a)).unwrap_err();
    assert!(
        matches!(&e, RankError::Artifact(ArtifactError::Shape { name, .. }) if name == "scorer_item.weight"),
        "{e}"
    );
    let mut a = common::small_artifact(5);
    a.tensors.remove("gru_hidden.bias");
    let e = Ranker::from_bytes(&common::encode(&a)).unwrap_err();
    assert_eq!(e, RankError::Artifact(ArtifactError::MissingTensor("gru_hidden.bias".into())));
    // Dimensions no tensor could have are refused before any shape arithmetic.
    let mut a = common::small_artifact(5);
    a.manifest.dims.d = usize::MAX / 2;
    assert!(matches!(Ranker::from_bytes(&common::encode(&a)), Err(RankError::Artifact(ArtifactError::Manifest(_)))));
    let mut a = common::small_artifact(5);
    a.manifest.item_ids[1] = "item-0".into();
    assert!(matches!(Ranker::from_bytes(&common::encode(&a)), Err(RankError::Artifact(ArtifactError::Manifest(_)))));
}

#[test]
fn candidate_lists_of_every_size() {
    let r = ranker();
    let p = shopper(&r);
    assert_eq!(r.rerank(&p, &[]).unwrap(), vec![]);
    let ids: Vec<String> = (0..MAX_CANDIDATES).map(|i| format!("item-{}", i % 60)).collect();
    let out = r.rerank(&p, &cands(&ids)).unwrap();
    assert_eq!(out.len(), MAX_CANDIDATES);
    let mut seen: Vec<usize> = out.iter().map(|s| s.index).collect();
    seen.sort_unstable();
    assert!(seen.iter().enumerate().all(|(i, &s)| i == s), "a permutation of the input");
    assert!(out.windows(2).all(|w| w[0].score >= w[1].score));
    let more: Vec<String> = (0..MAX_CANDIDATES + 1).map(|i| format!("item-{}", i % 50)).collect();
    assert_eq!(
        r.rerank(&p, &cands(&more)).unwrap_err(),
        RankError::TooManyCandidates { count: MAX_CANDIDATES + 1, max: MAX_CANDIDATES }
    );
}

#[test]
fn bad_scores_duplicates_and_unknown_items_are_defined() {
    let r = ranker();
    let p = shopper(&r);
    let with = |score| r.score(&p, &[Candidate { id: "item-9", code: None, title: None, score }]).unwrap()[0].score;
    assert_eq!(with(Some(f32::NAN)), with(None), "NaN reads as no server score");
    assert_eq!(with(Some(f32::INFINITY)), with(None));
    assert_ne!(with(Some(2.0)), with(None), "a real server score is used");

    let ids: Vec<String> = ["item-5", "item-5", "nope", "item-1"].iter().map(|s| s.to_string()).collect();
    let out = r.score(&p, &cands(&ids)).unwrap();
    assert_eq!(out[2].source, ItemSource::Unknown);
    assert!(out.iter().all(|s| s.score.is_finite()));
    // Duplicates are scored alike apart from their position, and both are kept.
    let ranked = r.rerank(&p, &cands(&ids)).unwrap();
    assert_eq!(ranked.iter().filter(|s| s.index < 2).count(), 2);
    // Without the tokenizer a title cannot help, and nothing fails.
    let t = r.score(&p, &[Candidate { id: "new-item", code: None, title: Some("Nail polish"), score: None }]).unwrap();
    assert_eq!(t[0].source, ItemSource::Unknown);
}

#[test]
fn bad_profiles_and_events_leave_the_profile_untouched() {
    let r = ranker();
    let mut p = shopper(&r);
    let before = p.clone();
    let e = r.observe(
        &mut p,
        &ShopperEvent { item_id: "item-1", kind: EventKind::Cart, ts: f64::NAN, code: None, title: None },
    );
    assert!(matches!(e, Err(RankError::BadTimestamp(t)) if t.is_nan()));
    assert_eq!(p, before);
    let short = Profile { state: vec![0.0; 3], last_ts: None, events: 0 };
    assert_eq!(r.rerank(&short, &[]).unwrap_err(), RankError::ProfileSize { expected: 8, found: 3 });
    let mut nan = before.clone();
    nan.state[0] = f32::NAN;
    assert_eq!(r.rerank(&nan, &[]).unwrap_err(), RankError::ProfileNotFinite);
    // An unknown item still moves the profile (through the neutral prior).
    let mut q = before.clone();
    let src = r.observe(
        &mut q,
        &ShopperEvent { item_id: "never-seen", kind: EventKind::View, ts: 500.0, code: None, title: None },
    );
    assert_eq!(src, Ok(ItemSource::Unknown));
    assert_ne!(q.state, before.state);
}

#[test]
fn a_profile_moves_the_ranking_toward_what_was_viewed() {
    // Not a quality claim for a random model: only that the profile is actually used.
    let r = ranker();
    let ids: Vec<String> = (0..50).map(|i| format!("item-{i}")).collect();
    let fresh = r.rerank(&r.new_profile(), &cands(&ids)).unwrap();
    let shopped = r.rerank(&shopper(&r), &cands(&ids)).unwrap();
    assert_ne!(fresh.iter().map(|s| s.index).collect::<Vec<_>>(), shopped.iter().map(|s| s.index).collect::<Vec<_>>());
}

/// Loads `bytes` and, when they load, uses the model once: none of it may panic.
fn exercise(bytes: &[u8]) {
    if let Ok(r) = Ranker::from_bytes(bytes) {
        let mut p = r.new_profile();
        let _ = r.observe(
            &mut p,
            &ShopperEvent { item_id: "item-1", kind: EventKind::View, ts: 1.0, code: None, title: Some("x") },
        );
        let _ = r
            .rerank(&p, &[Candidate { id: "item-2", code: None, title: None, score: Some(1.0) }, Candidate::default()]);
    }
}

#[test]
fn sealing_reaches_past_the_checksum() {
    // The proptest below only means something if sealed bodies are read as artifacts.
    let bytes = common::encode(&common::small_artifact(4));
    assert_eq!(common::seal(common::body(&bytes)), bytes);
    let mut body = common::body(&bytes).to_vec();
    body[10] = b'!';
    let e = Ranker::from_bytes(&common::seal(&body)).unwrap_err();
    assert!(matches!(e, RankError::Artifact(ArtifactError::Format(_) | ArtifactError::Manifest(_))), "{e}");
}

#[test]
fn an_unknown_architecture_is_unsupported_not_a_missing_tensor() {
    let mut a = common::small_artifact(5);
    a.manifest.architecture = "transformer-v9".into();
    a.tensors.clear();
    let e = Ranker::from_bytes(&common::encode(&a)).unwrap_err();
    assert!(
        matches!(&e, RankError::Artifact(ArtifactError::UnsupportedArchitecture { found, .. }) if found == "transformer-v9"),
        "{e}"
    );
    assert_eq!(e.code().as_str(), "E_UNSUPPORTED");
    assert!(e.to_string().contains("transformer-v9"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Ranker::from_bytes(&bytes);
    }

    /// Mutations of the body, sealed with a valid header and checksum so that they reach
    /// the safetensors, manifest and shape checks (an unsealed mutation stops at the
    /// checksum).
    #[test]
    fn mutated_artifacts_never_panic(at in any::<prop::sample::Index>(), value in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let bytes = common::encode(&common::small_artifact(4));
        let mut body = common::body(&bytes).to_vec();
        let i = at.index(body.len());
        body[i] = value;
        exercise(&common::seal(&body));
        exercise(&common::seal(&common::body(&bytes)[..cut.index(body.len())]));
    }
}

/// A WordPiece tokenizer of a few words, as `trainer` writes them.
#[cfg(feature = "text")]
const TOKENIZER: &str = r###"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
"normalizer":{"type":"Lowercase"},"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
"vocab":{"[PAD]":0,"[UNK]":1,"red":2,"matte":3,"lipstick":4,"x":5}}}"###;

#[cfg(feature = "text")]
#[test]
fn huge_and_odd_titles_are_defined() {
    let mut a = common::small_artifact(10);
    a.tokenizer = Some(TOKENIZER.into());
    let r = Ranker::from_bytes(&common::encode(&a)).unwrap();
    assert!(r.has_tokenizer());
    let p = r.new_profile();
    let score =
        |title: &str| r.score(&p, &[Candidate { id: "new", code: None, title: Some(title), score: None }]).unwrap()[0];
    let short = score("Matte red lipstick");
    assert_eq!(short.source, ItemSource::Title);
    // 100 KB of title reads as its beginning (the student reads a title's first tokens).
    let huge = format!("Matte red lipstick {}", "x ".repeat(50_000));
    let long = score(&huge);
    assert_eq!(long.source, ItemSource::Title);
    assert_eq!(long.score.to_bits(), score(&huge[..1024]).score.to_bits());
    // Multi-byte characters around the cut, control characters, words the vocabulary
    // lacks: defined scores, no panic.
    for odd in ["é".repeat(5_000), "\u{0}\u{7}\t\n".repeat(10), "ünknöwn wörds".into()] {
        assert!(score(&odd).score.is_finite(), "{odd:?}");
    }
}
