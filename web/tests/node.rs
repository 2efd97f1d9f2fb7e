#![cfg(target_arch = "wasm32")]
//! The `Model` and `Session` API in Node (`wasm-bindgen-test-runner`).
mod common;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn a_session_observes_reranks_and_comes_back() {
    common::a_session_observes_reranks_and_comes_back();
}

#[wasm_bindgen_test]
fn damaged_and_earlier_records_are_rebuilt_with_a_warning() {
    common::damaged_and_earlier_records_are_rebuilt_with_a_warning();
}

#[wasm_bindgen_test]
fn errors_are_errors_with_codes() {
    common::errors_are_errors_with_codes();
}

#[wasm_bindgen_test]
fn the_webgpu_inputs_follow_the_model() {
    common::the_webgpu_inputs_follow_the_model();
}
