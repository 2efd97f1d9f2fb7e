//! Items by code: the code first, then the catalog, then the title, then the prior; codes
//! carried inside an artifact; the catalog-free core artifact; bad codes of every kind.

mod common;

use pocketrank_runtime::codes::{CodeFile, CodeFileError};
use pocketrank_runtime::{Candidate, CodeError, EventKind, ItemSource, Ranker, ShopperEvent, code_warning};
use proptest::prelude::*;

fn full() -> pocketrank_runtime::Artifact {
    common::with_codebooks(common::small_artifact(40), 4, 99)
}

fn ranker(a: &pocketrank_runtime::Artifact) -> Ranker {
    Ranker::from_bytes(&common::encode(a)).expect("loads")
}

fn shopper(r: &Ranker, events: &[(&str, Option<&str>)]) -> pocketrank_runtime::Profile {
    let mut p = r.new_profile();
    for (k, (id, code)) in events.iter().enumerate() {
        let e = ShopperEvent { item_id: id, kind: EventKind::View, ts: 60.0 * k as f64, code: *code, title: None };
        r.observe(&mut p, &e).expect("observes");
    }
    p
}

#[test]
fn a_code_scores_as_the_catalog_row_it_encodes() {
    let table = full();
    let books = common::codebooks(&table);
    let coded = common::coded(table.clone());
    let (with_table, with_codes) = (ranker(&table), ranker(&coded));
    assert_eq!(with_codes.manifest().item_encoding, pocketrank_runtime::artifact::Encoding::Codes);
    let codes: Vec<String> =
        (0..40).map(|i| books.code_string(&books.assign(&table.tensors["items"].values[i * 8..(i + 1) * 8]))).collect();
    let p = shopper(&with_codes, &[("item-3", None), ("item-7", None)]);
    let ids: Vec<String> = (0..40).map(|i| format!("item-{i}")).collect();
    let by_id: Vec<Candidate> = ids.iter().map(|id| Candidate { id, ..Default::default() }).collect();
    let by_code: Vec<Candidate> =
        ids.iter().zip(&codes).map(|(id, c)| Candidate { id, code: Some(c), title: None, score: None }).collect();
    let a = with_codes.score(&p, &by_id).unwrap();
    let b = with_codes.score(&p, &by_code).unwrap();
    assert!(a.iter().all(|s| s.source == ItemSource::Catalog));
    assert!(b.iter().all(|s| s.source == ItemSource::Code && s.code_error.is_none()));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.score, y.score, "an in-artifact code and the same code from the shop decode alike");
    }
    // The table artifact keeps its int8 rows: the codes are an approximation of them.
    let t = with_table.score(&shopper(&with_table, &[("item-3", None), ("item-7", None)]), &by_id).unwrap();
    let gap = t.iter().zip(&a).map(|(x, y)| (x.score - y.score).abs()).fold(0f32, f32::max);
    assert!(gap > 0.0 && gap < 1.0, "codes approximate the table ({gap})");
}

#[test]
fn the_core_artifact_serves_any_catalog_from_codes() {
    let table = full();
    let books = common::codebooks(&table);
    let core_bytes = common::encode(&common::core(table.clone()));
    let table_bytes = common::encode(&table);
    assert!(core_bytes.len() < table_bytes.len());
    let core = Ranker::from_bytes(&core_bytes).expect("a core artifact loads");
    assert_eq!(core.manifest().dims.n_items, 0);
    assert_eq!(core.codebooks().map(|b| b.fingerprint()), Some(books.fingerprint()));
    // Items the model never saw, placed by codes made with its codebooks.
    let codes: Vec<String> = (0..1000u32).map(|i| books.code_string(&i.to_le_bytes())).collect();
    let ids: Vec<String> = (0..1000).map(|i| format!("sku-{i}")).collect();
    let events: Vec<(&str, Option<&str>)> = (0..5).map(|i| (ids[i].as_str(), Some(codes[i].as_str()))).collect();
    let p = shopper(&core, &events);
    assert_ne!(p.state, core.new_profile().state, "coded events move the profile");
    let list: Vec<Candidate> =
        ids.iter().zip(&codes).map(|(id, c)| Candidate { id, code: Some(c), title: None, score: None }).collect();
    let ranked = core.rerank(&p, &list).unwrap();
    assert_eq!(ranked.len(), 1000);
    assert!(ranked.iter().all(|s| s.source == ItemSource::Code && s.score.is_finite()));
    let distinct: std::collections::BTreeSet<u32> = ranked.iter().map(|s| s.score.to_bits()).collect();
    assert!(distinct.len() > 200, "codes give items their own scores ({} distinct)", distinct.len());
    // Without a code an item of a core artifact is the prior.
    let bare = core.score(&p, &[Candidate { id: "sku-1", ..Default::default() }]).unwrap();
    assert_eq!(bare[0].source, ItemSource::Unknown);
}

