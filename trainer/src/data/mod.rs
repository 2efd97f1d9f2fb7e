//! Ingestion: every supported source becomes a [`pocketrank_model::Dataset`].
//!
//! Datasets are found under a data folder (`--data-dir`, `POCKETRANK_DATA`, or
//! `../shared/data` when present); those with public sources are otherwise downloaded into
//! a cache folder (`POCKETRANK_CACHE`, default `~/.cache/pocketrank`).

pub mod beauty_sources;
pub mod columns;
pub mod download;
pub mod error;
pub mod event_log;
pub mod generic;
pub mod ids;
pub mod instacart;
pub mod pairs;
pub mod parquet;
pub mod s3rec;
pub mod source;

use std::path::{Path, PathBuf};

use pocketrank_model::Dataset;

pub use columns::{ColumnSpec, Columns, Field};
pub use error::IngestError;
pub use ids::RowPolicy;

/// A dataset as read, with what ingestion noticed on the way.
#[derive(Debug)]
pub struct Ingested {
    pub dataset: Dataset,
    /// Rows read, skipped ones included.
    pub rows: usize,
    /// Malformed rows skipped under `--skip-bad-rows`.
    pub skipped_rows: usize,
    /// Repeated events (same shopper, item, time and kind) dropped under `--skip-bad-rows`.
    pub duplicate_events: usize,
    /// Distinct baskets (orders), for basket data.
    pub baskets: Option<usize>,
}

/// One source of shop data, read into a [`Dataset`]. Each format is one implementation:
/// [`s3rec::S3Rec`] (S3-Rec sequences), [`pairs::Pairs`] (user-item pairs),
/// [`instacart::Instacart`] (order lines) and [`generic::ShopExport`] (a shop's own
/// events and catalog, CSV, JSON Lines or Parquet); a new format is one more.
pub trait Source {
    /// Reads the events and the catalog; `policy` decides whether a malformed row fails
    /// the read or is skipped (and counted).
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError>;
}

/// A named dataset's folder, from which its [`Source`] is opened.
#[derive(Debug, Clone)]
pub struct Folder {
    pub name: &'static str,
    pub dir: PathBuf,
}

impl Folder {
    /// `file` in the folder (or its twin with or without `.gz`), if there.
    pub fn find(&self, file: &str) -> Option<PathBuf> {
        find_file(&self.dir, file)
    }

    /// `file` in the folder, or an error naming it.
    pub fn need(&self, file: &str) -> Result<PathBuf, IngestError> {
        self.find(file).ok_or_else(|| IngestError::NotFound {
            name: self.name.into(),
            dir: self.dir.clone(),
            file: file.into(),
            hint: "the folder is incomplete".into(),
        })
    }
}

/// A dataset the trainer knows by name.
#[derive(Debug, Clone, Copy)]
pub struct KnownDataset {
    pub name: &'static str,
    pub about: &'static str,
    /// The file whose presence marks the dataset's folder.
    pub main_file: &'static str,
    /// Opens the dataset's [`Source`] in its folder (failing when a required file is missing).
    pub open: fn(&Folder) -> Result<Box<dyn Source>, IngestError>,
    /// Whether [`download`] can fetch it from its public sources.
    pub downloadable: bool,
}

/// Every named dataset.
pub const KNOWN: &[KnownDataset] = &[
    KnownDataset {
        name: "amazon-beauty-s3rec",
        about: "Amazon Beauty 5-core (S3-Rec split), titles + brand/category names; 22,363 users, 12,101 items",
        main_file: "Beauty.txt.gz",
        open: |f| s3rec::S3Rec::open(f, "Beauty", true),
        downloadable: true,
    },
    KnownDataset {
        name: "amazon-toys-s3rec",
        about: "Amazon Toys 5-core (S3-Rec split), attribute ids only; 19,412 users, 11,924 items",
        main_file: "Toys_and_Games.txt.gz",
        open: |f| s3rec::S3Rec::open(f, "Toys_and_Games", false),
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-sports-s3rec",
        about: "Amazon Sports 5-core (S3-Rec split), attribute ids only; 35,598 users, 18,357 items",
        main_file: "Sports_and_Outdoors.txt.gz",
        open: |f| s3rec::S3Rec::open(f, "Sports_and_Outdoors", false),
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-beauty-bert4rec",
        about: "Amazon Beauty as used by BERT4Rec, ids only; 40,226 users, 54,542 items",
        main_file: "beauty.txt.gz",
        open: |f| pairs::Pairs::open(f, "beauty.txt.gz"),
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-videogames-sasrec",
        about: "Amazon Video Games as used by SASRec, ids only; 31,013 users, 23,715 items",
        main_file: "Video.txt.gz",
        open: |f| pairs::Pairs::open(f, "Video.txt.gz"),
        downloadable: false,
    },
    KnownDataset {
        name: "instacart",
        about: "Instacart order lines (150,000 lines, 15,183 baskets) + product/aisle/department names",
        main_file: instacart::ORDER_LINES,
        open: instacart::Instacart::open,
        downloadable: false,
    },
];

