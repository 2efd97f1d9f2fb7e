//! Teacher training on real Beauty data with a small model and few epochs: the loss falls,
//! the model beats popularity, runs resume, and a NaN loss stops with the last good
//! checkpoint kept.

mod common;

use burn::backend::{Autodiff, Flex};
use pocketrank_model::baselines::Popularity;
use pocketrank_model::metrics::{self, SampledNegatives};
use pocketrank_model::teacher::{ItemText, TeacherConfig};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{Evaluation, LeaveOneOut};
use pocketrank_trainer::data::{self, LoadOptions};
use pocketrank_trainer::teacher::{self, Checkpoints, Negatives, TrainInputs, TrainSettings, TrainState};
use pocketrank_trainer::tokenizer::CatalogTokenizer;

type B = Autodiff<Flex>;

const EPOCHS: usize = 3;
/// Shoppers validated each epoch and tested at the end (a fixed subset keeps the test quick).
const EVAL_USERS: usize = 3000;

struct Slice {
    split: LeaveOneOut,
    tokens: ItemTokens,
    n_items: usize,
}

/// Beauty (every shopper's training part), with the whole catalog and its tokenizer.
fn slice() -> Slice {
    let ing = data::load("amazon-beauty-s3rec", &common::data_dir(), &LoadOptions::default(), &|_| {}).unwrap();
    let catalog = &ing.dataset.catalog;
    let tokenizer = CatalogTokenizer::train(catalog, 4000).unwrap();
    let tokens = ItemTokens::new(&tokenizer.encode_catalog(catalog).unwrap(), 16);
    let seqs = ing.dataset.item_sequences();
    Slice { split: LeaveOneOut::new(seqs), tokens, n_items: catalog.len() }
}

fn settings(epochs: usize, lr: f64) -> TrainSettings {
    TrainSettings {
        d_model: 32,
        n_layers: 1,
        max_len: 20,
        dropout: 0.2,
        max_epochs: epochs,
        patience: epochs,
        batch_size: 256,
        learning_rate: lr,
        seed: 1,
        valid_users: EVAL_USERS,
        negatives: Negatives::Sampled(256),
        ..TrainSettings::default()
    }
}

fn config(s: &Slice, settings: &TrainSettings) -> TeacherConfig {
    settings.teacher(s.n_items, s.tokens.max_token() as usize + 1)
}

fn train(s: &Slice, run: &std::path::Path, settings: TrainSettings, resume: bool) -> anyhow::Result<TrainState> {
    let inputs = TrainInputs { split: &s.split, held_out: None, tokens: &s.tokens };
    teacher::train::<B>(&Default::default(), &inputs, &config(s, &settings), &settings, run, resume, &|_| {})
}

#[test]
fn loss_falls_and_the_teacher_beats_popularity() {
    let s = slice();
    let run = tempfile::tempdir().unwrap();
    let device = Default::default();
    let state = train(&s, run.path(), settings(EPOCHS, 3e-3), false).unwrap();
    assert_eq!(state.history.epochs.len(), EPOCHS);
    let losses: Vec<f64> = state.history.epochs.iter().map(|e| e.loss).collect();
    assert!(losses[EPOCHS - 1] < losses[0] * 0.9, "loss should fall: {losses:?}");

    let ckpt = Checkpoints::new(run.path());
    let config = config(&s, &settings(EPOCHS, 3e-3));
    let model = ckpt.load_model(config.init::<Flex>(&device), &ckpt.best_model(), &device).unwrap();
    let text = ItemText::<Flex>::new(&s.tokens, &device);
    let cases = &s.split.test[..EVAL_USERS];
    let negatives = SampledNegatives::draw(cases, &s.split, s.n_items, 100, 3);
    let teacher = teacher::evaluate_teacher(model, &text, cases, &negatives, &device, "test");
    let pop = Popularity::fit(&s.split.train, s.n_items);
    let pop: Evaluation = metrics::evaluate(&pop, cases, &negatives, &mut |_| {});
    assert!(
        teacher.full_masked.ndcg10 > pop.full_masked.ndcg10,
        "teacher {:?} vs popularity {:?}",
        teacher.full_masked,
        pop.full_masked
    );
    assert!(teacher.sampled100.ndcg10 > pop.sampled100.ndcg10);

    // A finished run resumes as a no-op.
    let again = train(&s, run.path(), settings(EPOCHS, 3e-3), true).unwrap();
    assert_eq!(again.history.epochs.len(), EPOCHS);
    // A run never resumes as the other kind of teacher (the weights would load, the meaning not).
    assert!(settings(EPOCHS, 3e-3).whole_history, "the default teacher reads whole histories");
    let causal = TrainSettings { whole_history: false, ..settings(EPOCHS, 3e-3) };
    let err = train(&s, run.path(), causal, true).unwrap_err().to_string();
    assert!(err.contains("--whole-history true"), "{err}");
}

#[test]
fn nan_loss_stops_with_a_clear_message_and_keeps_the_checkpoint() {
    let s = slice();
    let run = tempfile::tempdir().unwrap();
    let err = train(&s, run.path(), settings(2, 1e30), false).unwrap_err().to_string();
    assert!(err.contains("loss became") && err.contains("lower --lr"), "{err}");
    let state = Checkpoints::new(run.path()).load_state().unwrap().unwrap();
    assert!(state.history.stopped.is_some() && !state.finished);
}
