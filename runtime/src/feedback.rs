//! Learning from this shopper's own feedback, on the device.
//!
//! The student is the same for every shopper, and its profile only hears what the shopper
//! did. What they passed over — the items a list showed above the one they clicked, or the
//! top of a list they left without clicking — it never sees. [`Feedback`] learns that here,
//! as a hybrid LinUCB on the student's item vectors (unit length) with `r = +1` for an item
//! clicked from a list and `−1` for one passed over:
//!
//! - a shared ridge regression `r ≈ θᵀx̂` (`A = λI + Σ x̂x̂ᵀ`, `θ = A⁻¹b`), so items like
//!   those clicked rise and items like those passed over sink;
//! - each judged item's own term `Σr / (n + λ)` ([`ItemJudged`], the latest
//!   [`ITEMS_REMEMBERED`]), so an item passed over is not offered on top again;
//! - the bonus `α (√(x̂ᵀA⁻¹x̂) − 1/√λ)`, which favours items unlike those already judged.
//!
//! The correction of a candidate's score is `β σ clamp(θᵀx̂ + own + bonus, −1, 1)`, where
//! `σ` is the spread of the list's best [`WINDOW`] scores and `β` is [`REACH`]: only the top
//! of a list is reordered, and never turned over; it is exactly zero until the shopper gave
//! feedback (the no-feedback path is the static student's, bit for bit).
//!
//! What was shown ([`Impression`]s, one per named list) lives in memory only; the learned
//! state is stored with the session record and never leaves the device. Learning is
//! rate-bounded by the events' own timestamps, so a flood of events cannot move it far.
//! `trainer simulate` measures what it does for shoppers (the README has the numbers).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::ranker::{Scored, sort_best_first};

/// Places at the top of a list the correction may reorder; the rest keep the student's order.
pub const WINDOW: usize = 50;
/// Places of a shown list remembered as its impression (what the shopper could have seen).
pub const SHOWN: usize = 20;
/// Lists remembered at once (by name; the oldest is dropped).
pub const LISTS: usize = 8;
/// A list shown again without a click: this many of its first places count as passed over.
pub const SKIPS_WITHOUT_CLICK: usize = 3;
/// A list shown again sooner than this (ms) was not looked at yet: nothing is learned.
pub const MIN_LOOK_MS: f64 = 2_000.0;
/// A click this long (ms) after a list was shown is no longer feedback on it.
pub const IMPRESSION_TTL_MS: f64 = 30.0 * 60_000.0;
/// An event up to this long (ms) before a list was shown still counts as a click on it
/// (the event's time and the list's come from different calls); older events do not.
pub const CLOCK_SLACK_MS: f64 = 1_000.0;
/// Lists learned from per minute of event time; more are ignored.
pub const LEARNED_PER_MINUTE: u32 = 20;
/// Items whose own feedback term is kept (the latest judged).
pub const ITEMS_REMEMBERED: usize = 200;
/// Ridge `λ`: the prior's weight, in judged items.
pub const RIDGE: f64 = 1.0;
/// Exploration weight `α` of the LinUCB bonus.
pub const EXPLORE: f64 = 0.1;
/// Largest correction, in standard deviations `σ` of the window's scores (`β`).
pub const REACH: f64 = 2.0;

/// How strongly feedback corrects and explores (the defaults are [`REACH`] and [`EXPLORE`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    /// Largest correction, in standard deviations of the window's scores.
    pub reach: f64,
    /// Exploration weight of the LinUCB bonus.
    pub explore: f64,
}

impl Default for Tuning {
    fn default() -> Self {
        Self { reach: REACH, explore: EXPLORE }
    }
}

/// One list as the shopper saw it: its first places' ids and unit item vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Impression {
    list: String,
    ts: f64,
    ids: Vec<String>,
    vectors: Vec<Vec<f32>>,
    /// Per place: already learned from (clicked or passed over).
    judged: Vec<bool>,
    clicked: bool,
}

impl Impression {
    /// The list `list` shown at `ts` (ms): `shown` = (item id, student item vector), best first.
    pub fn new(list: &str, ts: f64, shown: Vec<(String, Vec<f32>)>) -> Self {
        let (ids, vectors): (Vec<String>, Vec<Vec<f32>>) =
            shown.into_iter().take(SHOWN).map(|(id, v)| (id, unit(&v))).unzip();
        let judged = vec![false; ids.len()];
        Self { list: list.to_string(), ts, ids, vectors, judged, clicked: false }
    }
}

