//! The trainer: ingestion, teacher training, distillation, evaluation, export, reports.
//! `main.rs` is only the command line; each command is a module of [`commands`].

pub mod backend;
pub mod basket;
pub mod cold_start;
pub mod commands;
pub mod data;
pub mod distillation;
pub mod evaluation;
pub mod memory;
pub mod plots;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod settings;
pub mod simulation;
pub mod teacher;
pub mod tokenizer;
pub mod training;
