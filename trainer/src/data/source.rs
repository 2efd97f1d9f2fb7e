//! Opening data files: plain or gzip (detected by magic bytes), read line by line or as CSV
//! with errors that name the file and line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::error::IngestError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for reading, transparently decompressing gzip.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let head = file.fill_buf().map_err(io)?;
    if head.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), expected: "data".into() });
    }
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::new(GzipReader { inner: MultiGzDecoder::new(file), path: path.to_path_buf() })))
    } else {
        Ok(Box::new(file))
    }
}

/// Marks errors from the decoder as gzip errors so they are reported as such.
struct GzipReader<R> {
    inner: MultiGzDecoder<R>,
    path: PathBuf,
}

impl<R: BufRead> Read for GzipReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), GzipFailure { path: self.path.clone(), message: e.to_string() }))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct GzipFailure {
    path: PathBuf,
    message: String,
}

/// Turns an I/O error met while reading `path` into the right [`IngestError`].
pub fn read_error(path: &Path, e: std::io::Error) -> IngestError {
    let is_gzip = e.get_ref().is_some_and(|inner| inner.is::<GzipFailure>());
    if is_gzip {
        IngestError::Gzip { path: path.to_path_buf(), source: e }
    } else {
        IngestError::Io { path: path.to_path_buf(), source: e }
    }
}

/// Every line of `path` with its 1-based number; lines end without `\n`/`\r\n`.
pub fn lines(path: &Path) -> Result<impl Iterator<Item = Result<(usize, String), IngestError>>, IngestError> {
    let reader = open(path)?;
    let path = path.to_path_buf();
    Ok(reader.lines().enumerate().map(move |(i, line)| {
        let mut line = line.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData && e.get_ref().is_none_or(|r| !r.is::<GzipFailure>()) {
                IngestError::parse(&path, i + 1, "line", "not valid UTF-8")
            } else {
                read_error(&path, e)
            }
        })?;
        if line.ends_with('\r') {
            line.pop();
        }
        Ok((i + 1, line))
    }))
}

/// A CSV reader over `path` (header row expected), gzip or plain.
pub fn csv_reader(path: &Path) -> Result<csv::Reader<Box<dyn BufRead + Send>>, IngestError> {
    Ok(csv::ReaderBuilder::new().flexible(false).from_reader(open(path)?))
}

/// Index of a named column in a CSV header.
pub fn column(path: &Path, header: &csv::StringRecord, name: &str) -> Result<usize, IngestError> {
    header.iter().position(|h| h.trim() == name).ok_or_else(|| IngestError::MissingColumn {
        path: path.to_path_buf(),
        column: name.to_string(),
        header: header.iter().collect::<Vec<_>>().join(","),
    })
}

/// Maps a CSV error to an [`IngestError`] naming the line.
pub fn csv_error(path: &Path, e: csv::Error) -> IngestError {
    let line = e.position().map_or(0, |p| p.line() as usize);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => read_error(path, io),
        csv::ErrorKind::Utf8 { .. } => IngestError::parse(path, line, "row", "not valid UTF-8"),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            IngestError::parse(path, line, "row", format!("expected {expected_len} fields, found {len}"))
        }
        other => IngestError::parse(path, line, "row", format!("{other:?}")),
    }
}

/// Parses a field, naming file, line and field on failure.
pub fn parse_field<T: std::str::FromStr>(path: &Path, line: usize, field: &str, value: &str) -> Result<T, IngestError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e| IngestError::parse(path, line, field, format!("{value:?} is not valid: {e}")))
}
