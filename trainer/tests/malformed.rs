//! Bad input gets a clear error naming file, line and field, or is skipped and counted.

mod common;

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use pocketrank_trainer::data::{self, IngestError, LoadOptions};

fn write(dir: &Path, name: &str, body: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(body).unwrap();
    gz.finish().unwrap()
}

/// A dataset folder named like Beauty holding only the given sequence file.
fn beauty_dir(sequences: &[u8]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("amazon-beauty-s3rec");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "Beauty.txt.gz", sequences);
    root
}

fn load_beauty(root: &Path, skip: bool) -> Result<data::Ingested, IngestError> {
    let opts = LoadOptions { skip_bad_rows: skip, allow_download: false, ..LoadOptions::default() };
    data::load("amazon-beauty-s3rec", root, &opts, &|_| {})
}

#[test]
fn truncated_gzip_is_reported_as_such() {
    let real = std::fs::read(common::data_dir().join("amazon-beauty-s3rec/Beauty.txt.gz")).unwrap();
    let root = beauty_dir(&real[..real.len() / 2]);
    let err = load_beauty(root.path(), false).unwrap_err();
    assert!(matches!(err, IngestError::Gzip { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("Beauty.txt.gz") && msg.contains("gzip"), "{msg}");
}

#[test]
fn non_numeric_id_names_file_line_and_field() {
    let root = beauty_dir(&gzip(b"1 1 2 3\n2 4 x5 6\n3 7 8 9\n"));
    let err = load_beauty(root.path(), false).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("Beauty.txt.gz:2") && msg.contains("item_id #2") && msg.contains("\"x5\""), "{msg}");
    // With --skip-bad-rows the line is dropped and counted; items.tsv is absent, so the
    // catalog is the ids that occur.
    let ing = load_beauty(root.path(), true).unwrap();
    assert_eq!(ing.skipped_rows, 1);
    assert_eq!(ing.dataset.stats().interactions, 6);
}

#[test]
fn empty_files_and_unknown_names() {
    let root = beauty_dir(b"");
    let err = load_beauty(root.path(), false).unwrap_err();
    assert!(matches!(err, IngestError::Empty { .. }) && err.to_string().contains("is empty"), "{err}");
    let root = beauty_dir(&gzip(b""));
    assert!(matches!(load_beauty(root.path(), false).unwrap_err(), IngestError::Empty { .. }));

    let err = data::load("amazon-beuty", root.path(), &LoadOptions::default(), &|_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("unknown dataset \"amazon-beuty\"") && msg.contains("amazon-beauty-s3rec"), "{msg}");

    let err = data::load("amazon-toys-s3rec", root.path(), &LoadOptions::default(), &|_| {}).unwrap_err();
    assert!(matches!(err, IngestError::NotFound { .. }) && err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn shop_export_csv_and_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = write(
        dir.path(),
        "catalog.csv",
        b"item_id,title,brand,category,attributes\nsku-1,\"Red lipstick, matte\",Acme,Lips,Makeup|Lips\nsku-2,Blue mascara,Acme,Eyes,\nsku-3,,,,\n",
    );
    let events = write(
        dir.path(),
        "events.jsonl",
        br#"{"user_id":"u1","item_id":"sku-2","timestamp":"2024-01-02T00:00:00Z","event":"add_to_cart"}
{"user_id":"u1","item_id":"sku-1","timestamp":1704067200,"event":"view"}
{"user_id":42,"item_id":"sku-3","timestamp":1704067200000}
"#,
    );
    let ing = data::load_export(&events, Some(&catalog), &LoadOptions::default()).unwrap();
    let ds = &ing.dataset;
    assert_eq!(ds.users, ["u1", "42"]);
    assert_eq!(ds.catalog.get(0).unwrap().title, "Red lipstick, matte");
    assert_eq!(ds.catalog.get(0).unwrap().attributes, ["Makeup", "Lips"]);
    // u1's view (Jan 1) comes before the cart (Jan 2) despite the file order.
    let u1: Vec<_> = ds.sequences[0].iter().map(|e| (e.item, e.kind.as_str())).collect();
    assert_eq!(u1, [(0, "view"), (1, "cart")]);

    let bad = write(dir.path(), "bad.csv", b"user_id,item_id,timestamp,event\nu1,sku-1,1704067200,view\nu2,sku-9,1704067200,view\nu3,sku-2,soon,view\nu4,sku-2,1704067200,wishlist\n");
    let err = data::load_export(&bad, Some(&catalog), &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("bad.csv:3") && err.contains("item_id") && err.contains("sku-9"), "{err}");
    let opts = LoadOptions { skip_bad_rows: true, allow_download: false, ..LoadOptions::default() };
    let ing = data::load_export(&bad, Some(&catalog), &opts).unwrap();
    assert_eq!((ing.skipped_rows, ing.dataset.stats().interactions), (3, 1));

    let missing = write(dir.path(), "missing.csv", b"user,item_id,timestamp\nu1,sku-1,1\n");
    let err = data::load_export(&missing, None, &LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("missing column `user_id`"), "{err}");
}
