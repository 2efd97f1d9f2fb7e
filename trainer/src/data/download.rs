//! Fetches the public source files of a dataset into a cache folder, verifying each file's
//! SHA-256, so a machine without `../shared/data` can train on the same bytes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::beauty_sources::{self, BeautySources};
use super::error::IngestError;

/// One source file: where it lives, its SHA-256 (of the uncompressed bytes), and the name
/// it is stored under (gzip-compressed) in the dataset folder.
pub struct RemoteFile {
    pub url: &'static str,
    pub sha256: &'static str,
    pub store_as: &'static str,
}

/// Public sources of the Beauty (S3-Rec) data, pinned to commits.
pub const BEAUTY_S3REC: &[RemoteFile] = &[
    RemoteFile {
        url: "https://raw.githubusercontent.com/aHuiWang/CIKM2020-S3Rec/49a890dcb516c9ed3126564495234ea74d5cd566/data/Beauty.txt",
        sha256: "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8",
        store_as: "Beauty.txt.gz",
    },
    RemoteFile {
        url: "https://raw.githubusercontent.com/aHuiWang/CIKM2020-S3Rec/49a890dcb516c9ed3126564495234ea74d5cd566/data/Beauty_item2attributes.json",
        sha256: "129e40f67486f6877eff0f5318cfa8530ee8ac23d8b0d1de04e1bb7a2ba0b2d4",
        store_as: "Beauty_item2attributes.json.gz",
    },
    RemoteFile {
        url: "https://raw.githubusercontent.com/AraVio/TimeWeaver/38b4ff7243b527a4b8843090ce080ca533a9e3c6/data/Beauty.txt",
        sha256: "ace27f3acb2528e9b7cfb8e5c459070f5888cfc3edab4cd219e595c5be1c87b8",
        store_as: "Beauty_time_gaps.txt.gz",
    },
    RemoteFile {
        url: "https://raw.githubusercontent.com/Wenyueh/LLM-RecSys-ID/2200ad9fef647ef755c01d6d7e5c5de3082606c5/data/beauty/datamaps.json",
        sha256: "715ab04838ff1ba21238475ed453a89e8c30aa6214b904d27a79e4168fc7b612",
        store_as: "source/p5_beauty_datamaps.json.gz",
    },
    RemoteFile {
        url: "https://raw.githubusercontent.com/dh-r/LLM-Sequential-Recommendation/6464b39064f369b251580c63edbf635de0934101/beauty/item_id_to_int.json",
        sha256: "3d1a1d362c7daeddf616057fae8fa24af9d70902fdaf4631852231a9953afa50",
        store_as: "source/dhr_beauty_item_id_to_int.json.gz",
    },
    RemoteFile {
        url: "https://raw.githubusercontent.com/dh-r/LLM-Sequential-Recommendation/6464b39064f369b251580c63edbf635de0934101/beauty/products_lookup.csv",
        sha256: "65133eca0615999df67fc5b26a93a7da762e53e613a083fd6b9e37174896d128",
        store_as: "source/dhr_beauty_products_lookup.csv.gz",
    },
];

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Fetches a URL's body (up to 256 MiB).
pub fn fetch(url: &str) -> Result<Vec<u8>, IngestError> {
    let fail = |e: ureq::Error| IngestError::Download { url: url.to_string(), message: e.to_string() };
    let mut response = ureq::get(url).call().map_err(fail)?;
    response.body_mut().with_config().limit(256 << 20).read_to_vec().map_err(fail)
}

/// Checks the bytes against the expected SHA-256 and stores them gzip-compressed under
/// `dir/file.store_as` (written to a temporary name, then renamed, so a failed run never
/// leaves a half-written file behind).
pub fn store_verified(file: &RemoteFile, bytes: &[u8], dir: &Path) -> Result<PathBuf, IngestError> {
    let actual = sha256_hex(bytes);
    if actual != file.sha256 {
        return Err(IngestError::Checksum { url: file.url.into(), expected: file.sha256.into(), actual });
    }
    let target = dir.join(file.store_as);
    let io = |source| IngestError::Io { path: target.clone(), source };
    fs::create_dir_all(target.parent().unwrap_or(dir)).map_err(io)?;
    let partial = target.with_extension("partial");
    let mut gz = GzEncoder::new(fs::File::create(&partial).map_err(io)?, Compression::default());
    gz.write_all(bytes).map_err(io)?;
    gz.finish().map_err(io)?;
    fs::rename(&partial, &target).map_err(io)?;
    Ok(target)
}

/// Downloads the Beauty sources into `dir` (skipping files already there) and builds
/// `items.tsv.gz` from them. `fetch` is the transport (real HTTP in the binary).
pub fn beauty_s3rec(
    dir: &Path,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, IngestError>,
    log: &dyn Fn(&str),
) -> Result<(), IngestError> {
    for file in BEAUTY_S3REC {
        if dir.join(file.store_as).exists() {
            continue;
        }
        log(&format!("downloading {}", file.url));
        let bytes = fetch(file.url)?;
        store_verified(file, &bytes, dir)?;
    }
    let items = dir.join("items.tsv.gz");
    if !items.exists() {
        let rows = beauty_sources::join(&BeautySources {
            datamaps: &dir.join("source/p5_beauty_datamaps.json.gz"),
            item_id_to_int: &dir.join("source/dhr_beauty_item_id_to_int.json.gz"),
            products_lookup: &dir.join("source/dhr_beauty_products_lookup.csv.gz"),
            item2attributes: &dir.join("Beauty_item2attributes.json.gz"),
        })?;
        let io = |source| IngestError::Io { path: items.clone(), source };
        let partial = items.with_extension("partial");
        let mut gz = GzEncoder::new(fs::File::create(&partial).map_err(io)?, Compression::default());
        beauty_sources::write_items_tsv(&rows, &mut gz).map_err(io)?;
        gz.finish().map_err(io)?;
        fs::rename(&partial, &items).map_err(io)?;
    }
    Ok(())
}
