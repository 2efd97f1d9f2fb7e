//! Errors of data ingestion: each names the file, and where it can, the line and field.

use std::path::PathBuf;

use thiserror::Error;

/// Why a dataset could not be read.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid gzip file or is truncated ({source})")]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: field `{field}`: {message}")]
    Parse { path: PathBuf, line: usize, field: String, message: String },
    #[error("{path}: row group {row_group}, row {row}: column `{column}`: {message}")]
    Row { path: PathBuf, row_group: usize, row: u64, column: String, message: String },
    #[error("{path}: {message}")]
    Schema { path: PathBuf, message: String },
    #[error("{path} is not a readable Parquet file: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error(
        "duplicate event: {event} is at {first} and again at {second} \
         (pass --skip-bad-rows to keep one and count the others)"
    )]
    Duplicate {
        /// The event in words: shopper, item, kind and time.
        event: String,
        first: String,
        second: String,
    },
    #[error("{path} is empty: expected {expected}")]
    Empty { path: PathBuf, expected: String },
    #[error("{path}: missing column `{column}` (the header has: {header})")]
    MissingColumn { path: PathBuf, column: String, header: String },
    #[error("unknown dataset {name:?}; known datasets: {known}")]
    UnknownDataset { name: String, known: String },
    #[error("dataset {name} was not found under {dir} (looked for {file}); {hint}")]
    NotFound { name: String, dir: PathBuf, file: String, hint: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },
    #[error("checksum mismatch for {url}: expected sha256 {expected}, got {actual}")]
    Checksum { url: String, expected: String, actual: String },
    #[error(transparent)]
    Dataset(#[from] pocketrank_model::DatasetError),
    #[error(transparent)]
    Catalog(#[from] pocketrank_model::CatalogError),
}

impl IngestError {
    /// A parse error at `path:line` in `field`.
    pub fn parse(path: &std::path::Path, line: usize, field: &str, message: impl Into<String>) -> Self {
        Self::Parse { path: path.to_path_buf(), line, field: field.to_string(), message: message.into() }
    }
}
