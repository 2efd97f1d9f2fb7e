//! `trainer distill`: distils the on-device student from a run's teacher, evaluates it
//! (full ranking, and reranking retrievers' top-100; f32, int8 and item codes) and writes
//! RUN/student/.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use pocketrank_model::baselines::{CoOccurrence, Popularity};
use pocketrank_model::metrics::Scorer as _;
use pocketrank_model::teacher::{ItemText, TeacherScorer};
use pocketrank_model::{CaseScorer, EvalCase, Evaluation, Interaction};
use pocketrank_runtime::Ranker;
use pocketrank_runtime::artifact::Encoding;
use serde::{Deserialize, Serialize};

use super::export::manifest;
use super::input::Input;
use crate::backend::{DeviceChoice, on_backend};
use crate::basket::{BasketRow, BoughtTogether, BuyAgain, HeadTerms, basket_markdown, basket_row, fit_basket_head};
use crate::cold_start::{ColdStartReport, cold_start, is_held_out, pick_cold_items};
use crate::data::Ingested;
use crate::distillation::code_tuning::{TuneSettings, TunedCodes, student_codes, tune_codes};
use crate::distillation::diversity::{DiversityRow, diversity_markdown, diversity_rows};
use crate::distillation::ranker::{
    ItemTable, Quantized, RankerCases, bare_manifest, cold_ranker, quantize_items, ranker_of,
};
use crate::distillation::rerank::{self, RerankRow};
use crate::distillation::{self, DistillInputs, DistillSettings, Prepared, StudentDir, StudentSpec};
use crate::evaluation::{EvalSettings, EvalTask, ModelReport, Report, evaluate_with_progress};
use crate::report;
use crate::run_dir::RunDir;
use crate::teacher;
use crate::training::History;
use crate::training::popularity::item_counts;
use pocketrank_runtime::basket::BasketWeights;

/// `trainer distill`.
#[derive(Args, Debug)]
pub struct DistillArgs {
    #[command(flatten)]
    pub input: Input,
    /// The teacher's run folder (from `trainer train`).
    #[arg(long, default_value = "runs/beauty")]
    pub run: PathBuf,
    /// Where to train (see `trainer train --help`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    #[command(flatten)]
    pub settings: DistillSettings,
    /// Evaluate on the first N test users only (0 = all; for quick checks).
    #[arg(long, default_value_t = 0)]
    pub test_users: usize,
    /// Re-evaluate the run's saved student without training it again.
    #[arg(long)]
    pub evaluate_only: bool,
    /// Item-code widths (bytes per item) to evaluate beside the int8 table (each one's
    /// codes are tuned and saved for `export`; 32 is its default).
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32])]
    pub code_bytes: Vec<usize>,
}

impl DistillArgs {
    /// Distils, evaluates and prints both tables.
    pub fn run(self) -> anyhow::Result<()> {
        let ingested = self.input.load()?;
        let test_users = (self.test_users > 0).then_some(self.test_users);
        let settings = DistillSettings { replicas: self.device.replicas(self.settings.replicas), ..self.settings };
        let report = on_backend!(
            self.device,
            distill_run,
            &ingested,
            &self.run,
            &settings,
            self.evaluate_only,
            test_users,
            &self.code_bytes
        )?;
        print!("{}", report::markdown(&report.full));
        print!("{}", rerank::rerank_markdown(&report.rerank));
        Ok(())
    }
}

/// Artifact sizes in bytes by item-table encoding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactSizes {
    pub f32: usize,
    pub f16: usize,
    pub int8: usize,
    /// int8 with the tokenizer embedded.
    pub int8_with_tokenizer: usize,
    /// Per code width: the table as codes, and the catalog-free core (without and with
    /// the tokenizer).
    #[serde(default)]
    pub codes: Vec<CodeSizes>,
}

/// Artifact sizes and quantisation error at one code width.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSizes {
    /// Bytes per item.
    pub code_bytes: usize,
    /// Mean squared error of the item vectors through their codes.
    pub mse: f32,
    /// The item table as codes (with codebooks).
    pub table: usize,
    /// No item table (weights and codebooks).
    pub core: usize,
    pub core_with_tokenizer: usize,
}

