//! pocketrank's training-side model crate: data types, the split, metrics, baselines and
//! the Burn modules (teacher, student).
//!
//! Everything here is pure: bytes and values in, values out. Reading files, downloading
//! and printing belong to the binaries (`trainer`). What ships to devices — the artifact,
//! profiles, the scoring kernel — is the `pocketrank-runtime` crate, which this one builds
//! on and never the other way round.
//!
//! - [`catalog`]: the shop's items (string ids, titles, attributes) and their dense ids.
//! - [`events`]: shopper events and per-shopper chronological sequences ([`events::Dataset`]).
//! - [`split`]: the leave-one-out split used for training and evaluation.
//! - [`metrics`]: ranking metrics (HR, NDCG, MRR, AUC) and the evaluation loop.
//! - [`baselines`]: most-popular and item-to-item co-occurrence scorers.
//! - [`text`]: item titles as fixed-width token tables.
//! - [`quantize`]: product quantisation of item vectors into compact codes.
//! - [`coded_items`]: item vectors from codes, with centroids the ranking loss can tune.
//! - [`teacher`]: the SASRec-style Transformer trained on the full history.
//! - [`student`]: the small ranking head distilled from the teacher, laid out as
//!   `pocketrank_runtime::layout` says.

pub mod baselines;
pub mod catalog;
#[cfg(feature = "burn")]
pub mod coded_items;
pub mod events;
pub mod metrics;
pub mod quantize;
pub mod split;
#[cfg(feature = "burn")]
pub mod student;
#[cfg(feature = "burn")]
pub mod teacher;
pub mod text;

pub use catalog::{Catalog, CatalogError, Item, ItemIdx};
pub use events::{Dataset, DatasetError, DatasetStats, Event, EventKind, Interaction};
pub use metrics::{CaseScorer, Evaluation, MetricSet, Scorer};
pub use split::{EvalCase, LeaveOneOut};
