//! Event logs as a data warehouse exports them: folders of Parquet shards, the shop's own
//! column names and types, rows in any order; and shards that are wrong in every way a
//! warehouse export can be, each reported with its shard, row group and column.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Int64Array, LargeStringArray, RecordBatch, StringArray,
    TimestampMillisecondArray, TimestampSecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use pocketrank_trainer::data::{self, ColumnSpec, Columns, Ingested, LoadOptions};

/// Writes `columns` as one Parquet file with row groups of `group_rows` rows.
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>, group_rows: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(group_rows)).build();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

fn strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn load(events: &Path, catalog: Option<&Path>, columns: &[&str], skip: bool) -> Result<Ingested, data::IngestError> {
    let specs: Vec<ColumnSpec> = columns.iter().map(|c| c.parse().unwrap()).collect();
    let opts = LoadOptions { skip_bad_rows: skip, allow_download: false, columns: Columns::with(&specs) };
    data::load_export(events, catalog, &opts)
}

/// Each shopper's events as (item id, time), sorted (events at one time in any order).
fn by_shopper(ing: &Ingested) -> HashMap<String, Vec<(String, i64)>> {
    let ds = &ing.dataset;
    ds.users
        .iter()
        .zip(&ds.sequences)
        .map(|(user, seq)| {
            let mut events: Vec<(String, i64)> =
                seq.iter().map(|e| (ds.catalog.get(e.item).unwrap().id.clone(), e.ts)).collect();
            events.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
            (user.clone(), events)
        })
        .collect()
}

#[test]
fn beauty_as_shuffled_parquet_shards_reads_as_the_named_dataset() {
    let opts = LoadOptions { allow_download: false, ..LoadOptions::default() };
    let beauty = data::load("amazon-beauty-s3rec", &common::data_dir(), &opts, &|_| {}).unwrap();
    let ds = &beauty.dataset;
    let mut rows: Vec<(&str, &str, i64)> = ds
        .users
        .iter()
        .zip(&ds.sequences)
        .flat_map(|(u, seq)| seq.iter().map(move |e| (u.as_str(), ds.catalog.get(e.item).unwrap().id.as_str(), e.ts)))
        .collect();
    // Out of time order, as exports are: a fixed pseudo-random permutation.
    let mut keys: Vec<u64> =
        (0..rows.len() as u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    rows = order.iter().map(|&i| rows[i]).collect();
    keys.clear();

    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let third = rows.len() / 3;
    let parts = [&rows[..third], &rows[third..2 * third], &rows[2 * third..]];
    fn users<'a>(p: &[(&'a str, &str, i64)]) -> Vec<&'a str> {
        p.iter().map(|r| r.0).collect()
    }
    let skus = |p: &[(&str, &str, i64)]| strings(p.iter().map(|r| Some(r.1)));
    let rating = |n: usize| -> ArrayRef {
        Arc::new(DictionaryArray::<Int32Type>::from_iter(std::iter::repeat_n(Some("rating"), n)))
    };
    // Three engines' habits: plain text and millisecond timestamps; dictionary-encoded ids
    // and integer seconds; large text and second timestamps; Spark's partition folders.
    write_parquet(
        &events.join("dt=1/part-00000.snappy.parquet"),
        vec![
            ("customer_id", strings(users(parts[0]).into_iter().map(Some))),
            ("sku", skus(parts[0])),
            (
                "event_time",
                Arc::new(TimestampMillisecondArray::from_iter_values(parts[0].iter().map(|r| r.2 * 1000))) as _,
            ),
            ("action", rating(parts[0].len())),
        ],
        20_000,
    );
    write_parquet(
        &events.join("dt=2/part-00001.snappy.parquet"),
        vec![
            ("customer_id", Arc::new(users(parts[1]).into_iter().collect::<DictionaryArray<Int32Type>>()) as _),
            ("sku", skus(parts[1])),
            ("event_time", Arc::new(Int64Array::from_iter_values(parts[1].iter().map(|r| r.2))) as _),
            ("action", rating(parts[1].len())),
        ],
        50_000,
    );
    write_parquet(
        &events.join("dt=2/part-00002.snappy.parquet"),
        vec![
            ("customer_id", Arc::new(LargeStringArray::from_iter_values(users(parts[2]))) as _),
            ("sku", skus(parts[2])),
            ("event_time", Arc::new(TimestampSecondArray::from_iter_values(parts[2].iter().map(|r| r.2))) as _),
            ("action", rating(parts[2].len())),
        ],
        1 << 20,
    );
    std::fs::write(events.join("_SUCCESS"), b"").unwrap();
    std::fs::write(events.join("dt=1/.part-00000.snappy.parquet.crc"), b"crc").unwrap();

    let items = ds.catalog.items();
    let catalog = dir.path().join("catalog.parquet");
    write_parquet(
        &catalog,
        vec![
            ("sku", strings(items.iter().map(|i| Some(i.id.as_str())))),
            ("title", strings(items.iter().map(|i| Some(i.title.as_str())))),
            ("brand", strings(items.iter().map(|i| i.brand.as_deref()))),
            ("category", strings(items.iter().map(|i| i.category.as_deref()))),
        ],
        4096,
    );

    let columns = ["user=customer_id", "item=sku", "timestamp=event_time", "event=action"];
    let read = load(&events, Some(&catalog), &columns, false).unwrap();
    assert_eq!(read.rows, 198_502);
    assert_eq!((read.skipped_rows, read.duplicate_events), (0, 0));
    assert_eq!(read.dataset.stats(), ds.stats());
    assert_eq!(
        read.dataset.catalog.items().iter().map(|i| &i.title).collect::<Vec<_>>(),
        items.iter().map(|i| &i.title).collect::<Vec<_>>()
    );
    assert!(read.dataset.sequences.iter().flatten().all(|e| e.kind.as_str() == "review"));
    assert_eq!(by_shopper(&read), by_shopper(&beauty));
}

