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

/// Teacher fields added to `config.json` after its first release, each with the value that
/// keeps an older run folder's meaning (its teacher was built without them).
fn legacy_teacher_fields() -> [(&'static str, serde_json::Value); 4] {
    [
        ("id_dropout", 0.0.into()),
        ("filter_alpha", 0.0.into()),
        ("whole_history", false.into()),
        ("filter_frequencies", 0.into()),
    ]
}

/// A `config.json`, older ones included (see [`legacy_teacher_fields`]).
fn parse_config(text: &str) -> serde_json::Result<RunConfig> {
    let mut value: serde_json::Value = serde_json::from_str(text)?;
    if let Some(teacher) = value.get_mut("teacher").and_then(serde_json::Value::as_object_mut) {
        for (key, legacy) in legacy_teacher_fields() {
            teacher.entry(key).or_insert(legacy);
        }
    }
    serde_json::from_value(value)
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
        parse_config(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes `config.json`.
    pub fn write_config(&self, config: &RunConfig) -> anyhow::Result<()> {
        let path = self.config();
        std::fs::write(&path, serde_json::to_string_pretty(config)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Trains the tokenizer (or reuses the run's) and lays out every item's text tokens as
    /// `settings` asks: `title_tokens` of its whole text, or that many of its title and
    /// `attribute_tokens` of the rest. Catalogs without any text (id-only datasets) get no
    /// tokenizer: the model learns from ids alone.
    pub fn item_tokens(
        &self,
        ingested: &Ingested,
        settings: &TrainSettings,
    ) -> anyhow::Result<(Option<CatalogTokenizer>, ItemTokens)> {
        let catalog = &ingested.dataset.catalog;
        if catalog.items().iter().all(|i| i.text().is_empty()) {
            return Ok((None, ItemTokens::empty(catalog.len())));
        }
        let path = self.tokenizer();
        let tokenizer = if path.exists() {
            CatalogTokenizer::from_json(&std::fs::read_to_string(&path)?)?
        } else {
            let t = CatalogTokenizer::train(catalog, settings.vocab_size)?;
            std::fs::write(&path, t.json()).with_context(|| format!("writing {}", path.display()))?;
            t
        };
        let tokens = if settings.attribute_tokens == 0 {
            ItemTokens::new(&tokenizer.encode_catalog(catalog)?, settings.title_tokens)
        } else {
            let fields = tokenizer.encode_fields(catalog)?;
            ItemTokens::two_fields(&fields.titles, &fields.attributes, settings.title_tokens, settings.attribute_tokens)
        };
        Ok((Some(tokenizer), tokens))
    }

    /// The teacher's table and the device's (see [`Self::device_item_tokens`]), the catalog
    /// encoded once when the teacher reads one field (the tables are then the same).
    pub fn teacher_and_device_item_tokens(
        &self,
        ingested: &Ingested,
        settings: &TrainSettings,
    ) -> anyhow::Result<(Option<CatalogTokenizer>, ItemTokens, ItemTokens)> {
        let (tokenizer, device) = self.device_item_tokens(ingested, settings)?;
        let teacher =
            if settings.attribute_tokens == 0 { device.clone() } else { self.item_tokens(ingested, settings)?.1 };
        Ok((tokenizer, teacher, device))
    }

    /// The text layout of the student and the device runtime: one field, the item's whole
    /// text, in as many tokens as the teacher reads (`title_tokens + attribute_tokens`).
    /// The same as [`Self::item_tokens`] when the teacher reads one field.
    pub fn device_item_tokens(
        &self,
        ingested: &Ingested,
        settings: &TrainSettings,
    ) -> anyhow::Result<(Option<CatalogTokenizer>, ItemTokens)> {
        self.item_tokens(ingested, &one_text_field(settings))
    }
}

/// `settings` with the item's whole text as one field of the same total width.
fn one_text_field(settings: &TrainSettings) -> TrainSettings {
    TrainSettings {
        title_tokens: settings.title_tokens + settings.attribute_tokens,
        attribute_tokens: 0,
        ..settings.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_reads_one_field_as_wide_as_the_teachers_two() {
        let one = TrainSettings { title_tokens: 24, attribute_tokens: 0, ..TrainSettings::default() };
        assert_eq!(one_text_field(&one), one);
        let two = TrainSettings { title_tokens: 12, attribute_tokens: 8, ..TrainSettings::default() };
        let device = one_text_field(&two);
        assert_eq!((device.title_tokens, device.attribute_tokens), (20, 0));
        assert_eq!(TrainSettings { title_tokens: 12, attribute_tokens: 8, ..device }, two);
    }

    #[test]
    fn a_config_from_before_the_filter_and_whole_histories_reads_as_it_was_trained() {
        let teacher =
            TeacherConfig::new(12, 7).with_filter_alpha(0.7).with_whole_history(true).with_filter_frequencies(3);
        let config = RunConfig { settings: TrainSettings::default(), teacher, backend: "Cpu".into() };
        let mut value = serde_json::to_value(&config).unwrap();
        let read = parse_config(&value.to_string()).unwrap();
        assert_eq!(
            (read.teacher.filter_alpha, read.teacher.whole_history, read.teacher.filter_frequencies),
            (0.7, true, 3),
            "today's folders unchanged"
        );
        let fields = value["teacher"].as_object_mut().unwrap();
        for (key, _) in legacy_teacher_fields() {
            fields.remove(key);
        }
        let old = parse_config(&value.to_string()).unwrap();
        assert_eq!(
            (
                old.teacher.id_dropout,
                old.teacher.filter_alpha,
                old.teacher.whole_history,
                old.teacher.filter_frequencies
            ),
            (0.0, 0.0, false, 0)
        );
        assert_eq!((old.teacher.n_items, old.teacher.vocab_size), (12, 7));
        value["teacher"].as_object_mut().unwrap().remove("n_items");
        assert!(parse_config(&value.to_string()).is_err(), "a field every folder has is still required");
    }
}