#[test]
fn bad_codes_fall_back_to_the_next_source_and_say_why() {
    let a = full();
    let r = ranker(&a);
    let books = common::codebooks(&a);
    let other = common::codebooks(&common::with_codebooks(common::small_artifact(1), 4, 7));
    let good = books.code_string(&[1, 2, 3, 4]);
    let foreign = other.code_string(&[1, 2, 3, 4]);
    let p = shopper(&r, &[("item-1", None)]);
    let cases: [(&str, Option<&str>, ItemSource, Option<CodeError>); 6] = [
        ("item-5", Some(&good), ItemSource::Code, None),
        ("item-5", Some(&foreign), ItemSource::Catalog, Some(CodeError::OtherModel)),
        ("item-5", Some("!!"), ItemSource::Catalog, Some(CodeError::NotBase64)),
        ("new", Some("AAAA"), ItemSource::Unknown, Some(CodeError::Length { expected: 6, found: 3 })),
        ("item-5", None, ItemSource::Catalog, None),
        ("new", None, ItemSource::Unknown, None),
    ];
    let list: Vec<Candidate> =
        cases.iter().map(|(id, code, ..)| Candidate { id, code: *code, title: None, score: None }).collect();
    let scored = r.score(&p, &list).unwrap();
    for (s, (id, code, source, error)) in scored.iter().zip(&cases) {
        assert_eq!((s.source, s.code_error), (*source, *error), "{id} {code:?}");
    }
    let alone = |c: &Candidate| r.score(&p, std::slice::from_ref(c)).unwrap()[0].score;
    assert_eq!(alone(&list[1]), alone(&list[4]), "a foreign code scores as the catalog row");
    assert_ne!(alone(&list[0]), alone(&list[4]), "a good code is used instead of the row");
    let warning = code_warning(&scored).expect("a warning");
    assert!(warning.contains("candidates[1]") && warning.contains("another model") && warning.contains("2 other"));
    assert_eq!(code_warning(&scored[..1]), None);
    // A model without codebooks says so.
    let plain = Ranker::from_bytes(&common::encode(&common::small_artifact(3))).unwrap();
    let s = plain.score(&plain.new_profile(), &list[..1]).unwrap();
    assert_eq!(s[0].code_error, Some(CodeError::NoCodebooks));
}

#[test]
fn malformed_code_tensors_are_typed_errors() {
    let mut wrong_width = common::coded(full());
    if let Some(c) = wrong_width.item_codes.as_mut() {
        c.m = 2;
    }
    let e = Ranker::from_bytes(&common::encode(&wrong_width)).unwrap_err();
    assert_eq!(e.code().as_str(), "E_ARTIFACT", "{e}");
    let mut no_books = common::coded(full());
    no_books.tensors.remove(pocketrank_runtime::codes::CODEBOOKS);
    let e = Ranker::from_bytes(&common::encode(&no_books)).unwrap_err();
    assert!(e.to_string().contains("codebooks"), "{e}");
    let mut bad_shape = full();
    bad_shape.tensors.get_mut(pocketrank_runtime::codes::CODEBOOKS).unwrap().shape = vec![4, 128, 4];
    assert!(Ranker::from_bytes(&common::encode(&bad_shape)).is_err());
    let mut no_table = full();
    no_table.tensors.remove("items");
    let e = Ranker::from_bytes(&common::encode(&no_table)).unwrap_err();
    assert!(e.to_string().contains("items"), "a table artifact without its table: {e}");
}

