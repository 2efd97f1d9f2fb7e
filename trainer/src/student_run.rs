//! `trainer distill` and `trainer export`: from a finished teacher run to the artifact.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use burn::tensor::backend::AutodiffBackend;
use pocketrank_runtime::artifact::{DatasetInfo, Encoding, Manifest};
use pocketrank_model::baselines::CoOccurrence;
use pocketrank_model::teacher::ItemText;
use pocketrank_model::{Dataset, Evaluation};
use pocketrank_runtime::Ranker;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::Ingested;
use crate::distill::{self, DistillEpoch, DistillInputs, DistillSettings, RankerCases, StudentDir};
use crate::evaluate::{EvalSettings, EvalTask, ModelReport, Report, evaluate_with_progress};
use crate::pipeline::{RunDir, RunSettings, item_tokens};
use crate::report;
use crate::student_eval::{self, RerankRow};
use crate::teacher_train::Checkpoints;

/// Artifact sizes in bytes by item-table encoding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArtifactSizes {
    pub f32: usize,
    pub f16: usize,
    pub int8: usize,
    /// int8 with the tokenizer embedded.
    pub int8_with_tokenizer: usize,
}

/// Everything `trainer distill` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentReport {
    pub settings: DistillSettings,
    pub epochs: Vec<DistillEpoch>,
    pub student_parameters: usize,
    pub artifact_bytes: ArtifactSizes,
    /// Full ranking on the test cases: teacher, student, quantised student.
    pub full: Report,
    /// Reranking retrievers' top-100 lists.
    pub rerank: Vec<RerankRow>,
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

