//! The training loop shared by the teacher and the student, on a toy objective: every
//! example once per epoch in length buckets, early stopping with patience, the best kept,
//! a clear stop on a non-finite loss, resuming from a history; and the teacher resuming an
//! interrupted run on small synthetic data; data-parallel replicas follow one device's
//! loss curve.

use std::cell::RefCell;
use std::sync::Mutex;

use burn::backend::flex::FlexDevice;
use burn::backend::{Autodiff, Flex};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamWConfig;
use burn::tensor::{Tensor, backend::AutodiffBackend};
use pocketrank_model::text::ItemTokens;
use pocketrank_model::{LeaveOneOut, MetricSet};
use pocketrank_trainer::teacher::{self, Checkpoints, Negatives, TrainInputs, TrainSettings};
use pocketrank_trainer::training::{self, EpochLog, History, Keeper, LoopSettings, Objective, Schedule};
use rand::rngs::StdRng;

type B = Autodiff<Flex>;

/// The backend's random generator is one per process: the tests that seed it or draw initial
/// weights from it take turns, so that none draws from a stream another test has just seeded
/// (the one-device curve of the data-parallel test moved when its tests ran side by side).
static BACKEND_RNG: Mutex<()> = Mutex::new(());

fn backend_rng() -> std::sync::MutexGuard<'static, ()> {
    BACKEND_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Examples of lengths `lengths`; validation NDCG@10 follows a script, one value per epoch;
/// the loss is NaN from epoch `nan_from`.
struct Toy {
    lengths: Vec<usize>,
    script: Vec<f64>,
    nan_from: usize,
    batches: Mutex<Vec<Vec<usize>>>,
    epoch: Mutex<usize>,
}

impl Toy {
    fn new(script: &[f64]) -> Self {
        Self {
            lengths: (0..37).map(|i| 2 + i % 6).collect(),
            script: script.to_vec(),
            nan_from: usize::MAX,
            batches: Mutex::new(Vec::new()),
            epoch: Mutex::new(0),
        }
    }
}

impl Objective<B, Linear<B>> for Toy {
    fn name(&self) -> &str {
        "toy"
    }
    fn lengths(&self) -> &[usize] {
        &self.lengths
    }
    fn targets(&self) -> usize {
        self.lengths.iter().map(|l| l - 1).sum()
    }
    fn device(&self) -> &FlexDevice {
        &FlexDevice
    }
    fn loss(&self, model: &Linear<B>, batch: &[usize], _: &mut StdRng, device: &FlexDevice) -> (Tensor<B, 1>, usize) {
        self.batches.lock().unwrap().push(batch.to_vec());
        let x = Tensor::<B, 2>::ones([batch.len(), 2], device);
        let loss = model.forward(x).powf_scalar(2.0).mean();
        let epoch = *self.epoch.lock().unwrap() + 1;
        (if epoch >= self.nan_from { loss * f32::NAN } else { loss }, batch.len())
    }
    fn validate(&self, _: &Linear<Flex>) -> anyhow::Result<MetricSet> {
        let mut e = self.epoch.lock().unwrap();
        *e += 1;
        Ok(MetricSet { ndcg10: self.script[*e - 1], ..MetricSet::default() })
    }
}

/// Records what the loop asked it to keep.
#[derive(Default)]
struct Recorder {
    best: Vec<bool>,
    stopped: Option<History>,
}

impl<Bk: AutodiffBackend, O> Keeper<Bk, Linear<Bk>, O> for Recorder {
    fn epoch_done(&mut self, _: &Linear<Bk>, _: &O, history: &History, best: bool) -> anyhow::Result<()> {
        assert!(history.epochs.last().is_some_and(|e| e.epoch == history.epochs.len()));
        self.best.push(best);
        Ok(())
    }
    fn stopped(&mut self, history: &History) -> anyhow::Result<String> {
        self.stopped = Some(history.clone());
        Ok("The last good model is nowhere.".into())
    }
}

fn settings(max_epochs: usize, patience: usize) -> LoopSettings {
    LoopSettings {
        max_epochs,
        patience,
        batch_size: 8,
        learning_rate: 1e-2,
        warmup_steps: 0,
        schedule: Schedule::Constant,
        seed: 9,
        replicas: 1,
    }
}

fn model() -> Linear<B> {
    LinearConfig::new(2, 1).init(&Default::default())
}

