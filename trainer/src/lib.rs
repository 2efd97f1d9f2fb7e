//! The trainer: ingestion, evaluation, reports. `main.rs` is only the command line.

pub mod data;
pub mod evaluate;
pub mod report;