/// `a · b` in eight independent sums, which the compiler keeps in vector registers.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f32>() + tail
}

fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm.is_finite() && norm > 0.0 { v.iter().map(|x| x / norm).collect() } else { vec![0.0; v.len()] }
}

/// The stored form of the learned state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackRecord {
    /// `A`'s upper triangle, row by row (`d (d + 1) / 2` values).
    gram: Vec<f64>,
    /// `b` (`d` values).
    target: Vec<f64>,
    /// Items learned from.
    judged: u64,
    /// The latest items judged, by id (see [`ItemJudged`]).
    #[serde(default)]
    items: Vec<ItemJudged>,
}

/// What feedback said about one item: the item's own term beside the shared `θ` (the
/// per-item part of hybrid LinUCB), `Σr / (n + λ)`. A shopper who passed an item over
/// twice is not shown it on top a third time, whatever its neighbours did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemJudged {
    id: String,
    /// Times judged.
    n: f64,
    /// Sum of rewards.
    r: f64,
}

impl ItemJudged {
    /// The item's own term, `Σr / (n + λ)`.
    fn term(&self) -> f64 {
        self.r / (self.n + RIDGE)
    }
}

/// Why a stored feedback state was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("stored feedback state is damaged: {0}")]
pub struct FeedbackDamaged(String);

/// The learned correction and what it learns from.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    d: usize,
    /// `A = λI + Σ x̂ x̂ᵀ`, `[d, d]`.
    gram: Vec<f64>,
    /// `b = Σ r x̂`, `[d]`.
    target: Vec<f64>,
    judged: u64,
    /// `L` with `A = L Lᵀ`, `[d, d]` (lower triangle).
    chol: Vec<f64>,
    /// `θ = A⁻¹ b`, `[d]`.
    theta: Vec<f64>,
    /// What scoring reads, in `f32`: `θ` `[d]` and `L⁻¹` `[d, d]` (lower triangle), so a
    /// candidate's bonus is one triangular matrix-vector product.
    theta32: Vec<f32>,
    chol_inv: Vec<f32>,
    impressions: VecDeque<Impression>,
    /// Start (ms) of the current minute of event time, and the lists learned from in it.
    minute: (f64, u32),
    /// Lists not learned from because of the rate bound.
    ignored: u64,
    tuning: Tuning,
    /// The latest [`ITEMS_REMEMBERED`] items judged, oldest first.
    items: VecDeque<ItemJudged>,
}

impl Feedback {
    /// Nothing learned yet, for profiles of `d` values.
    pub fn new(d: usize) -> Self {
        let mut gram = vec![0.0; d * d];
        for i in 0..d {
            gram[i * d + i] = RIDGE;
        }
        let mut chol = vec![0.0; d * d];
        for i in 0..d {
            chol[i * d + i] = RIDGE.sqrt();
        }
        Self {
            d,
            gram,
            target: vec![0.0; d],
            judged: 0,
            chol,
            theta: vec![0.0; d],
            theta32: vec![0.0; d],
            chol_inv: (0..d * d).map(|k| if k % (d + 1) == 0 { (1.0 / RIDGE.sqrt()) as f32 } else { 0.0 }).collect(),
            impressions: VecDeque::new(),
            minute: (f64::NEG_INFINITY, 0),
            ignored: 0,
            tuning: Tuning::default(),
            items: VecDeque::new(),
        }
    }

    /// [`new`](Self::new) with other strengths (for simulations; devices use the defaults).
    pub fn with_tuning(d: usize, tuning: Tuning) -> Self {
        Self { tuning, ..Self::new(d) }
    }

