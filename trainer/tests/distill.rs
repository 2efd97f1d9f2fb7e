//! Distillation on small synthetic data: the teacher's candidate lists, the student's
//! loss, a whole (short) distillation run with a teacher whose window is shorter than the
//! default, and the rerank-evaluation lists.

use std::cell::RefCell;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::ElementConversion;
use pocketrank_model::baselines::CoOccurrence;
use pocketrank_model::student::Student;
use pocketrank_model::teacher::{ItemText, Teacher, TeacherConfig, TeacherScorer};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{EvalCase, EventKind, Interaction, ItemIdx, LeaveOneOut, Scorer};
use pocketrank_runtime::artifact::Encoding;
use pocketrank_trainer::distillation::batch::{LossWeights, StudentBatch, distill_loss};
use pocketrank_trainer::distillation::code_tuning::{TuneSettings, TunedCodes, student_codes, tune_codes};
use pocketrank_trainer::distillation::lists::{ListNegatives, teacher_lists};
use pocketrank_trainer::distillation::ranker::{ItemTable, bare_manifest, quantize_items, ranker_of};
use pocketrank_trainer::distillation::rerank::{self, LIST_LEN, candidate_list};
use pocketrank_trainer::distillation::windows::{Window, training_windows};
use pocketrank_trainer::distillation::{self, DistillInputs, DistillSettings, Prepared, StudentDir, StudentSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;

type B = Autodiff<Flex>;
type Inner = Flex;

/// Shoppers who walk the catalog in strides (no repeats within a sequence), with events
/// one minute apart.
struct Synthetic {
    n_items: usize,
    split: LeaveOneOut,
    events: Vec<Vec<Interaction>>,
    tokens: ItemTokens,
}

fn synthetic(n_items: usize, users: usize) -> Synthetic {
    let strides = [1u32, 3, 7, 9, 11, 13];
    let mut events = Vec::new();
    for u in 0..users as u32 {
        let len = 6 + (u as usize * 5) % 9; // 6..=14 events
        let (start, stride) = (u * 17 % n_items as u32, strides[u as usize % strides.len()]);
        let kinds = [EventKind::View, EventKind::Cart, EventKind::Purchase];
        events.push(
            (0..len as u32)
                .map(|k| Interaction {
                    item: (start + k * stride) % n_items as u32,
                    ts: 1_700_000_000 + 60 * i64::from(k),
                    kind: kinds[k as usize % 3],
                })
                .collect::<Vec<_>>(),
        );
    }
    let split = LeaveOneOut::new(events.iter().map(|e| e.iter().map(|i| i.item).collect()).collect());
    // Two title tokens per item (ids 1..=8): items share words in small groups.
    let per_item: Vec<Vec<u32>> = (0..n_items as u32).map(|i| vec![1 + i % 5, 6 + i % 3]).collect();
    Synthetic { n_items, split, events, tokens: ItemTokens::new(&per_item, 2) }
}

/// An untrained teacher. Its weights are materialised (through a record) so that clones
/// share them: Burn initialises parameters lazily, and clones of a fresh module would
/// each draw their own.
fn teacher(s: &Synthetic, max_len: usize) -> Teacher<Inner> {
    let vocab = s.tokens.max_token() as usize + 1;
    let config =
        TeacherConfig::new(s.n_items, vocab).with_d_model(16).with_n_layers(1).with_max_len(max_len).with_dropout(0.0);
    let device = Default::default();
    let record = config.init::<Inner>(&device).into_record();
    config.init::<Inner>(&device).load_record(record)
}

fn settings() -> DistillSettings {
    DistillSettings {
        d: 16,
        hidden: 8,
        hard_negatives: Some(5),
        random_negatives: Some(6),
        max_epochs: 2,
        batch_size: 16,
        valid_users: 0,
        seed: 5,
        ..DistillSettings::default()
    }
}

fn negatives(hard: usize, random: usize, held_out: Option<&[bool]>) -> ListNegatives<'_> {
    ListNegatives { hard, random, seed: 1, held_out }
}

/// The default student's spec for `t`'s window and the synthetic catalog's inputs.
fn spec_and_inputs<'s>(s: &'s Synthetic, t: &Teacher<Inner>) -> (StudentSpec, DistillInputs<'s>) {
    let settings = settings();
    let vocab = s.tokens.max_token() as usize + 1;
    let spec = StudentSpec { student: settings.student(s.n_items, vocab), settings, window: t.max_len() };
    let item_ids: Vec<String> = (0..s.n_items).map(|i| format!("item-{i}")).collect();
    (
        spec,
        DistillInputs {
            split: &s.split,
            events: &s.events,
            tokens: &s.tokens,
            teacher_tokens: &s.tokens,
            item_ids,
            held_out: None,
        },
    )
}

