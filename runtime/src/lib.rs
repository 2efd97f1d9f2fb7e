//! pocketrank's on-device runtime: what a browser page, a worker, Node or an edge isolate
//! links. Plain Rust over bytes and `f32` slices — no tensor library, no randomness.
//!
//! - [`artifact`]: the one-file, checksummed format that carries a student to devices.
//! - [`codes`]: compact item codes (product quantisation) and the item-code file.
//! - [`layout`]: the student's tensors and packed scorer parameters, defined once.
//! - [`profile`]: a shopper's profile (the student's GRU state) and its bytes.
//! - [`ranker`]: the decoded student: profiles updated per event, candidates reranked.
//! - [`kernel`]: the per-candidate scoring loop; [`int_kernel`]: the same scores for the
//!   catalog's int8 rows in integer dot products; [`code_kernel`]: for coded candidates
//!   through per-call lookup tables.
//! - [`session`]: one shopper's session (ring buffer of recent events, model-version tag,
//!   rebuild after a model update, the shop's order on failure).
//! - [`explain`]: how much each recent event raised a candidate's score (exact).
//! - [`feedback`]: a per-shopper correction learned from clicks and pass-overs (LinUCB).
//! - [`basket`]: the basket context's head (items bought again, products that go together).
//! - [`diversity`]: maximal marginal relevance and caps per group on a reranked list.
//! - [`edge`]: the compact, opt-in profile blob for edge reranking.
//! - [`id_index`]: the catalog's item ids and their dense indices.
//! - [`features`], [`event_kind`], [`text`]: the small inputs the student reads.
//! - [`error`]: typed errors with stable codes.

pub mod artifact;
pub mod basket;
pub mod code_kernel;
pub mod code_rows;
pub mod codes;
pub mod diversity;
pub mod edge;
pub mod error;
pub mod event_kind;
pub mod explain;
pub mod features;
pub mod feedback;
pub mod id_index;
pub mod int_kernel;
pub mod kernel;
mod lanes;
pub mod layout;
pub mod profile;
pub mod ranker;
pub mod session;
pub mod text;

pub use artifact::{Artifact, ArtifactError, Manifest};
pub use codes::{CodeError, Codebooks};
pub use diversity::Diversity;
pub use error::{ErrorCode, RankError};
pub use event_kind::EventKind;
pub use explain::Attribution;
pub use profile::Profile;
pub use ranker::{
    Candidate, ItemSource, ItemVector, MAX_CANDIDATES, Ranker, Scored, ShopperEvent, StepTrace, code_warning,
};
pub use session::{ListContext, RecordedEvent, Reranked, Restored, Seen, Session};
