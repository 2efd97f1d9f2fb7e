//! `trainer`: turns a shop's event log into an evaluated pocketrank model.
//!
//! Run `trainer --help` for the commands.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use pocketrank_runtime::artifact::Encoding;
use pocketrank_model::teacher::TeacherConfig;
use pocketrank_trainer::backend::DeviceChoice;
use pocketrank_trainer::data::{self, Ingested, LoadOptions};
use pocketrank_trainer::distill::DistillSettings;
use pocketrank_trainer::evaluate::{self, Baseline, EvalSettings, Target};
use pocketrank_trainer::pipeline::RunSettings;
use pocketrank_trainer::report;
use pocketrank_trainer::teacher_train::TrainSettings;

/// Train and evaluate pocketrank models from shop event logs.
///
/// Data: a named public dataset (`trainer datasets` lists them) or your own export
/// (`--events events.csv --catalog catalog.csv`).
#[derive(Parser)]
#[command(name = "trainer", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the datasets known by name, and where they would be read from.
    Datasets {
        #[command(flatten)]
        data: DataDir,
    },
    /// Read a dataset and print its counts (users, items, interactions).
    Inspect {
        #[command(flatten)]
        input: Input,
    },
    /// Download a dataset's public source files into the cache (checksums verified).
    Download {
        /// Dataset name (only those marked downloadable in `trainer datasets`).
        #[arg(long, default_value = "amazon-beauty-s3rec")]
        dataset: String,
    },
    /// Evaluate baselines with leave-one-out full and sampled ranking; write a report.
    ///
    /// Example: trainer evaluate --dataset amazon-beauty-s3rec --report out/beauty.json
    Evaluate {
        #[command(flatten)]
        input: Input,
        /// Baselines to evaluate (repeat the flag for several).
        #[arg(long = "baseline", value_enum, default_values_t = [Baseline::Popularity, Baseline::Cooccurrence])]
        baselines: Vec<Baseline>,
        /// Rank the last event (test) or the second-to-last (valid).
        #[arg(long, value_enum, default_value_t = Target::Test)]
        target: Target,
        /// Seed for the sampled negatives.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Write the report as JSON here, and as Markdown next to it (same name, `.md`).
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Train the teacher (tokenizer + Transformer) and evaluate it on the test items.
    ///
    /// Writes into the run folder: config.json, tokenizer.json, checkpoints/ (resumable
    /// with --resume), metrics.json + metrics.md (teacher next to the baselines).
    ///
    /// Example: trainer train --dataset amazon-beauty-s3rec --out runs/beauty
    Train {
        #[command(flatten)]
        input: Input,
        /// Run folder.
        #[arg(long, default_value = "runs/beauty")]
        out: PathBuf,
        /// Continue an interrupted run from its last checkpoint.
        #[arg(long)]
        resume: bool,
        /// Where to train: cpu (Burn's flex backend), ndarray, cuda or wgpu (the last two
        /// need a build with `--features cuda` / `--features wgpu`).
        #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
        device: DeviceChoice,
        #[arg(long, default_value_t = 25)]
        max_epochs: usize,
        /// Stop after this many epochs without a better validation NDCG@10.
        #[arg(long, default_value_t = 6)]
        patience: usize,
        #[arg(long, default_value_t = 256)]
        batch_size: usize,
        #[arg(long, default_value_t = 2e-3)]
        lr: f64,
        #[arg(long, default_value_t = 0.0)]
        weight_decay: f32,
        #[arg(long, default_value_t = 64)]
        d_model: usize,
        #[arg(long, default_value_t = 2)]
        layers: usize,
        #[arg(long, default_value_t = 2)]
        heads: usize,
        /// Longest history read by the model.
        #[arg(long, default_value_t = 50)]
        max_len: usize,
        #[arg(long, default_value_t = 0.5)]
        dropout: f64,
        /// WordPiece vocabulary size of the catalog tokenizer.
        #[arg(long, default_value_t = 6000)]
        vocab_size: usize,
        /// Title tokens kept per item.
        #[arg(long, default_value_t = 24)]
        title_tokens: usize,
        /// Sampled softmax with this many shared uniform negatives per batch instead of the
        /// full softmax over the catalog (0, the default: more accurate, ~3x slower on CPU).
        #[arg(long, default_value_t = 0)]
        negatives: usize,
        /// Share of training item vectors built from text alone (helps cold start).
        #[arg(long, default_value_t = 0.0)]
        id_dropout: f64,
        /// Hold this share of the catalog out of training entirely and report how well
        /// those items are ranked from their text alone (cold start).
        #[arg(long, default_value_t = 0.0)]
        cold_items: f64,
        /// Validate on a fixed random subset of this many users (0 = all).
        #[arg(long, default_value_t = 10_000)]
        valid_users: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Distil the on-device student from a trained teacher and evaluate it (full ranking
    /// and reranking retrievers' top-100, f32 and int8). Writes RUN/student/.
    ///
    /// Example: trainer distill --run runs/beauty
    Distill {
        #[command(flatten)]
        input: Input,
        /// The teacher's run folder (from `trainer train`).
        #[arg(long, default_value = "runs/beauty")]
        run: PathBuf,
        #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
        device: DeviceChoice,
        /// Width of item vectors and profiles (the teacher's width lets the student start
        /// from the teacher's item vectors and learn from its hidden states).
        #[arg(long, default_value_t = 64)]
        d: usize,
        /// Width of the scorer's hidden layer.
        #[arg(long, default_value_t = 32)]
        hidden: usize,
        #[arg(long, default_value_t = 14)]
        max_epochs: usize,
        #[arg(long, default_value_t = 3e-3)]
        lr: f64,
        /// Temperature of the listwise KL term.
        #[arg(long, default_value_t = 2.0)]
        temperature: f64,
        /// Weight of the ground-truth cross-entropy term.
        #[arg(long, default_value_t = 0.5)]
        ce_weight: f64,
        /// Validate on a fixed random subset of this many users.
        #[arg(long, default_value_t = 3000)]
        valid_users: usize,
        /// Evaluate on the first N test users only (0 = all; for quick checks).
        #[arg(long, default_value_t = 0)]
        test_users: usize,
        /// Re-evaluate the run's saved student without training it again.
        #[arg(long)]
        evaluate_only: bool,
        /// The teacher's hardest negatives per candidate list.
        #[arg(long, default_value_t = 48)]
        hard_negatives: usize,
        /// Uniform random items per candidate list.
        #[arg(long, default_value_t = 96)]
        random_negatives: usize,
        /// Weight of the query-to-teacher-hidden-state term (0 disables it).
        #[arg(long, default_value_t = 4.0)]
        hint_weight: f64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Write the run's student as one artifact file (what the web package loads).
    ///
    /// Example: trainer export --run runs/beauty --out beauty.pkr
    Export {
        #[command(flatten)]
        input: Input,
        #[arg(long, default_value = "runs/beauty")]
        run: PathBuf,
        #[arg(long, default_value = "beauty.pkr")]
        out: PathBuf,
        /// Storage of the item and token tables.
        #[arg(long, value_enum, default_value_t = ItemEncoding::Int8)]
        items: ItemEncoding,
        /// Leave the tokenizer out (unknown items then score from the neutral prior only).
        #[arg(long)]
        no_tokenizer: bool,
        /// Also write the most popular items as JSON here (the storefront's product data).
        #[arg(long)]
        catalog_json: Option<PathBuf>,
        /// How many items `--catalog-json` writes.
        #[arg(long, default_value_t = 3000)]
        catalog_items: usize,
    },
}

/// How the artifact stores the item table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ItemEncoding {
    F32,
    F16,
    Int8,
}

impl From<ItemEncoding> for Encoding {
    fn from(e: ItemEncoding) -> Self {
        match e {
            ItemEncoding::F32 => Encoding::F32,
            ItemEncoding::F16 => Encoding::F16,
            ItemEncoding::Int8 => Encoding::Int8,
        }
    }
}

#[derive(Args)]
struct DataDir {
    /// Folder holding the datasets [default: ../shared/data when present, else the cache]
    #[arg(long, env = "POCKETRANK_DATA")]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct Input {
    /// A dataset known by name (see `trainer datasets`).
    #[arg(long, conflicts_with = "events", default_value = "amazon-beauty-s3rec")]
    dataset: Option<String>,
    /// Your own events file: CSV or JSON Lines with user_id, item_id, timestamp[, event].
    #[arg(long)]
    events: Option<PathBuf>,
    /// Your own catalog file: CSV or JSON Lines with item_id, title[, brand, category, attributes].
    #[arg(long, requires = "events")]
    catalog: Option<PathBuf>,
    #[command(flatten)]
    data: DataDir,
    /// Skip malformed rows (and report how many) instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Never download: fail when the dataset is not on disk.
    #[arg(long)]
    offline: bool,
}

impl Input {
    fn load(&self) -> anyhow::Result<Ingested> {
        let opts = LoadOptions { skip_bad_rows: self.skip_bad_rows, allow_download: !self.offline };
        let ingested = match (&self.dataset, &self.events) {
            (_, Some(events)) => data::load_export(events, self.catalog.as_deref(), &opts)?,
            (Some(name), None) => {
                let dir = data::resolve_data_dir(self.data.data_dir.as_deref());
                data::load(name, &dir, &opts, &|msg| eprintln!("{msg}"))?
            }
            (None, None) => bail!("pass --dataset NAME or --events FILE"),
        };
        if ingested.skipped_rows > 0 {
            eprintln!("skipped {} malformed rows", ingested.skipped_rows);
        }
        Ok(ingested)
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Datasets { data } => {
            let dir = data::resolve_data_dir(data.data_dir.as_deref());
            println!("data folder: {}\ncache folder: {}\n", dir.display(), data::cache_dir().display());
            for d in data::KNOWN {
                let here = dir.join(d.name).is_dir() || data::cache_dir().join(d.name).is_dir();
                let status = match (here, d.downloadable) {
                    (true, _) => "on disk",
                    (false, true) => "downloadable",
                    (false, false) => "missing",
                };
                println!("{:<26} {:<13} {}", d.name, status, d.about);
            }
        }
        Command::Inspect { input } => {
            let ingested = input.load()?;
            let s = ingested.dataset.stats();
            println!("dataset:      {}", ingested.dataset.name);
            println!("users:        {}", s.users);
            println!("items:        {} ({} with events)", s.items, s.items_with_events);
            println!("interactions: {}", s.interactions);
            if let Some(b) = ingested.baskets {
                println!("baskets:      {b}");
            }
        }
        Command::Download { dataset } => {
            let ds = data::known(&dataset)?;
            if !ds.downloadable {
                bail!("{dataset} has no public download; pass --data-dir to a folder that holds it");
            }
            let dir = data::cache_dir().join(ds.name);
            data::download::beauty_s3rec(&dir, &data::download::fetch, &|m| eprintln!("{m}"))
                .with_context(|| format!("downloading {dataset}"))?;
            println!("{dataset} is ready in {}", dir.display());
        }
        Command::Evaluate { input, baselines, target, seed, report: report_path } => {
            let ingested = input.load()?;
            let settings = EvalSettings { target, seed, ..EvalSettings::default() };
            let result = evaluate::run_baselines(&ingested, settings, &baselines);
            print!("{}", report::markdown(&result));
            if let Some(path) = report_path {
                report::write(&result, &path)?;
                eprintln!("wrote {} and {}", path.display(), report::markdown_path(&path).display());
            }
        }
        Command::Train {
            input,
            out,
            resume,
            device,
            max_epochs,
            patience,
            batch_size,
            lr,
            weight_decay,
            d_model,
            layers,
            heads,
            max_len,
            dropout,
            vocab_size,
            title_tokens,
            valid_users,
            negatives,
            cold_items,
            id_dropout,
            seed,
        } => {
            let ingested = input.load()?;
            let model = TeacherConfig::new(ingested.dataset.catalog.len(), 1)
                .with_d_model(d_model)
                .with_n_layers(layers)
                .with_n_heads(heads)
                .with_max_len(max_len)
                .with_dropout(dropout)
                .with_id_dropout(id_dropout);
            let train = TrainSettings {
                model,
                max_epochs,
                patience,
                batch_size,
                learning_rate: lr,
                weight_decay,
                seed,
                valid_users: (valid_users > 0).then_some(valid_users),
                negatives,
            };
            let settings = RunSettings { train, vocab_size, title_tokens, backend: format!("{device:?}"), cold_items };
            let result = device.run_training(
                &ingested,
                settings,
                &out,
                resume,
                &[Baseline::Popularity, Baseline::Cooccurrence],
            )?;
            print!("{}", report::markdown(&result));
        }
        Command::Distill {
            input,
            run,
            device,
            d,
            hidden,
            max_epochs,
            lr,
            temperature,
            ce_weight,
            hint_weight,
            seed,
            evaluate_only,
            valid_users,
            test_users,
            hard_negatives,
            random_negatives,
        } => {
            let ingested = input.load()?;
            let mut settings = DistillSettings::new(ingested.dataset.catalog.len(), 1);
            settings.student = settings.student.with_d(d).with_hidden(hidden);
            settings.max_epochs = max_epochs;
            settings.learning_rate = lr;
            settings.temperature = temperature;
            settings.ce_weight = ce_weight;
            settings.hint_weight = hint_weight;
            settings.valid_users = valid_users;
            settings.hard_negatives = hard_negatives;
            settings.random_negatives = random_negatives;
            settings.seed = seed;
            let test_users = (test_users > 0).then_some(test_users);
            let result = device.run_distill(&ingested, &run, settings, evaluate_only, test_users)?;
            print!("{}", report::markdown(&result.full));
            print!("{}", pocketrank_trainer::student_eval::rerank_markdown(&result.rerank));
        }
        Command::Export { input, run, out, items, no_tokenizer, catalog_json, catalog_items } => {
            let ingested = input.load()?;
            let bytes = pocketrank_trainer::student_run::export::<burn::backend::Flex>(
                &Default::default(),
                &ingested,
                &run,
                &out,
                items.into(),
                !no_tokenizer,
            )?;
            println!("wrote {} ({bytes} bytes)", out.display());
            if let Some(path) = catalog_json {
                let n = pocketrank_trainer::student_run::write_catalog_json(&ingested, &path, catalog_items)?;
                println!("wrote {} ({n} items)", path.display());
            }
        }
    }
    Ok(())
}
