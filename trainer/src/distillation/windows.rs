//! The student's training windows: the last events of each shopper's training sequence,
//! with the per-event features the profile encoder reads.

use pocketrank_model::student::{EVENT_FEATURES, event_features};
use pocketrank_model::{Interaction, ItemIdx, LeaveOneOut};

/// One shopper's training window: items and per-event features.
pub struct Window<'a> {
    pub items: &'a [ItemIdx],
    /// `[items.len()]` features of each event.
    pub features: Vec<[f32; EVENT_FEATURES]>,
}

/// Event features of `events` (gaps from the previous event; 0 for the first).
pub fn features_of(events: &[Interaction]) -> Vec<[f32; EVENT_FEATURES]> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let gap = if i == 0 { 0.0 } else { (e.ts - events[i - 1].ts) as f64 };
            event_features(e.kind, gap)
        })
        .collect()
}

/// The last `max_len + 1` training events of every shopper with at least two: `max_len`
/// inputs, each followed by the item to predict. `max_len` is the teacher's window.
pub fn training_windows<'a>(split: &'a LeaveOneOut, events: &[Vec<Interaction>], max_len: usize) -> Vec<Window<'a>> {
    split
        .train
        .iter()
        .zip(events)
        .filter(|(s, _)| s.len() >= 2)
        .map(|(s, ev)| {
            let start = s.len().saturating_sub(max_len + 1);
            let all = features_of(&ev[..s.len()]);
            Window { items: &s[start..], features: all[start..].to_vec() }
        })
        .collect()
}