    /// The state stored as `record` (from [`to_record`](Self::to_record)), checked.
    pub fn from_record(d: usize, record: &FeedbackRecord) -> Result<Self, FeedbackDamaged> {
        let damaged = |why: &str| FeedbackDamaged(why.to_string());
        if record.gram.len() != d * (d + 1) / 2 || record.target.len() != d {
            return Err(damaged("wrong size for this model"));
        }
        if !record.gram.iter().chain(&record.target).all(|x| x.is_finite()) {
            return Err(damaged("NaN or infinite values"));
        }
        let mut feedback = Self::new(d);
        let mut values = record.gram.iter();
        for i in 0..d {
            for j in i..d {
                let value = *values.next().unwrap_or(&0.0);
                feedback.gram[i * d + j] = value;
                feedback.gram[j * d + i] = value;
            }
        }
        if (0..d).any(|i| feedback.gram[i * d + i] < RIDGE - 1e-9) {
            return Err(damaged("the ridge prior is missing"));
        }
        feedback.target.clone_from(&record.target);
        feedback.judged = record.judged;
        if record.items.len() > ITEMS_REMEMBERED
            || record.items.iter().any(|i| !(i.n >= 1.0 && i.n.is_finite() && i.r.is_finite() && i.r.abs() <= i.n))
        {
            return Err(damaged("item terms out of range"));
        }
        feedback.items = record.items.iter().cloned().collect();
        if !feedback.refit() {
            return Err(damaged("not positive definite"));
        }
        Ok(feedback)
    }

    /// The stored form, or `None` when nothing was learned.
    pub fn to_record(&self) -> Option<FeedbackRecord> {
        if self.judged == 0 {
            return None;
        }
        let d = self.d;
        let gram = (0..d).flat_map(|i| (i..d).map(move |j| (i, j))).map(|(i, j)| self.gram[i * d + j]).collect();
        Some(FeedbackRecord {
            gram,
            target: self.target.clone(),
            judged: self.judged,
            items: self.items.iter().cloned().collect(),
        })
    }

    /// Whether anything was learned (the correction is zero until then).
    pub fn is_active(&self) -> bool {
        self.judged > 0
    }

    /// Items learned from so far.
    pub fn judged(&self) -> u64 {
        self.judged
    }

    /// Lists not learned from because of the rate bound.
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// Remembers what the list `impression.list` showed. The list's previous impression,
    /// if the shopper clicked nothing in it and had time to look, teaches that its first
    /// [`SKIPS_WITHOUT_CLICK`] places were passed over.
    pub fn shown(&mut self, impression: Impression) {
        if let Some(at) = self.impressions.iter().position(|i| i.list == impression.list) {
            let Some(old) = self.impressions.remove(at) else { return };
            let looked = impression.ts - old.ts >= MIN_LOOK_MS && old.ids != impression.ids;
            if !old.clicked && looked && self.allow(impression.ts) {
                let skipped: Vec<(&str, &[f32], f64)> = old
                    .ids
                    .iter()
                    .zip(&old.vectors)
                    .take(SKIPS_WITHOUT_CLICK)
                    .map(|(id, x)| (id.as_str(), x.as_slice(), -1.0))
                    .collect();
                self.learn(&skipped);
            }
        }
        if self.impressions.len() == LISTS {
            self.impressions.pop_front();
        }
        self.impressions.push_back(impression);
    }

    /// The shopper acted on `item_id` at `ts` (ms). If a list shown in the
    /// [`IMPRESSION_TTL_MS`] before it holds it, the item counts as clicked from the latest such list
    /// and the places above it not yet judged as passed over. Returns whether it was learned
    /// from (an item never shown, a stale list, an item already judged or the rate bound:
    /// not).
    pub fn clicked(&mut self, item_id: &str, ts: f64) -> bool {
        let found = self.impressions.iter().rposition(|i| {
            (-CLOCK_SLACK_MS..=IMPRESSION_TTL_MS).contains(&(ts - i.ts))
                && i.ids.iter().zip(&i.judged).any(|(id, &judged)| id == item_id && !judged)
        });
        let Some(at) = found else { return false };
        if !self.allow(ts) {
            return false;
        }
        let impression = &mut self.impressions[at];
        let place = impression.ids.iter().zip(&impression.judged).position(|(id, &j)| id == item_id && !j);
        let Some(place) = place else { return false };
        impression.clicked = true;
        let mut judged = vec![(impression.ids[place].clone(), impression.vectors[place].clone(), 1.0)];
        for k in 0..place {
            if !impression.judged[k] {
                impression.judged[k] = true;
                judged.push((impression.ids[k].clone(), impression.vectors[k].clone(), -1.0));
            }
        }
        impression.judged[place] = true;
        let judged: Vec<(&str, &[f32], f64)> =
            judged.iter().map(|(id, x, r)| (id.as_str(), x.as_slice(), *r)).collect();
        self.learn(&judged);
        true
    }

