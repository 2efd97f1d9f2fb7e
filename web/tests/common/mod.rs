//! The wasm-bindgen tests shared by the Node and browser runs: the `Model` API on a small
//! artifact (web/tests/small.pkr, written by `cargo run -p pocketrank-model --example
//! small_artifact`), with its errors as JavaScript sees them.

use pocketrank_web::Model;
use wasm_bindgen::JsValue;

const SMALL: &[u8] = include_bytes!("../small.pkr");

fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

fn message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    js_sys::Error::from(v).message().into()
}

pub fn loads_observes_and_reranks() {
    let model = Model::new(SMALL).expect("loads");
    assert_eq!(model.item_count(), 3);
    let p0 = model.new_profile();
    let p1 = model.observe(&p0, js(r#"{"itemId": "b", "kind": "cart", "ts": 1700000000000}"#)).expect("observes");
    assert_ne!(p0, p1, "the event changed the profile");
    let ranked = model
        .rerank(&p1, js(r#"[{"id": "a"}, {"id": "c", "score": 0.5}, {"id": "zz"}]"#), JsValue::UNDEFINED)
        .expect("reranks");
    let ranked = js_sys::Array::from(&ranked);
    assert_eq!(ranked.length(), 3);
    let sources: Vec<String> = ranked
        .iter()
        .map(|r| js_sys::Reflect::get(&r, &"source".into()).ok().and_then(|s| s.as_string()).unwrap_or_default())
        .collect();
    assert!(sources.contains(&"unknown".to_string()));
    let fast = model.rank_joined(&p1, 3, "a\nc\nzz", None, None).expect("ranks");
    assert_eq!(fast.order().len(), 3);
}

pub fn bad_inputs_are_errors_with_messages() {
    let e = Model::new(&SMALL[..SMALL.len() - 1]).err().map(message).unwrap_or_default();
    assert!(e.contains("truncated"), "{e}");
    let mut flipped = SMALL.to_vec();
    flipped[100] ^= 1;
    let e = Model::new(&flipped).err().map(message).unwrap_or_default();
    assert!(e.contains("checksum"), "{e}");
    let model = Model::new(SMALL).expect("loads");
    let p = model.new_profile();
    let e =
        model.observe(&p, js(r#"{"itemId": "a", "kind": "wishlist", "ts": 0}"#)).err().map(message).unwrap_or_default();
    assert!(e.contains("invalid event"), "{e}");
    let e = model.rerank(&p, js(r#"{"not": "an array"}"#), JsValue::UNDEFINED).err().map(message).unwrap_or_default();
    assert!(e.contains("expected an array"), "{e}");
    let e = model.rerank(&[1, 2, 3], js("[]"), JsValue::UNDEFINED).err().map(message).unwrap_or_default();
    assert!(e.contains("invalid profile"), "{e}");
    let e = model.rank_joined(&p, 2, "a", None, None).err().map(message).unwrap_or_default();
    assert!(e.contains("disagree"), "{e}");
}
