//! The teacher's checkpoints: the last and the best model, the optimizer state and
//! `state.json` (settings and every epoch's record), enough to resume.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use pocketrank_model::teacher::Teacher;
use serde::{Deserialize, Serialize};

use super::TrainSettings;
use crate::training::{History, Keeper};

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// What the run folder's `state.json` holds: enough to resume.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    pub settings: TrainSettings,
    /// Epochs, the best one, why training stopped early.
    #[serde(flatten)]
    pub history: History,
    pub finished: bool,
}

/// File layout of a run folder's checkpoints.
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.join("checkpoints") }
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The model after the last finished epoch.
    pub fn last_model(&self) -> PathBuf {
        self.dir.join("last-model")
    }
    fn last_optimizer(&self) -> PathBuf {
        self.dir.join("last-optimizer")
    }
    /// The best model so far (by validation NDCG@10).
    pub fn best_model(&self) -> PathBuf {
        self.dir.join("best-model")
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// Loads the saved state, if any.
    pub fn load_state(&self) -> anyhow::Result<Option<TrainState>> {
        let path = self.state();
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?))
    }

    /// Writes `state.json` (atomically: a partial file, then a rename).
    pub fn save_state(&self, state: &TrainState) -> anyhow::Result<()> {
        let tmp = self.dir.join("state.json.partial");
        std::fs::write(&tmp, serde_json::to_string_pretty(state)?)?;
        std::fs::rename(&tmp, self.state())?;
        Ok(())
    }

    /// Loads a saved teacher into `model`'s structure.
    pub fn load_model<B: Backend>(
        &self,
        model: Teacher<B>,
        path: &Path,
        device: &B::Device,
    ) -> anyhow::Result<Teacher<B>> {
        model.load_file(path, &Rec::new(), device).with_context(|| {
            format!(
                "loading {} (a teacher trained before its blocks gained the causal filter \
                 cannot be read by this version: train it again into a new run folder)",
                path.display()
            )
        })
    }

    /// Restores the last model and optimizer state.
    pub fn load_last<B: AutodiffBackend, O: Optimizer<Teacher<B>, B>>(
        &self,
        model: Teacher<B>,
        optim: O,
        device: &B::Device,
    ) -> anyhow::Result<(Teacher<B>, O)> {
        let model = self.load_model(model, &self.last_model(), device)?;
        let record = Rec::new()
            .load(self.last_optimizer(), device)
            .with_context(|| format!("loading {}", self.last_optimizer().display()))?;
        Ok((model, optim.load_record(record)))
    }
}

/// Saves the teacher's checkpoints as the loop goes.
pub struct TeacherKeeper<'a> {
    pub checkpoints: &'a Checkpoints,
    pub settings: &'a TrainSettings,
}

impl TeacherKeeper<'_> {
    fn state(&self, history: &History) -> TrainState {
        TrainState { settings: self.settings.clone(), history: history.clone(), finished: false }
    }
}

impl<B: AutodiffBackend, O: Optimizer<Teacher<B>, B>> Keeper<B, Teacher<B>, O> for TeacherKeeper<'_> {
    fn epoch_done(&mut self, model: &Teacher<B>, optim: &O, history: &History, best: bool) -> anyhow::Result<()> {
        let c = self.checkpoints;
        model.clone().save_file(c.last_model(), &Rec::new())?;
        Rec::new().record(optim.to_record(), c.last_optimizer())?;
        if best {
            model.clone().save_file(c.best_model(), &Rec::new())?;
        }
        c.save_state(&self.state(history))
    }

    fn stopped(&mut self, history: &History) -> anyhow::Result<String> {
        self.checkpoints.save_state(&self.state(history))?;
        Ok(format!(
            "The last good checkpoint is {} (epoch {}).",
            self.checkpoints.last_model().display(),
            history.epochs.len()
        ))
    }
}