#[test]
fn a_code_file_checks_its_model() {
    let a = full();
    let r = ranker(&a);
    let books = r.codebooks().unwrap();
    let file =
        CodeFile { m: 4, fingerprint: books.fingerprint(), codes: vec![7; 8], ids: vec!["x".into(), "y".into()] };
    let back = CodeFile::decode(&file.encode().unwrap()).unwrap();
    assert!(back.check(books).is_ok());
    let other = common::codebooks(&common::with_codebooks(common::small_artifact(1), 4, 7));
    assert!(matches!(back.check(&other), Err(CodeFileError::OtherModel { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any string as a code: a typed result, never a panic, and the call still ranks.
    #[test]
    fn any_code_string_is_safe(code in ".{0,64}", bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
        let a = full();
        let r = ranker(&a);
        let p = r.new_profile();
        let b64 = base64_of(&bytes);
        let list = [
            Candidate { id: "item-1", code: Some(&code), title: None, score: None },
            Candidate { id: "new", code: Some(&b64), title: None, score: None },
        ];
        let scored = r.rerank(&p, &list).unwrap();
        prop_assert_eq!(scored.len(), 2);
        prop_assert!(scored.iter().all(|s| s.score.is_finite()));
    }
}

fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bytes.iter().map(|b| ALPHABET[(*b % 64) as usize] as char).collect()
}

/// `table` with every item row replaced by the vector of its nearest code, stored as f32:
/// what a coded candidate decodes to, as plain catalog rows.
fn decoded_rows(table: &pocketrank_runtime::Artifact) -> Vec<u8> {
    let books = common::codebooks(table);
    let mut a = table.clone();
    let items = a.tensors.get_mut("items").expect("an item table");
    for row in items.values.chunks_exact_mut(books.d()) {
        let code = books.assign(row);
        books.decode_into(&code, row);
    }
    a.manifest.item_encoding = pocketrank_runtime::artifact::Encoding::F32;
    a.encode(&Default::default()).expect("encodes")
}

#[test]
fn long_coded_lists_score_through_tables_as_their_decoded_vectors() {
    let table = full();
    let books = common::codebooks(&table);
    let (decoded, coded) = (Ranker::from_bytes(&decoded_rows(&table)).unwrap(), ranker(&common::coded(table.clone())));
    let events = [("item-3", None), ("item-7", None), ("item-11", None)];
    let (p_decoded, p_coded) = (shopper(&decoded, &events), shopper(&coded, &events));
    assert_eq!(p_decoded.state, p_coded.state, "the same rows, the same profile");
    for n in [40usize, 1_000] {
        let ids: Vec<String> = (0..n).map(|i| format!("item-{}", (i * 7) % 40)).collect();
        let by_id: Vec<Candidate> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| Candidate {
                id,
                score: (i % 3 == 0).then_some(1.0 - i as f32 / n as f32),
                ..Default::default()
            })
            .collect();
        let reference = decoded.score(&p_decoded, &by_id).unwrap();
        let through_codes = coded.score(&p_coded, &by_id).unwrap();
        let gap = reference.iter().zip(&through_codes).map(|(a, b)| (a.score - b.score).abs()).fold(0f32, f32::max);
        if pocketrank_runtime::code_kernel::worth_tables(n, &books) {
            assert!(gap < 1e-5, "tables and decoded rows agree up to rounding at {n} candidates ({gap})");
        } else {
            assert_eq!(gap, 0.0, "short lists are decoded: the same arithmetic");
        }
        assert!(through_codes.iter().all(|s| s.source == ItemSource::Catalog));
    }
    assert!(!pocketrank_runtime::code_kernel::worth_tables(40, &books));
    assert!(pocketrank_runtime::code_kernel::worth_tables(1_000, &books));

    // The tables are kept for the last profile: another profile gets its own, and the first
    // profile's scores come back unchanged.
    let ids: Vec<String> = (0..1_000).map(|i| format!("item-{}", i % 40)).collect();
    let list: Vec<Candidate> = ids.iter().map(|id| Candidate { id, ..Default::default() }).collect();
    let other = shopper(&coded, &[("item-20", None)]);
    let first = coded.score(&p_coded, &list).unwrap();
    let second = coded.score(&other, &list).unwrap();
    let fresh = ranker(&common::coded(table.clone())).score(&other, &list).unwrap();
    assert_eq!(second, fresh, "a new profile does not reuse the last one's tables");
    assert_ne!(first, second);
    assert_eq!(coded.score(&p_coded, &list).unwrap(), first);
}

#[test]
fn mixed_lists_put_every_score_back_at_its_candidate() {
    // Shop codes (through tables), catalog rows, unknown items and a bad code in one list.
    let table = full();
    let books = common::codebooks(&table);
    let (decoded, with_table) = (Ranker::from_bytes(&decoded_rows(&table)).unwrap(), ranker(&table));
    let p = shopper(&decoded, &[]);
    let n = 1_200;
    let ids: Vec<String> =
        (0..n).map(|i| if i % 5 == 4 { format!("new-{i}") } else { format!("item-{}", (i * 3) % 40) }).collect();
    let codes: Vec<String> =
        (0..40).map(|i| books.code_string(&books.assign(&table.tensors["items"].values[i * 8..(i + 1) * 8]))).collect();
    let mixed: Vec<Candidate> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let code = match i % 5 {
                0..=2 => Some(codes[(i * 3) % 40].as_str()),
                4 if i % 10 == 9 => Some("not a code"),
                _ => None,
            };
            Candidate { id, code, title: None, score: None }
        })
        .collect();
    let got = with_table.score(&p, &mixed).unwrap();
    // The same list on the decoded rows: coded candidates become their decoded catalog rows.
    let plain: Vec<Candidate> = ids.iter().map(|id| Candidate { id, ..Default::default() }).collect();
    let reference = decoded.score(&p, &plain).unwrap();
    let reference_table = with_table.score(&p, &plain).unwrap();
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.index, i);
        match i % 5 {
            0..=2 => {
                assert_eq!(g.source, ItemSource::Code);
                assert!(
                    (g.score - reference[i].score).abs() < 1e-5,
                    "candidate {i}: {} vs {}",
                    g.score,
                    reference[i].score
                );
            }
            3 => {
                assert_eq!(g.source, ItemSource::Catalog);
                assert_eq!(g.score, reference_table[i].score, "catalog rows keep the direct kernel");
            }
            _ => {
                assert_eq!(g.source, ItemSource::Unknown);
                assert_eq!(g.score, reference[i].score);
                assert_eq!(g.code_error.is_some(), i % 10 == 9);
            }
        }
    }
}

