//! pocketrank's shared model crate.
//!
//! Everything here is pure: bytes and values in, values out. Reading files, downloading
//! and printing belong to the binaries (`trainer`) and the JavaScript package (`web`).
//!
//! - [`catalog`]: the shop's items (string ids, titles, attributes) and their dense ids.
//! - [`events`]: shopper events and per-shopper chronological sequences ([`events::Dataset`]).
//! - [`split`]: the leave-one-out split used for training and evaluation.
//! - [`metrics`]: ranking metrics (HR, NDCG, MRR, AUC) and the evaluation loop.
//! - [`baselines`]: most-popular and item-to-item co-occurrence scorers.
//! - [`teacher`]: the SASRec-style Transformer trained on the full history.
//! - [`student`]: the small ranking head distilled from the teacher (Burn module).
//! - [`artifact`]: the one-file, checksummed format that carries a student to devices.
//! - [`ranker`]: the on-device runtime: profiles updated per event, candidates reranked.

pub mod artifact;
pub mod baselines;
pub mod catalog;
pub mod events;
pub mod features;
pub mod metrics;
pub mod ranker;
pub mod split;
#[cfg(feature = "burn")]
pub mod student;
#[cfg(feature = "burn")]
pub mod teacher;
pub mod text;

pub use artifact::{Artifact, ArtifactError};
pub use catalog::{Catalog, CatalogError, Item, ItemIdx};
pub use events::{Dataset, DatasetError, DatasetStats, Event, EventKind, Interaction};
pub use metrics::{CaseScorer, Evaluation, MetricSet, Scorer};
pub use ranker::{Candidate, Profile, RankError, Ranker, Scored, ShopperEvent};
pub use split::{EvalCase, LeaveOneOut};
