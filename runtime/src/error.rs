//! Why a runtime call could not be served, with a stable code for hosts to branch on.

use thiserror::Error;

use crate::artifact::ArtifactError;

/// Why a call could not be served. In every case the caller still has its original list.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RankError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("{count} candidates is more than the {max} one call accepts; send the shop's top candidates")]
    TooManyCandidates { count: usize, max: usize },
    #[error("invalid candidates: {0}")]
    Candidates(String),
    #[error("the profile has {found} values but this model's profiles have {expected}")]
    ProfileSize { expected: usize, found: usize },
    #[error("the profile contains NaN or infinite values")]
    ProfileNotFinite,
    #[error("the profile bytes are not a pocketrank profile: {0}")]
    ProfileBytes(String),
    #[error("invalid event: {0}")]
    Event(String),
    #[error("event timestamp must be a finite number of seconds, got {0}")]
    BadTimestamp(f64),
    #[error("the embedded tokenizer cannot be loaded: {0}")]
    Tokenizer(String),
    #[error("invalid rerank options: {0}")]
    Options(String),
}

/// Stable error codes: what a host (the JavaScript package, an edge worker) branches on
/// instead of message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The artifact bytes are not a valid pocketrank model.
    Artifact,
    /// A valid artifact this runtime cannot run (newer format or another architecture).
    Unsupported,
    /// More candidates than one call accepts.
    TooMany,
    /// Malformed candidates.
    Candidates,
    /// A profile of another model, or damaged profile bytes.
    Profile,
    /// A malformed shopper event.
    Event,
    /// The embedded tokenizer cannot be loaded.
    Tokenizer,
    /// Rerank options out of range (diversity, groups).
    Options,
}

impl ErrorCode {
    /// The code as hosts see it, e.g. `"E_TOO_MANY"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Artifact => "E_ARTIFACT",
            Self::Unsupported => "E_UNSUPPORTED",
            Self::TooMany => "E_TOO_MANY",
            Self::Candidates => "E_CANDIDATES",
            Self::Profile => "E_PROFILE",
            Self::Event => "E_EVENT",
            Self::Tokenizer => "E_TOKENIZER",
            Self::Options => "E_OPTIONS",
        }
    }
}

impl RankError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Artifact(
                ArtifactError::UnsupportedVersion { .. } | ArtifactError::UnsupportedArchitecture { .. },
            ) => ErrorCode::Unsupported,
            Self::Artifact(_) => ErrorCode::Artifact,
            Self::TooManyCandidates { .. } => ErrorCode::TooMany,
            Self::Candidates(_) => ErrorCode::Candidates,
            Self::ProfileSize { .. } | Self::ProfileNotFinite | Self::ProfileBytes(_) => ErrorCode::Profile,
            Self::Event(_) | Self::BadTimestamp(_) => ErrorCode::Event,
            Self::Tokenizer(_) => ErrorCode::Tokenizer,
            Self::Options(_) => ErrorCode::Options,
        }
    }
}
