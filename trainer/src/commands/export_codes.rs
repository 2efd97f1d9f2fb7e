//! `trainer export-codes`: every catalog item's code for an exported artifact, for the
//! shop's catalog or search API to attach to the candidates it sends.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use pocketrank_runtime::Ranker;
use pocketrank_runtime::codes::CodeFile;

use super::export::{catalog_codes, dataset_fingerprint};
use super::input::Input;

/// `trainer export-codes`.
#[derive(Args, Debug)]
pub struct ExportCodesArgs {
    #[command(flatten)]
    pub input: Input,
    /// The run the artifact was exported from.
    #[arg(long, default_value = "runs/beauty")]
    pub run: PathBuf,
    /// The artifact the codes are for (its codebooks; any `--items` kind).
    #[arg(long)]
    pub artifact: PathBuf,
    /// The binary item-code file (ids, codes and the codebooks' fingerprint).
    #[arg(long, default_value = "codes.pkc")]
    pub out: PathBuf,
    /// Also write JSON lines `{"id": …, "code": …}` (the code as the package takes it).
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
}

impl ExportCodesArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let bytes = std::fs::read(&self.artifact).with_context(|| format!("reading {}", self.artifact.display()))?;
        let ranker = Ranker::from_bytes(&bytes).with_context(|| format!("loading {}", self.artifact.display()))?;
        let books = ranker.codebooks().ok_or_else(|| {
            anyhow::anyhow!("{} has no codebooks: export it again with this trainer", self.artifact.display())
        })?;
        let ingested = self.input.load()?;
        anyhow::ensure!(
            ranker.manifest().dataset.fingerprint == dataset_fingerprint(&ingested.dataset),
            "{} was exported from other data than this dataset: give export-codes the artifact's own dataset",
            self.artifact.display()
        );
        let codes = catalog_codes(&ingested, &self.run, books)?;
        let ids: Vec<String> = ingested.dataset.catalog.items().iter().map(|i| i.id.clone()).collect();
        let file = CodeFile { m: books.m, fingerprint: books.fingerprint(), codes, ids };
        let encoded = file.encode()?;
        write(&self.out, &encoded)?;
        println!(
            "wrote {} ({} items, {} bytes per code, codebooks {})",
            self.out.display(),
            file.ids.len(),
            books.m,
            &books.fingerprint_hex()[..12]
        );
        if let Some(path) = &self.jsonl {
            let mut out = Vec::new();
            for (i, id) in file.ids.iter().enumerate() {
                let code = file.code(i).map(|c| books.code_string(c)).unwrap_or_default();
                serde_json::to_writer(&mut out, &serde_json::json!({"id": id, "code": code}))?;
                out.write_all(b"\n")?;
            }
            write(path, &out)?;
            println!("wrote {}", path.display());
        }
        Ok(())
    }
}

fn write(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}
