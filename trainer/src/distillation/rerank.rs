//! Judging the student on the task it does (DESIGN.md §5): reranking a retriever's top-100
//! — the teacher's and a cheap co-occurrence retriever's, with the ground truth as
//! retrieved and inserted — and full ranking, next to the teacher, quantised and not.

use std::fmt::Write as _;

use burn::tensor::backend::Backend;
use pocketrank_model::baselines::CoOccurrence;
use pocketrank_model::metrics::{MetricAccumulator, RankOutcome};
use pocketrank_model::teacher::{ItemText, Teacher, TeacherScorer};
use pocketrank_model::{EvalCase, ItemIdx, MetricSet, Scorer};
use pocketrank_runtime::Ranker;
use serde::{Deserialize, Serialize};

use super::ranker::RankerCases;
use crate::progress::progress_bar;

/// Candidates per reranked list.
pub const LIST_LEN: usize = 100;

/// One rerank result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RerankRow {
    /// Which retriever's top-100 was reranked.
    pub list: String,
    /// "as retrieved" (a miss when the retriever missed) or "inserted" (the ground truth
    /// replaces the 100th item when absent; see [`candidate_list`]).
    pub ground_truth: String,
    pub model: String,
    pub metrics: MetricSet,
}

/// A retriever's top lists for every case, with the teacher's scores for them.
pub struct Lists {
    /// Per case, up to [`LIST_LEN`] distinct items, best first by the retriever (fewer
    /// only when the catalog minus the case's history is smaller).
    pub items: Vec<Vec<ItemIdx>>,
    /// Per case, the teacher's scores of those items.
    pub teacher: Vec<Vec<f32>>,
}

/// The teacher's and co-occurrence's masked top lists, and the teacher's score of each
/// case's target.
pub struct RetrievedLists {
    pub teacher: Lists,
    pub cooccurrence: Lists,
    pub teacher_target: Vec<f32>,
}

/// Top `LIST_LEN` of a score row, the case's history excluded (a retriever does not
/// re-suggest what the shopper already bought); ties by item index.
pub fn top_list(row: &[f32], case: &EvalCase, scratch: &mut Vec<ItemIdx>) -> Vec<ItemIdx> {
    let mut seen: Vec<ItemIdx> = case.history.clone();
    seen.sort_unstable();
    scratch.clear();
    scratch.extend((0..row.len() as ItemIdx).filter(|i| seen.binary_search(i).is_err()));
    let k = LIST_LEN.min(scratch.len());
    let by_score = |a: &ItemIdx, b: &ItemIdx| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
    if k > 0 && k < scratch.len() {
        scratch.select_nth_unstable_by(k - 1, by_score);
    }
    let mut top = scratch[..k].to_vec();
    top.sort_by(by_score);
    top
}