fn read_run_settings(run: &RunDir) -> anyhow::Result<RunSettings> {
    let text = std::fs::read_to_string(run.settings())
        .with_context(|| format!("reading {} (train the teacher first: trainer train)", run.settings().display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The full manifest of an export.
fn manifest(
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
        metrics,
        created: now_rfc3339(),
        ..base
    }
}

/// Distils, evaluates and reports the student of the teacher run in `run_root`.
pub fn distill_run<B: AutodiffBackend>(
    device: &B::Device,
    ingested: &Ingested,
    run_root: &Path,
    mut settings: DistillSettings,
    evaluate_only: bool,
    test_users: Option<usize>,
) -> anyhow::Result<StudentReport> {
    let run = RunDir { root: run_root.to_path_buf() };
    let run_settings = read_run_settings(&run)?;
    let (tokenizer, tokens) = item_tokens(ingested, &run, run_settings.vocab_size, run_settings.title_tokens)?;
    let teacher_config = run_settings.train.model.clone();
    let ckpt = Checkpoints::new(&run.root);
    let teacher = ckpt.load_model(teacher_config.init::<B::InnerBackend>(device), &ckpt.best_model(), device)?;
    let n_items = ingested.dataset.catalog.len();
    settings.student.n_items = n_items;
    settings.student.vocab_size = teacher_config.vocab_size;

    let task = EvalTask::new(ingested, EvalSettings::default());
    let dir = StudentDir::new(&run.root);
    let item_ids: Vec<String> = ingested.dataset.catalog.items().iter().map(|i| i.id.clone()).collect();
    let inputs = DistillInputs { split: &task.split, events: &ingested.dataset.sequences, tokens: &tokens, item_ids };
    let epochs = if evaluate_only {
        let previous: Option<StudentReport> =
            std::fs::read_to_string(dir.report()).ok().and_then(|t| serde_json::from_str(&t).ok());
        previous.map(|r| r.epochs).unwrap_or_default()
    } else {
        distill::distill::<B>(device, &teacher, &inputs, &settings, &dir, &|m| eprintln!("{m}"))?
    };

    let (saved, student) = dir.load::<B::InnerBackend>(device)?;
    if evaluate_only {
        settings = saved;
    }
    let text = ItemText::<B::InnerBackend>::new(&tokens, device);
    let base = distill::bare_manifest(inputs.item_ids.clone(), &settings, tokens.width());
    let sha = tokenizer.as_ref().map(|t| t.sha256().to_string());
    let base = manifest(ingested, base, sha, serde_json::Value::Null);
    let json = tokenizer.as_ref().map(|t| t.json().to_string());
    let build = |enc: Encoding, tok: Option<String>| {
        distill::ranker_of(&student, &text, Manifest { item_encoding: enc, ..base.clone() }, enc, tok)
    };
    let (ranker_f32, f32_bytes) = build(Encoding::F32, None)?;
    let (_, f16_bytes) = build(Encoding::F16, None)?;
    let (ranker_int8, int8_bytes) = build(Encoding::Int8, None)?;
    let (_, with_tok) = build(Encoding::Int8, json)?;
    let artifact_bytes = ArtifactSizes {
        f32: f32_bytes.len(),
        f16: f16_bytes.len(),
        int8: int8_bytes.len(),
        int8_with_tokenizer: with_tok.len(),
    };

    let cases = match test_users {
        Some(n) if n < task.cases().len() => &task.cases()[..n],
        _ => task.cases(),
    };
    let mut full = Report::new(ingested, &task.split, task.settings.clone());
    let teacher_report: Option<Report> =
        std::fs::read_to_string(run.report()).ok().and_then(|t| serde_json::from_str(&t).ok());
    if let Some(t) = teacher_report.as_ref().and_then(|r| r.model("teacher")) {
        full.models.push(t.clone());
    }
    for (name, ranker) in [("student", &ranker_f32), ("student (int8)", &ranker_int8)] {
        let started = Instant::now();
        let scorer = RankerCases { ranker, events: &ingested.dataset.sequences };
        let metrics: Evaluation = evaluate_with_progress(&scorer, cases, &task.negatives, name);
        eprintln!(
            "{name}: full masked NDCG@10 {:.4} HR@10 {:.4}; sampled NDCG@10 {:.4}",
            metrics.full_masked.ndcg10, metrics.full_masked.hr10, metrics.sampled100.ndcg10
        );
        full.models.push(ModelReport { name: name.into(), metrics, seconds: started.elapsed().as_secs_f64() });
    }

    let cooccurrence = CoOccurrence::fit(&task.split.train, n_items);
    let lists = student_eval::retrieve(teacher, &text, &cooccurrence, cases, device);
    let rankers: [(&str, &Ranker); 2] = [("student", &ranker_f32), ("student (int8)", &ranker_int8)];
    let rerank = student_eval::rerank_rows(cases, &lists, &rankers, &ingested.dataset.sequences);

    use burn::module::Module;
    let report =
        StudentReport { settings, epochs, student_parameters: student.num_params(), artifact_bytes, full, rerank };
    write_report(&report, &dir)?;
    Ok(report)
}

fn write_report(report: &StudentReport, dir: &StudentDir) -> anyhow::Result<()> {
    std::fs::write(dir.report(), serde_json::to_string_pretty(report)? + "\n")?;
    let mut md = report::markdown(&report.full);
    md.push_str("\n## Reranking a retriever's top-100 (test)\n\n");
    md.push_str(&student_eval::rerank_markdown(&report.rerank));
    let a = &report.artifact_bytes;
    md.push_str(&format!(
        "\n## Artifact\n\n{} student parameters. Artifact bytes: f32 {}, f16 {}, int8 {}, int8 with the tokenizer {}.\n",
        report.student_parameters, a.f32, a.f16, a.int8, a.int8_with_tokenizer
    ));
    std::fs::write(dir.root.join("metrics.md"), md)?;
    Ok(())
}

/// Writes the `limit` most popular catalog items as JSON (`[{id, title, brand, category,
/// tags}]`, most popular first): the storefront's product data.
pub fn write_catalog_json(ingested: &Ingested, path: &Path, limit: usize) -> anyhow::Result<usize> {
    let catalog = &ingested.dataset.catalog;
    let mut counts = vec![0usize; catalog.len()];
    for e in ingested.dataset.sequences.iter().flatten() {
        if let Some(c) = counts.get_mut(e.item as usize) {
            *c += 1;
        }
    }
    let mut order: Vec<usize> = (0..catalog.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let items: Vec<serde_json::Value> = order
        .iter()
        .take(limit)
        .filter_map(|&i| catalog.get(i as u32))
        .map(|it| serde_json::json!({"id": it.id, "title": it.title, "brand": it.brand, "category": it.category, "tags": it.attributes}))
        .collect();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string(&items)?).with_context(|| format!("writing {}", path.display()))?;
    Ok(items.len())
}

/// Writes the artifact of the run's student.
pub fn export<B: burn::tensor::backend::Backend>(
    device: &B::Device,
    ingested: &Ingested,
    run_root: &Path,
    out: &Path,
    encoding: Encoding,
    embed_tokenizer: bool,
) -> anyhow::Result<usize> {
    let run = RunDir { root: run_root.to_path_buf() };
    let run_settings = read_run_settings(&run)?;
    let (tokenizer, tokens) = item_tokens(ingested, &run, run_settings.vocab_size, run_settings.title_tokens)?;
    let dir = StudentDir::new(&run.root);
    let (settings, student) = dir.load::<B>(device)?;
    let n = ingested.dataset.catalog.len();
    anyhow::ensure!(
        settings.student.n_items == n,
        "the student was trained on {} items but the dataset has {n}: export with the dataset the run used",
        settings.student.n_items
    );
    let metrics = std::fs::read_to_string(dir.report())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .map(|r| serde_json::json!({"full": r["full"]["models"], "rerank": r["rerank"]}))
        .unwrap_or_default();
    let item_ids = ingested.dataset.catalog.items().iter().map(|i| i.id.clone()).collect();
    let base = distill::bare_manifest(item_ids, &settings, tokens.width());
    let sha = tokenizer.as_ref().map(|t| t.sha256().to_string());
    let m = Manifest { item_encoding: encoding, ..manifest(ingested, base, sha, metrics) };
    let text = ItemText::<B>::new(&tokens, device);
    let json = if embed_tokenizer { tokenizer.as_ref().map(|t| t.json().to_string()) } else { None };
    let (_, bytes) = distill::ranker_of(&student, &text, m, encoding, json)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(bytes.len())
}
