//! One shopper's session on the device: the profile, the ring buffer of recent events it
//! was folded from, and the stored record that carries both across page loads.
//!
//! Every host gets the same behaviour from here (the JavaScript package only adds a
//! storage adapter):
//!
//! - events are checked, folded into the profile and kept in a ring of the last
//!   [`RECENT_EVENTS`];
//! - the stored record is tagged with the model version; restoring it under another model,
//!   or from damaged bytes, rebuilds the profile from the recent events that still read;
//! - [`Session::rerank`] never fails: on any error the shop's order comes back with the
//!   error beside it.
//!
//! The record never leaves the device through this crate: hosts store it locally and send
//! it nowhere unless the app explicitly exports it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::basket::BasketContext;
use crate::diversity::{Diversity, diversify};
use crate::error::RankError;
use crate::event_kind::EventKind;
use crate::explain::{Because, EventItems, reasons};
use crate::feedback::{Feedback, FeedbackRecord, Impression, SHOWN};
use crate::profile::Profile;
use crate::ranker::{Candidate, ItemSource, Ranker, Scored, ShopperEvent, StepTrace, sort_best_first};
use crate::text::{MAX_TITLE_BYTES, clip};

/// Events kept for rebuilding the profile after a model update.
pub const RECENT_EVENTS: usize = 50;
/// Version of the stored record's layout.
pub const RECORD_FORMAT: u32 = 1;
/// Explanations compare an item with this many of the list's best (see [`crate::explain`]).
pub const EXPLAIN_BASELINE: usize = 20;
/// Explanations name the latest this many events; older ones count as the earlier history
/// (after 20 GRU steps what is left of an event's part is negligible).
pub const EXPLAIN_EVENTS: usize = 20;
/// Longest item id or title kept in the ring (longer ones are cut, on a character boundary).
const MAX_TEXT: usize = MAX_TITLE_BYTES;
/// Longest code string kept in the ring (256 subspaces and the tag, in base64).
const MAX_CODE_CHARS: usize = 360;

/// A shopper event as the session records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedEvent {
    /// The shop's item id (non-empty).
    pub item_id: String,
    pub kind: EventKind,
    /// Milliseconds since the Unix epoch (as `Date.now()`).
    pub ts: f64,
    /// The item's code (see [`crate::codes`]); after a model update it no longer reads and
    /// the rebuild falls back to the id and the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl RecordedEvent {
    fn check(&self) -> Result<(), RankError> {
        if self.item_id.is_empty() {
            return Err(RankError::Event("itemId is empty".into()));
        }
        if !self.ts.is_finite() {
            return Err(RankError::Event(format!("ts must be a finite number of milliseconds, got {}", self.ts)));
        }
        Ok(())
    }

    fn as_shopper_event(&self) -> ShopperEvent<'_> {
        ShopperEvent {
            item_id: &self.item_id,
            kind: self.kind,
            ts: self.ts / 1000.0,
            code: self.code.as_deref(),
            title: self.title.as_deref(),
        }
    }
}

fn cut(text: String) -> String {
    if text.len() > MAX_TEXT { clip(&text, MAX_TEXT).to_string() } else { text }
}

/// The stored form of a session (JSON).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    format: u32,
    model_version: String,
    state: Vec<f32>,
    last_ts: Option<f64>,
    events: u64,
    recent: Vec<RecordedEvent>,
    /// What was learned from the shopper's feedback (see [`crate::feedback`]), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feedback: Option<FeedbackRecord>,
}

/// What [`Session::restore`] found in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// Nothing was stored: a new shopper.
    Fresh,
    /// The stored profile, as it was.
    Stored,
    /// The record belonged to another model version: the profile was rebuilt from the
    /// recent events that still read.
    RebuiltForModel { events: usize },
    /// The record was damaged: the profile was rebuilt from what could be read of it.
    RebuiltDamaged { events: usize },
    /// The stored profile, as it was; what it had learned from feedback was damaged and
    /// starts again from nothing.
    FeedbackReset,
}