/// `bytes` with every occurrence of `from` replaced by `to` (same length) in the body,
/// sealed again with a valid header and checksum.
fn patched(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "a same-length patch keeps the safetensors header valid");
    let body = common::body(bytes).to_vec();
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let at = body.windows(from.len()).position(|w| w == from).expect("the text is in the body");
    let mut body = body;
    body[at..at + from.len()].copy_from_slice(to);
    common::seal(&body)
}

#[test]
fn the_codebooks_fingerprint_is_read_from_the_manifest() {
    let table = full();
    let bytes = common::encode(&table);
    let books = common::codebooks(&table);
    let stored = pocketrank_runtime::Artifact::decode(&bytes).unwrap().manifest.codebooks_sha256;
    assert_eq!(stored.as_deref(), Some(books.fingerprint_hex().as_str()), "encode writes the fingerprint");
    let r = Ranker::from_bytes(&bytes).unwrap();
    assert_eq!(r.codebooks().unwrap().fingerprint(), books.fingerprint());

    // An artifact written before the field existed: the fingerprint is computed, the same.
    let old = patched(&bytes, "codebooks_sha256", "codebooks_xxxxxx");
    assert_eq!(Ranker::from_bytes(&old).unwrap().codebooks().unwrap().fingerprint(), books.fingerprint());

    // The manifest is trusted because the checksum covers it; a malformed value is an error.
    let hex = books.fingerprint_hex();
    let bad = patched(&bytes, &hex, &"z".repeat(64));
    let e = Ranker::from_bytes(&bad).unwrap_err();
    assert_eq!(e.code().as_str(), "E_ARTIFACT");
    assert!(e.to_string().contains("codebooks_sha256"), "{e}");

    // Codes made by the trainer's codebooks read with the stored fingerprint.
    let code = books.code_string(&[1, 2, 3, 4]);
    assert_eq!(r.parse_code(&code).unwrap(), vec![1, 2, 3, 4]);
}