/// Scores every case with the teacher once and keeps both retrievers' lists.
pub fn retrieve<B: Backend>(
    teacher: Teacher<B>,
    text: &ItemText<B>,
    cooccurrence: &CoOccurrence,
    cases: &[EvalCase],
    device: &B::Device,
) -> RetrievedLists {
    let scorer = TeacherScorer::new(teacher, text, device);
    let n = scorer.n_items();
    let batch = 256;
    let (mut t_rows, mut c_rows) = (vec![0f32; batch * n], vec![0f32; batch * n]);
    let mut out = RetrievedLists {
        teacher: Lists { items: Vec::new(), teacher: Vec::new() },
        cooccurrence: Lists { items: Vec::new(), teacher: Vec::new() },
        teacher_target: Vec::new(),
    };
    let mut scratch = Vec::new();
    let bar = progress_bar(cases.len() as u64, "retrieving");
    for chunk in cases.chunks(batch) {
        let histories: Vec<&[ItemIdx]> = chunk.iter().map(|c| c.history.as_slice()).collect();
        scorer.score_batch(&histories, &mut t_rows[..chunk.len() * n]);
        cooccurrence.score_batch(&histories, &mut c_rows[..chunk.len() * n]);
        for (j, case) in chunk.iter().enumerate() {
            let t = &t_rows[j * n..(j + 1) * n];
            let c = &c_rows[j * n..(j + 1) * n];
            for (lists, row) in [(&mut out.teacher, t), (&mut out.cooccurrence, c)] {
                let top = top_list(row, case, &mut scratch);
                lists.teacher.push(top.iter().map(|&i| t[i as usize]).collect());
                lists.items.push(top);
            }
            out.teacher_target.push(t[case.target as usize]);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    out
}

/// The list a model reranks: as retrieved, or with the ground truth inserted when absent
/// (in place of the last item of a full list, appended to a shorter one) so it is there
/// exactly once. Returns the items and the teacher's scores of them.
pub fn candidate_list(
    items: &[ItemIdx],
    teacher: &[f32],
    target: ItemIdx,
    teacher_target: f32,
    inserted: bool,
) -> (Vec<ItemIdx>, Vec<f32>) {
    let (mut items, mut teacher) = (items.to_vec(), teacher.to_vec());
    if inserted && !items.contains(&target) {
        if items.len() >= LIST_LEN {
            items.truncate(LIST_LEN - 1);
            teacher.truncate(LIST_LEN - 1);
        }
        items.push(target);
        teacher.push(teacher_target);
    }
    (items, teacher)
}

/// Where the target lands in one list scored by one model (a miss when it is not in the list).
pub fn outcome(list: &[ItemIdx], scores: &[f32], target: ItemIdx) -> RankOutcome {
    match list.iter().position(|&i| i == target) {
        Some(p) => {
            RankOutcome::from_scores(scores[p], scores.iter().enumerate().filter(|(q, _)| *q != p).map(|(_, s)| *s))
        }
        None => RankOutcome { greater: list.len(), equal: 0, negatives: list.len() },
    }
}

/// Reranks both retrievers' lists with the teacher and each runtime; `rankers` are
/// `(name, ranker)` pairs (e.g. the f32 and the int8 student).
pub fn rerank_rows(
    cases: &[EvalCase],
    lists: &RetrievedLists,
    rankers: &[(&str, &Ranker)],
    events: &[Vec<pocketrank_model::Interaction>],
) -> Vec<RerankRow> {
    let names = [("teacher top-100", &lists.teacher), ("co-occurrence top-100", &lists.cooccurrence)];
    let gts = [("as retrieved", false), ("inserted", true)];
    // acc[list][gt][model]: model 0 = teacher, then per ranker with and without positions.
    let n_models = 1 + 2 * rankers.len();
    let mut acc = vec![vec![vec![MetricAccumulator::default(); n_models]; 2]; 2];
    let bar = progress_bar(cases.len() as u64, "reranking");
    let mut scores = Vec::with_capacity(LIST_LEN);
    for (c, case) in cases.iter().enumerate() {
        let profiles: Vec<_> = rankers.iter().map(|(_, r)| RankerCases { ranker: r, events }.profile(case)).collect();
        for (l, (_, list)) in names.iter().enumerate() {
            for (g, &(_, inserted)) in gts.iter().enumerate() {
                let (items, teacher) =
                    candidate_list(&list.items[c], &list.teacher[c], case.target, lists.teacher_target[c], inserted);
                acc[l][g][0].add(outcome(&items, &teacher, case.target));
                for (r, ((_, ranker), profile)) in rankers.iter().zip(&profiles).enumerate() {
                    for (p, positions) in [true, false].into_iter().enumerate() {
                        scores.clear();
                        scores.resize(items.len(), 0.0);
                        if ranker.score_indices(profile, &items, positions, &mut scores).is_err() {
                            scores.fill(f32::NAN);
                        }
                        acc[l][g][1 + 2 * r + p].add(outcome(&items, &scores, case.target));
                    }
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut rows = Vec::new();
    for (l, (list, _)) in names.iter().enumerate() {
        for (g, (gt, _)) in gts.iter().enumerate() {
            let mut model_names = vec!["teacher".to_string()];
            for (name, _) in rankers {
                model_names.push(format!("{name}, with list positions"));
                model_names.push(format!("{name}, ids only"));
            }
            for (m, name) in model_names.into_iter().enumerate() {
                rows.push(RerankRow {
                    list: list.to_string(),
                    ground_truth: gt.to_string(),
                    model: name,
                    metrics: acc[l][g][m].finish(),
                });
            }
        }
    }
    rows
}

/// The rerank table as Markdown.
pub fn rerank_markdown(rows: &[RerankRow]) -> String {
    let mut out = String::from(
        "| list | ground truth | model | HR@1 | HR@10 | NDCG@5 | NDCG@10 | MRR |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let m = &r.metrics;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            r.list, r.ground_truth, r.model, m.hr1, m.hr10, m.ndcg5, m.ndcg10, m.mrr
        );
    }
    out
}