#[test]
fn held_out_items_are_never_inputs_targets_or_negatives() {
    let s = synthetic(40, 30);
    let device = Default::default();
    let t = teacher(&s, 4);
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let cold: Vec<bool> = (0..s.n_items).map(|i| i % 3 == 0).collect();
    let windows = training_windows(&s.split, &s.events, t.max_len(), Some(&cold));
    assert!(!windows.is_empty());
    for w in &windows {
        assert!(w.items.iter().all(|&i| !cold[i as usize]), "a held-out item in {:?}", w.items);
        assert_eq!(w.features.len(), w.items.len());
        assert!(w.items.len() >= 2 && w.items.len() <= t.max_len() + 1);
    }
    // The windows are the kept events in order: each is a subsequence of a training sequence.
    let kept: Vec<Vec<ItemIdx>> =
        s.split.train.iter().map(|t| t.iter().copied().filter(|&i| !cold[i as usize]).collect()).collect();
    for w in &windows {
        assert!(kept.iter().any(|k| k.ends_with(&w.items)), "window {:?} is not a tail of a kept sequence", w.items);
    }
    let lists = teacher_lists(&t, &text, &windows, &negatives(5, 20, Some(&cold)), &device).unwrap();
    assert!(lists.items.iter().all(|&i| !cold[i as usize]), "a held-out item in the lists");
}

#[test]
fn windows_are_cut_to_the_teachers_window() {
    let s = synthetic(40, 30);
    let windows = training_windows(&s.split, &s.events, 4, None);
    assert_eq!(windows.len(), s.split.train.iter().filter(|t| t.len() >= 2).count());
    for (w, train) in windows.iter().zip(s.split.train.iter().filter(|t| t.len() >= 2)) {
        assert!(w.items.len() <= 5, "window of {} events", w.items.len());
        assert_eq!(&w.items[..], &train[train.len() - w.items.len()..]);
        assert_eq!(w.features.len(), w.items.len());
    }
    // Longer sequences than the window exist, so the cut is exercised.
    assert!(s.split.train.iter().any(|t| t.len() > 5));

    // A window longer than the teacher reads is refused with an error, not read past the
    // teacher's position table.
    let t = teacher(&s, 4);
    let text = ItemText::<Inner>::new(&s.tokens, &Default::default());
    let too_long = training_windows(&s.split, &s.events, 10, None);
    let err = teacher_lists(&t, &text, &too_long, &negatives(5, 6, None), &Default::default()).err().expect("an error");
    assert!(err.to_string().contains("exceeds the teacher's window of 4"), "{err}");
}

#[test]
fn teacher_lists_hold_the_target_first_and_its_hardest_negatives_never_the_target() {
    let s = synthetic(40, 30);
    let device = Default::default();
    let t = teacher(&s, 4);
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let windows = training_windows(&s.split, &s.events, t.max_len(), None);
    let (hard, random) = (5, 6);
    let lists = teacher_lists(&t, &text, &windows, &negatives(hard, random, None), &device).unwrap();
    assert_eq!(lists.k, 1 + hard + random);
    assert_eq!(lists.rows(), windows.iter().map(|w| w.items.len() - 1).sum::<usize>());
    assert_eq!(lists.d_teacher, 16);
    assert_eq!(lists.hidden.len(), lists.rows() * 16);

    let scorer = TeacherScorer::new(t.clone(), &text, &device);
    let mut full = vec![0f32; s.n_items];
    for (w, window) in windows.iter().enumerate() {
        for pos in 0..window.items.len() - 1 {
            let r = lists.first[w] + pos;
            let (items, scores) = (lists.items_of(r), lists.scores_of(r));
            let target = window.items[pos + 1];
            assert_eq!(items[0], target);
            assert!(!items[1..].contains(&target), "row {r}: a negative is the target: {items:?}");
            let hard_items = &items[1..=hard];
            let mut distinct = hard_items.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), hard, "hard negatives repeat: {hard_items:?}");
            // The scores are the teacher's for this prefix, and the hard negatives are its
            // top-scored non-targets.
            scorer.score_batch(&[&window.items[..=pos]], &mut full);
            for (&i, &sc) in items.iter().zip(scores) {
                assert!((full[i as usize] - sc).abs() < 1e-4, "row {r} item {i}: {sc} vs {}", full[i as usize]);
            }
            let weakest_hard = hard_items.iter().map(|&i| full[i as usize]).fold(f32::INFINITY, f32::min);
            for i in (0..s.n_items as ItemIdx).filter(|i| *i != target && !hard_items.contains(i)) {
                assert!(full[i as usize] <= weakest_hard + 1e-6, "item {i} outscores a hard negative");
            }
        }
    }
}

