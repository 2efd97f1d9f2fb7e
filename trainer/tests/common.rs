//! Shared helpers of the trainer's integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real datasets: `POCKETRANK_DATA`, else `../shared/data` next to the checkout.
/// Tests that need them fail (never skip) when they are missing.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("POCKETRANK_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(
        dir.join("README.md").is_file(),
        "the real datasets are not at {}; set POCKETRANK_DATA to their folder",
        dir.display()
    );
    dir
}
