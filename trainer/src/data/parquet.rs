//! Parquet shards, as Spark, BigQuery or DuckDB export them, read as Arrow record batches.
//!
//! Only the needed columns are decoded. Ids may be text (plain, large, view or
//! dictionary-encoded: a dictionary's values are interned once per batch) or integers;
//! timestamps may be integer Unix seconds or milliseconds, floats, Parquet timestamps of any
//! unit, dates, or text in the shapes [`parse_timestamp`] reads.

use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Schema, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use pocketrank_model::EventKind;

use super::columns::{Columns, Field};
use super::error::IngestError;
use super::event_log::EventLog;
use super::generic::{Row, parse_timestamp, unix_seconds};
use super::ids::RowPolicy;

/// Rows decoded at a time.
const BATCH_ROWS: usize = 64 * 1024;

/// True when `path` is named `.parquet`/`.pq` or starts with Parquet's magic bytes.
pub fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let named = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    let mut magic = [0u8; 4];
    named || (File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"PAR1")
}

/// What a column must hold.
#[derive(Clone, Copy)]
enum Kind {
    /// Text or integers (ids, event names, titles).
    Text,
    /// A point in time.
    Time,
}

impl Kind {
    fn accepts(self, data_type: &DataType) -> bool {
        use DataType::*;
        let integer = matches!(data_type, Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64);
        let text = matches!(data_type, Utf8 | LargeUtf8 | Utf8View);
        match (self, data_type) {
            (_, Dictionary(_, values)) => self.accepts(values),
            (Self::Text, _) => integer || text,
            (Self::Time, _) => {
                integer || text || matches!(data_type, Float32 | Float64 | Timestamp(..) | Date32 | Date64)
            }
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Self::Text => "text or integers",
            Self::Time => "Unix seconds or milliseconds, a timestamp, a date or text",
        }
    }
}

/// A shard opened for reading, its columns checked.
struct Shard {
    builder: ParquetRecordBatchReaderBuilder<File>,
    /// The first row of each row group.
    row_groups: Vec<u64>,
}

fn parquet_error(path: &Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::Parquet { path: path.to_path_buf(), message: e.to_string() }
}

impl Shard {
    fn open(path: &Path) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
        let mut row_groups = Vec::with_capacity(builder.metadata().num_row_groups());
        let mut start = 0u64;
        for group in builder.metadata().row_groups() {
            row_groups.push(start);
            start += group.num_rows().max(0) as u64;
        }
        Ok(Self { builder, row_groups })
    }

    /// The index of `column`, checked to hold `kind`; `None` when absent and optional.
    fn find(
        &self,
        path: &Path,
        column: &str,
        field: Field,
        kind: Kind,
        required: bool,
    ) -> Result<Option<usize>, IngestError> {
        let schema: &Schema = self.builder.schema();
        let Some((index, found)) = schema.column_with_name(column) else {
            if !required {
                return Ok(None);
            }
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(IngestError::Schema {
                path: path.to_path_buf(),
                message: format!(
                    "no column `{column}` for the {} (the shard has: {}); name yours with --column {}=NAME",
                    field.about(),
                    names.join(", "),
                    field.key()
                ),
            });
        };
        if !kind.accepts(found.data_type()) {
            return Err(IngestError::Schema {
                path: path.to_path_buf(),
                message: format!(
                    "column `{column}` holds {}; the {} must be {}",
                    found.data_type(),
                    field.about(),
                    kind.expected()
                ),
            });
        }
        Ok(Some(index))
    }

    /// Decodes only `indices`, batch by batch.
    fn batches(
        self,
        path: &Path,
        indices: &[usize],
    ) -> Result<impl Iterator<Item = Result<RecordBatch, IngestError>> + Send + use<>, IngestError> {
        let mask = ProjectionMask::roots(self.builder.parquet_schema(), indices.iter().copied());
        let reader = self
            .builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(path, e))?;
        let path = path.to_path_buf();
        Ok(reader.map(move |b| b.map_err(|e| parquet_error(&path, e))))
    }
}

