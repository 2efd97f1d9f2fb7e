//! What diversity costs and buys on the test cases: each shopper's top 100 by the student
//! (history masked), its first 10 places reordered by the runtime's own
//! [`diversify`](pocketrank_runtime::diversity::diversify) at several λ and with a cap of 2
//! per brand, then judged on the held-out item (NDCG@10, HR@10) and on the variety of
//! those 10 places (distinct brands, mean pairwise cosine of the student's item vectors).

use std::fmt::Write as _;

use pocketrank_model::metrics::ndcg;
use pocketrank_model::{EvalCase, Interaction};
use pocketrank_runtime::diversity::diversify;
use pocketrank_runtime::{Diversity, Ranker, Scored};
use serde::{Deserialize, Serialize};

use super::ranker::{RankerCases, item_row, top_scored};
use crate::progress::progress_bar;

/// The λ values reported.
pub const LAMBDAS: [f32; 5] = [0.0, 0.1, 0.2, 0.3, 0.5];
/// Candidates per shopper: the student's top, as a shop's list would be.
const POOL: usize = 100;
/// Places judged (and diversified).
const TOP: usize = 10;
/// The brand cap reported.
const PER_BRAND: usize = 2;

/// One setting's results, averaged over the cases.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DiversityRow {
    pub setting: String,
    pub ndcg10: f64,
    pub hr10: f64,
    /// Distinct brands among the top 10's items that have one.
    pub brands10: f64,
    /// Mean cosine between the student's vectors of two top-10 items.
    pub cosine10: f64,
    pub cases: usize,
}

struct Setting {
    name: String,
    diversity: Diversity,
}

/// The table for `cases`, scored by `ranker` from each shopper's `events`; `brands` names
/// each catalog item's brand (by dense index).
pub fn diversity_rows(
    cases: &[EvalCase],
    ranker: &Ranker,
    events: &[Vec<Interaction>],
    brands: &[Option<String>],
) -> Vec<DiversityRow> {
    let mut ids = std::collections::HashMap::new();
    let groups: Vec<u32> = brands
        .iter()
        .map(|b| {
            b.as_ref().map_or(0, |b| {
                let next = ids.len() as u32 + 1;
                *ids.entry(b.as_str()).or_insert(next)
            })
        })
        .collect();
    let mut settings: Vec<Setting> = LAMBDAS
        .iter()
        .map(|&lambda| Setting { name: format!("λ {lambda}"), diversity: Diversity { lambda, ..Default::default() } })
        .collect();
    settings.push(Setting {
        name: format!("at most {PER_BRAND} per brand (λ 0)"),
        diversity: Diversity { lambda: 0.0, max_per_group: Some(PER_BRAND), groups },
    });
    let bar = progress_bar(cases.len() as u64, "diversity");
    let half = cases.len().div_ceil(2);
    let judge = |cases: &[EvalCase]| -> Vec<DiversityRow> {
        let mut sums = vec![DiversityRow::default(); settings.len()];
        let mut scores = vec![0f32; ranker.manifest().dims.n_items];
        for case in cases {
            let profile = RankerCases { ranker, events }.profile(case);
            if ranker.score_catalog(&profile, &mut scores).is_ok() {
                let list = top_scored(&mut scores, case.history.iter().copied(), POOL);
                for (setting, sum) in settings.iter().zip(&mut sums) {
                    let mut ranked = list.clone();
                    diversify(&mut ranked, TOP, &setting.diversity, |i| item_row(ranker, i).to_vec());
                    add(sum, &ranked[..TOP.min(ranked.len())], case.target, ranker, brands);
                }
            }
            bar.inc(1);
        }
        sums
    };
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| judge(&cases[..half]));
        let mine = judge(&cases[half..]);
        (other.join().unwrap_or_default(), mine)
    });
    bar.finish_and_clear();
    settings
        .iter()
        .enumerate()
        .map(|(k, setting)| {
            let (x, y) = (a.get(k).cloned().unwrap_or_default(), b.get(k).cloned().unwrap_or_default());
            let n = (x.cases + y.cases).max(1) as f64;
            DiversityRow {
                setting: setting.name.clone(),
                ndcg10: (x.ndcg10 + y.ndcg10) / n,
                hr10: (x.hr10 + y.hr10) / n,
                brands10: (x.brands10 + y.brands10) / n,
                cosine10: (x.cosine10 + y.cosine10) / n,
                cases: x.cases + y.cases,
            }
        })
        .collect()
}

/// Adds one case's top places to the sums.
fn add(sum: &mut DiversityRow, top: &[Scored], target: u32, ranker: &Ranker, brands: &[Option<String>]) {
    sum.cases += 1;
    if let Some(rank) = top.iter().position(|s| s.index == target as usize) {
        sum.ndcg10 += ndcg(rank, TOP);
        sum.hr10 += 1.0;
    }
    let mut named: Vec<&str> = top.iter().filter_map(|s| brands.get(s.index).and_then(|b| b.as_deref())).collect();
    named.sort_unstable();
    named.dedup();
    sum.brands10 += named.len() as f64;
    let unit: Vec<Vec<f32>> = top
        .iter()
        .map(|s| {
            let v = item_row(ranker, s.index);
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
            v.iter().map(|x| x / norm).collect()
        })
        .collect();
    let (mut total, mut pairs) = (0f64, 0usize);
    for i in 0..unit.len() {
        for j in i + 1..unit.len() {
            total += unit[i].iter().zip(&unit[j]).map(|(a, b)| a * b).sum::<f32>() as f64;
            pairs += 1;
        }
    }
    if pairs > 0 {
        sum.cosine10 += total / pairs as f64;
    }
}

/// The table as Markdown.
pub fn diversity_markdown(rows: &[DiversityRow]) -> String {
    let mut out = String::from(
        "| first 10 of the student's top 100 | NDCG@10 | HR@10 | distinct brands in the top 10 | mean pairwise cosine |\n|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:.4} | {:.2} | {:.3} |",
            r.setting, r.ndcg10, r.hr10, r.brands10, r.cosine10
        );
    }
    out
}
