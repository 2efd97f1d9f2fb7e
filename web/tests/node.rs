#![cfg(target_arch = "wasm32")]
//! The `Model` API in Node (`wasm-bindgen-test-runner`).
mod common;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn loads_observes_and_reranks() {
    common::loads_observes_and_reranks();
}

#[wasm_bindgen_test]
fn bad_inputs_are_errors_with_messages() {
    common::bad_inputs_are_errors_with_messages();
}