/// Looks a dataset up by name.
pub fn known(name: &str) -> Result<&'static KnownDataset, IngestError> {
    KNOWN.iter().find(|d| d.name == name).ok_or_else(|| IngestError::UnknownDataset {
        name: name.to_string(),
        known: KNOWN.iter().map(|d| d.name).collect::<Vec<_>>().join(", "),
    })
}

/// The data folder: the explicit one, else `../shared/data` when it exists, else the cache.
pub fn resolve_data_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    let shared = Path::new("../shared/data");
    if shared.is_dir() { shared.to_path_buf() } else { cache_dir() }
}

/// Where downloads go: `POCKETRANK_CACHE`, else `$XDG_CACHE_HOME/pocketrank`, else
/// `~/.cache/pocketrank`, else `./.cache/pocketrank`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POCKETRANK_CACHE") {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("pocketrank");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/pocketrank"),
        None => PathBuf::from(".cache/pocketrank"),
    }
}

/// Options of [`load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Skip (and count) malformed rows instead of failing on the first.
    pub skip_bad_rows: bool,
    /// Download public sources into the cache when the dataset is not in the data folder.
    pub allow_download: bool,
    /// The column names of a shop export.
    pub columns: Columns,
}

/// Finds `name` (or `name.gz` / the name without `.gz`) in `dir`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = name.strip_suffix(".gz").unwrap_or(name);
    [name.to_string(), plain.to_string(), format!("{plain}.gz")].into_iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// The folder of a named dataset: in the data folder, else in the cache (downloading it
/// there first when allowed and possible).
fn dataset_dir(
    ds: &KnownDataset,
    data_dir: &Path,
    opts: &LoadOptions,
    log: &dyn Fn(&str),
) -> Result<PathBuf, IngestError> {
    let main_file = ds.main_file;
    for dir in [data_dir.join(ds.name), cache_dir().join(ds.name)] {
        if find_file(&dir, main_file).is_some() {
            return Ok(dir);
        }
    }
    if ds.downloadable && opts.allow_download {
        let dir = cache_dir().join(ds.name);
        log(&format!(
            "{} is not under {}; downloading its public sources into {}",
            ds.name,
            data_dir.display(),
            dir.display()
        ));
        download::beauty_s3rec(&dir, &download::fetch, log)?;
        return Ok(dir);
    }
    let hint = if ds.downloadable {
        "run `trainer download --dataset NAME` or pass --data-dir".to_string()
    } else {
        "pass --data-dir (or set POCKETRANK_DATA) to the folder that holds it".to_string()
    };
    Err(IngestError::NotFound { name: ds.name.into(), dir: data_dir.to_path_buf(), file: main_file.into(), hint })
}

/// Loads a named dataset.
pub fn load(name: &str, data_dir: &Path, opts: &LoadOptions, log: &dyn Fn(&str)) -> Result<Ingested, IngestError> {
    let ds = known(name)?;
    let folder = Folder { name: ds.name, dir: dataset_dir(ds, data_dir, opts, log)? };
    (ds.open)(&folder)?.read(&mut RowPolicy::new(opts.skip_bad_rows))
}

/// Loads a shop export: events (a file or a folder of shards) and an optional catalog,
/// each CSV, JSON Lines or Parquet.
pub fn load_export(events: &Path, catalog: Option<&Path>, opts: &LoadOptions) -> Result<Ingested, IngestError> {
    generic::ShopExport::new(events, catalog, opts.columns.clone()).read(&mut RowPolicy::new(opts.skip_bad_rows))
}
