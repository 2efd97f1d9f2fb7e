//! The trainer's commands, one module each: their flags (`clap` argument groups) and what
//! they do. `main.rs` only parses and calls [`Command::run`].

pub mod datasets;
pub mod distill;
pub mod evaluate;
pub mod export;
pub mod export_codes;
pub mod input;
pub mod simulate;
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
    /// and reranking retrievers' top-100; f32, int8 and item codes). Writes RUN/student/.
    ///
    /// Example: trainer distill --run runs/beauty
    Distill(distill::DistillArgs),
    /// Write the run's student as one artifact file (what the web package loads).
    ///
    /// Example: trainer export --run runs/beauty --out beauty.pkr
    Export(export::ExportArgs),
    /// Write every catalog item's code for an artifact: a binary item-code file and
    /// optionally JSON lines `{id, code}` for the shop's catalog API.
    ///
    /// Example: trainer export-codes --run runs/beauty --artifact beauty.pkr --out beauty.pkc
    ExportCodes(export_codes::ExportCodesArgs),
    /// Simulate shoppers (the run's teacher as their taste) on an exported artifact: the
    /// static student against the student learning from their feedback on the device.
    ///
    /// Example: trainer simulate --run runs/beauty --artifact beauty.pkr
    Simulate(simulate::SimulateArgs),
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
            Self::ExportCodes(args) => args.run(),
            Self::Simulate(args) => args.run(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::Command;
    use crate::distillation::DistillSettings;
    use crate::teacher::TrainSettings;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(line: &str) -> Command {
        Cli::try_parse_from(std::iter::once("trainer").chain(line.split_whitespace()))
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .command
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_test_suites_command_lines_parse_to_their_settings() {
        let Command::Train(t) = parse(
            "train --out run --max-epochs 2 --d-model 32 --layers 1 --heads 1 --negatives 512 \
             --valid-users 1000 --vocab-size 1000 --title-tokens 12",
        ) else {
            panic!("not train")
        };
        let expected = TrainSettings {
            max_epochs: 2,
            d_model: 32,
            n_layers: 1,
            n_heads: 1,
            negatives: crate::teacher::Negatives::Sampled(512),
            valid_users: 1000,
            vocab_size: 1000,
            title_tokens: 12,
            ..TrainSettings::default()
        };
        assert_eq!(t.settings, expected);
        assert_eq!(t.out, std::path::PathBuf::from("run"));

        let Command::Distill(d) =
            parse("distill --run run --d 32 --hidden 16 --max-epochs 3 --valid-users 1000 --test-users 2000")
        else {
            panic!("not distill")
        };
        let expected =
            DistillSettings { d: 32, hidden: 16, max_epochs: 3, valid_users: 1000, ..DistillSettings::default() };
        assert_eq!((d.settings, d.test_users), (expected, 2000));

        let Command::Export(e) = parse("export --run run --out model.pkr --catalog-json catalog.json") else {
            panic!("not export")
        };
        assert_eq!(e.catalog_json, Some("catalog.json".into()));

        // No flags: the settings' own defaults.
        let Command::Distill(d) = parse("distill") else { panic!("not distill") };
        assert_eq!(d.settings, DistillSettings::default());
        assert_eq!(d.settings.learning_rate, 3e-3);
    }
}