impl Restored {
    /// A sentence for the host's warning channel, when there is something to say.
    pub fn warning(&self, model_version: &str) -> Option<String> {
        match self {
            Self::Fresh | Self::Stored => None,
            Self::RebuiltForModel { events } => {
                Some(format!("profile rebuilt from {events} recent events for model {model_version}"))
            }
            Self::RebuiltDamaged { events } => {
                Some(format!("stored profile was damaged; rebuilt from {events} recent events"))
            }
            Self::FeedbackReset => Some(
                "what the stored profile had learned from feedback was damaged and was reset; the profile is kept"
                    .into(),
            ),
        }
    }
}

/// A reranked list that is always usable: the model's order, or the shop's after an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Reranked {
    /// Best first; after an error, the shop's order with [`ItemSource::Shop`].
    pub ranked: Vec<Scored>,
    /// What went wrong, when the shop's order was returned.
    pub error: Option<RankError>,
    /// How many entries at the end of `ranked` are items the shopper already had (see
    /// [`Seen`]) or, in the basket context, products already in the basket; 0 unless asked for.
    pub seen: usize,
    /// Why the first [`RerankOptions::explain`] entries of `ranked` are there: the
    /// shopper's recent items that raised each one's score most (see [`crate::explain`]).
    pub explanations: Vec<Vec<Because>>,
}

/// How [`Session::rerank_options`] reranks a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RerankOptions {
    /// Keep the first this many (all when `None`).
    pub top_k: Option<usize>,
    /// Which items the shopper already had go to the end.
    pub seen: Seen,
    /// Explain the first this many results.
    pub explain: usize,
    /// Rank with the student alone, without what was learned from feedback.
    pub ignore_feedback: bool,
    /// Reorder the first places (`top_k`'s, or the whole list's, at most
    /// [`crate::diversity::MAX_WINDOW`]) for variety.
    pub diversity: Diversity,
    /// What the list is for: [`ListContext::Basket`] adds the basket head's terms.
    pub context: ListContext,
}

/// What a reranked list is for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListContext {
    /// The student's scores (search results, "recommended for you").
    #[default]
    Default,
    /// Add-ons to an open basket: the student's scores plus the basket head's (items
    /// bought again, products that go with the basket; see [`crate::basket`]); the
    /// basket's own products go last, counted in [`Reranked::seen`]. Needs a model
    /// exported with a basket head.
    Basket,
}

impl ListContext {
    /// The context named `name` (`"default"` or `"basket"`), as hosts pass it.
    pub fn from_name(name: &str) -> Result<Self, RankError> {
        match name {
            "default" => Ok(Self::Default),
            "basket" => Ok(Self::Basket),
            other => Err(RankError::Options(format!("context must be \"default\" or \"basket\" (got {other:?})"))),
        }
    }
}

/// Which items the shopper already had go to the end of a reranked list: the shop decides
/// whether an item already viewed, carted or bought may come back at the top (a
/// "recommended for you" list usually says no, a "buy again" list yes). Matched by id
/// against the session's recent events; the model's order is kept within each part.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// One bit per [`EventKind::index`]; none: nothing is moved.
    kinds: u8,
}

impl Seen {
    /// Nothing is moved (the default).
    pub const KEEP: Seen = Seen { kinds: 0 };

    /// Items with any recent event of these kinds.
    pub fn of(kinds: &[EventKind]) -> Self {
        Self { kinds: kinds.iter().fold(0, |bits, k| bits | 1 << k.index()) }
    }

    /// Items with any recent event.
    pub fn any() -> Self {
        Self::of(&EventKind::ALL)
    }

    /// The kinds as a bit mask (bit [`EventKind::index`]), as the package passes them.
    pub fn from_bits(bits: u8) -> Self {
        Self { kinds: bits & ((1 << EventKind::ALL.len()) - 1) }
    }

