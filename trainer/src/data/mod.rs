//! Ingestion: every supported source becomes a [`pocketrank_model::Dataset`].
//!
//! Datasets are found under a data folder (`--data-dir`, `POCKETRANK_DATA`, or
//! `../shared/data` when present); those with public sources are otherwise downloaded into
//! a cache folder (`POCKETRANK_CACHE`, default `~/.cache/pocketrank`).

pub mod beauty_sources;
pub mod download;
pub mod error;
pub mod generic;
pub mod ids;
pub mod instacart;
pub mod pairs;
pub mod s3rec;
pub mod source;

use std::path::{Path, PathBuf};

use pocketrank_model::Dataset;

pub use error::IngestError;
use ids::RowPolicy;

/// A dataset as read, with what ingestion noticed on the way.
#[derive(Debug)]
pub struct Ingested {
    pub dataset: Dataset,
    /// Malformed rows skipped under `--skip-bad-rows`.
    pub skipped_rows: usize,
    /// Distinct baskets (orders), for basket data.
    pub baskets: Option<usize>,
}

/// How a named dataset is stored.
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// S3-Rec sequence lines; file names relative to the dataset folder.
    S3Rec { sequences: &'static str, items: Option<&'static str>, attributes: &'static str, time_gaps: &'static str },
    /// `user item` lines.
    Pairs { file: &'static str },
    /// Instacart tables.
    Instacart,
}

/// A dataset the trainer knows by name.
#[derive(Debug, Clone, Copy)]
pub struct KnownDataset {
    pub name: &'static str,
    pub about: &'static str,
    pub layout: Layout,
    /// Whether [`download`] can fetch it from its public sources.
    pub downloadable: bool,
}

/// Every named dataset.
pub const KNOWN: &[KnownDataset] = &[
    KnownDataset {
        name: "amazon-beauty-s3rec",
        about: "Amazon Beauty 5-core (S3-Rec split), titles + brand/category names; 22,363 users, 12,101 items",
        layout: Layout::S3Rec {
            sequences: "Beauty.txt.gz",
            items: Some("items.tsv.gz"),
            attributes: "Beauty_item2attributes.json.gz",
            time_gaps: "Beauty_time_gaps.txt.gz",
        },
        downloadable: true,
    },
    KnownDataset {
        name: "amazon-toys-s3rec",
        about: "Amazon Toys 5-core (S3-Rec split), attribute ids only; 19,412 users, 11,924 items",
        layout: Layout::S3Rec {
            sequences: "Toys_and_Games.txt.gz",
            items: None,
            attributes: "Toys_and_Games_item2attributes.json.gz",
            time_gaps: "Toys_and_Games_time_gaps.txt.gz",
        },
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-sports-s3rec",
        about: "Amazon Sports 5-core (S3-Rec split), attribute ids only; 35,598 users, 18,357 items",
        layout: Layout::S3Rec {
            sequences: "Sports_and_Outdoors.txt.gz",
            items: None,
            attributes: "Sports_and_Outdoors_item2attributes.json.gz",
            time_gaps: "Sports_and_Outdoors_time_gaps.txt.gz",
        },
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-beauty-bert4rec",
        about: "Amazon Beauty as used by BERT4Rec, ids only; 40,226 users, 54,542 items",
        layout: Layout::Pairs { file: "beauty.txt.gz" },
        downloadable: false,
    },
    KnownDataset {
        name: "amazon-videogames-sasrec",
        about: "Amazon Video Games as used by SASRec, ids only; 31,013 users, 23,715 items",
        layout: Layout::Pairs { file: "Video.txt.gz" },
        downloadable: false,
    },
    KnownDataset {
        name: "instacart",
        about: "Instacart order lines (150,000 lines, 15,183 baskets) + product/aisle/department names",
        layout: Layout::Instacart,
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
    let main_file = match ds.layout {
        Layout::S3Rec { sequences, .. } => sequences,
        Layout::Pairs { file } => file,
        Layout::Instacart => "order_lines_sample.csv.gz",
    };
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
    let dir = dataset_dir(ds, data_dir, opts, log)?;
    let mut policy = RowPolicy::new(opts.skip_bad_rows);
    let need = |file: &str| {
        find_file(&dir, file).ok_or_else(|| IngestError::NotFound {
            name: ds.name.into(),
            dir: dir.clone(),
            file: file.into(),
            hint: "the folder is incomplete".into(),
        })
    };
    match ds.layout {
        Layout::S3Rec { sequences, items, attributes, time_gaps } => {
            let sequences = need(sequences)?;
            let items = items.and_then(|f| find_file(&dir, f));
            let attributes = find_file(&dir, attributes);
            let time_gaps = find_file(&dir, time_gaps);
            let files = s3rec::S3RecFiles {
                sequences: &sequences,
                items: items.as_deref(),
                attributes: attributes.as_deref(),
                time_gaps: time_gaps.as_deref(),
            };
            s3rec::load(ds.name, &files, &mut policy)
        }
        Layout::Pairs { file } => pairs::load(ds.name, &need(file)?, &mut policy),
        Layout::Instacart => {
            let (lines, products) = (need("order_lines_sample.csv.gz")?, need("products.csv.gz")?);
            let (aisles, departments) = (need("aisles.csv")?, need("departments.csv")?);
            let files = instacart::InstacartFiles {
                order_lines: &lines,
                products: &products,
                aisles: &aisles,
                departments: &departments,
            };
            instacart::load(&files, &mut policy)
        }
    }
}

/// Loads a shop export (events + optional catalog, CSV or JSON Lines).
pub fn load_export(events: &Path, catalog: Option<&Path>, opts: &LoadOptions) -> Result<Ingested, IngestError> {
    let name = events.file_stem().and_then(|s| s.to_str()).unwrap_or("events").to_string();
    generic::load(&name, events, catalog, &mut RowPolicy::new(opts.skip_bad_rows))
}
