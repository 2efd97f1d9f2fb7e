//! The format a shop exports: events and an optional catalog, each CSV (with a header),
//! JSON Lines (plain or gzip) or Parquet. Events may also be a folder of shards (every
//! `.parquet`, `.csv` and `.jsonl` file in it and its subfolders, in name order; names
//! starting with `.` or `_`, such as Spark's `_SUCCESS`, are ignored).
//!
//! Events: `user_id,item_id,timestamp[,event]`. `timestamp` is Unix seconds or
//! milliseconds, or an RFC 3339 / `YYYY-MM-DD HH:MM:SS` date; `event` is `view`, `cart`,
//! `purchase` or `review` (or a common synonym) and defaults to `view`. Rows need not be in
//! time order: each shopper's events are sorted. Other column names are mapped with
//! [`Columns`] (`--column user=customer_id`).
//!
//! Catalog: `item_id,title[,brand][,category][,attributes]`, attributes separated by `|`
//! (in JSON Lines, an array of strings is also accepted). Without a catalog, every item id
//! seen in the events becomes an item without text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, EventKind, Item};
use serde_json::Value;

use super::columns::{Columns, Field};
use super::error::IngestError;
use super::event_log::EventLog;
use super::ids::RowPolicy;
use super::source::{self, column, csv_error};
use super::{Ingested, Source, parquet};

/// True for `.jsonl`, `.ndjson` and `.json` (optionally followed by `.gz`).
fn is_json_lines(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".jsonl", ".ndjson", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// One catalog row as a set of named string fields (CSV, JSON Lines or Parquet alike).
pub(super) struct Row {
    pub line: usize,
    pub fields: HashMap<String, String>,
}

impl Row {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn require(&self, path: &Path, name: &str) -> Result<&str, IngestError> {
        self.get(name).ok_or_else(|| IngestError::parse(path, self.line, name, "missing or empty"))
    }
}

/// One JSON Lines row: its line number and the object, or why the line is not one.
type JsonObject = (usize, Result<serde_json::Map<String, Value>, IngestError>);

/// Every non-blank line of a JSON Lines file, parsed as an object. The outer error stops
/// reading (I/O, gzip); the inner one is a malformed line.
fn json_objects(path: &Path) -> Result<impl Iterator<Item = Result<JsonObject, IngestError>>, IngestError> {
    let file = path.to_path_buf();
    Ok(source::lines(path)?.filter_map(move |line| match line {
        Err(e) => Some(Err(e)),
        Ok((_, line)) if line.trim().is_empty() => None,
        Ok((no, line)) => Some(Ok((
            no,
            serde_json::from_str(&line).map_err(|e| IngestError::parse(&file, no, "json", e.to_string())),
        ))),
    }))
}

/// Reads every row of a catalog file; `required` columns must be in a CSV header or a
/// Parquet schema.
fn rows(path: &Path, columns: &Columns, required: &[&str], policy: &mut RowPolicy) -> Result<Vec<Row>, IngestError> {
    let mut out = Vec::new();
    if parquet::is_parquet(path) {
        out = parquet::catalog_rows(path, columns)?;
    } else if is_json_lines(path) {
        for object in json_objects(path)? {
            let (no, object) = object?;
            let parsed = object.map(|obj| Row {
                line: no,
                fields: obj
                    .iter()
                    .map(|(k, v)| (k.clone(), json_text(v).map(std::borrow::Cow::into_owned).unwrap_or_default()))
                    .collect(),
            });
            if let Some(row) = policy.check(parsed)? {
                out.push(row);
            }
        }
    } else {
        let mut reader = source::csv_reader(path)?;
        let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        for name in required {
            column(path, &header, name)?;
        }
        for rec in reader.records() {
            let parsed = rec.map_err(|e| csv_error(path, e)).map(|rec| Row {
                line: rec.position().map_or(0, |p| p.line() as usize),
                fields: header.iter().map(|h| h.trim().to_string()).zip(rec.iter().map(String::from)).collect(),
            });
            if let Some(row) = policy.check(parsed)? {
                out.push(row);
            }
        }
    }
    if out.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            expected: format!("rows with {}", required.join(", ")),
        });
    }
    Ok(out)
}

/// An integer time in Unix seconds: values above 10^11 are taken as milliseconds.
pub fn unix_seconds(n: i64) -> i64 {
    if n.abs() > 100_000_000_000 { n / 1000 } else { n }
}