    fn moves(self, kind: EventKind) -> bool {
        self.kinds & (1 << kind.index()) != 0
    }
}

/// The shop's own order for `count` candidates, cut to `top_k`.
pub fn shop_order(count: usize, top_k: Option<usize>) -> Vec<Scored> {
    let k = top_k.map_or(count, |k| k.min(count));
    (0..k).map(|index| Scored { index, score: f32::NAN, source: ItemSource::Shop, code_error: None }).collect()
}

/// Each recent event's part of the profile state (see [`crate::explain`]), oldest first.
type Parts = VecDeque<Vec<f32>>;

/// Follows a GRU step in the parts: the older ones are scaled by what the step kept, and
/// the step's own part is added.
fn follow(parts: &mut Parts, trace: StepTrace) {
    for part in parts.iter_mut() {
        for (p, k) in part.iter_mut().zip(&trace.kept) {
            *p *= k;
        }
    }
    parts.push_back(trace.added);
}

/// The parts of `recent` folded from an empty profile: exact when the ring holds every
/// event of the profile; otherwise what the ring explains of it (the rest is "earlier").
fn replay_parts(ranker: &Ranker, recent: &VecDeque<RecordedEvent>) -> Parts {
    let mut profile = ranker.new_profile();
    let mut parts = VecDeque::with_capacity(RECENT_EVENTS);
    for event in recent {
        let mut trace = StepTrace::default();
        match ranker.observe_traced(&mut profile, &event.as_shopper_event(), &mut trace) {
            Ok(_) => follow(&mut parts, trace),
            // An event that does not fold in has no part (it cannot: `observe` checked it).
            Err(_) => parts.push_back(vec![0.0; ranker.profile_len()]),
        }
    }
    parts
}

/// One shopper's on-device state for one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    model_version: String,
    profile: Profile,
    recent: VecDeque<RecordedEvent>,
    /// One part per recent event; the state minus their sum is the older history's.
    parts: Parts,
    /// What the shopper's clicks and pass-overs taught (see [`crate::feedback`]).
    feedback: Feedback,
    /// Whether lists shown and events are learned from, and the correction applied.
    learning: bool,
}

impl Session {
    /// A shopper with no events.
    pub fn new(ranker: &Ranker) -> Self {
        Self {
            model_version: ranker.model_version().to_string(),
            profile: ranker.new_profile(),
            recent: VecDeque::with_capacity(RECENT_EVENTS),
            parts: VecDeque::with_capacity(RECENT_EVENTS),
            feedback: Feedback::new(ranker.profile_len()),
            learning: true,
        }
    }

    /// The session stored as `bytes` (from [`to_bytes`](Self::to_bytes); empty when nothing
    /// was stored). Never fails: a record of another model or a damaged one is rebuilt
    /// from its recent events, and [`Restored`] says which happened.
    pub fn restore(ranker: &Ranker, bytes: &[u8]) -> (Self, Restored) {
        if bytes.is_empty() {
            return (Self::new(ranker), Restored::Fresh);
        }
        if let Ok(record) = serde_json::from_slice::<Record>(bytes)
            && record.format == RECORD_FORMAT
            && record.model_version == ranker.model_version()
        {
            let profile = Profile { state: record.state, last_ts: record.last_ts, events: record.events };
            let recent_ok = record.recent.iter().all(|e| e.check().is_ok());
            if profile.check(ranker.profile_len()).is_ok() && recent_ok {
                let mut recent: VecDeque<RecordedEvent> = record.recent.into();
                while recent.len() > RECENT_EVENTS {
                    recent.pop_front();
                }
                let parts = replay_parts(ranker, &recent);
                let d = ranker.profile_len();
                let (feedback, how) = match record.feedback.as_ref().map(|f| Feedback::from_record(d, f)) {
                    None => (Feedback::new(d), Restored::Stored),
                    Some(Ok(feedback)) => (feedback, Restored::Stored),
                    Some(Err(_)) => (Feedback::new(d), Restored::FeedbackReset),
                };
                let model_version = ranker.model_version().to_string();
                let session = Self { model_version, profile, recent, parts, feedback, learning: true };
                return (session, how);
            }
        }
        // Another model, or damage: keep whatever recent events still read, in order.
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
        let same_model = value.get("modelVersion").and_then(|v| v.as_str()) == Some(ranker.model_version());
        let events: Vec<RecordedEvent> = value
            .get("recent")
            .and_then(|r| r.as_array())
            .map(|list| list.iter().filter_map(|e| serde_json::from_value(e.clone()).ok()).collect())
            .unwrap_or_default();
        let session = Self::rebuild(ranker, events);
        let events = session.recent.len();
        let how = if same_model { Restored::RebuiltDamaged { events } } else { Restored::RebuiltForModel { events } };
        (session, how)
    }