#[test]
fn distillation_loss_is_finite_and_falls() {
    let s = synthetic(40, 30);
    let device = Default::default();
    let t = teacher(&s, 4);
    let inner_text = ItemText::<Inner>::new(&s.tokens, &device);
    let windows = training_windows(&s.split, &s.events, t.max_len(), None);
    let lists = teacher_lists(&t, &inner_text, &windows, &negatives(5, 6, None), &device).unwrap();
    let popularity = vec![0.0; s.n_items];
    let ws: Vec<&Window> = windows.iter().collect();
    let set = settings();
    let weights = LossWeights { temperature: set.temperature, ce: set.ce_weight, hint: set.hint_weight };
    let text = ItemText::<B>::new(&s.tokens, &device);
    let mut model: Student<B> = set.student(s.n_items, s.tokens.max_token() as usize + 1).init(&device);
    let mut optim = AdamWConfig::new().init::<B, Student<B>>();
    let mut losses = Vec::new();
    for _ in 0..25 {
        let mut rng = StdRng::seed_from_u64(3);
        let batch = StudentBatch::<B>::new(&ws, &lists.first, &lists, &popularity, 0.5, &mut rng, &device);
        assert_eq!(batch.shape[2], lists.rows());
        let loss = distill_loss(&model, &text, batch, weights);
        let value: f64 = loss.clone().into_scalar().elem();
        assert!(value.is_finite() && value > 0.0, "loss {value}");
        losses.push(value);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    assert!(losses[24] < losses[0] * 0.8, "the loss should fall: {losses:?}");
}

#[test]
fn distilling_from_a_short_window_teacher_validates_on_every_user_with_valid_users_0() {
    let s = synthetic(40, 30);
    let device = Default::default();
    let t = teacher(&s, 4);
    let (spec, inputs) = spec_and_inputs(&s, &t);
    let run = tempfile::tempdir().unwrap();
    let dir = StudentDir::new(run.path());
    let lines = RefCell::new(Vec::new());
    let log = |m: &str| lines.borrow_mut().push(m.to_string());
    let data = Prepared::<B>::new(&device, &t, &inputs, &spec, &log).unwrap();
    let history = distillation::distill::<B>(&device, &t, &data, &spec, &dir, &log).unwrap();
    assert_eq!(history.epochs.len(), 2);
    assert!(history.epochs.iter().all(|e| e.loss.is_finite() && e.valid.ndcg10.is_finite()));
    assert!(history.best_epoch.is_some());
    let expected = format!("{} validation users", s.split.valid.len());
    assert!(lines.borrow().iter().any(|l| l.contains(&expected)), "{:?}", lines.borrow());

    let (saved, student) = dir.load::<Inner>(&device).unwrap();
    assert_eq!(saved.window, 4);
    assert_eq!(saved.student.n_items, s.n_items);
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let manifest = bare_manifest(inputs.item_ids.clone(), &saved, s.tokens.width());
    assert_eq!(manifest.training.value()["window"], 4);
    let (ranker, _) = ranker_of(&student, &text, manifest, ItemTable::Dense(Encoding::Int8), None, None).unwrap();
    assert_eq!(ranker.manifest().dims.n_items, s.n_items);

    // The window must be the teacher's.
    let wrong = StudentSpec { window: 50, ..spec };
    let err = Prepared::<B>::new(&device, &t, &inputs, &wrong, &|_| {}).err().unwrap();
    assert!(err.to_string().contains("must be the teacher's max_len (4)"), "{err}");
}

#[test]
fn a_teacher_reading_two_text_fields_distils_a_student_reading_one() {
    let s = synthetic(40, 30);
    let device = Default::default();
    // The teacher's table: each item's first token as its title, its second apart.
    let titles: Vec<Vec<u32>> = (0..s.n_items as u32).map(|i| vec![1 + i % 5]).collect();
    let rest: Vec<Vec<u32>> = (0..s.n_items as u32).map(|i| vec![6 + i % 3]).collect();
    let two = ItemTokens::two_fields(&titles, &rest, 1, 1);
    assert_eq!((two.title_field(), s.tokens.title_field()), (Some(1), None));
    let t = teacher(&s, 4);
    let (spec, inputs) = spec_and_inputs(&s, &t);
    let inputs = DistillInputs { teacher_tokens: &two, ..inputs };
    let run = tempfile::tempdir().unwrap();
    let dir = StudentDir::new(run.path());
    let data = Prepared::<B>::new(&device, &t, &inputs, &spec, &|_| {}).unwrap();
    let history = distillation::distill::<B>(&device, &t, &data, &spec, &dir, &|_| {}).unwrap();
    assert!(history.epochs.iter().all(|e| e.loss.is_finite() && e.valid.ndcg10.is_finite()));
    assert!(dir.load::<Inner>(&device).is_ok());

    // A teacher table for another catalog is refused.
    let short = ItemTokens::two_fields(&titles[..30], &rest[..30], 1, 1);
    let inputs = DistillInputs { teacher_tokens: &short, ..inputs };
    let err = Prepared::<B>::new(&device, &t, &inputs, &spec, &|_| {}).err().unwrap();
    assert!(err.to_string().contains("covers 30 items but the student's 40"), "{err}");
}

#[test]
fn tuned_codes_keep_every_items_code_move_the_centroids_and_belong_to_their_student() {
    let s = synthetic(40, 30);
    let device = Default::default();
    let t = teacher(&s, 4);
    let (spec, inputs) = spec_and_inputs(&s, &t);
    let run = tempfile::tempdir().unwrap();
    let dir = StudentDir::new(run.path());
    let data = Prepared::<B>::new(&device, &t, &inputs, &spec, &|_| {}).unwrap();
    distillation::distill::<B>(&device, &t, &data, &spec, &dir, &|_| {}).unwrap();
    let (_, student) = dir.load::<B>(&device).unwrap();
    let m = 4;
    let start = quantize_items(&student.valid(), &ItemText::<Inner>::new(&s.tokens, &device), m, None).unwrap();
    let tune = TuneSettings { epochs: 2, learning_rate: 1e-2 };
    let tuned = tune_codes(&data, student, &start, tune, &dir, &|_| {}).unwrap();

    assert_eq!(tuned.codes, start.codes, "every item keeps its code");
    let epochs = &tuned.history.epochs;
    assert_eq!(epochs.len(), 2);
    assert!(epochs[1].loss < epochs[0].loss, "the coded loss falls: {epochs:?}");
    assert!(tuned.history.best_ndcg10 >= tuned.kmeans_valid_ndcg10, "k-means is kept unless beaten");
    let kept = tuned.books().unwrap();
    if tuned.history.best_epoch != Some(0) {
        assert_ne!(kept.fingerprint(), start.books.fingerprint(), "tuned centroids differ from k-means");
    }

    // What export reads: the saved codes, for this student only.
    let (_, inner) = dir.load::<Inner>(&device).unwrap();
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let read = student_codes(&dir, &inner, &text, m).unwrap();
    assert_eq!((read.books.fingerprint(), &read.codes), (kept.fingerprint(), &start.codes));
    assert!(TunedCodes::load(&dir, m, s.n_items + 1, spec.student.d).is_err(), "another catalog: an error");
    distillation::distill::<B>(&device, &t, &data, &spec, &dir, &|_| {}).unwrap();
    assert!(TunedCodes::load(&dir, m, s.n_items, spec.student.d).unwrap().is_none(), "a new student drops them");
    let fresh = student_codes(&dir, &inner, &text, m).unwrap();
    assert_eq!(fresh.books.fingerprint(), start.books.fingerprint(), "k-means again");
}

fn retrieved(s: &Synthetic, teacher: &Teacher<Inner>, cases: &[EvalCase]) -> rerank::RetrievedLists {
    let device = Default::default();
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let cooccurrence = CoOccurrence::fit(&s.split.train, s.n_items);
    rerank::retrieve(teacher.clone(), &text, &cooccurrence, cases, &device)
}

#[test]
fn rerank_lists_are_distinct_unseen_items_best_first_and_at_most_the_stated_length() {
    // A catalog smaller than a list: every unseen item, no padding repeats.
    let small = synthetic(40, 20);
    let cases = &small.split.test;
    let t = teacher(&small, 8);
    let lists = retrieved(&small, &t, cases);
    let scorer = TeacherScorer::new(t, &ItemText::new(&small.tokens, &Default::default()), &Default::default());
    let mut full = vec![0f32; small.n_items];
    for (c, case) in cases.iter().enumerate() {
        for list in [&lists.teacher, &lists.cooccurrence] {
            let items = &list.items[c];
            let mut distinct = items.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(distinct.len(), items.len(), "repeated items: {items:?}");
            assert!(items.iter().all(|i| !case.history.contains(i)));
            assert_eq!(items.len(), small.n_items - case.history.len());
            assert_eq!(list.teacher[c].len(), items.len());
        }
        // The teacher's list is in the teacher's order, with the teacher's scores.
        scorer.score_batch(&[&case.history], &mut full);
        let scores = &lists.teacher.teacher[c];
        assert!(scores.windows(2).all(|w| w[0] >= w[1]));
        for (&i, &sc) in lists.teacher.items[c].iter().zip(scores) {
            assert!(
                (full[i as usize] - sc).abs() < 1e-4,
                "case {c} (history {}) item {i}: {sc} vs {}",
                case.history.len(),
                full[i as usize]
            );
        }
        assert!((full[case.target as usize] - lists.teacher_target[c]).abs() < 1e-4);
    }
    // A larger catalog: exactly LIST_LEN items.
    let large = synthetic(150, 10);
    let lists = retrieved(&large, &teacher(&large, 8), &large.split.test);
    assert!(lists.teacher.items.iter().chain(&lists.cooccurrence.items).all(|l| l.len() == LIST_LEN));
}

#[test]
fn inserted_lists_hold_the_target_exactly_once() {
    let full: Vec<ItemIdx> = (0..LIST_LEN as ItemIdx).map(|i| i * 2).collect();
    let scores: Vec<f32> = (0..LIST_LEN).map(|i| -(i as f32)).collect();
    // Absent from a full list: it replaces the last item.
    let (items, teacher) = candidate_list(&full, &scores, 7, 0.5, true);
    assert_eq!(items.len(), LIST_LEN);
    assert_eq!(items.iter().filter(|&&i| i == 7).count(), 1);
    assert_eq!((items[LIST_LEN - 1], teacher[LIST_LEN - 1]), (7, 0.5));
    assert_eq!(&items[..LIST_LEN - 1], &full[..LIST_LEN - 1]);
    // Already there: unchanged.
    assert_eq!(candidate_list(&full, &scores, 8, 0.5, true), (full.clone(), scores.clone()));
    // As retrieved: never inserted.
    assert_eq!(candidate_list(&full, &scores, 7, 0.5, false), (full.clone(), scores.clone()));
    // A short list gains the target at its end.
    let (items, _) = candidate_list(&full[..10], &scores[..10], 7, 0.5, true);
    assert_eq!(items.len(), 11);
    assert_eq!(items.iter().filter(|&&i| i == 7).count(), 1);
}

#[test]
fn rerank_rows_cover_both_lists_both_protocols_and_every_model() {
    let s = synthetic(150, 40);
    let device = Default::default();
    let cases = &s.split.test;
    let lists = retrieved(&s, &teacher(&s, 8), cases);
    let set = settings();
    let vocab = s.tokens.max_token() as usize + 1;
    let spec = StudentSpec { student: set.student(s.n_items, vocab), settings: set, window: 8 };
    let student: Student<Inner> = spec.student.init(&device);
    let text = ItemText::<Inner>::new(&s.tokens, &device);
    let ids: Vec<String> = (0..s.n_items).map(|i| i.to_string()).collect();
    let manifest = bare_manifest(ids, &spec, s.tokens.width());
    let (ranker, _) = ranker_of(&student, &text, manifest, ItemTable::Dense(Encoding::F32), None, None).unwrap();
    let rows = rerank::rerank_rows(cases, &lists, &[("student", &ranker)], &s.events);
    // 2 lists × 2 ground-truth protocols × (teacher + student with and without positions).
    assert_eq!(rows.len(), 2 * 2 * 3);
    for list in ["teacher top-100", "co-occurrence top-100"] {
        for model in ["teacher", "student, with list positions", "student, ids only"] {
            let find = |gt: &str| {
                rows.iter().find(|r| r.list == list && r.ground_truth == gt && r.model == model).expect("a row")
            };
            let (retrieved, inserted) = (&find("as retrieved").metrics, &find("inserted").metrics);
            // Inserting the target can only turn misses into hits.
            assert!(inserted.hr10 >= retrieved.hr10 && inserted.mrr >= retrieved.mrr, "{list} / {model}");
            assert!(inserted.mrr > 0.0);
        }
    }
}