#[test]
fn coded_candidates_of_a_production_shape_score_as_int8_rows_of_their_vectors() {
    // d 64, hidden 32 has an integer kernel: coded candidates become int8 rows of their
    // centroids, at any code width, and score within the int8 step of their decoded vectors.
    let dims = pocketrank_runtime::artifact::Dims { n_items: 300, d: 64, hidden: 32, vocab_size: 30, title_tokens: 4 };
    for m in [16, 32] {
        let table = common::with_codebooks(common::artifact(dims, "item-"), m, 7);
        let (decoded, coded) = (Ranker::from_bytes(&decoded_rows(&table)).unwrap(), ranker(&common::coded(table)));
        let events = [("item-3", None), ("item-70", None), ("item-211", None)];
        let (p_decoded, p_coded) = (shopper(&decoded, &events), shopper(&coded, &events));
        for n in [40usize, 1_000] {
            let ids: Vec<String> = (0..n).map(|i| format!("item-{}", (i * 7) % 300)).collect();
            let list: Vec<Candidate> = ids.iter().map(|id| Candidate { id, ..Default::default() }).collect();
            let reference = decoded.score(&p_decoded, &list).unwrap();
            let through_codes = coded.score(&p_coded, &list).unwrap();
            let spread = reference.iter().map(|s| s.score).fold(f32::NEG_INFINITY, f32::max)
                - reference.iter().map(|s| s.score).fold(f32::INFINITY, f32::min);
            let gap = reference.iter().zip(&through_codes).map(|(a, b)| (a.score - b.score).abs()).fold(0f32, f32::max);
            // Float tables would agree to rounding (about 1e-6 of the spread); int8 rows are
            // off by their step (here 0.2–0.3%).
            assert!(gap > 1e-4 * spread && gap < 0.01 * spread, "m {m}, {n} candidates: gap {gap}, spread {spread}");
            assert!(through_codes.iter().all(|s| s.source == ItemSource::Catalog && s.score.is_finite()));
        }
        // The whole catalog (as the trainer evaluates it) scores through the same int8 rows.
        let (mut reference, mut through_codes) = (vec![0f32; 300], vec![0f32; 300]);
        decoded.score_catalog(&p_decoded, &mut reference).unwrap();
        coded.score_catalog(&p_coded, &mut through_codes).unwrap();
        let spread = reference.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b))
            - reference.iter().fold(f32::INFINITY, |a, &b| a.min(b));
        let gap = reference.iter().zip(&through_codes).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(gap > 1e-4 * spread && gap < 0.01 * spread, "m {m}, the catalog: gap {gap}, spread {spread}");
        let one: Vec<Candidate> = vec![Candidate { id: "item-5", ..Default::default() }];
        assert_eq!(coded.score(&p_coded, &one).unwrap()[0].score, through_codes[5], "by id, as in the catalog");
    }
}
