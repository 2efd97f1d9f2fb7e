//! Does learning from feedback on the device help? A simulation with the teacher as the
//! shopper.
//!
//! Each simulated shopper is a test case: the student's profile after their real history,
//! and their taste is the teacher's scores after that same history (the teacher is the
//! better model, so it stands in for the real shopper). For [`SimSettings::rounds`] rounds
//! the shop shows its "recommended for you" list: the student's top [`POOL`] of the catalog
//! (history and earlier clicks masked), reranked on the device, its first [`SHOWN_PLACES`]
//! shown. The shopper scans the list top-down (the cascade model) and clicks the first item
//! that attracts them, with probability `0.3 σ(t_i − t_10)` where `t_10` is the teacher's
//! 10th best score (the teacher's top 10 attract 15–30% of the time, an item two logits
//! below the 10th 3.6%), or leaves. A click is an event:
//! both arms fold it into the profile, as the package does; the adaptive arm also learns
//! from it (and from lists left without a click) through
//! [`Feedback`](pocketrank_runtime::feedback::Feedback), exactly as a browser session does.
//!
//! Both arms see the same random draws (common random numbers), so their difference per
//! shopper is paired; the report gives its mean with a 95% confidence interval. Round 1 is
//! the no-feedback path: both arms must rank it identically. NDCG@10 of the shopper's real
//! held-out item is reported for the first and the last round.

use std::collections::HashSet;
use std::fmt::Write as _;

use pocketrank_model::metrics::{Scorer, ndcg};
use pocketrank_model::{EvalCase, Interaction};
use pocketrank_runtime::feedback::{Feedback, Impression, Tuning};
use pocketrank_runtime::{EventKind, Profile, Ranker, Scored};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::distillation::ranker::{RankerCases, item_row, top_scored};
use crate::progress::progress_bar;

/// Candidates per list: the student's top of the catalog, as a retriever would send them.
pub const POOL: usize = 50;
/// Places the shopper sees (and the cascade scans).
pub const SHOWN_PLACES: usize = 10;
/// The teacher's top this many items (outside the history) attract the shopper at least
/// half of [`MAX_ATTRACTION`].
const TASTE_TOP: usize = 10;
/// The most an item attracts the shopper.
const MAX_ATTRACTION: f32 = 0.3;
/// Seconds between two lists.
const ROUND_SECONDS: f64 = 60.0;
/// Seconds from a list to the click on it.
const CLICK_SECONDS: f64 = 5.0;

/// How a simulated shopper decides on an item they look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClickModel {
    /// Each look is a new draw: an item passed over may be clicked the next time it is
    /// shown, with the same probability (shoppers without memory).
    Memoryless,
    /// One draw per item and shopper for the whole session: an item passed over stays
    /// passed over, as a shopper who looked at it and moved on.
    Session,
}

/// How the simulation runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimSettings {
    /// Shoppers simulated (the first this many test cases; all when larger).
    pub shoppers: usize,
    /// Lists shown to each shopper.
    pub rounds: usize,
    pub seed: u64,
    pub click_model: ClickModel,
    /// The feedback strengths simulated, each an arm beside the static student.
    pub tunings: Vec<Tuning>,
}

/// One arm's outcome, averaged over the shoppers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArmReport {
    pub name: String,
    /// Clicks per shopper over all rounds (clicks-at-10).
    pub clicks: f64,
    /// Share of lists clicked, per round.
    pub click_rate_per_round: Vec<f64>,
    /// NDCG@10 of the shopper's real held-out item in the first and the last list.
    pub ndcg10_first: f64,
    pub ndcg10_last: f64,
    /// This arm minus the static student, in clicks per shopper: mean, 95% confidence
    /// interval, relative to the static student.
    pub lift_clicks: f64,
    pub lift_ci95: [f64; 2],
    pub lift_relative: f64,
    /// Shoppers whose first list differed from the static student's (must be 0: no
    /// feedback yet).
    pub first_lists_differing: usize,
}

/// The simulation's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimReport {
    pub settings: SimSettings,
    pub shoppers: usize,
    /// The static student first, then one arm per tuning, then the oracle (the ceiling of
    /// any reranking of the student's candidates).
    pub arms: Vec<ArmReport>,
}

/// One shopper's outcome in one arm.
#[derive(Debug, Clone, Default)]
struct Outcome {
    clicked: Vec<bool>,
    ndcg_first: f64,
    ndcg_last: f64,
    first_list: Vec<usize>,
}

