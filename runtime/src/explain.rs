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
//! slope of the average of the list's best items ([`crate::session::EXPLAIN_BASELINE`]:
//! their mean item vector and context, scored as one more candidate). Event `t` then
//! contributes `part_t · (r − r̄)`: how much it lifted this item above that average. The
//! contributions, `earlier` and `rest` still add up to the candidate's score. One explained
//! item costs about six times what scoring it costs (`3·d·hidden + d² + T·d` multiply-adds
//! for `T` events), and the baseline one more.

use crate::event_kind::EventKind;
use crate::features::CONTEXT_FEATURES;
use crate::kernel::{ScoreKernel, add_vec_mat, lane_sum};
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

/// The scorer's matrices laid out for the slopes: each a list of rows that the slopes add
/// up (one vector multiply-add per row, no horizontal sums). Built once per model.
#[derive(Debug, Clone)]
pub(crate) struct SlopeWeights {
    /// `W_pᵀ`, `[hidden, d]`.
    profile: Vec<f32>,
    /// `W_xᵀ`, `[hidden, d]`.
    interaction: Vec<f32>,
    /// `W_qᵀ`, `[d, d]`: row `i` is what a unit of `q_i` asks of the state.
    projection: Vec<f32>,
}

/// `wᵀ` for a row-major `w` of `rows × cols`.
fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols * rows).map(|k| w[(k % rows) * cols + k / rows]).collect()
}

impl SlopeWeights {
    pub(crate) fn new(w: &StudentWeights) -> Self {
        let (d, h) = (w.dims.d, w.dims.hidden);
        Self {
            profile: transpose(&w.scorer_profile.weight, d, h),
            interaction: transpose(&w.scorer_interaction.weight, d, h),
            projection: transpose(&w.profile_projection.weight, d, d),
        }
    }

    /// The slope `g` `[d]` of a candidate's score in the query `q` (into `scratch.g`),
    /// with the hidden layer's ReLU pattern held at the kernel's profile; returns the score.
    ///
    /// With `z = base + x·(W_i + diag(q)·W_x) + c·W_c` (`[hidden]`) and
    /// `v = w_out ⊙ [z > 0]`, the score is `v · z + b_out + q · x`, whose slope in `q` is
    /// `g = W_p·v + x ⊙ (W_x·v) + x`.
    pub(crate) fn query_slope(
        &self,
        kernel: &ScoreKernel<'_>,
        item: &[f32],
        context: &[f32; CONTEXT_FEATURES],
        scratch: &mut Scratch,
    ) -> f32 {
        let d = item.len();
        let Scratch { z, v, xv, g, .. } = scratch;
        z.clear();
        z.extend_from_slice(kernel.base());
        add_vec_mat(context, kernel.context_weights(), z);
        add_vec_mat(item, kernel.item_weights(), z);
        v.clear();
        v.extend(z.iter().zip(kernel.output_weights()).map(|(z, w)| if *z > 0.0 { *w } else { 0.0 }));
        let score = lane_sum(v, z, |a, b| a * b) + kernel.output_bias() + lane_sum(kernel.query(), item, |a, b| a * b);
        g.clear();
        g.resize(d, 0.0);
        xv.clear();
        xv.resize(d, 0.0);
        // A unit whose ReLU is off adds nothing: about half of them.
        for ((vj, p), x) in v.iter().zip(self.profile.chunks_exact(d)).zip(self.interaction.chunks_exact(d)) {
            if *vj != 0.0 {
                g.iter_mut().zip(p).for_each(|(o, w)| *o += vj * w);
                xv.iter_mut().zip(x).for_each(|(o, w)| *o += vj * w);
            }
        }
        g.iter_mut().zip(xv.iter()).zip(item).for_each(|((g, x), xi)| *g += xi * x + xi);
        score
    }