    /// Counts one list learned from against the rate bound.
    fn allow(&mut self, ts: f64) -> bool {
        if !ts.is_finite() {
            return false;
        }
        if ts - self.minute.0 >= 60_000.0 || ts < self.minute.0 {
            self.minute = (ts, 0);
        }
        if self.minute.1 >= LEARNED_PER_MINUTE {
            self.ignored += 1;
            return false;
        }
        self.minute.1 += 1;
        true
    }

    /// Learns from `(item id, unit item vector, reward)` triples.
    fn learn(&mut self, judged: &[(&str, &[f32], f64)]) {
        let before = (self.gram.clone(), self.target.clone(), self.judged);
        let d = self.d;
        for &(id, x, reward) in judged {
            if x.len() != d || x.iter().all(|&v| v == 0.0) {
                continue;
            }
            let mut item = match self.items.iter().position(|i| i.id == id) {
                Some(at) => self.items.remove(at).unwrap_or(ItemJudged { id: id.to_string(), n: 0.0, r: 0.0 }),
                None => ItemJudged { id: id.to_string(), n: 0.0, r: 0.0 },
            };
            item.n += 1.0;
            item.r += reward;
            if self.items.len() == ITEMS_REMEMBERED {
                self.items.pop_front();
            }
            self.items.push_back(item);
            for (i, &xi) in x.iter().enumerate() {
                let xi = f64::from(xi);
                self.target[i] += reward * xi;
                for (g, &xj) in self.gram[i * d..(i + 1) * d].iter_mut().zip(x) {
                    *g += xi * f64::from(xj);
                }
            }
            self.judged += 1;
        }
        if !self.refit() {
            // Cannot happen for finite unit vectors; keep the last good state if it does.
            (self.gram, self.target, self.judged) = before;
            self.refit();
        }
    }

    /// Factors `A` and solves for `θ`; false when `A` is not positive definite.
    fn refit(&mut self) -> bool {
        let d = self.d;
        let (a, l) = (&self.gram, &mut self.chol);
        l.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..d {
            for j in 0..=i {
                let mut sum = a[i * d + j];
                for k in 0..j {
                    sum -= l[i * d + k] * l[j * d + k];
                }
                if i == j {
                    if sum.is_nan() || sum <= 0.0 {
                        return false;
                    }
                    l[i * d + i] = sum.sqrt();
                } else {
                    l[i * d + j] = sum / l[j * d + j];
                }
            }
        }
        // A θ = b: L y = b, then Lᵀ θ = y.
        let y = self.forward(&self.target);
        let mut theta = vec![0.0; d];
        for i in (0..d).rev() {
            let mut sum = y[i];
            for (k, t) in theta.iter().enumerate().skip(i + 1) {
                sum -= self.chol[k * d + i] * t;
            }
            theta[i] = sum / self.chol[i * d + i];
        }
        self.theta32 = theta.iter().map(|&t| t as f32).collect();
        self.theta = theta;
        // L⁻¹, column by column: L y = e_j.
        let mut inv = vec![0f32; d * d];
        let mut unit_j = vec![0.0; d];
        for j in 0..d {
            unit_j.iter_mut().enumerate().for_each(|(i, v)| *v = f64::from(u8::from(i == j)));
            for (i, y) in self.forward(&unit_j).into_iter().enumerate() {
                inv[i * d + j] = y as f32;
            }
        }
        self.chol_inv = inv;
        true
    }

    /// `L⁻¹ v`.
    fn forward(&self, v: &[f64]) -> Vec<f64> {
        let d = self.d;
        let mut y = vec![0.0; d];
        for i in 0..d {
            let row = &self.chol[i * d..i * d + i];
            let sum = v[i] - row.iter().zip(&y[..i]).map(|(l, y)| l * y).sum::<f64>();
            y[i] = sum / self.chol[i * d + i];
        }
        y
    }