/// Runs the simulation on `cases` with the exported `ranker` and the `teacher`'s scores.
pub fn simulate(
    cases: &[EvalCase],
    ranker: &Ranker,
    teacher: &dyn Scorer,
    events: &[Vec<Interaction>],
    settings: &SimSettings,
) -> SimReport {
    let cases = &cases[..settings.shoppers.min(cases.len())];
    let n = ranker.manifest().dims.n_items;
    let bar = progress_bar(cases.len() as u64, "simulation");
    let mut outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(cases.len());
    let arms: Vec<Arm> = std::iter::once(Arm::Static)
        .chain(settings.tunings.iter().copied().map(Arm::Feedback))
        .chain([Arm::Oracle])
        .collect();
    for chunk in cases.chunks(64) {
        let histories: Vec<&[u32]> = chunk.iter().map(|c| c.history.as_slice()).collect();
        let mut taste = vec![0f32; chunk.len() * n];
        teacher.score_batch(&histories, &mut taste);
        let run = |part: &[(usize, &EvalCase)]| -> Vec<Vec<Outcome>> {
            part.iter()
                .map(|&(k, case)| {
                    let taste = &taste[k * n..(k + 1) * n];
                    let profile = RankerCases { ranker, events }.profile(case);
                    let start = events
                        .get(case.user as usize)
                        .and_then(|e| e.get(case.history.len().saturating_sub(1)))
                        .map_or(0.0, |e| e.ts as f64);
                    let shopper = Shopper::new(case, taste, settings.seed, settings.click_model);
                    let outcomes = arms
                        .iter()
                        .map(|&tuning| shopper.run(ranker, profile.clone(), start, settings.rounds, tuning))
                        .collect();
                    bar.inc(1);
                    outcomes
                })
                .collect()
        };
        let indexed: Vec<(usize, &EvalCase)> = chunk.iter().enumerate().collect();
        let half = indexed.len().div_ceil(2);
        let (a, b) = std::thread::scope(|s| {
            let other = s.spawn(|| run(&indexed[..half]));
            let mine = run(&indexed[half..]);
            (other.join().unwrap_or_default(), mine)
        });
        outcomes.extend(a);
        outcomes.extend(b);
    }
    bar.finish_and_clear();
    report(settings, &outcomes)
}

/// Who orders the student's candidates.
#[derive(Debug, Clone, Copy)]
enum Arm {
    /// The student alone.
    Static,
    /// The student corrected by feedback learned on the device.
    Feedback(Tuning),
    /// The simulated shopper's own taste: the most any reranker of these candidates could do.
    Oracle,
}

/// A simulated shopper: their held-out item, their taste and their random draws.
struct Shopper<'a> {
    case: &'a EvalCase,
    /// Click probability per catalog item (0 for the history).
    attraction: Vec<f32>,
    /// Uniform draws per round and place, shared by the arms (memoryless shoppers).
    draws: Vec<f64>,
    /// The session's draw per item comes from this (session shoppers).
    seed: u64,
    click_model: ClickModel,
}

impl<'a> Shopper<'a> {
    fn new(case: &'a EvalCase, taste: &[f32], seed: u64, click_model: ClickModel) -> Self {
        let history: HashSet<u32> = case.history.iter().copied().collect();
        // The teacher's 10th best logit outside the history: its top 10 are what this
        // shopper might want, each at most MAX_ATTRACTION of the time.
        let mut open: Vec<f32> =
            taste.iter().enumerate().filter(|(i, _)| !history.contains(&(*i as u32))).map(|(_, &t)| t).collect();
        let k = TASTE_TOP.min(open.len()).max(1) - 1;
        let tenth = if open.is_empty() { 0.0 } else { *open.select_nth_unstable_by(k, |a, b| b.total_cmp(a)).1 };
        let attraction = taste
            .iter()
            .enumerate()
            .map(|(i, &t)| if history.contains(&(i as u32)) { 0.0 } else { MAX_ATTRACTION / (1.0 + (tenth - t).exp()) })
            .collect();
        let seed = seed ^ (u64::from(case.user) << 20);
        let mut rng = StdRng::seed_from_u64(seed);
        let draws = (0..1024).map(|_| rng.random::<f64>()).collect();
        Self { case, attraction, draws, seed, click_model }
    }