/// Parses a timestamp into Unix seconds: integer seconds or milliseconds (values above
/// 10^11 are taken as milliseconds), fractional seconds, RFC 3339, or `YYYY-MM-DD[ HH:MM:SS]`.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Some(unix_seconds(n));
    }
    if let Ok(f) = v.parse::<f64>() {
        return f.is_finite().then_some(f as i64);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// Reads a catalog file.
pub fn load_catalog(path: &Path, columns: &Columns, policy: &mut RowPolicy) -> Result<Catalog, IngestError> {
    let mut items = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let name = |f| columns.name(f);
    for row in rows(path, columns, &[name(Field::Item), name(Field::Title)], policy)? {
        let parsed = (|| {
            let id = row.require(path, name(Field::Item))?.to_string();
            if let Some(first) = seen.get(&id) {
                return Err(IngestError::parse(
                    path,
                    row.line,
                    name(Field::Item),
                    format!("{id:?} already appeared on line {first}"),
                ));
            }
            Ok(Item {
                title: row.get(name(Field::Title)).unwrap_or_default().to_string(),
                brand: row.get(name(Field::Brand)).map(String::from),
                category: row.get(name(Field::Category)).map(String::from),
                attributes: row
                    .get(name(Field::Attributes))
                    .map(|a| a.split('|').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                    .unwrap_or_default(),
                id,
            })
        })();
        if let Some(item) = policy.check(parsed)? {
            seen.insert(item.id.clone(), row.line);
            items.push(item);
        }
    }
    Ok(Catalog::new(items)?)
}

/// A shop's export: events (a file or a folder of shards) plus an optional catalog file.
#[derive(Debug, Clone)]
pub struct ShopExport {
    /// The dataset's name (the events file's stem, or the folder's name).
    pub name: String,
    pub events: PathBuf,
    pub catalog: Option<PathBuf>,
    pub columns: Columns,
}

impl ShopExport {
    /// The export of `events` (and `catalog`), named after the events file or folder.
    pub fn new(events: &Path, catalog: Option<&Path>, columns: Columns) -> Self {
        let name = events.file_stem().and_then(|s| s.to_str()).unwrap_or("events");
        let name = name.strip_suffix(".csv").or_else(|| name.strip_suffix(".jsonl")).unwrap_or(name).to_string();
        Self { name, events: events.to_path_buf(), catalog: catalog.map(Path::to_path_buf), columns }
    }
}

impl Source for ShopExport {
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
        let catalog = self.catalog.as_deref().map(|p| load_catalog(p, &self.columns, policy)).transpose()?;
        let mut log = EventLog::new(catalog);
        for file in event_files(&self.events)? {
            if parquet::is_parquet(&file) {
                parquet::read_events(&file, &self.columns, &mut log, policy)?;
            } else if is_json_lines(&file) {
                read_json_lines(&file, &self.columns, &mut log, policy)?;
            } else {
                read_csv(&file, &self.columns, &mut log, policy)?;
            }
        }
        if log.events() == 0 {
            let c = &self.columns;
            return Err(IngestError::Empty {
                path: self.events.clone(),
                expected: format!(
                    "rows with {}, {}, {}",
                    c.name(Field::User),
                    c.name(Field::Item),
                    c.name(Field::Timestamp)
                ),
            });
        }
        let rows = log.events() as usize + policy.skipped;
        let built = log.finish(&self.name, policy.skip_bad_rows)?;
        Ok(Ingested {
            dataset: built.dataset,
            rows,
            skipped_rows: policy.skipped,
            duplicate_events: built.duplicates,
            baskets: None,
        })
    }
}

/// Whether a file in a folder of shards is read: data files only, no hidden or marker files.
fn is_shard(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with(['.', '_']) {
        return false;
    }
    let plain = name.strip_suffix(".gz").unwrap_or(name);
    [".parquet", ".pq", ".csv", ".jsonl", ".ndjson", ".json"].iter().any(|ext| plain.ends_with(ext))
}

/// The events files: `path` itself, or every shard under the folder `path`, in name order.
pub fn event_files(path: &Path) -> Result<Vec<PathBuf>, IngestError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut folders = vec![path.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let io = |source| IngestError::Io { path: folder.clone(), source };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let entry_path = entry.map_err(io)?.path();
            let hidden = entry_path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(['.', '_']));
            if entry_path.is_dir() && !hidden {
                folders.push(entry_path);
            } else if is_shard(&entry_path) {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            expected: ".parquet, .csv or .jsonl files (in it or its subfolders)".into(),
        });
    }
    Ok(files)
}