/// Everything `trainer distill` reports (`student/metrics.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentReport {
    pub spec: StudentSpec,
    /// Epochs, the best one.
    #[serde(flatten)]
    pub history: History,
    pub student_parameters: usize,
    pub artifact_bytes: ArtifactSizes,
    /// Full ranking on the test cases: teacher, student, quantised student.
    pub full: Report,
    /// Reranking retrievers' top-100 lists.
    pub rerank: Vec<RerankRow>,
    /// Items held out of the teacher's run (`trainer train --cold-items`), ranked by the
    /// student from their titles, as a device ranks a product added after export.
    #[serde(default)]
    pub cold_start: Option<ColdStartReport>,
    /// The int8 student's top 10 diversified at several λ and capped per brand.
    #[serde(default)]
    pub diversity: Vec<DiversityRow>,
    /// On basket data: the next item in the basket (see [`crate::basket`]), the baselines
    /// first ([`BASKET_BASELINES`] rows).
    #[serde(default)]
    pub baskets: Vec<BasketRow>,
    /// On basket data: the basket head's weights, fitted on the validation cases (see
    /// [`pocketrank_runtime::basket`]); `trainer export` puts them in the artifact.
    #[serde(default)]
    pub basket_head: Option<BasketHeadFit>,
}

/// The basket head fitted on the validation cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BasketHeadFit {
    pub weights: BasketWeights,
    /// Validation NDCG@10 with these weights, and with the student alone (both 0).
    pub valid_ndcg10: f64,
    pub valid_ndcg10_student: f64,
}

/// Baselines at the top of [`StudentReport::baskets`].
pub const BASKET_BASELINES: usize = 4;

/// The basket protocol's rows: popularity, next-item co-occurrence, bought together, buy again, then
/// `models`.
fn basket_rows(
    task: &EvalTask,
    cases: &[EvalCase],
    events: &[Vec<Interaction>],
    cooccurrence: &CoOccurrence,
    models: &[(&str, &dyn CaseScorer)],
) -> Vec<BasketRow> {
    let n_items = cooccurrence.n_items();
    let popularity = Popularity::fit(&task.split.train, n_items);
    let together = BoughtTogether::fit(events, |u| task.split.train.get(u).map_or(0, Vec::len), n_items);
    let mut rows = vec![
        basket_row("popularity", &popularity, cases, events),
        basket_row("co-occurrence (next item)", cooccurrence, cases, events),
        basket_row("bought together (same basket)", &together, cases, events),
        basket_row("buy again (recent purchases, then popularity)", &BuyAgain::new(&together), cases, events),
    ];
    for &(name, scorer) in models {
        rows.push(basket_row(name, scorer, cases, events));
        eprintln!("basket protocol, {name}: NDCG@10 {:.4}", rows.last().map_or(0.0, |r| r.ndcg10));
    }
    rows
}

