//! The evaluation protocol on real data: no leakage, and baselines that agree with
//! independently computed reference numbers.

mod common;

use pocketrank_trainer::data::{self, LoadOptions};
use pocketrank_trainer::evaluation::{self, Baseline, EvalSettings};

fn beauty() -> data::Ingested {
    data::load("amazon-beauty-s3rec", &common::data_dir(), &LoadOptions::default(), &|_| {}).unwrap()
}

#[test]
fn split_never_leaks_held_out_events_into_training() {
    let ing = beauty();
    let seqs = ing.dataset.item_sequences();
    let split = pocketrank_model::LeaveOneOut::new(seqs.clone());
    assert_eq!(split.test.len(), 22_363);
    for (case, valid) in split.test.iter().zip(&split.valid) {
        let full = &seqs[case.user as usize];
        let train = &split.train[case.user as usize];
        assert_eq!(train.as_slice(), &full[..full.len() - 2]);
        assert_eq!(case.target, *full.last().unwrap());
        assert_eq!(valid.target, full[full.len() - 2]);
        // Beauty has no repeated items, so held-out items must be absent from training.
        assert!(!train.contains(&case.target) && !train.contains(&valid.target));
        assert!(!case.history.contains(&case.target));
    }
    let train_events: usize = split.train.iter().map(Vec::len).sum();
    assert_eq!(train_events, 198_502 - 2 * 22_363);
}

#[test]
fn beauty_baselines_match_reference_numbers() {
    let ing = beauty();
    let report =
        evaluation::run_baselines(&ing, EvalSettings::default(), &[Baseline::Popularity, Baseline::Cooccurrence]);
    assert_eq!(report.users, 22_363);
    let pop = &report.model("popularity").unwrap().metrics;
    // Most-popular from exact training counts, full ranking, leave-one-out (computed
    // independently): HR@10 .0120 / NDCG@10 .0055 unmasked, .0120 / .0056 masked.
    let near = |a: f64, b: f64| (a - b).abs() < 6e-4;
    assert!(near(pop.full_unmasked.hr10, 0.0120) && near(pop.full_unmasked.ndcg10, 0.0055), "{:?}", pop.full_unmasked);
    assert!(near(pop.full_masked.hr10, 0.0120) && near(pop.full_masked.ndcg10, 0.0056), "{:?}", pop.full_masked);
    // 100 random negatives are far easier than the full catalog.
    assert!(pop.sampled100.hr10 > 10.0 * pop.full_unmasked.hr10);
    let co = &report.model("cooccurrence").unwrap().metrics;
    assert!(co.full_masked.ndcg10 > 4.0 * pop.full_masked.ndcg10, "{:?}", co.full_masked);
    assert!(co.sampled100.ndcg10 > pop.sampled100.ndcg10);

    let json = serde_json::to_value(&report).unwrap();
    for key in ["dataset", "users", "items", "interactions"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    let m = &json["models"][0]["metrics"];
    for proto in ["full_masked", "full_unmasked"] {
        for k in ["hr@10", "ndcg@10", "mrr"] {
            assert!(m[proto][k].is_f64(), "{proto}.{k}");
        }
    }
    assert!(m["sampled100"]["ndcg@10"].is_f64());
}
