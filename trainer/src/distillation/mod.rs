//! Distilling the student from the teacher.
//!
//! 1. The teacher scores the whole catalog at every position of every training window
//!    ([`windows`], cut to the teacher's own `max_len`). Each position keeps a candidate
//!    list ([`lists`]): the true next item, the teacher's hardest negatives and uniform
//!    random items, with the teacher's scores for them.
//! 2. The student reads the same events one at a time (its GRU profile) and is trained on
//!    those lists ([`batch`]): listwise KL to the teacher's softmax at temperature `T`
//!    (scaled by `T²`), cross-entropy on the true next item and a hint term, in the shared
//!    loop ([`crate::training`]).
//! 3. Each epoch the student is exported to the on-device [`Ranker`](pocketrank_runtime::Ranker)
//!    and validated there ([`ranker`]; full ranking, masked NDCG@10): what is measured is
//!    what ships. [`rerank`] judges it on reranking retrievers' lists.
//! 4. The item codes of each width start from k-means over the best student's item vectors
//!    and their centroids are then trained with the same loss, the student frozen
//!    ([`code_tuning`]), on the same lists ([`Prepared`]).

pub mod batch;
pub mod code_tuning;
pub mod diversity;
pub mod lists;
pub mod ranker;
pub mod rerank;
pub mod settings;
pub mod windows;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::{AutodiffModule, Module};
use burn::optim::AdamWConfig;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use pocketrank_model::student::{Student, StudentConfig};
use pocketrank_model::teacher::{ItemText, Teacher};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{Interaction, LeaveOneOut, MetricSet};
use pocketrank_runtime::artifact::{Encoding, Manifest};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

pub use settings::DistillSettings;

use crate::cold_start::is_held_out;
use crate::evaluation::evaluate_with_progress;
use crate::training::popularity::{item_counts, standardised_log_popularity};
use crate::training::{self, History, Keeper, Objective, Validation};
use batch::{LossWeights, StudentBatch, distill_loss};
use lists::{ListNegatives, TeacherLists, teacher_lists};
use ranker::{ItemTable, RankerCases, bare_manifest, ranker_of};
use windows::{Window, training_windows};

type Rec = NamedMpkFileRecorder<FullPrecisionSettings>;

/// What a saved student is and how it was trained (`student/config.json`, and the
/// artifact's training record).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentSpec {
    pub student: StudentConfig,
    pub settings: DistillSettings,
    /// Events per training window: the teacher's `max_len`.
    pub window: usize,
}

/// Where a run keeps its student.
pub struct StudentDir {
    pub root: PathBuf,
}

impl StudentDir {
    pub fn new(run_dir: &Path) -> Self {
        Self { root: run_dir.join("student") }
    }
    pub fn model(&self) -> PathBuf {
        self.root.join("model.mpk")
    }
    pub fn spec(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("metrics.json")
    }

    /// Loads the saved student.
    pub fn load<B: Backend>(&self, device: &B::Device) -> anyhow::Result<(StudentSpec, Student<B>)> {
        let spec: StudentSpec = serde_json::from_str(
            &std::fs::read_to_string(self.spec()).with_context(|| format!("reading {}", self.spec().display()))?,
        )
        .with_context(|| format!("parsing {}", self.spec().display()))?;
        let model = spec
            .student
            .init::<B>(device)
            .load_file(self.model(), &Rec::new(), device)
            .with_context(|| format!("loading {}", self.model().display()))?;
        Ok((spec, model))
    }
}

/// Inputs of a distillation run.
pub struct DistillInputs<'a> {
    pub split: &'a LeaveOneOut,
    /// Every shopper's events (kinds and times), in the split's user order.
    pub events: &'a [Vec<Interaction>],
    /// The student's (and the device's) item text: one field per item.
    pub tokens: &'a ItemTokens,
    /// The teacher's item text, laid out as it was trained (one field or two).
    pub teacher_tokens: &'a ItemTokens,
    pub item_ids: Vec<String>,
    /// Items held out of training (cold-start evaluation): never inputs, targets or negatives.
    pub held_out: Option<&'a [bool]>,
}

/// The student as the shared loop's [`Objective`].
struct StudentObjective<'a, B: AutodiffBackend> {
    windows: Vec<Window<'a>>,
    lengths: Vec<usize>,
    lists: TeacherLists,
    popularity: Vec<f32>,
    settings: &'a DistillSettings,
    text: ItemText<B>,
    inner_text: ItemText<B::InnerBackend>,
    events: &'a [Vec<Interaction>],
    validation: Validation,
    manifest: Manifest,
    device: B::Device,
}

impl<B: AutodiffBackend> Objective<B, Student<B>> for StudentObjective<'_, B> {
    fn name(&self) -> &str {
        "student"
    }

    fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    fn targets(&self) -> usize {
        self.lists.rows()
    }

    fn device(&self) -> &B::Device {
        &self.device
    }

    fn loss(&self, model: &Student<B>, batch: &[usize], rng: &mut StdRng, device: &B::Device) -> (Tensor<B, 1>, usize) {
        let ws: Vec<&Window> = batch.iter().map(|&w| &self.windows[w]).collect();
        let firsts: Vec<usize> = batch.iter().map(|&w| self.lists.first[w]).collect();
        let s = self.settings;
        let b = StudentBatch::<B>::new(&ws, &firsts, &self.lists, &self.popularity, s.context_dropout, rng, device);
        let weights = LossWeights { temperature: s.temperature, ce: s.ce_weight, hint: s.hint_weight };
        let text = if device == &self.device { self.text.clone() } else { self.text.to_device(device) };
        (distill_loss(model, &text, b, weights), batch.len())
    }

    fn validate(&self, model: &Student<B::InnerBackend>) -> anyhow::Result<MetricSet> {
        let (ranker, _) =
            ranker_of(model, &self.inner_text, self.manifest.clone(), ItemTable::Dense(Encoding::F32), None, None)?;
        let scorer = RankerCases { ranker: &ranker, events: self.events };
        let v = &self.validation;
        Ok(evaluate_with_progress(&scorer, &v.cases, &v.negatives, "validating").full_masked)
    }
}