/// Every value of an integer column, widened; `None` for other types.
fn integers(array: &dyn Array) -> Option<Vec<Option<i128>>> {
    macro_rules! widen {
        ($t:ty) => {
            array.as_primitive::<$t>().iter().map(|v| v.map(i128::from)).collect()
        };
    }
    Some(match array.data_type() {
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::Int64 => widen!(Int64Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        _ => return None,
    })
}

/// Maps every row of a text or integer column through `map` (`None` for nulls); a
/// dictionary's values go through `map` once each.
fn map_text<T: Clone>(array: &dyn Array, map: &mut dyn FnMut(&str) -> T) -> Vec<Option<T>> {
    if let Some(dict) = array.as_any_dictionary_opt() {
        let values = map_text(dict.values().as_ref(), map);
        let keys = dict.normalized_keys();
        return (0..array.len()).map(|i| if array.is_null(i) { None } else { values[keys[i]].clone() }).collect();
    }
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(|v| v.map(&mut *map)).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(|v| v.map(&mut *map)).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(|v| v.map(&mut *map)).collect(),
        _ => {
            let mut text = String::new();
            integers(array)
                .unwrap_or_else(|| vec![None; array.len()])
                .into_iter()
                .map(|v| {
                    v.map(|n| {
                        text.clear();
                        let _ = write!(text, "{n}");
                        map(&text)
                    })
                })
                .collect()
        }
    }
}

/// The text of row `i` of a text or integer column (for error messages).
fn text_at(array: &dyn Array, i: usize) -> String {
    let mut one = map_text(&array.slice(i, 1), &mut |s| s.to_string());
    one.pop().flatten().unwrap_or_default()
}

/// Every row of a time column in Unix seconds: `None` for nulls, `Some(None)` for text
/// that is not a time or a value outside the range of dates.
fn seconds(array: &dyn Array) -> Vec<Option<Option<i64>>> {
    let whole = |v: Option<i64>, per_second: i64| v.map(|v| Some(v.div_euclid(per_second)));
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().iter().map(|v| whole(v, 1)).collect()
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().iter().map(|v| whole(v, 1_000)).collect()
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().iter().map(|v| whole(v, 1_000_000)).collect()
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().iter().map(|v| whole(v, 1_000_000_000)).collect()
        }
        DataType::Date32 => {
            array.as_primitive::<Date32Type>().iter().map(|v| v.map(|d| Some(i64::from(d) * 86_400))).collect()
        }
        DataType::Date64 => array.as_primitive::<Date64Type>().iter().map(|v| whole(v, 1_000)).collect(),
        DataType::Float32 => {
            array.as_primitive::<Float32Type>().iter().map(|v| v.map(|f| finite(f64::from(f)))).collect()
        }
        DataType::Float64 => array.as_primitive::<Float64Type>().iter().map(|v| v.map(finite)).collect(),
        _ => match integers(array) {
            Some(ints) => ints.into_iter().map(|v| v.map(|n| i64::try_from(n).ok().map(unix_seconds))).collect(),
            None => map_text(array, &mut |s| parse_timestamp(s)),
        },
    }
}

fn finite(f: f64) -> Option<i64> {
    (f.is_finite() && f.abs() < 9.0e18).then_some(f as i64)
}

