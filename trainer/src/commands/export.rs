//! `trainer export`: the run's student as one artifact file (what the web package loads),
//! and optionally the storefront's product data.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use burn::tensor::backend::Backend;
use clap::Args;
use pocketrank_model::Dataset;
use pocketrank_model::teacher::ItemText;
use pocketrank_runtime::artifact::{DatasetInfo, Encoding, Manifest, Record};
use pocketrank_runtime::basket::BasketWeights;
use pocketrank_runtime::{Codebooks, layout};
use sha2::{Digest, Sha256};

use super::input::Input;
use crate::data::Ingested;
use crate::distillation::StudentDir;
use crate::distillation::code_tuning::{TunedCodes, student_codes};
use crate::distillation::ranker::{ItemTable, bare_manifest, ranker_of};
use crate::run_dir::RunDir;
use crate::training::popularity::item_counts;

/// How the artifact carries the catalog's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ItemEncoding {
    /// One f32 row per item.
    F32,
    /// One f16 row per item.
    F16,
    /// One int8 row per item (with a scale).
    Int8,
    /// One code per item (`--code-bytes` bytes).
    Codes,
    /// No per-item data: the catalog-free core artifact; candidates carry their codes
    /// (`trainer export-codes` writes them for the shop's catalog API).
    Core,
}

impl From<ItemEncoding> for ItemTable {
    fn from(e: ItemEncoding) -> Self {
        match e {
            ItemEncoding::F32 => ItemTable::Dense(Encoding::F32),
            ItemEncoding::F16 => ItemTable::Dense(Encoding::F16),
            ItemEncoding::Int8 => ItemTable::Dense(Encoding::Int8),
            ItemEncoding::Codes => ItemTable::Codes,
            ItemEncoding::Core => ItemTable::Core,
        }
    }
}

/// Bytes per item code unless `--code-bytes` says otherwise: two of the student's 64 values
/// per byte, the narrowest width within 2% of the int8 table on Beauty (16 bytes lost 12%
/// on full ranking).
pub const DEFAULT_CODE_BYTES: usize = 32;

/// `trainer export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub input: Input,
    #[arg(long, default_value = "runs/beauty")]
    pub run: PathBuf,
    #[arg(long, default_value = "beauty.pkr")]
    pub out: PathBuf,
    /// How the items are carried (and the other matrices stored).
    #[arg(long, value_enum, default_value_t = ItemEncoding::Int8)]
    pub items: ItemEncoding,
    /// Bytes per item code (a divisor of the student's width). Every artifact carries the
    /// codebooks, so it accepts candidates' codes whatever `--items` is.
    #[arg(long, default_value_t = DEFAULT_CODE_BYTES)]
    pub code_bytes: usize,
    /// Leave the tokenizer out (unknown items then score from the neutral prior only).
    #[arg(long)]
    pub no_tokenizer: bool,
    /// Also write the most popular items as JSON here (the storefront's product data).
    #[arg(long)]
    pub catalog_json: Option<PathBuf>,
    /// How many items `--catalog-json` writes.
    #[arg(long, default_value_t = 3000)]
    pub catalog_items: usize,
}

impl ExportArgs {
    /// Writes the artifact (and the catalog JSON when asked).
    pub fn run(self) -> anyhow::Result<()> {
        let ingested = self.input.load()?;
        let device = Default::default();
        let bytes = export::<burn::backend::Flex>(
            &device,
            &ingested,
            &self.run,
            &self.out,
            self.items.into(),
            self.code_bytes,
            !self.no_tokenizer,
        )?;
        println!("wrote {} ({bytes} bytes)", self.out.display());
        if let Some(path) = self.catalog_json {
            let artifact = std::fs::read(&self.out)?;
            let ranker = pocketrank_runtime::Ranker::from_bytes(&artifact)?;
            let n = write_catalog_json(&ingested, &path, self.catalog_items, ranker.codebooks(), &self.run)?;
            println!("wrote {} ({n} items)", path.display());
        }
        Ok(())
    }
}

