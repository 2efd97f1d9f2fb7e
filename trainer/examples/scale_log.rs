//! Writes a shop-scale event log built from the real Amazon Beauty sequences, for the
//! ingestion benchmark (`bench/ingest.sh`).
//!
//! Copy `c` of the log re-keys every Beauty shopper `u` as `c<c>-<u>` and shifts the
//! shopper's times by `c` days, so the log keeps Beauty's items, sequence lengths and item
//! popularity while it grows to any number of rows. Each shard holds whole copies with its
//! rows in time order, the way a warehouse exports an event table, so a shopper's events
//! arrive interleaved with everyone else's.
//!
//! `cargo run --release -p pocketrank-trainer --example scale_log -- --rows 100000000
//! --out /tmp/log --format parquet`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use clap::{Parser, ValueEnum};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use pocketrank_trainer::data::{self, LoadOptions};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Parquet,
    Csv,
}

#[derive(Parser, Debug)]
struct Args {
    /// Rows to write (rounded up to whole copies of Beauty).
    #[arg(long, default_value_t = 100_000_000)]
    rows: u64,
    /// Output folder (created; its shards are replaced).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Parquet)]
    format: Format,
    /// Number of shards.
    #[arg(long, default_value_t = 10)]
    shards: usize,
    /// Folder holding the datasets.
    #[arg(long, env = "POCKETRANK_DATA")]
    data_dir: Option<PathBuf>,
}

/// One event of a copy: (shopper, item, time).
type Row = (u32, u32, i64);

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = data::resolve_data_dir(args.data_dir.as_deref());
    let opts = LoadOptions { allow_download: true, ..LoadOptions::default() };
    let beauty = data::load("amazon-beauty-s3rec", &dir, &opts, &|m| eprintln!("{m}"))?.dataset;
    let base: Vec<Row> = beauty
        .sequences
        .iter()
        .enumerate()
        .flat_map(|(u, seq)| seq.iter().map(move |e| (u as u32, e.item, e.ts)))
        .collect();
    let copies = args.rows.div_ceil(base.len() as u64) as usize;
    let shards = args.shards.clamp(1, copies);
    std::fs::create_dir_all(&args.out)?;
    eprintln!("{} copies of {} Beauty events in {shards} shards", copies, base.len());
    let items: Vec<&str> = beauty.catalog.items().iter().map(|i| i.id.as_str()).collect();
    for shard in 0..shards {
        let (first, last) = (shard * copies / shards, (shard + 1) * copies / shards);
        let mut rows: Vec<(usize, Row)> =
            (first..last).flat_map(|c| base.iter().map(move |&(u, i, t)| (c, (u, i, t + c as i64 * 86_400)))).collect();
        rows.sort_by_key(|&(c, (u, _, t))| (t, c, u));
        let user = |c: usize, u: u32| format!("c{c}-{}", beauty.users[u as usize]);
        match args.format {
            Format::Parquet => {
                let path = args.out.join(format!("part-{shard:05}.parquet"));
                let schema = Arc::new(Schema::new(vec![
                    Field::new("user_id", DataType::Utf8, false),
                    Field::new("item_id", DataType::Utf8, false),
                    Field::new("timestamp", DataType::Int64, false),
                    Field::new("event", DataType::Utf8, false),
                ]));
                let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
                let mut writer = ArrowWriter::try_new(File::create(&path)?, schema.clone(), Some(props))?;
                for chunk in rows.chunks(1 << 20) {
                    let batch = RecordBatch::try_new(
                        schema.clone(),
                        vec![
                            Arc::new(StringArray::from_iter_values(chunk.iter().map(|&(c, (u, _, _))| user(c, u)))),
                            Arc::new(StringArray::from_iter_values(
                                chunk.iter().map(|&(_, (_, i, _))| items[i as usize]),
                            )),
                            Arc::new(Int64Array::from_iter_values(chunk.iter().map(|&(_, (_, _, t))| t))),
                            Arc::new(StringArray::from_iter_values(chunk.iter().map(|_| "review"))),
                        ],
                    )?;
                    writer.write(&batch)?;
                }
                writer.close().with_context(|| format!("writing {}", path.display()))?;
            }
            Format::Csv => {
                let path = args.out.join(format!("part-{shard:05}.csv"));
                let mut out = BufWriter::new(File::create(&path)?);
                writeln!(out, "user_id,item_id,timestamp,event")?;
                for &(c, (u, i, t)) in &rows {
                    writeln!(out, "{},{},{t},review", user(c, u), items[i as usize])?;
                }
                out.flush()?;
            }
        }
        eprintln!("shard {}/{shards}: {} rows", shard + 1, rows.len());
    }
    Ok(())
}