#[test]
fn every_example_once_per_epoch_in_length_buckets_and_early_stopping_keeps_the_best() {
    let _rng = backend_rng();
    let toy = Toy::new(&[0.1, 0.3, 0.2, 0.25, 0.9, 0.9]);
    let mut keeper = Recorder::default();
    let mut history = History::default();
    let optim = AdamWConfig::new().init::<B, Linear<B>>();
    training::fit(&toy, &mut keeper, model(), optim, &settings(6, 2), &mut history, &|_| {}).unwrap();
    // Best at epoch 2, then two epochs without a better one: the loop stops after epoch 4.
    assert_eq!(keeper.best, [true, true, false, false]);
    assert_eq!((history.best_epoch, history.best_ndcg10, history.epochs.len()), (Some(2), 0.3, 4));
    assert!(history.epochs.iter().all(|e| e.loss.is_finite() && e.loss >= 0.0));

    let batches = toy.batches.lock().unwrap();
    let per_epoch = 37usize.div_ceil(8);
    assert_eq!(batches.len(), 4 * per_epoch);
    let epochs: Vec<&[Vec<usize>]> = batches.chunks(per_epoch).collect();
    for epoch in &epochs {
        let mut seen: Vec<usize> = epoch.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..37).collect::<Vec<_>>());
        for b in epoch.iter() {
            let lens: Vec<usize> = b.iter().map(|&i| toy.lengths[i]).collect();
            // Sorted by length before chunking: a batch of 8 spans at most 3 of the lengths.
            assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 2, "{lens:?}");
        }
    }
    assert_ne!(epochs[0], epochs[1], "each epoch shuffles with its own seed");
}

#[test]
fn a_non_finite_loss_stops_with_a_clear_message() {
    let _rng = backend_rng();
    let mut toy = Toy::new(&[0.1, 0.2, 0.3]);
    toy.nan_from = 2;
    let mut keeper = Recorder::default();
    let mut history = History::default();
    let optim = AdamWConfig::new().init::<B, Linear<B>>();
    let err = training::fit(&toy, &mut keeper, model(), optim, &settings(3, 3), &mut history, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("toy loss became NaN in epoch 2") && err.contains("lower --lr"), "{err}");
    assert!(err.contains("The last good model is nowhere."), "{err}");
    assert_eq!(history.epochs.len(), 1);
    assert!(history.stopped.as_deref().is_some_and(|s| s.contains("NaN")));
    assert_eq!(keeper.stopped.map(|h| h.epochs.len()), Some(1));
}

