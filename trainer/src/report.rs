//! Writing reports: pretty JSON plus a Markdown table beside it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pocketrank_model::MetricSet;

use crate::evaluation::Report;

/// The Markdown file written next to a JSON report (`x.json` → `x.md`).
pub fn markdown_path(json: &Path) -> PathBuf {
    json.with_extension("md")
}

/// Writes `report` as JSON at `path` and as Markdown next to it.
pub fn write(report: &Report, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    let md = markdown_path(path);
    std::fs::write(&md, markdown(report)).with_context(|| format!("writing {}", md.display()))?;
    Ok(())
}

fn row(out: &mut String, model: &str, m: &MetricSet) {
    let _ = writeln!(
        out,
        "| {model} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        m.hr1, m.hr5, m.hr10, m.hr20, m.ndcg5, m.ndcg10, m.ndcg20, m.mrr, m.auc
    );
}

/// The report as Markdown: dataset counts, then one table per protocol.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Evaluation: {}\n", report.dataset);
    let _ = writeln!(
        out,
        "{} users ({} evaluated), {} items ({} with events), {} interactions{}.\n",
        report.users,
        report.evaluated_users,
        report.items,
        report.items_with_events,
        report.interactions,
        report.baskets.map(|b| format!(", {b} baskets")).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Leave-one-out, target: {:?}; sampled protocol: {} negatives the user never touched, seed {}. Ties rank at their midpoint.\n",
        report.settings.target, report.settings.sampled_negatives, report.settings.seed
    );
    let titles =
        ["Full ranking, user's earlier items masked", "Full ranking, unmasked", "Sampled: target vs negatives"];
    for (p, title) in titles.iter().enumerate() {
        let _ = writeln!(out, "## {title}\n");
        let _ = writeln!(out, "| model | HR@1 | HR@5 | HR@10 | HR@20 | NDCG@5 | NDCG@10 | NDCG@20 | MRR | AUC |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
        for m in &report.models {
            row(&mut out, &m.name, m.metrics.by_protocol()[p].1);
        }
        out.push('\n');
    }
    out
}