/// Reads one shard of events into `log`.
pub fn read_events(
    path: &Path,
    columns: &Columns,
    log: &mut EventLog,
    policy: &mut RowPolicy,
) -> Result<(), IngestError> {
    let shard = Shard::open(path)?;
    let name = |f| columns.name(f);
    let found = |f, kind, required| shard.find(path, name(f), f, kind, required);
    let required = [
        found(Field::User, Kind::Text, true)?,
        found(Field::Item, Kind::Text, true)?,
        found(Field::Timestamp, Kind::Time, true)?,
    ];
    let event = found(Field::Event, Kind::Text, false)?;
    let indices: Vec<usize> = required.iter().chain([&event]).flatten().copied().collect();
    let row_groups = shard.row_groups.clone();
    log.begin_file(path, Some(row_groups.clone()));
    let bad = |row: u64, field: Field, message: String| {
        let group = row_groups.partition_point(|&s| s <= row).saturating_sub(1);
        IngestError::Row {
            path: path.to_path_buf(),
            row_group: group,
            row: row - row_groups.get(group).copied().unwrap_or(0),
            column: name(field).to_string(),
            message,
        }
    };
    let batches = shard.batches(path, &indices)?;
    let (ts_name, event_name) = (name(Field::Timestamp), name(Field::Event));
    // Decoding and time parsing on a second thread; interning, which needs the log, here.
    std::thread::scope(|scope| {
        let (decoded_tx, decoded) = std::sync::mpsc::sync_channel(2);
        scope.spawn(move || {
            for batch in batches {
                let batch = batch.map(|batch| {
                    let times = batch.column_by_name(ts_name).map(|c| seconds(c.as_ref()));
                    let kinds = batch
                        .column_by_name(event_name)
                        .map(|c| map_text(c.as_ref(), &mut |s| s.parse::<EventKind>().map_err(|e| e.to_string())));
                    (batch, times, kinds)
                });
                if decoded_tx.send(batch).is_err() {
                    break;
                }
            }
        });
        let mut first_row = 0u64;
        for batch in decoded {
            let (batch, times, kinds) = batch?;
            let column = |f| batch.column_by_name(name(f));
            let (Some(user_col), Some(item_col), Some(ts_col), Some(times)) =
                (column(Field::User), column(Field::Item), column(Field::Timestamp), times)
            else {
                return Err(parquet_error(path, "a record batch lacks a projected column"));
            };
            let users = map_text(user_col.as_ref(), &mut |s| log.user(s));
            let items = map_text(item_col.as_ref(), &mut |s| log.item(s));
            for i in 0..batch.num_rows() {
                let row = first_row + i as u64;
                let parsed = (|| {
                    let user = users[i].ok_or_else(|| bad(row, Field::User, "the shopper id is null".into()))?;
                    let item =
                        items[i].ok_or_else(|| bad(row, Field::Item, "the item id is null".into()))?.ok_or_else(
                            || bad(row, Field::Item, format!("{:?} is not in the catalog", text_at(item_col, i))),
                        )?;
                    let ts = times[i]
                        .ok_or_else(|| bad(row, Field::Timestamp, "the time is missing (null)".into()))?
                        .ok_or_else(|| {
                        bad(row, Field::Timestamp, format!("{:?} is not a time", text_at(ts_col.as_ref(), i)))
                    })?;
                    let kind = match kinds.as_ref().and_then(|k| k[i].clone()) {
                        None => EventKind::View,
                        Some(kind) => kind.map_err(|e| bad(row, Field::Event, e))?,
                    };
                    Ok((user, item, ts, kind))
                })();
                if let Some((user, item, ts, kind)) = policy.check(parsed)? {
                    log.push(row, user, item, ts, kind);
                }
            }
            first_row += batch.num_rows() as u64;
        }
        Ok(())
    })
}

/// Every row of a catalog shard, as named text fields (attributes as `a|b|c`).
pub(super) fn catalog_rows(path: &Path, columns: &Columns) -> Result<Vec<Row>, IngestError> {
    let shard = Shard::open(path)?;
    let item = shard.find(path, columns.name(Field::Item), Field::Item, Kind::Text, true)?;
    let title = shard.find(path, columns.name(Field::Title), Field::Title, Kind::Text, true)?;
    let mut wanted = vec![item, title];
    for field in [Field::Brand, Field::Category, Field::Attributes] {
        wanted.push(shard.find(path, columns.name(field), field, Kind::Text, false)?);
    }
    let indices: Vec<usize> = wanted.into_iter().flatten().collect();
    let mut rows = Vec::new();
    for batch in shard.batches(path, &indices)? {
        let batch = batch?;
        let first = rows.len();
        rows.extend((0..batch.num_rows()).map(|i| Row { line: first + i, fields: Default::default() }));
        for (name, array) in batch.schema().fields().iter().zip(batch.columns()) {
            for (row, value) in rows[first..].iter_mut().zip(map_text(array.as_ref(), &mut |s| s.to_string())) {
                if let Some(value) = value {
                    row.fields.insert(name.name().clone(), value);
                }
            }
        }
    }
    Ok(rows)
}