#[test]
fn fitting_continues_from_a_history() {
    let _rng = backend_rng();
    let toy = Toy::new(&[0.05, 0.04]);
    let past = |epoch| EpochLog {
        epoch,
        loss: 1.0,
        valid: MetricSet::default(),
        train_seconds: 1.0,
        valid_seconds: 0.0,
        targets_per_second: 1.0,
    };
    // Two epochs done, the best (0.1) at epoch 1: one more epoch without a better one
    // reaches patience 2.
    let mut history = History { epochs: vec![past(1), past(2)], best_epoch: Some(1), best_ndcg10: 0.1, stopped: None };
    let mut keeper = Recorder::default();
    let optim = AdamWConfig::new().init::<B, Linear<B>>();
    let lines = RefCell::new(Vec::new());
    let log = |m: &str| lines.borrow_mut().push(m.to_string());
    training::fit(&toy, &mut keeper, model(), optim, &settings(10, 2), &mut history, &log).unwrap();
    assert_eq!(keeper.best, [false]);
    assert_eq!(history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(lines.borrow()[0].starts_with("toy epoch   3"), "{:?}", lines.borrow());
}

#[test]
fn the_teacher_resumes_an_interrupted_run() {
    let _rng = backend_rng();
    // 40 shoppers walking a 30-item catalog in strides.
    let seqs: Vec<Vec<u32>> =
        (0..40u32).map(|u| (0..8 + u % 5).map(|k| (u * 7 + k * (1 + 2 * (u % 3))) % 30).collect()).collect();
    let split = LeaveOneOut::new(seqs);
    let tokens = ItemTokens::empty(30);
    let inputs = TrainInputs { split: &split, held_out: None, tokens: &tokens };
    let settings = |max_epochs| TrainSettings {
        d_model: 16,
        n_layers: 1,
        max_len: 8,
        dropout: 0.0,
        batch_size: 16,
        learning_rate: 1e-2,
        max_epochs,
        valid_users: 0,
        ..TrainSettings::default()
    };
    let config = settings(1).teacher(30, 1);
    let run = tempfile::tempdir().unwrap();
    let device = Default::default();
    let first = teacher::train::<B>(&device, &inputs, &config, &settings(1), run.path(), false, &|_| {}).unwrap();
    assert_eq!(first.history.epochs.len(), 1);
    assert!(first.finished);
    assert_eq!(first.history.epochs[0].valid.cases, split.valid.len(), "valid_users 0 validates every user");

    // Interrupted after epoch 1: the state says unfinished.
    let ckpt = Checkpoints::new(run.path());
    let mut state = ckpt.load_state().unwrap().unwrap();
    state.finished = false;
    ckpt.save_state(&state).unwrap();
    let lines = RefCell::new(Vec::new());
    let log = |m: &str| lines.borrow_mut().push(m.to_string());
    let resumed = teacher::train::<B>(&device, &inputs, &config, &settings(3), run.path(), true, &log).unwrap();
    assert!(lines.borrow().iter().any(|l| l == "resuming after epoch 1"), "{:?}", lines.borrow());
    assert_eq!(resumed.history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    // Epoch 1 is the saved record (through JSON, so to within float printing).
    let (a, b) = (&resumed.history.epochs[0], &first.history.epochs[0]);
    assert!((a.loss - b.loss).abs() < 1e-12 && (a.valid.ndcg10 - b.valid.ndcg10).abs() < 1e-12);
    assert!(resumed.finished && resumed.settings.max_epochs == 3);
    assert!(ckpt.best_model().with_extension("mpk").is_file() && ckpt.last_model().with_extension("mpk").is_file());
    // The last model continued from epoch 1's weights: its loss keeps falling.
    let losses: Vec<f64> = resumed.history.epochs.iter().map(|e| e.loss).collect();
    assert!(losses[2] < losses[0], "{losses:?}");
    let reloaded = ckpt.load_model(config.init::<Flex>(&device), &ckpt.last_model(), &device).unwrap();
    assert_eq!(reloaded.num_params(), config.init::<Flex>(&device).num_params());

    // A finished run trains on when resumed with more epochs, and not with as many.
    lines.borrow_mut().clear();
    let longer = teacher::train::<B>(&device, &inputs, &config, &settings(4), run.path(), true, &log).unwrap();
    assert!(lines.borrow().iter().any(|l| l == "resuming after epoch 3"), "{:?}", lines.borrow());
    assert_eq!(longer.history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(longer.finished && longer.settings.max_epochs == 4);
    lines.borrow_mut().clear();
    let again = teacher::train::<B>(&device, &inputs, &config, &settings(4), run.path(), true, &log).unwrap();
    assert!(lines.borrow().iter().any(|l| l.contains("nothing to resume")), "{:?}", lines.borrow());
    assert_eq!(again.history.epochs.len(), 4);
}

#[test]
fn data_parallel_replicas_follow_one_devices_loss_curve() {
    let _rng = backend_rng();
    // 90 shoppers over a 40-item catalog; full softmax and no dropout, so that a step is
    // deterministic and only the split of each batch across replicas differs.
    let seqs: Vec<Vec<u32>> =
        (0..90u32).map(|u| (0..6 + u % 7).map(|k| (u * 11 + k * (1 + 2 * (u % 4))) % 40).collect()).collect();
    let split = LeaveOneOut::new(seqs);
    let tokens = ItemTokens::empty(40);
    let inputs = TrainInputs { split: &split, held_out: None, tokens: &tokens };
    let settings = |replicas| TrainSettings {
        d_model: 16,
        n_layers: 1,
        max_len: 10,
        dropout: 0.0,
        id_dropout: 0.0,
        batch_size: 25,
        learning_rate: 1e-2,
        max_epochs: 3,
        patience: 3,
        valid_users: 0,
        negatives: Negatives::Full,
        replicas,
        ..TrainSettings::default()
    };
    let config = settings(1).teacher(40, 1);
    let curve = |replicas| {
        let run = tempfile::tempdir().unwrap();
        let lines = RefCell::new(Vec::new());
        let log = |m: &str| lines.borrow_mut().push(m.to_string());
        let s = settings(replicas);
        let state = teacher::train::<B>(&Default::default(), &inputs, &config, &s, run.path(), false, &log).unwrap();
        let said = lines.borrow().iter().any(|l| l.contains(&format!("data-parallel over {replicas} replicas")));
        assert_eq!(said, replicas > 1, "{:?}", lines.borrow());
        state.history.epochs.iter().map(|e| (e.loss, e.valid.ndcg10)).collect::<Vec<_>>()
    };
    let one = curve(1);
    assert!(one[2].0 < one[0].0, "the loss falls: {one:?}");
    // Two replicas split each batch evenly, three unevenly (25 = 9 + 9 + 7).
    for replicas in [2, 3] {
        let many = curve(replicas);
        for ((a, va), (b, vb)) in one.iter().zip(&many) {
            assert!((a - b).abs() <= 1e-5 * a, "{replicas} replicas: loss {b} vs one device's {a}");
            assert!((va - vb).abs() <= 1e-3, "{replicas} replicas: valid NDCG@10 {vb} vs {va}");
        }
    }
}
