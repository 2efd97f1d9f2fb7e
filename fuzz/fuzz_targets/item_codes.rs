//! Item codes from outside: the item-code file (`trainer export-codes`) and a candidate's
//! code string, on arbitrary bytes. Errors are fine, panics are not.
//!
//! The file is tried whole, and as the body of a file whose header and checksum are made
//! valid around it, so that mutations reach the parsing behind the checksum.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use pocketrank_runtime::Codebooks;
use pocketrank_runtime::codes::{CENTROIDS, CodeFile};
use sha2::{Digest, Sha256};

const D: usize = 16;
const M: usize = 8;

static BOOKS: LazyLock<Codebooks> = LazyLock::new(|| {
    let centroids = (0..M * CENTROIDS * (D / M)).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    Codebooks::new(D, M, centroids).expect("valid codebooks")
});

/// `body` behind a valid item-code header, with its checksum.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut out = b"PKCODES\n".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn file(bytes: &[u8]) {
    if let Ok(f) = CodeFile::decode(bytes) {
        let _ = f.check(&BOOKS);
        let mut out = [0f32; D];
        for i in 0..f.ids.len().min(8) {
            if let Some(code) = f.code(i).filter(|c| c.len() == BOOKS.m) {
                BOOKS.decode_into(code, &mut out);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    file(data);
    file(&framed(data));
    let text = String::from_utf8_lossy(data);
    if let Ok(code) = BOOKS.parse(&text) {
        let mut out = [0f32; D];
        BOOKS.decode_into(&code, &mut out);
        assert_eq!(BOOKS.parse(&BOOKS.code_string(&code)).as_deref(), Ok(&code[..]), "a code string reads back");
    }
});
