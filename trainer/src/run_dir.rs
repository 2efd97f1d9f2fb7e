//! A run folder: what `trainer train` writes and `distill` and `export` read.
//!
//! - `config.json` — [`RunConfig`]: the settings and the teacher's exact shape;
//! - `tokenizer.json` — the catalog tokenizer;
//! - `checkpoints/` — the teacher's ([`crate::teacher::Checkpoints`]);
//! - `metrics.json` + `.md` — the teacher's test report;
//! - `student/` — the distilled student ([`crate::distillation::StudentDir`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use pocketrank_model::teacher::TeacherConfig;
use pocketrank_model::text::ItemTokens;
use serde::{Deserialize, Serialize};

use crate::data::Ingested;
use crate::teacher::TrainSettings;
use crate::tokenizer::CatalogTokenizer;

/// The run folder's `config.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunConfig {
    pub settings: TrainSettings,
    /// The teacher as built (catalog size and token vocabulary included).
    pub teacher: TeacherConfig,
    /// Backend the run used (for the record).
    pub backend: String,
}

/// Where a run keeps its files.
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf() }
    }
    pub fn tokenizer(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("metrics.json")
    }

    /// Reads `config.json`.
    pub fn read_config(&self) -> anyhow::Result<RunConfig> {
        let path = self.config();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} (train the teacher first: trainer train)", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes `config.json`.
    pub fn write_config(&self, config: &RunConfig) -> anyhow::Result<()> {
        let path = self.config();
        std::fs::write(&path, serde_json::to_string_pretty(config)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Trains the tokenizer (or reuses the run's) and lays out every item's `width` title
    /// tokens. Catalogs without any text (id-only datasets) get no tokenizer: the model
    /// learns from ids alone.
    pub fn item_tokens(
        &self,
        ingested: &Ingested,
        vocab_size: usize,
        width: usize,
    ) -> anyhow::Result<(Option<CatalogTokenizer>, ItemTokens)> {
        let catalog = &ingested.dataset.catalog;
        if catalog.items().iter().all(|i| i.text().is_empty()) {
            return Ok((None, ItemTokens::empty(catalog.len())));
        }
        let path = self.tokenizer();
        let tokenizer = if path.exists() {
            CatalogTokenizer::from_json(&std::fs::read_to_string(&path)?)?
        } else {
            let t = CatalogTokenizer::train(catalog, vocab_size)?;
            std::fs::write(&path, t.json()).with_context(|| format!("writing {}", path.display()))?;
            t
        };
        let tokens = ItemTokens::new(&tokenizer.encode_catalog(catalog)?, width);
        Ok((Some(tokenizer), tokens))
    }
}