/// Saves the best student.
struct StudentKeeper<'a> {
    dir: &'a StudentDir,
}

impl<B: AutodiffBackend, O> Keeper<B, Student<B>, O> for StudentKeeper<'_> {
    fn epoch_done(&mut self, model: &Student<B>, _: &O, _: &History, best: bool) -> anyhow::Result<()> {
        if best {
            model.valid().save_file(self.dir.model(), &Rec::new())?;
        }
        Ok(())
    }

    fn stopped(&mut self, history: &History) -> anyhow::Result<String> {
        Ok(match history.best_epoch {
            Some(e) => format!("The best student so far (epoch {e}) is {}.", self.dir.model().display()),
            None => "No student was saved.".to_string(),
        })
    }
}

/// What the student is trained on, built once from the teacher: the training windows,
/// the teacher's lists, popularity, the validation cases. Distillation and code tuning
/// ([`code_tuning`]) both train on it.
pub struct Prepared<'a, B: AutodiffBackend> {
    objective: StudentObjective<'a, B>,
}

impl<'a, B: AutodiffBackend> Prepared<'a, B> {
    /// Builds the windows and the teacher's lists for `spec`'s student.
    pub fn new(
        device: &B::Device,
        teacher: &Teacher<B::InnerBackend>,
        inputs: &'a DistillInputs<'a>,
        spec: &'a StudentSpec,
        log: &dyn Fn(&str),
    ) -> anyhow::Result<Self> {
        let settings = &spec.settings;
        anyhow::ensure!(
            spec.window == teacher.max_len(),
            "the student's window ({}) must be the teacher's max_len ({})",
            spec.window,
            teacher.max_len()
        );
        anyhow::ensure!(
            inputs.teacher_tokens.items() == inputs.tokens.items(),
            "the teacher's item text covers {} items but the student's {}",
            inputs.teacher_tokens.items(),
            inputs.tokens.items()
        );
        let windows = training_windows(inputs.split, inputs.events, spec.window, inputs.held_out);
        let negatives = settings.negatives(spec.student.n_items);
        let started = Instant::now();
        let lists = teacher_lists(
            teacher,
            &ItemText::new(inputs.teacher_tokens, device),
            &windows,
            &ListNegatives { hard: negatives.0, random: negatives.1, seed: settings.seed, held_out: inputs.held_out },
            device,
        )?;
        log(&format!(
            "teacher lists: {} positions × {} candidates in {:.0} s",
            lists.rows(),
            lists.k,
            started.elapsed().as_secs_f64()
        ));
        let n_items = spec.student.n_items;
        let sold = inputs.split.train.iter().flatten().filter(|&&i| !is_held_out(inputs.held_out, i));
        let popularity = standardised_log_popularity(&item_counts(sold, n_items));
        let text = ItemText::<B>::new(inputs.tokens, device);
        let inner_text = ItemText::<B::InnerBackend>::new(inputs.tokens, device);
        let validation = Validation::new(inputs.split, n_items, settings.valid_users, settings.seed);
        let manifest = bare_manifest(inputs.item_ids.clone(), spec, inputs.tokens.width());
        log(&format!(
            "{} training windows of at most {} events, {} validation users",
            windows.len(),
            spec.window + 1,
            validation.cases.len()
        ));
        let objective = StudentObjective::<B> {
            lengths: windows.iter().map(|w| w.items.len()).collect(),
            windows,
            lists,
            popularity,
            settings,
            text,
            inner_text,
            events: inputs.events,
            validation,
            manifest,
            device: device.clone(),
        };
        Ok(Self { objective })
    }
}

/// Distils a student from `teacher` on `data`; saves the best one (by validation NDCG@10
/// of its runtime) in `dir` and returns the epoch log.
pub fn distill<B: AutodiffBackend>(
    device: &B::Device,
    teacher: &Teacher<B::InnerBackend>,
    data: &Prepared<'_, B>,
    spec: &StudentSpec,
    dir: &StudentDir,
    log: &dyn Fn(&str),
) -> anyhow::Result<History> {
    let settings = &spec.settings;
    std::fs::create_dir_all(&dir.root).with_context(|| format!("creating {}", dir.root.display()))?;
    std::fs::write(dir.spec(), serde_json::to_string_pretty(spec)?)?;
    // Codes tuned for an earlier student do not belong to this one.
    code_tuning::TunedCodes::remove_all(dir)?;
    B::seed(device, settings.seed);
    let (items, tokens, text_w, text_b) = teacher.item_encoder();
    let moved = |t: Tensor<B::InnerBackend, 2>| Tensor::<B, 2>::from_data(t.into_data(), device);
    let model: Student<B> = spec.student.init(device).with_item_encoder(
        moved(items),
        moved(tokens),
        moved(text_w),
        text_b.map(|b| Tensor::<B, 1>::from_data(b.into_data(), device)),
    );
    let optim = AdamWConfig::new().init::<B, Student<B>>();
    let mut history = History::default();
    training::fit(
        &data.objective,
        &mut StudentKeeper { dir },
        model,
        optim,
        &settings.loop_settings(),
        &mut history,
        log,
    )?;
    Ok(history)
}
