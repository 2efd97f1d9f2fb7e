//! `trainer datasets`, `trainer inspect` and `trainer download`: what data there is.

use anyhow::{Context, bail};
use clap::Args;

use super::input::{DataDir, Input};
use crate::{data, memory};

/// `trainer datasets`.
#[derive(Args, Debug)]
pub struct DatasetsArgs {
    #[command(flatten)]
    pub data: DataDir,
}

impl DatasetsArgs {
    /// Prints every known dataset and whether it is on disk.
    pub fn run(self) -> anyhow::Result<()> {
        let dir = data::resolve_data_dir(self.data.data_dir.as_deref());
        println!("data folder: {}\ncache folder: {}\n", dir.display(), data::cache_dir().display());
        for d in data::KNOWN {
            let here = dir.join(d.name).is_dir() || data::cache_dir().join(d.name).is_dir();
            let status = match (here, d.downloadable) {
                (true, _) => "on disk",
                (false, true) => "downloadable",
                (false, false) => "missing",
            };
            println!("{:<26} {:<13} {}", d.name, status, d.about);
        }
        Ok(())
    }
}

/// `trainer inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    pub input: Input,
}

impl InspectArgs {
    /// Prints the dataset's counts, and how fast and in how much memory it was read.
    pub fn run(self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let ingested = self.input.load()?;
        let seconds = started.elapsed().as_secs_f64();
        let s = ingested.dataset.stats();
        println!("dataset:      {}", ingested.dataset.name);
        println!("users:        {}", s.users);
        println!("items:        {} ({} with events)", s.items, s.items_with_events);
        println!("interactions: {}", s.interactions);
        if let Some(b) = ingested.baskets {
            println!("baskets:      {b}");
        }
        println!("rows read:    {} in {seconds:.1} s ({:.0} rows/s)", ingested.rows, ingested.rows as f64 / seconds);
        if let Some(peak) = memory::peak_rss_bytes() {
            println!("peak RSS:     {:.0} MiB", peak as f64 / (1024.0 * 1024.0));
        }
        Ok(())
    }
}

/// `trainer download`.
#[derive(Args, Debug)]
pub struct DownloadArgs {
    /// Dataset name (only those marked downloadable in `trainer datasets`).
    #[arg(long, default_value = "amazon-beauty-s3rec")]
    pub dataset: String,
}

impl DownloadArgs {
    /// Fetches the dataset's public sources into the cache.
    pub fn run(self) -> anyhow::Result<()> {
        let ds = data::known(&self.dataset)?;
        if !ds.downloadable {
            bail!("{} has no public download; pass --data-dir to a folder that holds it", self.dataset);
        }
        let dir = data::cache_dir().join(ds.name);
        data::download::beauty_s3rec(&dir, &data::download::fetch, &|m| eprintln!("{m}"))
            .with_context(|| format!("downloading {}", self.dataset))?;
        println!("{} is ready in {}", self.dataset, dir.display());
        Ok(())
    }
}
