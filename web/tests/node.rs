#![cfg(target_arch = "wasm32")]
//! The `Model` and `Session` API in Node (`wasm-bindgen-test-runner`).
#[macro_use]
mod common;

all_shared_tests!();
