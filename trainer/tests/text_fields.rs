//! A teacher that pools brand and category text apart from titles (`--attribute-tokens`),
//! trained and distilled through the commands' own code: the student reads the device's
//! one-field table of the same total width. On the real catalogs without titles the two
//! layouts are the same table.

mod common;

use burn::backend::{Autodiff, Flex};
use pocketrank_model::{Catalog, Dataset, EventKind, Interaction, Item};
use pocketrank_runtime::Ranker;
use pocketrank_runtime::artifact::Encoding;
use pocketrank_trainer::commands::distill::distill_run;
use pocketrank_trainer::commands::export::export;
use pocketrank_trainer::commands::train::train_run;
use pocketrank_trainer::data::{self, Ingested, LoadOptions};
use pocketrank_trainer::distillation::DistillSettings;
use pocketrank_trainer::distillation::ranker::ItemTable;
use pocketrank_trainer::run_dir::RunDir;
use pocketrank_trainer::teacher::{Negatives, TrainSettings};

type B = Autodiff<Flex>;

/// 40 items with titles, brands and categories; 60 shoppers who walk the catalog in strides.
fn shop() -> Ingested {
    let brands = ["Acme", "Bloom", "Coral"];
    let kinds = ["Nail Polish", "Lipstick", "Face Cream", "Shampoo"];
    let items = (0..40)
        .map(|i| Item {
            id: format!("sku-{i}"),
            title: format!("{} shade {} long lasting gloss finish", kinds[i % 4], i),
            brand: Some(brands[i % 3].into()),
            category: Some(kinds[i % 4].into()),
            attributes: vec!["Beauty".into()],
        })
        .collect();
    let catalog = Catalog::new(items).unwrap();
    let sequences: Vec<Vec<Interaction>> = (0..60u32)
        .map(|u| {
            let (start, stride) = (u * 7 % 40, [1u32, 3, 7][u as usize % 3]);
            (0..8u32)
                .map(|k| Interaction {
                    item: (start + k * stride) % 40,
                    ts: 1_700_000_000 + 60 * i64::from(k),
                    kind: EventKind::View,
                })
                .collect()
        })
        .collect();
    let users = (0..60).map(|u| format!("u{u}")).collect();
    let dataset = Dataset { name: "small-shop".into(), catalog, users, sequences };
    Ingested { dataset, rows: 480, skipped_rows: 0, duplicate_events: 0, baskets: None }
}

#[test]
fn a_two_field_teacher_trains_and_distils_into_a_one_field_student() {
    let ingested = shop();
    let run = tempfile::tempdir().unwrap();
    let device = Default::default();
    let train = TrainSettings {
        d_model: 16,
        n_layers: 1,
        n_heads: 1,
        max_len: 8,
        max_epochs: 1,
        batch_size: 32,
        vocab_size: 120,
        title_tokens: 4,
        attribute_tokens: 3,
        negatives: Negatives::Full,
        valid_users: 0,
        replicas: 1,
        ..TrainSettings::default()
    };
    let report = train_run::<B>(&device, &ingested, &train, "Flex", run.path(), false).unwrap();
    let teacher = report.model("teacher").unwrap();
    assert!(teacher.metrics.full_masked.ndcg10.is_finite());
    // Resumed with one text field, the run is refused before anything in it is rewritten.
    let config = std::fs::read(run.path().join("config.json")).unwrap();
    let one_field = TrainSettings { title_tokens: 7, attribute_tokens: 0, max_epochs: 2, ..train.clone() };
    let err = train_run::<B>(&device, &ingested, &one_field, "Flex", run.path(), true).unwrap_err().to_string();
    assert!(err.contains("was trained with --title-tokens 4 --attribute-tokens 3;"), "{err}");
    assert_eq!(std::fs::read(run.path().join("config.json")).unwrap(), config);

    let distill = DistillSettings {
        d: 16,
        hidden: 8,
        hard_negatives: Some(5),
        random_negatives: Some(6),
        max_epochs: 1,
        batch_size: 16,
        valid_users: 0,
        replicas: 1,
        code_epochs: 0,
        ..DistillSettings::default()
    };
    let student = distill_run::<B>(&device, &ingested, run.path(), &distill, false, None, &[16]).unwrap();
    let int8 = student.full.model("student (int8)").unwrap();
    assert!(int8.metrics.full_masked.ndcg10.is_finite() && int8.metrics.full_masked.ndcg10 > 0.0);
    // The distill report's teacher is the trained one, read in its own two-field layout (the
    // mean over test cases is summed in parallel, so the last bits may differ).
    let reread = student.full.model("teacher").unwrap().metrics.full_masked.ndcg10;
    assert!(
        (reread - teacher.metrics.full_masked.ndcg10).abs() < 1e-9,
        "{reread} vs {}",
        teacher.metrics.full_masked.ndcg10
    );

    // The artifact reads each item's whole text as one field of 4 + 3 tokens.
    let out = run.path().join("model.prk");
    export::<Flex>(&device, &ingested, run.path(), &out, ItemTable::Dense(Encoding::Int8), 16, false).unwrap();
    let ranker = Ranker::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!((ranker.manifest().dims.title_tokens, ranker.manifest().dims.n_items), (7, 40));
}

/// Toys and Sports have no titles (their text is attribute ids): with the default two
/// fields every row is read as one field of the whole width, so the teacher pools exactly
/// what the one-field table of the same width gives it. On Beauty the layouts differ.
#[test]
fn on_the_real_catalogs_without_titles_the_default_two_fields_are_one() {
    let settings = TrainSettings::default();
    assert!(settings.attribute_tokens > 0, "the teacher reads two fields by default");
    let one = TrainSettings {
        title_tokens: settings.title_tokens + settings.attribute_tokens,
        attribute_tokens: 0,
        ..settings.clone()
    };
    let opts = LoadOptions { skip_bad_rows: false, allow_download: false, ..LoadOptions::default() };
    let device = Default::default();
    for (name, same) in [("amazon-toys-s3rec", true), ("amazon-sports-s3rec", true), ("amazon-beauty-s3rec", false)] {
        let ingested = data::load(name, &common::data_dir(), &opts, &|_| {}).unwrap();
        let catalog = &ingested.dataset.catalog;
        let untitled = catalog.items().iter().filter(|i| i.title.is_empty()).count();
        assert_eq!(untitled == catalog.len(), same, "{name}: {untitled} of {} items without a title", catalog.len());
        let run = tempfile::tempdir().unwrap();
        let (_, two, _) = RunDir::new(run.path()).teacher_and_device_item_tokens(&ingested, &settings).unwrap();
        let (_, single) = RunDir::new(run.path()).item_tokens(&ingested, &one).unwrap();
        assert_eq!(two.title_field(), Some(settings.title_tokens), "{name}");
        let tensors = |t: &pocketrank_model::text::ItemTokens| {
            let (ids, weights) = t.to_tensors::<Flex>(&device);
            (ids.into_data(), weights.into_data())
        };
        assert_eq!(tensors(&two) == tensors(&single), same, "{name}");
    }
}
