//! The wasm-bindgen tests shared by the Node and browser runs: the `Model` and `Session`
//! API on a small artifact (web/tests/small.pkr, written by `cargo run -p pocketrank-model
//! --example small_artifact`), with its errors as JavaScript sees them: an `Error` with a
//! message and a stable `code`.

use pocketrank_web::{Model, Session, max_candidates};
use wasm_bindgen::JsValue;

/// Declares every shared test as a `#[wasm_bindgen_test]` of the including test crate.
macro_rules! shared_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test::wasm_bindgen_test]
            fn $name() {
                common::$name();
            }
        )*
    };
}

/// The shared tests by name, for [`shared_tests!`].
macro_rules! all_shared_tests {
    () => {
        shared_tests!(
            a_session_observes_reranks_and_comes_back,
            damaged_and_earlier_records_are_rebuilt_with_a_warning,
            errors_are_errors_with_codes,
            the_webgpu_inputs_follow_the_model,
        );
    };
}

const SMALL: &[u8] = include_bytes!("../small.pkr");

fn bytes(b: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(b).into()
}

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

fn prop(v: &JsValue, name: &str) -> String {
    js_sys::Reflect::get(v, &name.into()).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// `(code, message)` of a thrown error.
fn coded(e: JsValue) -> (String, String) {
    (prop(&e, "code"), js_sys::Error::from(e).message().into())
}

fn error_of<T>(r: Result<T, JsValue>) -> (String, String) {
    r.err().map(coded).unwrap_or_default()
}

/// `rankJoined`'s optional arguments by name (all absent by default).
#[derive(Default)]
struct Ask {
    scores: Option<Vec<f32>>,
    titles: Option<Vec<u8>>,
    codes: Option<Vec<u8>>,
    top_k: Option<u32>,
    exclude_seen: Option<u8>,
    explain: Option<u32>,
    diversity: Option<f32>,
    max_per_group: Option<u32>,
    groups: Option<Vec<u32>>,
    list: Option<String>,
    learn: Option<bool>,
    now: Option<f64>,
    context: Option<String>,
}

/// `s.rankJoined(model, count, ids, …)` with `ask`'s arguments.
fn rank(s: &mut Session, model: &Model, count: usize, ids: &[u8], ask: Ask) -> pocketrank_web::Ranking {
    let a = ask;
    s.rank_joined(
        model,
        count,
        ids,
        a.scores,
        a.titles,
        a.codes,
        a.top_k,
        a.exclude_seen,
        a.explain,
        a.diversity,
        a.max_per_group,
        a.groups,
        a.list,
        a.learn,
        a.now,
        a.context,
    )
}

pub fn a_session_observes_reranks_and_comes_back() {
    let model = Model::new(bytes(SMALL)).expect("loads");
    assert_eq!(model.item_count(), 3);
    let mut s = Session::restore(&model, &[]);
    assert_eq!(s.warning(), None, "a new shopper is not a warning");
    let empty = s.profile_vector();
    s.observe(&model, js(r#"{"itemId": "b", "kind": "cart", "ts": 1700000000000}"#)).expect("observes");
    s.observe(&model, js(r#"{"itemId": "never-seen", "kind": "add_to_cart"}"#))
        .expect("synonym kind, ts defaults to now");
    assert_ne!(s.profile_vector(), empty, "the events changed the profile");
    let recent = js_sys::Array::from(&s.recent_events());
    assert_eq!(recent.length(), 2);
    assert_eq!(prop(&recent.get(1), "kind"), "cart", "kinds are stored by their canonical name");
    let ts = js_sys::Reflect::get(&recent.get(1), &"ts".into()).unwrap().as_f64().unwrap();
    assert!(ts > 1.7e12, "a missing ts is now ({ts})");

    let r = rank(&mut s, &model, 3, b"a\nc\nzz", Ask { scores: Some(vec![f32::NAN, 0.5, f32::NAN]), ..Ask::default() });
    assert!(r.error().is_undefined());
    let mut order = r.order();
    assert_eq!(r.sources()[order.iter().position(|&i| i == 2).unwrap()], 2, "zz is unknown");
    order.sort_unstable();
    assert_eq!(order, [0, 1, 2]);
    assert!(r.scores().iter().all(|v| v.is_finite()));
    assert_eq!(rank(&mut s, &model, 3, b"a\nc\nzz", Ask { top_k: Some(1), ..Ask::default() }).order().len(), 1);
    // excludeSeen: "b" was carted; with the cart bit it goes last, with the view bit it stays.
    let carted = rank(&mut s, &model, 3, b"b\nc\nzz", Ask { exclude_seen: Some(0b10), ..Ask::default() });
    assert_eq!((carted.order()[2], carted.seen_count()), (0, 1));
    assert_eq!(rank(&mut s, &model, 3, b"b\nc\nzz", Ask { exclude_seen: Some(0b1), ..Ask::default() }).seen_count(), 0);
    // Explanations of the first results; diversity options out of range: the shop's order.
    let explained = rank(&mut s, &model, 3, b"a\nc\nzz", Ask { explain: Some(2), ..Ask::default() });
    assert_eq!(explained.because_counts().len(), 2);
    assert_eq!(explained.because_kinds().len(), explained.because_shares().len());
    let bad = rank(&mut s, &model, 3, b"a\nc\nzz", Ask { diversity: Some(1.5), ..Ask::default() });
    assert_eq!(prop(&bad.error(), "code"), "E_OPTIONS");
    assert_eq!(bad.order(), [0, 1, 2]);
    // The basket context needs a model with a basket head (this one has none); an unknown
    // context is refused too. Both: the shop's order, with the reason.
    for context in ["basket", "cart"] {
        let refused = rank(&mut s, &model, 3, b"a\nc\nzz", Ask { context: Some(context.into()), ..Ask::default() });
        assert_eq!(prop(&refused.error(), "code"), "E_OPTIONS", "{context}");
        assert_eq!(refused.order(), [0, 1, 2], "{context}");
    }
    let capped = rank(
        &mut s,
        &model,
        3,
        b"a\nc\nzz",
        Ask { max_per_group: Some(1), groups: Some(vec![1, 1, 0]), ..Ask::default() },
    );
    assert!(capped.error().is_undefined());
    let first_two = &capped.order()[..2];
    assert_eq!(
        first_two.iter().filter(|&&i| i < 2).count(),
        1,
        "one of the group's two items is capped: {first_two:?}"
    );

    // The stored record restores the same session, silently.
    let back = Session::restore(&model, &s.to_bytes());
    assert_eq!(back.warning(), None);
    assert_eq!(back.profile_vector(), s.profile_vector());
    assert_eq!(js_sys::Array::from(&back.recent_events()).length(), 2);

    // Feedback: a list shown, then an event on its second place: the click and the place
    // passed over above it are learned, kept in the record, and off with learning.
    let list = Some("home".to_string());
    let shown = rank(&mut s, &model, 3, b"a\nb\nc", Ask { list, now: Some(1.7e12), ..Ask::default() });
    let second = ["a", "b", "c"][shown.order()[1] as usize];
    s.observe(&model, js(&format!(r#"{{"itemId": "{second}", "ts": 1700000003000}}"#))).expect("observes");
    assert_eq!(s.learned(), 2.0, "the click and the place above it");
    assert!(s.adapting());
    assert_eq!(Session::restore(&model, &s.to_bytes()).learned(), 2.0);
    s.set_learning(false);
    assert!(!s.adapting());
    s.set_learning(true);

    s.forget(&model);
    assert_eq!(s.profile_vector(), empty);
    assert_eq!(js_sys::Array::from(&s.recent_events()).length(), 0);
    assert_eq!(s.learned(), 0.0);
}

pub fn damaged_and_earlier_records_are_rebuilt_with_a_warning() {
    let model = Model::new(bytes(SMALL)).expect("loads");
    let s = Session::restore(&model, b"{not json");
    assert!(s.warning().unwrap_or_default().contains("rebuilt from 0 recent events"), "{:?}", s.warning());
    // This model's record with a profile of the wrong width: rebuilt from its events.
    let record = format!(
        r#"{{"format": 1, "modelVersion": "{}", "state": [1.0], "lastTs": null, "events": 1,
            "recent": [{{"itemId": "b", "kind": "cart", "ts": 1000}}]}}"#,
        model.model_version()
    );
    let s = Session::restore(&model, record.as_bytes());
    let warning = s.warning().unwrap_or_default();
    assert!(warning.contains("damaged") && warning.contains("1 recent events"), "{warning}");
    assert_eq!(s.profile_vector().len(), 4);

    // pocketrank 0.1 kept `{ v: 1, modelVersion, profile, events }` in JavaScript.
    let events = js(r#"[{"itemId": "b", "kind": "cart", "ts": 1000}, {"itemId": "", "ts": 2000},
        {"itemId": "c", "kind": "view", "ts": 3000}, "garbage"]"#);
    let legacy = Session::from_events(&model, events);
    let warning = legacy.warning().unwrap_or_default();
    assert!(warning.contains("earlier pocketrank version") && warning.contains("2 recent events"), "{warning}");
    let mut direct = Session::restore(&model, &[]);
    direct.observe(&model, js(r#"{"itemId": "b", "kind": "cart", "ts": 1000}"#)).unwrap();
    direct.observe(&model, js(r#"{"itemId": "c", "kind": "view", "ts": 3000}"#)).unwrap();
    assert_eq!(legacy.profile_vector(), direct.profile_vector());
    assert!(Session::from_events(&model, js("{}")).recent_events().is_array());
}

pub fn errors_are_errors_with_codes() {
    let (code, message) = error_of(Model::new(bytes(&SMALL[..SMALL.len() - 1])));
    assert_eq!(code, "E_ARTIFACT");
    assert!(message.starts_with("pocketrank: ") && message.contains("truncated"), "{message}");
    let mut flipped = SMALL.to_vec();
    flipped[100] ^= 1;
    let (code, message) = error_of(Model::new(bytes(&flipped)));
    assert_eq!((code.as_str(), message.contains("checksum")), ("E_ARTIFACT", true), "{message}");
    let mut future = SMALL.to_vec();
    future[8] = 9;
    assert_eq!(error_of(Model::new(bytes(&future))).0, "E_UNSUPPORTED");
    assert_eq!(error_of(Model::with_digest(bytes(SMALL), &[0; 5])).0, "E_ARTIFACT");
    // Not bytes at all: an argument error, not bytes made up from it.
    assert_eq!(error_of(Model::new(JsValue::from_str("model.pkr"))).0, "E_OPTIONS");
    assert_eq!(error_of(Model::new(js("[1, 2, 3]"))).0, "E_OPTIONS");
    let buffer = js_sys::Uint8Array::from(SMALL).buffer();
    assert_eq!(Model::new(buffer.into()).expect("an ArrayBuffer").item_count(), 3);

    let model = Model::new(bytes(SMALL)).expect("loads");
    let mut s = Session::restore(&model, &[]);
    for bad in [
        r#"{"itemId": "a", "kind": "wishlist"}"#,
        r#"{"kind": "view"}"#,
        r#"{"itemId": "a", "ts": "soon"}"#,
        "null",
        "7",
    ] {
        let (code, message) = error_of(s.observe(&model, js(bad)));
        assert_eq!(code, "E_EVENT", "{bad}: {message}");
        assert!(message.contains("invalid event"), "{message}");
    }
    assert_eq!(js_sys::Array::from(&s.recent_events()).length(), 0, "a bad event changes nothing");

    // A failed session rerank is the shop's order with the error beside it.
    let r = rank(&mut s, &model, 2, b"a", Ask::default());
    assert_eq!(r.order(), [0, 1]);
    assert_eq!(r.sources(), [3, 3]);
    assert_eq!(coded(r.error()).0, "E_CANDIDATES");
    let r = rank(&mut s, &model, 2, b"a\n\xff", Ask::default());
    assert_eq!((coded(r.error()).0.as_str(), r.order()), ("E_CANDIDATES", vec![0, 1]), "ids that are not UTF-8");
    let r = rank(&mut s, &model, 1, b"a", Ask { codes: Some(b"\xc3".to_vec()), ..Ask::default() });
    assert_eq!(coded(r.error()).0, "E_CANDIDATES", "codes that are not UTF-8");
    let r = rank(&mut s, &model, max_candidates() + 1, b"", Ask { top_k: Some(2), ..Ask::default() });
    assert_eq!((coded(r.error()).0.as_str(), r.order().len()), ("E_TOO_MANY", 2));

    // Stateless (edge) reranks throw.
    assert_eq!(error_of(model.rank_state(vec![0.0; 3], 1, b"a", None, None, None, None)).0, "E_PROFILE");
    assert_eq!(error_of(model.rank_state(vec![f32::NAN; 4], 1, b"a", None, None, None, None)).0, "E_PROFILE");
    assert_eq!(error_of(model.rank_state(vec![0.0; 4], 2, b"a", None, None, None, None)).0, "E_CANDIDATES");
    assert_eq!(
        error_of(model.rank_state(vec![0.0; 4], max_candidates() + 1, b"", None, None, None, None)).0,
        "E_TOO_MANY"
    );
    assert_eq!(error_of(model.edge_state(b"nope")).0, "E_PROFILE");
    let blob = s.edge_profile();
    let state = model.edge_state(&blob).expect("round trip");
    assert_eq!(model.rank_state(state, 3, b"a\nb\nc", None, None, None, Some(2)).expect("ranks").order().len(), 2);
}

pub fn the_webgpu_inputs_follow_the_model() {
    let model = Model::new(bytes(SMALL)).expect("loads");
    let prelude = model.wgsl_prelude();
    for line in ["const D: u32 = 4u;", "const H: u32 = 4u;", "const CONTEXT_FEATURES: u32 = 3u;", "fn position_feature"]
    {
        assert!(prelude.contains(line), "{line} in {prelude}");
    }
    let s = Session::restore(&model, &[]);
    let params = s.kernel_params(&model).expect("params");
    let out_b: usize = prelude
        .lines()
        .find_map(|l| l.strip_prefix("const OUT_B: u32 = "))
        .and_then(|v| v.trim_end_matches("u;").parse().ok())
        .expect("OUT_B");
    assert_eq!(params.len(), out_b + 1);
    let ctx = model.context_features(3, Some(vec![f32::NAN, 100.0, 0.5]));
    assert_eq!(ctx.len(), 9);
    assert_eq!(&ctx[..2], &[0.0, 0.0], "NaN reads as no score");
    assert_eq!(&ctx[3..5], &[50.0, 1.0], "scores are clamped");
    assert_eq!(model.catalog_indices(3, "a\nzz\nc"), [0, -1, 2]);
    assert_eq!(model.item_table().len(), 3 * 4);
}
