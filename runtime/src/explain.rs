//! "Why this item?": how much each of the shopper's recent events lifted a candidate above
//! the rest of the list, computed exactly on the device.
//!
//! Two facts about the student make the split exact and cheap:
//!
//! - **The profile is a sum of one part per event.** A GRU step makes the new state
//!   `added + kept ⊙ state` ([`StepTrace`](crate::ranker::StepTrace)), so after events
//!   `1..T` the state is `Σ_t (Π_{s>t} kept_s) ⊙ added_t`. A session keeps each recent
//!   event's part up to date as events arrive (one multiply per value and event);
//!   whatever the parts do not cover (events older than the ring) is `earlier`.
//! - **The scorer is piecewise linear in the state.** With the candidate's ReLU pattern
//!   held as it is at the actual profile, `score = rest + r · state` exactly, where `r` is
//!   the score's slope in the state ([`state_slope`]).
//!
//! An event that raises every item alike (the latest one usually moves the whole list)
//! explains nothing about the order, so the slope is taken relative to a baseline: the
//! mean slope of the list's best items ([`crate::session::EXPLAIN_BASELINE`]). Event `t`
//! then contributes `part_t · (r − r̄)`: how much it lifted this item above those. The
//! contributions, `earlier` and `rest` still add up to the candidate's score. One explained
//! item costs about six times what scoring it costs (`3·d·hidden + d² + T·d` multiply-adds
//! for `T` events), and each baseline item about five.

use crate::event_kind::EventKind;
use crate::features::CONTEXT_FEATURES;
use crate::kernel::{ScoreKernel, add_vec_mat};
use crate::layout::StudentWeights;

/// How a candidate's score splits: `score = Σ parts + earlier + rest`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Each given part's lift of this candidate over the baseline, in the order given.
    pub parts: Vec<f32>,
    /// The lift from the state the parts do not cover (events before them).
    pub earlier: f32,
    /// The rest of the score: the item's own appeal, its place in the list, and what the
    /// history gives the baseline items as much as this one.
    pub rest: f32,
}

impl Attribution {
    /// The candidate's score, as the parts add up to it.
    pub fn score(&self) -> f32 {
        self.parts.iter().sum::<f32>() + self.earlier + self.rest
    }
}

/// The slope `r` `[d]` of a candidate's score in the profile state, with the hidden layer's
/// ReLU pattern held at the kernel's profile, and the score itself.
///
/// With `z = base + x·(W_i + diag(q)·W_x) + c·W_c` (`[hidden]`) and `v = w_out ⊙ [z > 0]`,
/// the score is `v · z + b_out + q · x`, whose slope in the query `q` is
/// `g = W_p·v + x ⊙ (W_x·v) + x`; the query is `W_q`-linear in the state, so `r = W_q·g`.
pub(crate) fn state_slope(
    w: &StudentWeights,
    kernel: &ScoreKernel<'_>,
    item: &[f32],
    context: &[f32; CONTEXT_FEATURES],
) -> (Vec<f32>, f32) {
    let (d, h) = (w.dims.d, w.dims.hidden);
    let mut z = kernel.base().to_vec();
    add_vec_mat(context, kernel.context_weights(), &mut z);
    add_vec_mat(item, kernel.item_weights(), &mut z);
    let v: Vec<f32> = z.iter().zip(kernel.output_weights()).map(|(z, w)| if *z > 0.0 { *w } else { 0.0 }).collect();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let score = dot(&v, &z) + kernel.output_bias() + dot(kernel.query(), item);
    let (w_p, w_x) = (&w.scorer_profile.weight, &w.scorer_interaction.weight);
    let g: Vec<f32> = (0..d)
        .map(|i| {
            let (p, x) = (&w_p[i * h..(i + 1) * h], &w_x[i * h..(i + 1) * h]);
            dot(p, &v) + item[i] * dot(x, &v) + item[i]
        })
        .collect();
    let w_q = &w.profile_projection.weight;
    let slope = (0..d).map(|k| dot(&w_q[k * d..(k + 1) * d], &g)).collect();
    (slope, score)
}

/// Splits a candidate's score over `parts` (each `[d]`) of `state` `[d]`, given its slope.
pub(crate) fn split(slope: &[f32], score: f32, state: &[f32], parts: &[Vec<f32>]) -> Attribution {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let mut rest_of_state = state.to_vec();
    let parts = parts
        .iter()
        .map(|p| {
            for (r, x) in rest_of_state.iter_mut().zip(p) {
                *r -= x;
            }
            dot(p, slope)
        })
        .collect();
    let earlier = dot(&rest_of_state, slope);
    Attribution { parts, earlier, rest: score - dot(state, slope) }
}

/// Most events named in one explanation.
pub const MAX_REASONS: usize = 3;

/// One reason for an item's place: an item the shopper had, and its share of the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Because {
    /// The shop's id of the item the shopper had.
    pub item_id: String,
    /// The latest kind of event the shopper had with it.
    pub kind: EventKind,
    /// Its events' contribution over the sum of the sizes of every history contribution
    /// (each recent item's and the earlier history's): the share of the personal part of
    /// the score, in `(0, 1]`.
    pub share: f32,
}

/// The events that raised a candidate's score most ([`MAX_REASONS`] at most, largest
/// first): `events` are the parts' events (item id and kind, oldest first), merged by item.
pub fn reasons<'a>(attribution: &Attribution, events: impl IntoIterator<Item = (&'a str, EventKind)>) -> Vec<Because> {
    let mut by_item: Vec<Because> = Vec::new();
    for ((id, kind), a) in events.into_iter().zip(&attribution.parts) {
        match by_item.iter_mut().find(|b| b.item_id == id) {
            Some(b) => {
                b.share += a;
                b.kind = kind;
            }
            None => by_item.push(Because { item_id: id.to_string(), kind, share: *a }),
        }
    }
    let total = attribution.parts.iter().map(|a| a.abs()).sum::<f32>() + attribution.earlier.abs();
    if !(total > 0.0 && total.is_finite()) {
        return Vec::new();
    }
    let mut kept: Vec<Because> =
        by_item.into_iter().filter(|b| b.share > 0.0).map(|b| Because { share: b.share / total, ..b }).collect();
    kept.sort_by(|a, b| b.share.total_cmp(&a.share));
    kept.truncate(MAX_REASONS);
    kept
}
