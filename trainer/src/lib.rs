//! The trainer: ingestion, evaluation, reports. `main.rs` is only the command line.

pub mod backend;
pub mod data;
pub mod distill;
pub mod evaluate;
pub mod pipeline;
pub mod plots;
pub mod report;
pub mod student_eval;
pub mod student_run;
pub mod teacher_train;
pub mod tokenizer;