    /// A session folded from `events` (oldest first): the latest [`RECENT_EVENTS`] of
    /// them, those that no longer read (damaged, malformed) dropped. How a profile is
    /// rebuilt after a model update.
    pub fn rebuild(ranker: &Ranker, events: Vec<RecordedEvent>) -> Self {
        let mut session = Self::new(ranker);
        let skip = events.len().saturating_sub(RECENT_EVENTS);
        for event in events.into_iter().skip(skip) {
            let _ = session.observe(ranker, event);
        }
        session
    }

    /// The stored form: JSON with the model version, the profile and the recent events.
    pub fn to_bytes(&self) -> Vec<u8> {
        let record = Record {
            format: RECORD_FORMAT,
            model_version: self.model_version.clone(),
            state: self.profile.state.clone(),
            last_ts: self.profile.last_ts,
            events: self.profile.events,
            recent: self.recent.iter().cloned().collect(),
            feedback: self.feedback.to_record(),
        };
        serde_json::to_vec(&record).unwrap_or_default()
    }

    /// Folds one event into the profile and keeps it in the ring. A malformed event is an
    /// error and changes nothing.
    pub fn observe(&mut self, ranker: &Ranker, event: RecordedEvent) -> Result<ItemSource, RankError> {
        self.check_model(ranker)?;
        event.check()?;
        // A code longer than any model's is dropped rather than stored.
        let code = event.code.filter(|c| c.len() <= MAX_CODE_CHARS);
        let event = RecordedEvent { item_id: cut(event.item_id), title: event.title.map(cut), code, ..event };
        let mut profile = self.profile.clone();
        let mut trace = StepTrace::default();
        let source = ranker.observe_traced(&mut profile, &event.as_shopper_event(), &mut trace)?;
        self.profile = profile;
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
            self.parts.pop_front();
        }
        if self.learning {
            self.feedback.clicked(&event.item_id, event.ts);
        }
        self.recent.push_back(event);
        follow(&mut self.parts, trace);
        Ok(source)
    }

    /// Remembers that the list named `list` showed the first places of `ranked` (from
    /// [`rerank_options`](Self::rerank_options) over `candidates`) at `ts` (ms since the
    /// epoch, as events): a later event on one of them is a click on this list, and the
    /// places above it were passed over (see [`crate::feedback`]). Nothing is remembered
    /// for the shop's order (after an error) or while learning is off.
    pub fn shown(&mut self, ranker: &Ranker, list: &str, candidates: &[Candidate<'_>], ranked: &[Scored], ts: f64) {
        if !self.learning || !ts.is_finite() || self.check_model(ranker).is_err() {
            return;
        }
        let items: Vec<(String, Vec<f32>)> = ranked
            .iter()
            .take(SHOWN)
            .take_while(|s| s.source != ItemSource::Shop)
            .filter_map(|s| candidates.get(s.index))
            .map(|c| (clip(c.id, MAX_TEXT).to_string(), ranker.candidate_vector(c)))
            .collect();
        if !items.is_empty() {
            self.feedback.shown(Impression::new(clip(list, MAX_TEXT), ts, items));
        }
    }

    /// Turns learning from feedback on or off (on by default). Off, nothing is learned and
    /// lists are ranked by the student alone; what was learned is kept until
    /// [`forget`](Self::forget).
    pub fn set_learning(&mut self, on: bool) {
        self.learning = on;
    }

    /// What was learned from feedback.
    pub fn feedback(&self) -> &Feedback {
        &self.feedback
    }

    /// Whether reranks are corrected by feedback now (learning on and something learned).
    pub fn is_adapting(&self) -> bool {
        self.learning && self.feedback.is_active()
    }

    /// Reranks the shop's candidates for this shopper: best first, cut to `top_k`. Never
    /// fails: on any error the shop's order comes back, with the error.
    pub fn rerank(&self, ranker: &Ranker, candidates: &[Candidate<'_>], top_k: Option<usize>) -> Reranked {
        self.rerank_with(ranker, candidates, top_k, Seen::KEEP)
    }

    /// [`rerank`](Self::rerank), with the items the shopper already had (by `seen`) moved
    /// after all the others before the cut to `top_k`.
    pub fn rerank_with(
        &self,
        ranker: &Ranker,
        candidates: &[Candidate<'_>],
        top_k: Option<usize>,
        seen: Seen,
    ) -> Reranked {
        self.rerank_options(ranker, candidates, &RerankOptions { top_k, seen, ..Default::default() })
    }

    /// Reranks with every option: items already had moved to the end, the first places
    /// diversified, the cut to `top_k`, the first results explained. Never fails: on any
    /// error (options out of range included) the shop's order comes back, with the error.
    pub fn rerank_options(&self, ranker: &Ranker, candidates: &[Candidate<'_>], options: &RerankOptions) -> Reranked {
        let top_k = options.top_k;
        match self.try_rerank(ranker, candidates, options) {
            Ok(reranked) => reranked,
            // Every candidate comes back, however many there were.
            Err(error) => Reranked {
                ranked: shop_order(candidates.len(), top_k),
                error: Some(error),
                seen: 0,
                explanations: Vec::new(),
            },
        }
    }

    fn try_rerank(
        &self,
        ranker: &Ranker,
        candidates: &[Candidate<'_>],
        options: &RerankOptions,
    ) -> Result<Reranked, RankError> {
        self.check_model(ranker)?;
        options.diversity.check(candidates.len())?;
        let mut ranked = ranker.rerank(&self.profile, candidates)?;
        let basket = match options.context {
            ListContext::Basket => Some(self.add_basket_terms(ranker, candidates, &mut ranked)?),
            ListContext::Default => None,
        };
        let mut moved = 0;
        if options.seen != Seen::KEEP || basket.as_ref().is_some_and(|b| b.basket_len() > 0) {
            let seen = options.seen;
            let had: std::collections::HashSet<&str> =
                self.recent.iter().filter(|e| seen.moves(e.kind)).map(|e| e.item_id.as_str()).collect();
            // In the basket context, the basket's own products go last too.
            let is_seen = |s: &Scored| {
                candidates.get(s.index).is_some_and(|c| {
                    let id = clip(c.id, MAX_TEXT);
                    had.contains(id) || basket.as_ref().is_some_and(|b| b.holds(id))
                })
            };
            // A stable partition: the model's order within each part.
            let (fresh, old): (Vec<Scored>, Vec<Scored>) = ranked.into_iter().partition(|s| !is_seen(s));
            moved = old.len();
            ranked = fresh;
            ranked.extend(old);
        }
        if self.is_adapting() && !options.ignore_feedback {
            let fresh = ranked.len() - moved;
            self.feedback.adjust(&mut ranked[..fresh], |i| {
                (clip(candidates[i].id, MAX_TEXT).to_string(), ranker.candidate_vector(&candidates[i]))
            });
        }
        if !options.diversity.is_off() {
            let fresh = ranked.len() - moved;
            let window = options.top_k.unwrap_or(fresh).min(fresh);
            diversify(&mut ranked[..fresh], window, &options.diversity, |i| ranker.candidate_vector(&candidates[i]));
        }
        // Explanations say what lifted an item above the top of this list.
        let baseline: Vec<usize> = ranked.iter().take(EXPLAIN_BASELINE).map(|s| s.index).collect();
        if let Some(k) = options.top_k {
            moved = moved.saturating_sub(ranked.len().saturating_sub(k));
            ranked.truncate(k);
        }
        let explained: Vec<usize> = ranked.iter().take(options.explain).map(|s| s.index).collect();
        let explanations = if explained.is_empty() {
            Vec::new()
        } else {
            let skip = self.parts.len().saturating_sub(EXPLAIN_EVENTS);
            let parts: Vec<&[f32]> = self.parts.iter().skip(skip).map(Vec::as_slice).collect();
            let events = EventItems::new(self.recent.iter().skip(skip).map(|e| (e.item_id.as_str(), e.kind)));
            ranker
                .attribute(&self.profile, &parts, candidates, &explained, &baseline)?
                .iter()
                .map(|a| reasons(a, &events))
                .collect()
        };
        Ok(Reranked { ranked, error: None, seen: moved, explanations })
    }

    /// Adds the basket head's terms to `ranked` (the student's order) and sorts it again;
    /// the context it read.
    fn add_basket_terms(
        &self,
        ranker: &Ranker,
        candidates: &[Candidate<'_>],
        ranked: &mut [Scored],
    ) -> Result<BasketContext, RankError> {
        let weights = ranker.manifest().basket.ok_or_else(|| {
            RankError::Options(
                "context \"basket\" needs a model with a basket head (exported from a run distilled on basket data)"
                    .into(),
            )
        })?;
        weights.check()?;
        let vector_of = |id: &str| {
            let e = self.recent.iter().rev().find(|e| e.item_id == id);
            let (code, title) = e.map_or((None, None), |e| (e.code.as_deref(), e.title.as_deref()));
            ranker.candidate_vector(&Candidate { id, code, title, score: None })
        };
        let events = self.recent.iter().map(|e| (e.item_id.as_str(), e.kind, e.ts / 1000.0));
        let context = BasketContext::new(events, vector_of);
        let together = weights.together != 0.0 && context.basket_len() > 0;
        let mut vector = Vec::new();
        for s in ranked.iter_mut() {
            let Some(c) = candidates.get(s.index) else { continue };
            if together {
                ranker.candidate_vector_into(c, &mut vector);
            }
            s.score += context.lift(&weights, clip(c.id, MAX_TEXT), &vector);
        }
        sort_best_first(ranked);
        Ok(context)
    }

    /// Wipes the profile, the recent events and what was learned from feedback.
    pub fn forget(&mut self, ranker: &Ranker) {
        let learning = self.learning;
        *self = Self::new(ranker);
        self.learning = learning;
    }

    /// The current profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The recent events, oldest first.
    pub fn recent_events(&self) -> impl ExactSizeIterator<Item = &RecordedEvent> {
        self.recent.iter()
    }

    /// The model version this session's profile belongs to.
    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    /// Checks that this session belongs to `ranker`'s model (`E_PROFILE` otherwise).
    pub fn check_model(&self, ranker: &Ranker) -> Result<(), RankError> {
        if ranker.model_version() != self.model_version {
            return Err(RankError::ProfileBytes(format!(
                "the session belongs to model {}, not {}; restore it under this model to rebuild it",
                self.model_version,
                ranker.model_version()
            )));
        }
        Ok(())
    }
}
