//! The format a shop exports: an events file and an optional catalog file, each CSV (with
//! a header) or JSON Lines, plain or gzip.
//!
//! Events: `user_id,item_id,timestamp[,event]`. `timestamp` is Unix seconds or
//! milliseconds, or an RFC 3339 / `YYYY-MM-DD HH:MM:SS` date; `event` is `view`, `cart`,
//! `purchase` or `review` (or a common synonym) and defaults to `view`.
//!
//! Catalog: `item_id,title[,brand][,category][,attributes]`, attributes separated by `|`
//! (in JSON Lines, an array of strings is also accepted). Without a catalog, every item id
//! seen in the events becomes an item without text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, Dataset, Event, EventKind, Item};
use serde_json::Value;

use super::error::IngestError;
use super::ids::{Interner, RowPolicy};
use super::source::{self, column, csv_error};
use super::{Ingested, Source};

/// True for `.jsonl`, `.ndjson` and `.json` (optionally followed by `.gz`).
fn is_json_lines(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(name);
    [".jsonl", ".ndjson", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// One row as a set of named string fields (CSV or JSON Lines alike).
struct Row {
    line: usize,
    fields: HashMap<String, String>,
}

impl Row {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn require(&self, path: &Path, name: &str) -> Result<&str, IngestError> {
        self.get(name).ok_or_else(|| IngestError::parse(path, self.line, name, "missing or empty"))
    }
}

/// Reads every row of a CSV or JSON Lines file; `required` columns must be in a CSV header.
fn rows(path: &Path, required: &[&str], policy: &mut RowPolicy) -> Result<Vec<Row>, IngestError> {
    let mut out = Vec::new();
    if is_json_lines(path) {
        for line in source::lines(path)? {
            let (no, line) = line?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<serde_json::Map<String, Value>>(&line)
                .map_err(|e| IngestError::parse(path, no, "json", e.to_string()))
                .map(|obj| Row {
                    line: no,
                    fields: obj
                        .into_iter()
                        .map(|(k, v)| {
                            let s = match v {
                                Value::String(s) => s,
                                Value::Array(a) => a
                                    .iter()
                                    .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
                                    .collect::<Vec<_>>()
                                    .join("|"),
                                Value::Null => String::new(),
                                other => other.to_string(),
                            };
                            (k, s)
                        })
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

/// Parses a timestamp into Unix seconds: integer seconds or milliseconds (values above
/// 10^11 are taken as milliseconds), fractional seconds, RFC 3339, or `YYYY-MM-DD[ HH:MM:SS]`.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let v = value.trim();
    if let Ok(n) = v.parse::<i64>() {
        return Some(if n.abs() > 100_000_000_000 { n / 1000 } else { n });
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
pub fn load_catalog(path: &Path, policy: &mut RowPolicy) -> Result<Catalog, IngestError> {
    let mut items = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in rows(path, &["item_id", "title"], policy)? {
        let parsed = (|| {
            let id = row.require(path, "item_id")?.to_string();
            if let Some(first) = seen.get(&id) {
                return Err(IngestError::parse(
                    path,
                    row.line,
                    "item_id",
                    format!("{id:?} already appeared on line {first}"),
                ));
            }
            Ok(Item {
                title: row.get("title").unwrap_or_default().to_string(),
                brand: row.get("brand").map(String::from),
                category: row.get("category").map(String::from),
                attributes: row
                    .get("attributes")
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

/// A shop's export: an events file plus an optional catalog file.
#[derive(Debug, Clone)]
pub struct ShopExport {
    /// The dataset's name (the events file's stem).
    pub name: String,
    pub events: PathBuf,
    pub catalog: Option<PathBuf>,
}

impl ShopExport {
    /// The export of `events` (and `catalog`), named after the events file.
    pub fn new(events: &Path, catalog: Option<&Path>) -> Self {
        let name = events.file_stem().and_then(|s| s.to_str()).unwrap_or("events").to_string();
        Self { name, events: events.to_path_buf(), catalog: catalog.map(Path::to_path_buf) }
    }
}

impl Source for ShopExport {
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
        read(&self.name, &self.events, self.catalog.as_deref(), policy)
    }
}

fn read(
    name: &str,
    events_path: &Path,
    catalog_path: Option<&Path>,
    policy: &mut RowPolicy,
) -> Result<Ingested, IngestError> {
    let catalog = catalog_path.map(|p| load_catalog(p, policy)).transpose()?;
    let path = events_path;
    let mut users = Interner::default();
    let mut items = Interner::default();
    let mut events = Vec::new();
    for row in rows(path, &["user_id", "item_id", "timestamp"], policy)? {
        let parsed = (|| {
            let user = row.require(path, "user_id")?;
            let item_id = row.require(path, "item_id")?;
            let ts_raw = row.require(path, "timestamp")?;
            let ts = parse_timestamp(ts_raw).ok_or_else(|| {
                IngestError::parse(path, row.line, "timestamp", format!("{ts_raw:?} is neither Unix time nor a date"))
            })?;
            let kind = match row.get("event") {
                Some(k) => {
                    k.parse::<EventKind>().map_err(|e| IngestError::parse(path, row.line, "event", e.to_string()))?
                }
                None => EventKind::View,
            };
            let item = match &catalog {
                Some(c) => c.index_of(item_id).ok_or_else(|| {
                    IngestError::parse(path, row.line, "item_id", format!("{item_id:?} is not in the catalog"))
                })?,
                None => items.intern(item_id),
            };
            Ok((user.to_string(), item, ts, kind))
        })();
        if let Some((user, item, ts, kind)) = policy.check(parsed)? {
            events.push(Event { user: users.intern(&user), item, ts, kind });
        }
    }
    let catalog = match catalog {
        Some(c) => c,
        None => Catalog::new(items.into_names().into_iter().map(|id| Item { id, ..Item::default() }).collect())?,
    };
    let dataset = Dataset::from_events(name, catalog, users.into_names(), &events)?;
    Ok(Ingested { dataset, skipped_rows: policy.skipped, baskets: None })
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
