//! Learning from feedback through the session: nothing changes until the shopper reacts to
//! a shown list, clicks reorder the top of the next list within bounds, the learned state
//! survives a page load (and a damaged one is reset, the profile kept), and learning can be
//! turned off or forgotten.

mod common;

use pocketrank_runtime::artifact::Dims;
use pocketrank_runtime::feedback::{REACH, WINDOW};
use pocketrank_runtime::session::RerankOptions;
use pocketrank_runtime::{Candidate, EventKind, Ranker, RecordedEvent, Restored, Scored, Session};

fn ranker() -> Ranker {
    let dims = Dims { n_items: 80, d: 16, hidden: 16, vocab_size: 30, title_tokens: 4 };
    Ranker::from_bytes(&common::encode(&common::artifact(dims, "item-"))).unwrap()
}

fn view(item: &str, ts: f64) -> RecordedEvent {
    RecordedEvent { item_id: item.into(), kind: EventKind::View, ts, code: None, title: None }
}

fn ids() -> Vec<String> {
    (0..80).map(|i| format!("item-{i}")).collect()
}

fn candidates(ids: &[String]) -> Vec<Candidate<'_>> {
    ids.iter().map(|id| Candidate { id, ..Default::default() }).collect()
}

fn order(ranked: &[Scored]) -> Vec<usize> {
    ranked.iter().map(|s| s.index).collect()
}

/// A shopper with a few views, then a list shown and its 8th place clicked.
fn clicked_session(r: &Ranker, list: &[Candidate<'_>]) -> (Session, Vec<Scored>) {
    let mut s = Session::new(r);
    for k in 0..5 {
        s.observe(r, view(&format!("item-{}", k * 11), k as f64 * 60_000.0)).unwrap();
    }
    let before = s.rerank(r, list, None).ranked;
    s.shown(r, "home", list, &before, 400_000.0);
    let clicked = list[before[7].index].id.to_string();
    s.observe(r, view(&clicked, 410_000.0)).unwrap();
    (s, before)
}

#[test]
fn lists_and_events_teach_nothing_until_an_event_is_on_a_shown_item() {
    let r = ranker();
    let ids = ids();
    let list = candidates(&ids);
    let mut s = Session::new(&r);
    s.observe(&r, view("item-3", 0.0)).unwrap();
    let first = s.rerank(&r, &list, None).ranked;
    s.shown(&r, "home", &list, &first, 1_000.0);
    // An event on an item that was never shown is an event, not feedback.
    s.observe(&r, view("item-79-not-shown", 2_000.0)).unwrap();
    assert!(!s.is_adapting());
    assert_eq!(s.feedback().judged(), 0);
    let mut plain = Session::new(&r);
    plain.observe(&r, view("item-3", 0.0)).unwrap();
    plain.observe(&r, view("item-79-not-shown", 2_000.0)).unwrap();
    assert_eq!(s.rerank(&r, &list, None).ranked, plain.rerank(&r, &list, None).ranked);
}

#[test]
fn a_click_reorders_the_top_of_the_next_list_within_bounds() {
    let r = ranker();
    let ids = ids();
    let list = candidates(&ids);
    let (s, _) = clicked_session(&r, &list);
    assert!(s.is_adapting());
    assert_eq!(s.feedback().judged(), 8, "the click and the 7 places above it");
    let adapted = s.rerank(&r, &list, None).ranked;
    let plain = s.rerank_options(&r, &list, &RerankOptions { ignore_feedback: true, ..Default::default() }).ranked;
    assert_ne!(order(&adapted), order(&plain));
    // Below the window nothing moves; inside it, the same items in another order.
    assert_eq!(order(&adapted)[WINDOW..], order(&plain)[WINDOW..]);
    let mut top_a = order(&adapted)[..WINDOW].to_vec();
    let mut top_p = order(&plain)[..WINDOW].to_vec();
    top_a.sort_unstable();
    top_p.sort_unstable();
    assert_eq!(top_a, top_p);
    // Each score moved by at most REACH standard deviations of the window's scores.
    let window: Vec<f32> = plain[..WINDOW].iter().map(|s| s.score).collect();
    let mean = window.iter().sum::<f32>() / WINDOW as f32;
    let sigma = (window.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / WINDOW as f32).sqrt();
    for a in &adapted[..WINDOW] {
        let p = plain.iter().find(|p| p.index == a.index).unwrap();
        assert!((a.score - p.score).abs() <= REACH as f32 * sigma * 1.001, "{a:?} vs {p:?}");
    }
}

#[test]
fn what_was_learned_survives_a_page_load_and_damage_resets_it_alone() {
    let r = ranker();
    let ids = ids();
    let list = candidates(&ids);
    let (s, _) = clicked_session(&r, &list);
    let bytes = s.to_bytes();
    let (back, how) = Session::restore(&r, &bytes);
    assert_eq!(how, Restored::Stored);
    assert_eq!(back.rerank(&r, &list, None), s.rerank(&r, &list, None));

    let mut record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    record["feedback"]["target"][0] = serde_json::json!("not a number");
    let (damaged, how) = Session::restore(&r, &serde_json::to_vec(&record).unwrap());
    // A field of the wrong type damages the whole record: the profile is rebuilt from events.
    assert!(matches!(how, Restored::RebuiltDamaged { .. }), "{how:?}");
    assert!(!damaged.is_adapting());

    let mut record: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    record["feedback"]["gram"][0] = serde_json::json!(-3.0);
    let (reset, how) = Session::restore(&r, &serde_json::to_vec(&record).unwrap());
    assert_eq!(how, Restored::FeedbackReset);
    assert!(how.warning(r.model_version()).unwrap().contains("reset"));
    assert!(!reset.is_adapting());
    assert_eq!(reset.profile(), s.profile(), "the profile is kept");
}

#[test]
fn learning_off_ranks_by_the_student_alone_and_forget_wipes_it() {
    let r = ranker();
    let ids = ids();
    let list = candidates(&ids);
    let (mut s, _) = clicked_session(&r, &list);
    let plain = s.rerank_options(&r, &list, &RerankOptions { ignore_feedback: true, ..Default::default() });
    s.set_learning(false);
    assert!(!s.is_adapting());
    assert_eq!(s.rerank(&r, &list, None), plain);
    // Off: lists shown and events teach nothing.
    let judged = s.feedback().judged();
    let shown = s.rerank(&r, &list, None).ranked;
    s.shown(&r, "home", &list, &shown, 900_000.0);
    s.observe(&r, view(&ids[shown[5].index], 905_000.0)).unwrap();
    assert_eq!(s.feedback().judged(), judged);
    s.set_learning(true);
    s.forget(&r);
    assert!(!s.is_adapting());
    assert_eq!(s.feedback().judged(), 0);
    assert!(!String::from_utf8(s.to_bytes()).unwrap().contains("feedback"));
}