    /// The correction's direction for an item (its id and vector), in `[−1, 1]` (0 for a
    /// zero vector).
    pub fn preference(&self, id: &str, vector: &[f32]) -> f64 {
        let own = self.items.iter().rev().find(|i| i.id == id).map_or(0.0, ItemJudged::term);
        self.preference_with(own, vector)
    }

    /// [`preference`](Self::preference) with the item's own term given.
    fn preference_with(&self, own: f64, vector: &[f32]) -> f64 {
        let d = self.d;
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if vector.len() != d || !norm.is_finite() || norm == 0.0 {
            return 0.0;
        }
        let mean = self.theta32.iter().zip(vector).map(|(t, x)| t * x).sum::<f32>() / norm;
        // ‖L⁻¹ x̂‖² = x̂ᵀ A⁻¹ x̂.
        // Whole rows (zeros above the diagonal): fixed-length dot products vectorise.
        let spread2: f32 = self
            .chol_inv
            .chunks_exact(d)
            .map(|row| {
                let y = dot(row, vector) / norm;
                y * y
            })
            .sum();
        let spread = f64::from(spread2).sqrt();
        (f64::from(mean) + own + self.tuning.explore * (spread - 1.0 / RIDGE.sqrt())).clamp(-1.0, 1.0)
    }

