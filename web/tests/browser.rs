#![cfg(target_arch = "wasm32")]
//! The `Model` and `Session` API in headless Chromium (`wasm-bindgen-test-runner` with chromedriver).
#[macro_use]
mod common;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

all_shared_tests!();
