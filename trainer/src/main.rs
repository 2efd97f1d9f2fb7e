//! `trainer`: turns a shop's event log into an evaluated pocketrank model.
//!
//! Run `trainer --help` for the commands; each lives in `pocketrank_trainer::commands`.

use clap::Parser;
use pocketrank_trainer::commands::Command;

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

fn main() -> anyhow::Result<()> {
    Cli::parse().command.run()
}