/// A folder with one shard: two row groups of two rows.
fn shard(dir: &Path, name: &str, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let path = dir.join(name);
    write_parquet(&path.join("part-0.parquet"), columns, 2);
    path
}

fn good_columns() -> Vec<(&'static str, ArrayRef)> {
    vec![
        ("user_id", strings(["u1", "u1", "u2", "u2"].map(Some))),
        ("item_id", strings(["a", "b", "a", "c"].map(Some))),
        ("timestamp", Arc::new(Int64Array::from(vec![10, 20, 10, 30])) as _),
    ]
}

fn error(events: &Path) -> String {
    load(events, None, &[], false).unwrap_err().to_string()
}

#[test]
fn wrong_shards_are_named_with_row_group_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let good = shard(dir.path(), "good", good_columns());
    assert_eq!(load(&good, None, &[], false).unwrap().dataset.stats().interactions, 4);

    // A wrong schema: the shopper column is named otherwise, the time is a flag.
    let mut renamed = good_columns();
    renamed[0].0 = "customer";
    let err = error(&shard(dir.path(), "renamed", renamed));
    assert!(err.contains("part-0.parquet") && err.contains("no column `user_id`"), "{err}");
    assert!(err.contains("customer, item_id, timestamp") && err.contains("--column user=NAME"), "{err}");
    let mut flags = good_columns();
    flags[2].1 = Arc::new(BooleanArray::from(vec![true, false, true, false]));
    let err = error(&shard(dir.path(), "flags", flags));
    assert!(err.contains("column `timestamp` holds Boolean"), "{err}");

    // Nulls in an id column and a missing time: row 3 is row 1 of row group 1.
    let mut null_user = good_columns();
    null_user[0].1 = strings([Some("u1"), Some("u1"), Some("u2"), None]);
    let events = shard(dir.path(), "null-user", null_user);
    let err = error(&events);
    assert!(err.contains("part-0.parquet: row group 1, row 1: column `user_id`: the shopper id is null"), "{err}");
    let skipped = load(&events, None, &[], true).unwrap();
    assert_eq!((skipped.rows, skipped.skipped_rows, skipped.dataset.stats().interactions), (4, 1, 3));
    let mut no_time = good_columns();
    no_time[2].1 = Arc::new(Int64Array::from(vec![Some(10), None, Some(10), Some(30)]));
    let err = error(&shard(dir.path(), "no-time", no_time));
    assert!(err.contains("row group 0, row 1: column `timestamp`: the time is missing"), "{err}");
    let mut bad_time = good_columns();
    bad_time[2].1 = strings(["2024-01-01", "soon", "2024-01-02", "2024-01-03"].map(Some));
    let err = error(&shard(dir.path(), "bad-time", bad_time));
    assert!(err.contains("row group 0, row 1: column `timestamp`: \"soon\" is not a time"), "{err}");

    // An item the catalog lacks.
    let catalog = dir.path().join("catalog.csv");
    std::fs::write(&catalog, "item_id,title\na,A\nb,B\n").unwrap();
    let err = load(&good, Some(&catalog), &[], false).unwrap_err().to_string();
    assert!(err.contains("row group 1, row 1: column `item_id`: \"c\" is not in the catalog"), "{err}");

    // The same event in two shards (an export run twice over one day): both places named.
    let twice = dir.path().join("twice");
    write_parquet(&twice.join("part-0.parquet"), good_columns(), 2);
    write_parquet(
        &twice.join("part-1.parquet"),
        vec![
            ("user_id", strings([Some("u3"), Some("u2")])),
            ("item_id", strings([Some("a"), Some("c")])),
            ("timestamp", Arc::new(Int64Array::from(vec![5, 30])) as _),
        ],
        2,
    );
    let err = error(&twice);
    assert!(err.contains("duplicate event") && err.contains("\"u2\"") && err.contains("\"c\""), "{err}");
    assert!(
        err.contains("part-0.parquet, row group 1, row 1") && err.contains("part-1.parquet, row group 0, row 1"),
        "{err}"
    );
    let kept = load(&twice, None, &[], true).unwrap();
    assert_eq!((kept.duplicate_events, kept.dataset.stats().interactions), (1, 5));

    // Not Parquet inside, and a folder with nothing to read.
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("part-0.parquet"), b"PAR1 truncated").unwrap();
    let err = error(&broken);
    assert!(err.contains("part-0.parquet is not a readable Parquet file"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("_SUCCESS"), b"").unwrap();
    assert!(error(&empty).contains(".parquet, .csv or .jsonl files"), "{}", error(&empty));
}

#[test]
fn integer_ids_and_csv_shards_next_to_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("mixed");
    write_parquet(
        &events.join("a.parquet"),
        vec![
            ("user_id", Arc::new(Int64Array::from(vec![42, 42, 7])) as _),
            ("item_id", Arc::new(Int64Array::from(vec![1001, 1002, 1001])) as _),
            ("timestamp", strings(["2024-01-02T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"].map(Some))),
        ],
        2,
    );
    std::fs::write(events.join("b.csv"), "user_id,item_id,timestamp,event\n42,1003,1704240000,purchase\n").unwrap();
    let read = load(&events, None, &[], false).unwrap();
    let shoppers = by_shopper(&read);
    assert_eq!(read.dataset.users, ["42", "7"]);
    let day = 86_400;
    let jan1 = 1_704_067_200;
    assert_eq!(
        shoppers["42"],
        [("1002".to_string(), jan1), ("1001".to_string(), jan1 + day), ("1003".to_string(), jan1 + 2 * day)]
    );
    assert_eq!(read.dataset.sequences[0][2].kind.as_str(), "purchase");
}
