//! A shopper's profile: the student's GRU state and what its next update needs.

use crate::error::RankError;

/// A shopper's profile: the student's GRU state plus what the next update needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The state vector (`d` values).
    pub state: Vec<f32>,
    /// Time of the latest event, in seconds.
    pub last_ts: Option<f64>,
    /// Events folded in so far.
    pub events: u64,
}

const PROFILE_MAGIC: [u8; 4] = *b"PKP1";
const HEADER: usize = 4 + 8 + 8;

impl Profile {
    /// The profile of a shopper with no events, `d` wide.
    pub fn empty(d: usize) -> Self {
        Self { state: vec![0.0; d], last_ts: None, events: 0 }
    }

    /// A profile from a bare state vector (e.g. an edge blob): no time, no event count.
    pub fn from_state(state: Vec<f32>) -> Self {
        Self { state, last_ts: None, events: 0 }
    }

    /// Bytes for local storage: magic, event count, last time, state (little-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 4 * self.state.len());
        out.extend_from_slice(&PROFILE_MAGIC);
        out.extend_from_slice(&self.events.to_le_bytes());
        out.extend_from_slice(&self.last_ts.unwrap_or(f64::NAN).to_le_bytes());
        out.extend(self.state.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    /// Reads [`to_bytes`](Self::to_bytes) output; checks the layout and that every value is finite.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RankError> {
        let bad = |m: &str| RankError::ProfileBytes(m.to_string());
        if bytes.len() < HEADER || bytes[..4] != PROFILE_MAGIC {
            return Err(bad("wrong header"));
        }
        if !(bytes.len() - HEADER).is_multiple_of(4) {
            return Err(bad("length is not a whole number of values"));
        }
        let events = u64::from_le_bytes(bytes[4..12].try_into().map_err(|_| bad("header"))?);
        let ts = f64::from_le_bytes(bytes[12..20].try_into().map_err(|_| bad("header"))?);
        let state: Vec<f32> =
            bytes[HEADER..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        if state.iter().any(|v| !v.is_finite()) || ts.is_infinite() {
            return Err(RankError::ProfileNotFinite);
        }
        Ok(Self { state, last_ts: (!ts.is_nan()).then_some(ts), events })
    }

    /// Checks that this profile fits a model with `d`-wide profiles.
    pub fn check(&self, d: usize) -> Result<(), RankError> {
        if self.state.len() != d {
            return Err(RankError::ProfileSize { expected: d, found: self.state.len() });
        }
        if self.state.iter().any(|v| !v.is_finite()) {
            return Err(RankError::ProfileNotFinite);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_bytes_round_trip_and_reject_garbage() {
        let p = Profile { state: vec![0.5, -1.0, 2.0], last_ts: Some(12.5), events: 7 };
        assert_eq!(Profile::from_bytes(&p.to_bytes()).unwrap(), p);
        let fresh = Profile::empty(2);
        assert_eq!(Profile::from_bytes(&fresh.to_bytes()).unwrap(), fresh);
        assert!(matches!(Profile::from_bytes(b"nope"), Err(RankError::ProfileBytes(_))));
        let mut odd = p.to_bytes();
        odd.push(1);
        assert!(matches!(Profile::from_bytes(&odd), Err(RankError::ProfileBytes(_))));
        let mut nan = p.to_bytes();
        nan[20..24].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(Profile::from_bytes(&nan), Err(RankError::ProfileNotFinite));
        assert_eq!(p.check(3), Ok(()));
        assert_eq!(p.check(4), Err(RankError::ProfileSize { expected: 4, found: 3 }));
    }
}
