//! The profile blob a browser may send to an edge reranker (opt-in).
//!
//! Layout: `b"PKE1"`, dimension (u16 LE), scale (f32 LE), then one int8 per value
//! (`value ≈ q · scale`). For a d = 64 profile that is 74 bytes.
//!
//! What it reveals: a summary of the shopper's tastes that only this model can read — the
//! same vector the model scores with, rounded. What it does not: no item ids, no event
//! kinds, no times, no event count. Items cannot be listed back out of it, though it
//! does make the shopper's preferences rankable by whoever holds the model.

use thiserror::Error;

/// Version tag of the blob layout.
pub const EDGE_PROFILE_VERSION: &[u8; 4] = b"PKE1";

/// Why bytes are not an edge profile for this model.
#[derive(Debug, Error, PartialEq)]
pub enum EdgeProfileError {
    #[error("not a pocketrank edge profile (expected the PKE1 header)")]
    Header,
    #[error("the profile has {found} values but this model's profiles have {expected}")]
    Size { expected: usize, found: usize },
    #[error("the profile's scale is not a finite non-negative number")]
    Scale,
}

/// Quantises a profile state for the edge.
pub fn encode_edge_profile(state: &[f32]) -> Vec<u8> {
    let max = state.iter().filter(|v| v.is_finite()).fold(0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let mut out = Vec::with_capacity(10 + state.len());
    out.extend_from_slice(EDGE_PROFILE_VERSION);
    out.extend_from_slice(&(state.len().min(u16::MAX as usize) as u16).to_le_bytes());
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(state.iter().take(u16::MAX as usize).map(|v| {
        let q = if v.is_finite() { (v / scale).round().clamp(-127.0, 127.0) } else { 0.0 };
        (q as i8) as u8
    }));
    out
}

/// Reads an edge profile of `expected` values.
pub fn decode_edge_profile(blob: &[u8], expected: usize) -> Result<Vec<f32>, EdgeProfileError> {
    if blob.len() < 10 || &blob[..4] != EDGE_PROFILE_VERSION {
        return Err(EdgeProfileError::Header);
    }
    let dim = u16::from_le_bytes([blob[4], blob[5]]) as usize;
    let scale = f32::from_le_bytes([blob[6], blob[7], blob[8], blob[9]]);
    if !scale.is_finite() || scale < 0.0 {
        return Err(EdgeProfileError::Scale);
    }
    let values = &blob[10..];
    if dim != expected || values.len() != expected {
        return Err(EdgeProfileError::Size { expected, found: values.len().max(dim) });
    }
    Ok(values.iter().map(|&q| f32::from(q as i8) * scale).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_within_one_step_and_checks_everything() {
        let state = [0.5f32, -1.0, 0.25, 0.0];
        let blob = encode_edge_profile(&state);
        assert_eq!(blob.len(), 14);
        let back = decode_edge_profile(&blob, 4).unwrap();
        assert!(back.iter().zip(&state).all(|(a, b)| (a - b).abs() <= 1.0 / 127.0));
        assert_eq!(decode_edge_profile(&blob, 5), Err(EdgeProfileError::Size { expected: 5, found: 4 }));
        assert_eq!(decode_edge_profile(b"nope", 4), Err(EdgeProfileError::Header));
        let mut bad = blob.clone();
        bad[6..10].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(decode_edge_profile(&bad, 4), Err(EdgeProfileError::Scale));
        assert_eq!(decode_edge_profile(&encode_edge_profile(&[0.0; 4]), 4).unwrap(), vec![0.0; 4]);
    }
}