    /// Corrects the scores of the first [`WINDOW`] places of `ranked` (best first) and
    /// reorders them by the corrected scores; `item` gives a candidate's id and item vector.
    /// Does nothing until something was learned.
    pub fn adjust(&self, ranked: &mut [Scored], item: impl Fn(usize) -> (String, Vec<f32>)) {
        if !self.is_active() {
            return;
        }
        let n = WINDOW.min(ranked.len());
        let window = &mut ranked[..n];
        let finite: Vec<f64> = window.iter().map(|s| f64::from(s.score)).filter(|s| s.is_finite()).collect();
        if finite.len() < 2 {
            return;
        }
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        let sigma = (finite.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / finite.len() as f64).sqrt();
        if sigma.is_nan() || sigma <= 0.0 {
            return;
        }
        let own: std::collections::HashMap<&str, f64> = self.items.iter().map(|i| (i.id.as_str(), i.term())).collect();
        for s in window.iter_mut().filter(|s| s.score.is_finite()) {
            let (id, vector) = item(s.index);
            let own = own.get(id.as_str()).copied().unwrap_or(0.0);
            s.score += (self.tuning.reach * sigma * self.preference_with(own, &vector)) as f32;
        }
        sort_best_first(window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranker::tests::scored_list as list;

    const ID: [&str; 4] = ["a", "b", "c", "d"];

    fn axis(d: usize, i: usize) -> Vec<f32> {
        let mut v = vec![0.0; d];
        v[i] = 1.0;
        v
    }

    fn shown(ids: &[&str], d: usize) -> Vec<(String, Vec<f32>)> {
        ids.iter().enumerate().map(|(k, id)| (id.to_string(), axis(d, k))).collect()
    }

    #[test]
    fn nothing_changes_until_the_shopper_gives_feedback() {
        let mut feedback = Feedback::new(4);
        let mut ranked = list(&[3.0, 2.0, 1.0, 0.0]);
        let before = ranked.clone();
        feedback.adjust(&mut ranked, |i| (ID[i].to_string(), axis(4, i)));
        assert_eq!(ranked, before);
        // Shown once and acted on outside the list: still nothing.
        feedback.shown(Impression::new("home", 0.0, shown(&["a", "b", "c", "d"], 4)));
        assert!(!feedback.clicked("elsewhere", 1_000.0));
        feedback.adjust(&mut ranked, |i| (ID[i].to_string(), axis(4, i)));
        assert_eq!(ranked, before);
    }

    #[test]
    fn a_click_lifts_its_kind_and_lowers_what_was_passed_over() {
        let mut feedback = Feedback::new(4);
        feedback.shown(Impression::new("home", 0.0, shown(&["a", "b", "c", "d"], 4)));
        assert!(feedback.clicked("c", 5_000.0));
        assert_eq!(feedback.judged(), 3);
        assert!(feedback.preference("c", &axis(4, 2)) > 0.0);
        assert!(feedback.preference("a", &axis(4, 0)) < 0.0);
        // The same click again is not new feedback.
        assert!(!feedback.clicked("c", 6_000.0));
        // Close scores: the clicked item overtakes those passed over.
        let mut ranked = list(&[1.0, 0.9, 0.8, 0.0]);
        feedback.adjust(&mut ranked, |i| (ID[i].to_string(), axis(4, i)));
        let order: Vec<usize> = ranked.iter().map(|s| s.index).collect();
        assert_eq!(order, [2, 0, 1, 3]);
    }

    #[test]
    fn the_correction_is_bounded_by_the_lists_spread() {
        let mut feedback = Feedback::new(4);
        for round in 0..10 {
            let ts = round as f64 * 120_000.0;
            feedback.shown(Impression::new("home", ts, shown(&["a", "b", "c", "d"], 4)));
            feedback.clicked("d", ts + 3_000.0);
        }
        let scores = [3.0, 2.0, 1.0, 0.0];
        let mut ranked = list(&scores);
        feedback.adjust(&mut ranked, |i| (ID[i].to_string(), axis(4, i)));
        let sigma = (5.0f32 / 4.0).sqrt();
        for s in &ranked {
            assert!((s.score - scores[s.index]).abs() <= REACH as f32 * sigma + 1e-5, "{s:?}");
        }
    }

    #[test]
    fn a_list_left_without_a_click_teaches_its_top_places_were_passed_over() {
        let mut feedback = Feedback::new(4);
        feedback.shown(Impression::new("home", 0.0, shown(&["a", "b", "c", "d"], 4)));
        // Re-rendered at once, or the same list again: nothing learned.
        feedback.shown(Impression::new("home", 500.0, shown(&["b", "a", "c", "d"], 4)));
        feedback.shown(Impression::new("home", 10_000.0, shown(&["b", "a", "c", "d"], 4)));
        assert!(!feedback.is_active());
        feedback.shown(Impression::new("home", 20_000.0, shown(&["d", "c", "b", "a"], 4)));
        assert_eq!(feedback.judged(), SKIPS_WITHOUT_CLICK as u64);
        assert!(feedback.preference("a", &axis(4, 0)) < 0.0);
    }

    #[test]
    fn floods_of_feedback_are_rate_bounded() {
        let mut feedback = Feedback::new(4);
        let mut learned = 0;
        for k in 0..1_000 {
            let ts = k as f64;
            feedback.shown(Impression::new(&format!("list {}", k % LISTS), ts, shown(&["a", "b"], 4)));
            learned += usize::from(feedback.clicked("b", ts));
        }
        assert_eq!(learned, LEARNED_PER_MINUTE as usize);
        assert!(feedback.ignored() > 0);
        // A new minute of event time learns again.
        feedback.shown(Impression::new("home", 70_000.0, shown(&["a", "b"], 4)));
        assert!(feedback.clicked("b", 70_001.0));
    }

    #[test]
    fn stale_lists_and_bad_timestamps_teach_nothing() {
        let mut feedback = Feedback::new(4);
        feedback.shown(Impression::new("home", 0.0, shown(&["a", "b"], 4)));
        assert!(!feedback.clicked("b", IMPRESSION_TTL_MS + 1.0));
        assert!(!feedback.clicked("b", -60_000.0), "an event from before the list was shown");
        assert!(!feedback.clicked("b", f64::NAN));
        assert!(!feedback.is_active());
    }

    #[test]
    fn the_record_round_trips_and_damage_is_detected() {
        let mut feedback = Feedback::new(4);
        assert_eq!(feedback.to_record(), None);
        feedback.shown(Impression::new("home", 0.0, shown(&["a", "b", "c"], 4)));
        feedback.clicked("c", 3_000.0);
        let record = feedback.to_record().unwrap();
        let back = Feedback::from_record(4, &record).unwrap();
        assert_eq!(back.preference("c", &axis(4, 2)), feedback.preference("c", &axis(4, 2)));
        assert!(Feedback::from_record(8, &record).is_err());
        let mut bad = record.clone();
        bad.target[0] = f64::NAN;
        assert!(Feedback::from_record(4, &bad).is_err());
        let mut bad = record.clone();
        bad.gram[0] = -5.0;
        assert!(Feedback::from_record(4, &bad).is_err());
        let mut bad = record;
        bad.gram[1] = 100.0;
        assert!(Feedback::from_record(4, &bad).is_err());
    }
}