/// Distils (unless `evaluate_only`), evaluates and reports the student of the teacher run
/// in `run_root`, on the first `test_users` test cases (all when `None`).
pub fn distill_run<B: AutodiffBackend>(
    device: &B::Device,
    ingested: &Ingested,
    run_root: &Path,
    settings: &DistillSettings,
    evaluate_only: bool,
    test_users: Option<usize>,
    code_widths: &[usize],
) -> anyhow::Result<StudentReport> {
    let run = RunDir::new(run_root);
    let config = run.read_config()?;
    let (tokenizer, teacher_tokens, tokens) = run.teacher_and_device_item_tokens(ingested, &config.settings)?;
    anyhow::ensure!(
        (tokens.max_token() as usize) < config.teacher.vocab_size,
        "the item text uses token id {} but the teacher in {} knows {} tokens: retrain the teacher with this catalog",
        tokens.max_token(),
        run.root.display(),
        config.teacher.vocab_size
    );
    let teacher = teacher::load_best::<B::InnerBackend>(&run.root, &config.teacher, device)?;
    let n_items = ingested.dataset.catalog.len();
    let mut spec = StudentSpec {
        student: settings.student(n_items, config.teacher.vocab_size),
        settings: settings.for_catalog(n_items),
        window: teacher.max_len(),
    };
    let dir = StudentDir::new(&run.root);
    if evaluate_only {
        // The saved student's own settings (its lists, if codes are tuned), run as told.
        let (saved, _) = dir.load::<B::InnerBackend>(device)?;
        let DistillSettings { replicas, code_epochs, code_lr, .. } = *settings;
        spec = StudentSpec { settings: DistillSettings { replicas, code_epochs, code_lr, ..saved.settings }, ..saved };
    }

    let task = EvalTask::new(ingested, EvalSettings::default());
    let item_ids: Vec<String> = ingested.dataset.catalog.items().iter().map(|i| i.id.clone()).collect();
    let cold = (config.settings.cold_items > 0.0)
        .then(|| pick_cold_items(n_items, config.settings.cold_items, config.settings.seed));
    let inputs = DistillInputs {
        split: &task.split,
        events: &ingested.dataset.sequences,
        tokens: &tokens,
        teacher_tokens: &teacher_tokens,
        item_ids,
        held_out: cold.as_deref(),
    };
    let log = |m: &str| eprintln!("{m}");
    // The teacher's lists: built for distilling, and again for tuning codes if needed.
    let mut prepared = None;
    let history = if evaluate_only {
        let previous: Option<StudentReport> =
            std::fs::read_to_string(dir.report()).ok().and_then(|t| serde_json::from_str(&t).ok());
        previous.map(|r| r.history).unwrap_or_default()
    } else {
        let data = Prepared::<B>::new(device, &teacher, &inputs, &spec, &log)?;
        let history = distillation::distill::<B>(device, &teacher, &data, &spec, &dir, &log)?;
        prepared = Some(data);
        history
    };
    // Each code width: k-means weighted by how often each item sold in training (the items
    // shoppers buy are coded most closely), then its centroids tuned with the distillation
    // loss; saved for export unless saved already.
    let sold = task.split.train.iter().flatten().filter(|&&i| !is_held_out(cold.as_deref(), i));
    let weights: Vec<f32> = item_counts(sold, n_items).iter().map(|&c| 1.0 + c as f32).collect();
    for &m in code_widths {
        if TunedCodes::load(&dir, m, n_items, spec.student.d)?.is_some() {
            continue;
        }
        let data = match prepared.take() {
            Some(data) => data,
            None => Prepared::<B>::new(device, &teacher, &inputs, &spec, &log)?,
        };
        let (_, student) = dir.load::<B>(device)?;
        // k-means over the vectors the runtime computes (no training-time dropout).
        let start = quantize_items(&student.valid(), &ItemText::new(&tokens, device), m, Some(&weights))?;
        let tune = TuneSettings { epochs: settings.code_epochs, learning_rate: settings.code_lr };
        tune_codes(&data, student, &start, tune, &dir, &log)?;
        prepared = Some(data);
    }
    drop(prepared);

    let (spec, student) = dir.load::<B::InnerBackend>(device)?;
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let teacher_text = ItemText::<B::InnerBackend>::new(&teacher_tokens, device);
    let base = bare_manifest(inputs.item_ids.clone(), &spec, tokens.width());
    let sha = tokenizer.as_ref().map(|t| t.sha256().to_string());
    let base = manifest(ingested, base, sha, serde_json::Value::Null);
    let json = tokenizer.as_ref().map(|t| t.json().to_string());
    let build = |table: ItemTable, q: Option<&Quantized>, tok: Option<String>| {
        ranker_of(&student, &text, base.clone(), table, q, tok)
    };
    let (ranker_f32, f32_bytes) = build(ItemTable::Dense(Encoding::F32), None, None)?;
    let (_, f16_bytes) = build(ItemTable::Dense(Encoding::F16), None, None)?;
    let (ranker_int8, int8_bytes) = build(ItemTable::Dense(Encoding::Int8), None, None)?;
    let (_, with_tok) = build(ItemTable::Dense(Encoding::Int8), None, json.clone())?;
    let mut coded = Vec::new();
    let mut code_sizes = Vec::new();
    for &m in code_widths {
        let q = student_codes(&dir, &student, &text, m)?;
        let (ranker, table) = build(ItemTable::Codes, Some(&q), None)?;
        let (_, core) = build(ItemTable::Core, Some(&q), None)?;
        let (_, core_tok) = build(ItemTable::Core, Some(&q), json.clone())?;
        eprintln!("codes of {m} bytes: item-vector MSE {:.5}, core artifact {} bytes", q.error, core.len());
        code_sizes.push(CodeSizes {
            code_bytes: m,
            mse: q.error,
            table: table.len(),
            core: core.len(),
            core_with_tokenizer: core_tok.len(),
        });
        coded.push((format!("student (codes, {m} B)"), ranker));
    }
    let artifact_bytes = ArtifactSizes {
        f32: f32_bytes.len(),
        f16: f16_bytes.len(),
        int8: int8_bytes.len(),
        int8_with_tokenizer: with_tok.len(),
        codes: code_sizes,
    };

    let cases = match test_users {
        Some(n) if n < task.cases().len() => &task.cases()[..n],
        _ => task.cases(),
    };
    let mut full = Report::new(ingested, &task.split, task.settings.clone());
    full.evaluated_users = cases.len();
    // Every row of the table is measured on the same cases: the teacher's own test report
    // when all cases are used, the teacher scored again on the subset otherwise.
    if cases.len() == task.cases().len() {
        let teacher_report: Option<Report> =
            std::fs::read_to_string(run.report()).ok().and_then(|t| serde_json::from_str(&t).ok());
        if let Some(t) = teacher_report.as_ref().and_then(|r| r.model("teacher")) {
            full.models.push(t.clone());
        }
    } else {
        let started = Instant::now();
        let metrics = teacher::evaluate_teacher(
            teacher.clone(),
            &teacher_text,
            cases,
            &task.negatives,
            device,
            "teacher (subset)",
        );
        full.models.push(ModelReport { name: "teacher".into(), metrics, seconds: started.elapsed().as_secs_f64() });
    }
    let mut rankers: Vec<(&str, &Ranker)> = vec![("student", &ranker_f32), ("student (int8)", &ranker_int8)];
    rankers.extend(coded.iter().map(|(name, r)| (name.as_str(), r)));
    for &(name, ranker) in &rankers {
        let started = Instant::now();
        let scorer = RankerCases { ranker, events: &ingested.dataset.sequences };
        let metrics: Evaluation = evaluate_with_progress(&scorer, cases, &task.negatives, name);
        eprintln!(
            "{name}: full masked NDCG@10 {:.4} HR@10 {:.4}; sampled NDCG@10 {:.4}",
            metrics.full_masked.ndcg10, metrics.full_masked.hr10, metrics.sampled100.ndcg10
        );
        full.models.push(ModelReport { name: name.into(), metrics, seconds: started.elapsed().as_secs_f64() });
    }

    // The teacher's run held items out: the student ranks them from their titles alone.
    let cold_start = match &cold {
        Some(cold) => {
            let ranker = cold_ranker(&student, &text, base.clone(), &tokens, json.clone(), cold)?;
            let scorer = RankerCases { ranker: &ranker, events: &ingested.dataset.sequences };
            let report = cold_start(&task, cases, cold, &scorer);
            eprintln!("{}", report.summary("student"));
            Some(report)
        }
        None => None,
    };

    let cooccurrence = CoOccurrence::fit(&task.split.train, n_items);
    let (baskets, basket_head) = match ingested.baskets {
        Some(_) => {
            let events = &ingested.dataset.sequences;
            let teacher = TeacherScorer::new(teacher.clone(), &teacher_text, device);
            let int8 = RankerCases { ranker: &ranker_int8, events };
            let mut rows =
                basket_rows(&task, cases, events, &cooccurrence, &[("teacher", &teacher), ("student (int8)", &int8)]);
            let (weights, tried) = fit_basket_head(&ranker_int8, events, &task.split.valid);
            let valid = |w: &BasketWeights| tried.iter().find(|(t, _)| t == w).map_or(0.0, |(_, r)| r.ndcg10);
            let none = BasketWeights { repeat: 0.0, together: 0.0 };
            let fit = BasketHeadFit { weights, valid_ndcg10: valid(&weights), valid_ndcg10_student: valid(&none) };
            eprintln!(
                "basket head: repeat {} together {}, valid NDCG@10 {:.4} (student alone {:.4})",
                weights.repeat, weights.together, fit.valid_ndcg10, fit.valid_ndcg10_student
            );
            let terms = HeadTerms::new(&ranker_int8, events, cases);
            let head =
                format!("student (int8) + basket head (repeat {}, together {})", weights.repeat, weights.together);
            let before = rows.len();
            rows.push(terms.row(&head, &weights, cases, events));
            // Each term's share, when both are used.
            if weights.repeat != 0.0 && weights.together != 0.0 {
                let only_repeat = BasketWeights { together: 0.0, ..weights };
                let only_together = BasketWeights { repeat: 0.0, ..weights };
                rows.push(terms.row("  without the together term", &only_repeat, cases, events));
                rows.push(terms.row("  without the repeat term", &only_together, cases, events));
            }
            for r in &rows[before..] {
                eprintln!("basket protocol, {}: NDCG@10 {:.4}", r.model, r.ndcg10);
            }
            (rows, Some(fit))
        }
        None => (Vec::new(), None),
    };
    let lists = rerank::retrieve(teacher, &teacher_text, &cooccurrence, cases, device);
    let rerank = rerank::rerank_rows(cases, &lists, &rankers, &ingested.dataset.sequences);
    let brands: Vec<Option<String>> = ingested.dataset.catalog.items().iter().map(|i| i.brand.clone()).collect();
    // Distinct brands are the report's point: catalogs without brands skip it.
    let diversity = if brands.iter().any(Option::is_some) {
        diversity_rows(cases, &ranker_int8, &ingested.dataset.sequences, &brands)
    } else {
        Vec::new()
    };

    let report = StudentReport {
        spec,
        history,
        student_parameters: student.num_params(),
        artifact_bytes,
        full,
        rerank,
        cold_start,
        diversity,
        baskets,
        basket_head,
    };
    write_report(&report, &dir)?;
    Ok(report)
}