    /// Whether the shopper clicks `item`, looked at in `round` at `place`.
    fn clicks(&self, item: usize, round: usize, place: usize) -> bool {
        let u = match self.click_model {
            ClickModel::Memoryless => self.draws[(round * SHOWN_PLACES + place) % self.draws.len()],
            ClickModel::Session => {
                StdRng::seed_from_u64(self.seed ^ (item as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).random()
            }
        };
        u < f64::from(self.attraction[item])
    }

    /// One arm's session.
    fn run(&self, ranker: &Ranker, mut profile: Profile, start: f64, rounds: usize, arm: Arm) -> Outcome {
        let (adaptive, tuning) = match arm {
            Arm::Feedback(tuning) => (true, tuning),
            _ => (false, Tuning::default()),
        };
        let n = ranker.manifest().dims.n_items;
        let d = ranker.profile_len();
        let vector = |i: usize| item_row(ranker, i).to_vec();
        let mut feedback = Feedback::with_tuning(d, tuning);
        let mut masked: HashSet<u32> = self.case.history.iter().copied().collect();
        let mut scores = vec![0f32; n];
        let mut outcome = Outcome::default();
        for round in 0..rounds {
            let ts = start + round as f64 * ROUND_SECONDS;
            if ranker.score_catalog(&profile, &mut scores).is_err() {
                break;
            }
            let mut list = top_scored(&mut scores, masked.iter().copied(), POOL);
            if adaptive {
                feedback.adjust(&mut list, |i| (i.to_string(), vector(i)));
            }
            if let Arm::Oracle = arm {
                let taste = |s: &Scored| self.attraction[s.index];
                list.sort_by(|a, b| taste(b).total_cmp(&taste(a)).then(a.index.cmp(&b.index)));
            }
            let shown: Vec<usize> = list.iter().take(SHOWN_PLACES).map(|s| s.index).collect();
            let gain = shown.iter().position(|&i| i == self.case.target as usize).map_or(0.0, |r| ndcg(r, 10));
            if round == 0 {
                outcome.ndcg_first = gain;
                outcome.first_list = shown.clone();
            }
            outcome.ndcg_last = gain;
            if adaptive {
                let items = shown.iter().map(|&i| (i.to_string(), vector(i))).collect();
                feedback.shown(Impression::new("home", ts * 1000.0, items));
            }
            let click = shown.iter().enumerate().find(|&(place, &i)| self.clicks(i, round, place)).map(|(_, &i)| i);
            outcome.clicked.push(click.is_some());
            if let Some(item) = click {
                let at = ts + CLICK_SECONDS;
                let _ = ranker.observe_item(&mut profile, item as u32, EventKind::View, at);
                masked.insert(item as u32);
                if adaptive {
                    feedback.clicked(&item.to_string(), at * 1000.0);
                }
            }
        }
        outcome
    }
}

fn report(settings: &SimSettings, outcomes: &[Vec<Outcome>]) -> SimReport {
    let shoppers = outcomes.len().max(1) as f64;
    let clicks = |o: &Outcome| o.clicked.iter().filter(|&&c| c).count() as f64;
    let arm_count = settings.tunings.len() + 2;
    let mut arms: Vec<ArmReport> = (0..arm_count)
        .map(|k| {
            let name = match k.checked_sub(1).map(|t| settings.tunings.get(t)) {
                None => "static student".to_string(),
                Some(Some(t)) => format!("+ feedback (reach {} σ, explore {})", t.reach, t.explore),
                Some(None) => "oracle: the same candidates by the shopper's taste".to_string(),
            };
            let mut arm = ArmReport { name, ..Default::default() };
            arm.click_rate_per_round = (0..settings.rounds)
                .map(|r| outcomes.iter().filter(|o| o[k].clicked.get(r) == Some(&true)).count() as f64 / shoppers)
                .collect();
            arm.clicks = arm.click_rate_per_round.iter().sum();
            arm.ndcg10_first = outcomes.iter().map(|o| o[k].ndcg_first).sum::<f64>() / shoppers;
            arm.ndcg10_last = outcomes.iter().map(|o| o[k].ndcg_last).sum::<f64>() / shoppers;
            let diffs: Vec<f64> = outcomes.iter().map(|o| clicks(&o[k]) - clicks(&o[0])).collect();
            let mean = diffs.iter().sum::<f64>() / shoppers;
            let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (shoppers - 1.0).max(1.0);
            let half = 1.96 * (var / shoppers).sqrt();
            arm.lift_clicks = mean;
            arm.lift_ci95 = [mean - half, mean + half];
            arm.first_lists_differing = outcomes.iter().filter(|o| o[k].first_list != o[0].first_list).count();
            arm
        })
        .collect();
    let base = arms.first().map_or(0.0, |a| a.clicks);
    for arm in &mut arms {
        arm.lift_relative = if base > 0.0 { arm.lift_clicks / base } else { 0.0 };
    }
    SimReport { settings: settings.clone(), shoppers: outcomes.len(), arms }
}

/// The report as Markdown.
pub fn markdown(report: &SimReport) -> String {
    let mut out = format!(
        "{} simulated shoppers ({:?} click model), {} lists each (seed {}); the teacher as the shopper.\n\n\
         | arm | clicks per shopper | lift (95% CI) | click rate, first / last list | NDCG@10 of the held-out item, first / last list | first lists changed |\n|---|---|---|---|---|---|\n",
        report.shoppers, report.settings.click_model, report.settings.rounds, report.settings.seed
    );
    for arm in &report.arms {
        let rate = |r: Option<&f64>| r.copied().unwrap_or(0.0);
        let _ = writeln!(
            out,
            "| {} | {:.4} | {:+.1}% ({:+.4} [{:+.4}, {:+.4}]) | {:.4} / {:.4} | {:.4} / {:.4} | {} |",
            arm.name,
            arm.clicks,
            100.0 * arm.lift_relative,
            arm.lift_clicks,
            arm.lift_ci95[0],
            arm.lift_ci95[1],
            rate(arm.click_rate_per_round.first()),
            rate(arm.click_rate_per_round.last()),
            arm.ndcg10_first,
            arm.ndcg10_last,
            arm.first_lists_differing
        );
    }
    out
}
