//! The trainer: ingestion, evaluation, reports. `main.rs` is only the command line.

pub mod backend;
pub mod data;
pub mod evaluate;
pub mod pipeline;
pub mod plots;
pub mod report;
pub mod teacher_train;
pub mod tokenizer;