/// Checks one event's fields and adds it to `log`. `field(f)` is the row's text for `f`.
fn push_event<'a>(
    log: &mut EventLog,
    path: &Path,
    line: usize,
    columns: &Columns,
    field: impl Fn(Field) -> Option<&'a str>,
) -> Result<(), IngestError> {
    let require = |f: Field| {
        field(f)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| IngestError::parse(path, line, columns.name(f), "missing or empty"))
    };
    let (user, item_id, ts_raw) = (require(Field::User)?, require(Field::Item)?, require(Field::Timestamp)?);
    let ts = parse_timestamp(ts_raw).ok_or_else(|| {
        IngestError::parse(
            path,
            line,
            columns.name(Field::Timestamp),
            format!("{ts_raw:?} is neither Unix time nor a date"),
        )
    })?;
    let kind = match field(Field::Event).map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => k
            .parse::<EventKind>()
            .map_err(|e| IngestError::parse(path, line, columns.name(Field::Event), e.to_string()))?,
        None => EventKind::View,
    };
    let item = log.item(item_id).ok_or_else(|| {
        IngestError::parse(path, line, columns.name(Field::Item), format!("{item_id:?} is not in the catalog"))
    })?;
    let user = log.user(user);
    log.push(line as u64, user, item, ts, kind);
    Ok(())
}

/// Streams a CSV events file into `log`, one record at a time.
fn read_csv(path: &Path, columns: &Columns, log: &mut EventLog, policy: &mut RowPolicy) -> Result<(), IngestError> {
    let mut reader = source::csv_reader(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let mut at = [None; Field::ALL.len()];
    for f in [Field::User, Field::Item, Field::Timestamp] {
        at[f as usize] = Some(column(path, &header, columns.name(f))?);
    }
    at[Field::Event as usize] = column(path, &header, columns.name(Field::Event)).ok();
    log.begin_file(path, None);
    // Parsing on a second thread, in chunks of records; interning, which needs the log, here.
    // Chunks go back to the parser to be filled again, so records keep their allocations.
    type Chunk = Vec<Result<csv::StringRecord, IngestError>>;
    const CHUNK: usize = 4096;
    std::thread::scope(|scope| {
        let (filled_tx, filled) = std::sync::mpsc::sync_channel::<(Chunk, usize)>(4);
        let (empty_tx, empty) = std::sync::mpsc::channel::<Chunk>();
        scope.spawn(move || {
            let mut chunk = Chunk::new();
            let mut n = 0;
            loop {
                if n == chunk.len() {
                    chunk.push(Ok(csv::StringRecord::new()));
                }
                if chunk[n].is_err() {
                    chunk[n] = Ok(csv::StringRecord::new());
                }
                let Ok(record) = &mut chunk[n] else { unreachable!("just made a record") };
                let mut more = true;
                match reader.read_record(record) {
                    Ok(false) => more = false,
                    Ok(true) => n += 1,
                    Err(e) => {
                        let e = csv_error(path, e);
                        // Only a malformed row lets reading go on; an I/O error ends it.
                        more = matches!(e, IngestError::Parse { .. });
                        chunk[n] = Err(e);
                        n += 1;
                    }
                }
                if !more || n == CHUNK {
                    let next = empty.try_recv().unwrap_or_default();
                    if filled_tx.send((std::mem::replace(&mut chunk, next), n)).is_err() || !more {
                        return;
                    }
                    n = 0;
                }
            }
        });
        for (mut chunk, n) in filled {
            for slot in chunk.iter_mut().take(n) {
                if slot.is_err() {
                    // Fails, or skips and counts; the slot gets a fresh record for reuse.
                    policy.check(std::mem::replace(slot, Ok(csv::StringRecord::new())))?;
                    continue;
                }
                let Ok(record) = slot else { continue };
                let line = record.position().map_or(0, |p| p.line() as usize);
                let pushed = push_event(log, path, line, columns, |f| at[f as usize].and_then(|i| record.get(i)));
                policy.check(pushed)?;
            }
            let _ = empty_tx.send(chunk);
        }
        Ok(())
    })
}

/// The text of a JSON value: strings as they are, numbers and booleans printed, arrays
/// joined with `|`, null as nothing.
fn json_text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    Some(match value {
        Value::String(s) => s.as_str().into(),
        Value::Null => return None,
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
            .collect::<Vec<_>>()
            .join("|")
            .into(),
        other => other.to_string().into(),
    })
}

/// Streams a JSON Lines events file into `log`, one line at a time.
fn read_json_lines(
    path: &Path,
    columns: &Columns,
    log: &mut EventLog,
    policy: &mut RowPolicy,
) -> Result<(), IngestError> {
    log.begin_file(path, None);
    for object in json_objects(path)? {
        let (no, object) = object?;
        let pushed = object.and_then(|obj| {
            let texts: Vec<Option<std::borrow::Cow<'_, str>>> =
                Field::ALL.iter().map(|f| obj.get(columns.name(*f)).and_then(json_text)).collect();
            push_event(log, path, no, columns, |f| texts[f as usize].as_deref())
        });
        policy.check(pushed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;

    #[test]
    fn timestamps_in_common_shapes() {
        assert_eq!(parse_timestamp("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000123"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("1700000000.9"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14"), Some(1_699_920_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("NaN"), None);
    }
}
