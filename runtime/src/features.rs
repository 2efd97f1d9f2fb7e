//! The small per-event and per-candidate features the student reads, shared by the Burn
//! module (training) and the runtime.

use std::sync::OnceLock;

use crate::event_kind::EventKind;

/// Per-event features besides the item vector: the kind one-hot and log Δt.
pub const EVENT_FEATURES: usize = EventKind::ALL.len() + 1;

/// Per-candidate context features: server score, whether there is one, log position.
pub const CONTEXT_FEATURES: usize = 3;

/// The event features of one event: `[kind one-hot (4), log Δt]`.
///
/// `gap_seconds` is the time since the shopper's previous event (0 for the first); it is
/// read as `ln(1 + hours) / 8`, clipped to `[0, 2]`.
pub fn event_features(kind: EventKind, gap_seconds: f64) -> [f32; EVENT_FEATURES] {
    let mut f = [0f32; EVENT_FEATURES];
    f[kind.index()] = 1.0;
    let gap = if gap_seconds.is_finite() { gap_seconds.max(0.0) } else { 0.0 };
    f[EventKind::ALL.len()] = (((gap / 3600.0).ln_1p() / 8.0) as f32).clamp(0.0, 2.0);
    f
}

/// The context features of one candidate: `[server score, has score, ln(1 + position) / 8]`.
///
/// A missing or non-finite server score reads as absent.
pub fn context_features(server_score: Option<f32>, position: usize) -> [f32; CONTEXT_FEATURES] {
    let (score, present) = match server_score {
        Some(s) if s.is_finite() => (s.clamp(-50.0, 50.0), 1.0),
        _ => (0.0, 0.0),
    };
    [score, present, position_feature(position)]
}

/// `ln(1 + position) / 8`, from a table for the first [`POSITIONS`] places (a logarithm per
/// candidate was a measurable part of reranking a long list in WebAssembly).
fn position_feature(position: usize) -> f32 {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    let log = |p: usize| (p as f32).ln_1p() / 8.0;
    match TABLE.get_or_init(|| (0..POSITIONS).map(log).collect()).get(position) {
        Some(&f) => f,
        None => log(position),
    }
}

/// Places whose position feature is kept in a table.
const POSITIONS: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_bounded_and_total() {
        let f = event_features(EventKind::Cart, 3600.0);
        assert_eq!(&f[..4], &[0.0, 1.0, 0.0, 0.0]);
        assert!((f[4] - 2f32.ln() / 8.0).abs() < 1e-6);
        for gap in [f64::NAN, f64::INFINITY, -5.0, 1e300] {
            let g = event_features(EventKind::View, gap)[4];
            assert!((0.0..=2.0).contains(&g), "{gap} → {g}");
        }
        assert_eq!(context_features(Some(f32::NAN), 0), [0.0, 0.0, 0.0]);
        assert_eq!(context_features(Some(1e9), 0)[0], 50.0);
        assert!(context_features(None, 99)[2] > 0.5);
        for p in [0, 1, 99, POSITIONS - 1, POSITIONS, 100_000] {
            assert_eq!(context_features(None, p)[2], (p as f32).ln_1p() / 8.0, "position {p}");
        }
    }
}
