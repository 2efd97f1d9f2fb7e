//! The download path, offline: the transport serves the real source bytes from
//! `../shared/data`, so checksums, the stored layout and the title join are all exercised.

mod common;

use std::io::Read;

use pocketrank_trainer::data::beauty_sources::{self, BeautySources};
use pocketrank_trainer::data::download::{self, BEAUTY_S3REC};
use pocketrank_trainer::data::{self, IngestError, LoadOptions};

fn gunzip(path: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()).read_to_end(&mut out).unwrap();
    out
}

/// Serves a source URL from the matching file of the shared copy.
fn offline_fetch(url: &str) -> Result<Vec<u8>, IngestError> {
    let file = BEAUTY_S3REC.iter().find(|f| f.url == url).expect("known url");
    Ok(gunzip(&common::data_dir().join("amazon-beauty-s3rec").join(file.store_as)))
}

#[test]
fn join_rebuilds_items_tsv_exactly() {
    let dir = common::data_dir().join("amazon-beauty-s3rec");
    let rows = beauty_sources::join(&BeautySources {
        datamaps: &dir.join("source/p5_beauty_datamaps.json.gz"),
        item_id_to_int: &dir.join("source/dhr_beauty_item_id_to_int.json.gz"),
        products_lookup: &dir.join("source/dhr_beauty_products_lookup.csv.gz"),
        item2attributes: &dir.join("Beauty_item2attributes.json.gz"),
    })
    .unwrap();
    assert_eq!(rows.len(), 12_101);
    let mut tsv = Vec::new();
    beauty_sources::write_items_tsv(&rows, &mut tsv).unwrap();
    assert!(tsv == gunzip(&dir.join("items.tsv.gz")), "the joined table differs from items.tsv");
}

#[test]
fn download_verifies_and_loads() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("amazon-beauty-s3rec");
    download::beauty_s3rec(&dir, &offline_fetch, &|_| {}).unwrap();
    let opts = LoadOptions { skip_bad_rows: false, allow_download: false, ..LoadOptions::default() };
    let ing = data::load("amazon-beauty-s3rec", cache.path(), &opts, &|_| {}).unwrap();
    let s = ing.dataset.stats();
    assert_eq!((s.users, s.items, s.interactions), (22_363, 12_101, 198_502));
    assert_eq!(ing.dataset.catalog.get(0).unwrap().id, "B004756YJA");

    // A corrupted download is refused and nothing is stored.
    let other = tempfile::tempdir().unwrap();
    let corrupt = |url: &str| {
        offline_fetch(url).map(|mut b| {
            b[10] ^= 1;
            b
        })
    };
    let err = download::beauty_s3rec(other.path(), &corrupt, &|_| {}).unwrap_err();
    assert!(matches!(err, IngestError::Checksum { .. }) && err.to_string().contains("sha256"), "{err}");
    assert!(!other.path().join(BEAUTY_S3REC[0].store_as).exists());
}