fn write_report(report: &StudentReport, dir: &StudentDir) -> anyhow::Result<()> {
    std::fs::write(dir.report(), serde_json::to_string_pretty(report)? + "\n")?;
    let mut md = report::markdown(&report.full);
    md.push_str("\n## Reranking a retriever's top-100 (test)\n\n");
    md.push_str(&rerank::rerank_markdown(&report.rerank));
    let a = &report.artifact_bytes;
    md.push_str(&format!(
        "\n## Artifact\n\n{} student parameters. Artifact bytes: f32 {}, f16 {}, int8 {}, int8 with the tokenizer {}.\n",
        report.student_parameters, a.f32, a.f16, a.int8, a.int8_with_tokenizer
    ));
    for c in &a.codes {
        md.push_str(&format!(
            "Codes of {} bytes per item (item-vector MSE {:.5}): table as codes {}, core {} (with the tokenizer {}).\n",
            c.code_bytes, c.mse, c.table, c.core, c.core_with_tokenizer
        ));
    }
    if let Some(c) = &report.cold_start {
        md.push_str(&format!("\n## Cold start\n\n{}.\n", c.summary("student")));
    }
    if !report.baskets.is_empty() {
        md.push_str("\n## Next item in the basket (only the basket's own products masked)\n\n");
        md.push_str(&basket_markdown(&report.baskets, BASKET_BASELINES));
    }
    if !report.diversity.is_empty() {
        md.push_str("\n## Diversity (int8 student, test)\n\n");
        md.push_str(&diversity_markdown(&report.diversity));
    }
    std::fs::write(dir.root.join("metrics.md"), md)?;
    Ok(())
}