    /// The slope in the profile state (into `scratch.r`) of a score whose slope in the
    /// query is `scratch.g`: the query is `W_q`-linear in the state, so it is `W_q·g`.
    pub(crate) fn state_slope(&self, scratch: &mut Scratch) {
        let Scratch { g, r, .. } = scratch;
        r.clear();
        r.resize(g.len(), 0.0);
        for (gi, row) in g.iter().zip(self.projection.chunks_exact(g.len())) {
            r.iter_mut().zip(row).for_each(|(o, w)| *o += gi * w);
        }
    }
}

/// The buffers one slope works in, reused from candidate to candidate.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    z: Vec<f32>,
    v: Vec<f32>,
    xv: Vec<f32>,
    /// The slope in the query, `[d]`.
    pub(crate) g: Vec<f32>,
    /// The slope in the state, `[d]`.
    pub(crate) r: Vec<f32>,
    /// The candidate's item vector, `[d]`.
    pub(crate) item: Vec<f32>,
}

/// The parts of a state (each `[d]`), transposed to `[d, parts]` so that a split adds up
/// one row per state value instead of taking one dot product per part.
pub(crate) struct Parts {
    count: usize,
    by_value: Vec<f32>,
}

impl Parts {
    pub(crate) fn new(parts: &[&[f32]], d: usize) -> Self {
        let count = parts.len();
        let mut by_value = vec![0f32; d * count];
        for (t, part) in parts.iter().enumerate() {
            for (k, x) in part.iter().enumerate() {
                by_value[k * count + t] = *x;
            }
        }
        Self { count, by_value }
    }

    /// Splits a candidate's score over the parts of `state` `[d]`, given its slope.
    pub(crate) fn split(&self, slope: &[f32], score: f32, state: &[f32]) -> Attribution {
        let mut parts = vec![0f32; self.count];
        if self.count > 0 {
            for (r, row) in slope.iter().zip(self.by_value.chunks_exact(self.count)) {
                parts.iter_mut().zip(row).for_each(|(a, x)| *a += r * x);
            }
        }
        let history = lane_sum(state, slope, |x, y| x * y);
        Attribution { earlier: history - parts.iter().sum::<f32>(), parts, rest: score - history }
    }
}

/// Most events named in one explanation.
pub const MAX_REASONS: usize = 3;

/// One reason for an item's place: an item the shopper had, and its share of the score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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

/// The recent events' items, each once: what [`reasons`] names.
#[derive(Debug, Clone, Default)]
pub struct EventItems<'a> {
    /// Per event (oldest first), its item's place in `items`.
    slot: Vec<usize>,
    /// Each item once: its id and the latest kind of event with it.
    items: Vec<(&'a str, EventKind)>,
}

impl<'a> EventItems<'a> {
    /// The items of `events` (item id and kind, oldest first).
    pub fn new(events: impl IntoIterator<Item = (&'a str, EventKind)>) -> Self {
        let mut out = Self::default();
        let mut seen: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
        for (id, kind) in events {
            let slot = *seen.entry(id).or_insert_with(|| {
                out.items.push((id, kind));
                out.items.len() - 1
            });
            out.items[slot].1 = kind;
            out.slot.push(slot);
        }
        out
    }
}

/// The items whose events raised a candidate's score most ([`MAX_REASONS`] at most,
/// largest first), from its [`Attribution`] over the parts of `events`.
pub fn reasons(attribution: &Attribution, events: &EventItems<'_>) -> Vec<Because> {
    let total = attribution.parts.iter().map(|a| a.abs()).sum::<f32>() + attribution.earlier.abs();
    if !(total > 0.0 && total.is_finite()) {
        return Vec::new();
    }
    let mut by_item = vec![0f32; events.items.len()];
    for (slot, a) in events.slot.iter().zip(&attribution.parts) {
        by_item[*slot] += a;
    }
    let mut best: Vec<(usize, f32)> = by_item.into_iter().enumerate().filter(|(_, a)| *a > 0.0).collect();
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    best.truncate(MAX_REASONS);
    best.into_iter()
        .map(|(slot, a)| {
            let (id, kind) = events.items[slot];
            Because { item_id: id.to_string(), kind, share: a / total }
        })
        .collect()
}
