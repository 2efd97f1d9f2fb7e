//! The trainer's commands, one module each: their flags (`clap` argument groups) and what
//! they do. `main.rs` only parses and calls [`Command::run`].

pub mod datasets;
pub mod distill;
pub mod evaluate;
pub mod export;
pub mod input;
pub mod train;

use clap::Subcommand;

/// Every command of the `trainer` binary.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the datasets known by name, and where they would be read from.
    Datasets(datasets::DatasetsArgs),
    /// Read a dataset and print its counts (users, items, interactions).
    Inspect(datasets::InspectArgs),
    /// Download a dataset's public source files into the cache (checksums verified).
    Download(datasets::DownloadArgs),
    /// Evaluate baselines with leave-one-out full and sampled ranking; write a report.
    ///
    /// Example: trainer evaluate --dataset amazon-beauty-s3rec --report out/beauty.json
    Evaluate(evaluate::EvaluateArgs),
    /// Train the teacher (tokenizer + Transformer) and evaluate it on the test items.
    ///
    /// Writes into the run folder: config.json, tokenizer.json, checkpoints/ (resumable
    /// with --resume), metrics.json + metrics.md (teacher next to the baselines).
    ///
    /// Example: trainer train --dataset amazon-beauty-s3rec --out runs/beauty
    Train(train::TrainArgs),
    /// Distil the on-device student from a trained teacher and evaluate it (full ranking
    /// and reranking retrievers' top-100, f32 and int8). Writes RUN/student/.
    ///
    /// Example: trainer distill --run runs/beauty
    Distill(distill::DistillArgs),
    /// Write the run's student as one artifact file (what the web package loads).
    ///
    /// Example: trainer export --run runs/beauty --out beauty.pkr
    Export(export::ExportArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Datasets(args) => args.run(),
            Self::Inspect(args) => args.run(),
            Self::Download(args) => args.run(),
            Self::Evaluate(args) => args.run(),
            Self::Train(args) => args.run(),
            Self::Distill(args) => args.run(),
            Self::Export(args) => args.run(),
        }
    }
}