/// SHA-256 over every event the trainer saw (user, item, time, kind) and the item ids.
pub fn dataset_fingerprint(dataset: &Dataset) -> String {
    let mut h = Sha256::new();
    for item in dataset.catalog.items() {
        h.update(item.id.as_bytes());
        h.update([0]);
    }
    for (u, seq) in dataset.sequences.iter().enumerate() {
        for e in seq {
            h.update((u as u32).to_le_bytes());
            h.update(e.item.to_le_bytes());
            h.update(e.ts.to_le_bytes());
            h.update([e.kind.index() as u8]);
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// The full manifest of an export: `base` with the tokenizer hash, the dataset's
/// description, `metrics` and the time.
pub fn manifest(
    ingested: &Ingested,
    base: Manifest,
    tokenizer_sha: Option<String>,
    metrics: serde_json::Value,
) -> Manifest {
    let stats = ingested.dataset.stats();
    Manifest {
        tokenizer_sha256: tokenizer_sha,
        dataset: DatasetInfo {
            name: ingested.dataset.name.clone(),
            fingerprint: dataset_fingerprint(&ingested.dataset),
            users: stats.users,
            items: stats.items,
            interactions: stats.interactions,
        },
        metrics: Record::new(&metrics),
        created: now_rfc3339(),
        ..base
    }
}

/// Writes the `limit` most popular catalog items as JSON (`[{id, title, brand, category,
/// tags, code}]`, most popular first): the storefront's product data, with each item's
/// code for `books` (what a shop's catalog API would attach).
pub fn write_catalog_json(
    ingested: &Ingested,
    path: &Path,
    limit: usize,
    books: Option<&Codebooks>,
    run_root: &Path,
) -> anyhow::Result<usize> {
    let codes = match books {
        Some(books) => Some(item_codes(ingested, run_root, books)?),
        None => None,
    };
    let catalog = &ingested.dataset.catalog;
    let counts = item_counts(ingested.dataset.sequences.iter().flatten().map(|e| &e.item), catalog.len());
    let mut order: Vec<usize> = (0..catalog.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let items: Vec<serde_json::Value> = order
        .iter()
        .take(limit)
        .filter_map(|&i| catalog.get(i as u32).map(|it| (i, it)))
        .map(|(i, it)| {
            let mut item = serde_json::json!({"id": it.id, "title": it.title, "brand": it.brand, "category": it.category, "tags": it.attributes});
            if let Some(code) = codes.as_ref().and_then(|c| c.get(i)) {
                item["code"] = serde_json::Value::String(code.clone());
            }
            item
        })
        .collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string(&items)?).with_context(|| format!("writing {}", path.display()))?;
    Ok(items.len())
}

/// The run's student's item vectors, `[n_items, d]` row-major, and `d`.
pub fn student_item_vectors(ingested: &Ingested, run_root: &Path) -> anyhow::Result<(Vec<f32>, usize)> {
    let run = RunDir::new(run_root);
    let config = run.read_config()?;
    let (_, tokens) = run.device_item_tokens(ingested, &config.settings)?;
    let device = Default::default();
    let (_, student) = StudentDir::new(&run.root).load::<burn::backend::Flex>(&device)?;
    let mut tensors = student.export_tensors(&ItemText::new(&tokens, &device));
    let items = tensors.remove(layout::ITEMS).ok_or_else(|| anyhow::anyhow!("the student has no item table"))?;
    let d = items.shape.get(1).copied().unwrap_or(0);
    Ok((items.values, d))
}

/// Every catalog item's code for `books` (`[n_items, m]`), from the run's student: the
/// codes tuned with these codebooks (`code_tuning`) when the student has them, else each
/// item vector's nearest centroids.
pub fn catalog_codes(ingested: &Ingested, run_root: &Path, books: &Codebooks) -> anyhow::Result<Vec<u8>> {
    let (items, d) = student_item_vectors(ingested, run_root)?;
    anyhow::ensure!(
        d == books.d(),
        "the artifact's codebooks are {} wide but this run's student is {d}: is it the run the artifact came from?",
        books.d()
    );
    let dir = StudentDir::new(&RunDir::new(run_root).root);
    let n = ingested.dataset.catalog.len();
    if let Some(tuned) = TunedCodes::load(&dir, books.m, n, d)?
        && tuned.books()?.fingerprint() == books.fingerprint()
    {
        return Ok(tuned.codes);
    }
    Ok(items.chunks_exact(d).flat_map(|v| books.assign(v)).collect())
}

/// [`catalog_codes`] as code strings.
pub fn item_codes(ingested: &Ingested, run_root: &Path, books: &Codebooks) -> anyhow::Result<Vec<String>> {
    Ok(catalog_codes(ingested, run_root, books)?.chunks_exact(books.m).map(|c| books.code_string(c)).collect())
}

/// Writes the artifact of the run's student to `out`; returns its size in bytes.
pub fn export<B: Backend>(
    device: &B::Device,
    ingested: &Ingested,
    run_root: &Path,
    out: &Path,
    table: ItemTable,
    code_bytes: usize,
    embed_tokenizer: bool,
) -> anyhow::Result<usize> {
    let run = RunDir::new(run_root);
    let config = run.read_config()?;
    let (tokenizer, tokens) = run.device_item_tokens(ingested, &config.settings)?;
    let dir = StudentDir::new(&run.root);
    let (spec, student) = dir.load::<B>(device)?;
    let n = ingested.dataset.catalog.len();
    anyhow::ensure!(
        spec.student.n_items == n,
        "the student was trained on {} items but the dataset has {n}: export with the dataset the run used",
        spec.student.n_items
    );
    let report =
        std::fs::read_to_string(dir.report()).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let metrics = report
        .as_ref()
        .map(|r| serde_json::json!({"full": r["full"]["models"], "rerank": r["rerank"], "baskets": r["baskets"]}))
        .unwrap_or_default();
    // On basket data, distill fitted the basket head: the artifact carries its weights.
    let basket =
        report.as_ref().and_then(|r| serde_json::from_value::<BasketWeights>(r["basket_head"]["weights"].clone()).ok());
    let item_ids = ingested.dataset.catalog.items().iter().map(|i| i.id.clone()).collect();
    let base = bare_manifest(item_ids, &spec, tokens.width());
    let sha = tokenizer.as_ref().map(|t| t.sha256().to_string());
    let m = Manifest { basket, ..manifest(ingested, base, sha, metrics) };
    let text = ItemText::<B>::new(&tokens, device);
    let json = if embed_tokenizer { tokenizer.as_ref().map(|t| t.json().to_string()) } else { None };
    let quantized = student_codes(&dir, &student, &text, code_bytes)?;
    let (_, bytes) = ranker_of(&student, &text, m, table, Some(&quantized), json)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(bytes.len())
}
