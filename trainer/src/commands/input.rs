//! The flags that choose the data: a named dataset or a shop's own export.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::data::{self, ColumnSpec, Columns, Ingested, LoadOptions};

/// Where named datasets are found.
#[derive(Args, Debug, Clone)]
pub struct DataDir {
    /// Folder holding the datasets [default: ../shared/data when present, else the cache]
    #[arg(long, env = "POCKETRANK_DATA")]
    pub data_dir: Option<PathBuf>,
}

/// Which data a command reads.
#[derive(Args, Debug, Clone)]
pub struct Input {
    /// A dataset known by name (see `trainer datasets`).
    #[arg(long, conflicts_with = "events", default_value = "amazon-beauty-s3rec")]
    pub dataset: Option<String>,
    /// Your own events: a CSV, JSON Lines or Parquet file with user_id, item_id,
    /// timestamp[, event], or a folder of such shards (as a warehouse exports them).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Your own catalog file: CSV, JSON Lines or Parquet with item_id, title[, brand,
    /// category, attributes].
    #[arg(long, requires = "events")]
    pub catalog: Option<PathBuf>,
    /// The name of a column in your files, when not the default: FIELD=NAME, e.g.
    /// `--column user=customer_id --column timestamp=event_time`. Fields: user, item,
    /// timestamp, event, title, brand, category, attributes.
    #[arg(long = "column", value_name = "FIELD=NAME", requires = "events")]
    pub columns: Vec<ColumnSpec>,
    #[command(flatten)]
    pub data: DataDir,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Never download: fail when the dataset is not on disk.
    #[arg(long)]
    pub offline: bool,
}

impl Input {
    /// Reads the chosen data (progress and skipped rows go to stderr).
    pub fn load(&self) -> anyhow::Result<Ingested> {
        let opts = LoadOptions {
            skip_bad_rows: self.skip_bad_rows,
            allow_download: !self.offline,
            columns: Columns::with(&self.columns),
        };
        let ingested = match (&self.dataset, &self.events) {
            (_, Some(events)) => data::load_export(events, self.catalog.as_deref(), &opts)?,
            (Some(name), None) => {
                let dir = data::resolve_data_dir(self.data.data_dir.as_deref());
                data::load(name, &dir, &opts, &|msg| eprintln!("{msg}"))?
            }
            (None, None) => bail!("pass --dataset NAME or --events FILE"),
        };
        if ingested.skipped_rows > 0 {
            eprintln!("skipped {} malformed rows", ingested.skipped_rows);
        }
        if ingested.duplicate_events > 0 {
            eprintln!("dropped {} repeated events (same shopper, item, time and kind)", ingested.duplicate_events);
        }
        Ok(ingested)
    }
}
