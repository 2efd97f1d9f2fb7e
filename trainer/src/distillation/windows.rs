//! The student's training windows: the last events of each shopper's training sequence,
//! with the per-event features the profile encoder reads.

use std::borrow::Cow;

use pocketrank_model::student::{EVENT_FEATURES, event_features};
use pocketrank_model::{Interaction, ItemIdx, LeaveOneOut};

use crate::cold_start::is_held_out;

/// One shopper's training window: items and per-event features.
pub struct Window<'a> {
    pub items: Cow<'a, [ItemIdx]>,
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
/// inputs, each followed by the item to predict. `max_len` is the teacher's window. Items
/// `held_out` (cold-start evaluation) are left out of the sequences, as if never sold.
pub fn training_windows<'a>(
    split: &'a LeaveOneOut,
    events: &[Vec<Interaction>],
    max_len: usize,
    held_out: Option<&[bool]>,
) -> Vec<Window<'a>> {
    split
        .train
        .iter()
        .zip(events)
        .filter_map(|(s, ev)| {
            let ev = &ev[..s.len().min(ev.len())];
            if held_out.is_none() {
                let start = s.len().saturating_sub(max_len + 1);
                let all = features_of(ev);
                return (s.len() >= 2)
                    .then(|| Window { items: Cow::Borrowed(&s[start..]), features: all[start..].to_vec() });
            }
            let kept: Vec<Interaction> = ev.iter().filter(|e| !is_held_out(held_out, e.item)).copied().collect();
            let start = kept.len().saturating_sub(max_len + 1);
            let all = features_of(&kept);
            (kept.len() >= 2).then(|| Window {
                items: Cow::Owned(kept[start..].iter().map(|e| e.item).collect()),
                features: all[start..].to_vec(),
            })
        })
        .collect()
}
