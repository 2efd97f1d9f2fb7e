//! Explanations and diversity through the session: the split of a score over the
//! shopper's events adds up to the score, survives a page load, and bad options return the
//! shop's order.

mod common;

use pocketrank_runtime::artifact::Dims;
use pocketrank_runtime::session::{RECENT_EVENTS, RerankOptions};
use pocketrank_runtime::{Candidate, Diversity, EventKind, Ranker, RecordedEvent, Restored, Session};

fn ranker() -> Ranker {
    let dims = Dims { n_items: 60, d: 16, hidden: 16, vocab_size: 30, title_tokens: 4 };
    Ranker::from_bytes(&common::encode(&common::artifact(dims, "item-"))).unwrap()
}

fn event(item: &str, kind: EventKind, ts: f64) -> RecordedEvent {
    RecordedEvent { item_id: item.into(), kind, ts, code: None, title: None }
}

fn candidates(ids: &[String]) -> Vec<Candidate<'_>> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| Candidate { id, code: None, title: None, score: (i % 3 == 0).then_some(i as f32 / 10.0) })
        .collect()
}

fn session(r: &Ranker, events: usize) -> Session {
    let mut s = Session::new(r);
    for k in 0..events {
        let kind = if k % 4 == 3 { EventKind::Cart } else { EventKind::View };
        s.observe(r, event(&format!("item-{}", (k * 7) % 60), kind, k as f64 * 90_000.0)).unwrap();
    }
    s
}

#[test]
fn each_event_s_part_and_the_rest_add_up_to_the_score() {
    let r = ranker();
    let ids: Vec<String> = (0..60).map(|i| format!("item-{i}")).chain(["new-item".to_string()]).collect();
    let list = candidates(&ids);
    let which: Vec<usize> = (0..list.len()).collect();
    for events in [0, 1, 12, RECENT_EVENTS + 9] {
        let s = session(&r, events);
        let parts = parts_of(&r, &s);
        let scores = r.score(s.profile(), &list).unwrap();
        // Every part the session keeps, through `rerank_options`' own path.
        let explained = s.rerank_options(&r, &list, &RerankOptions { explain: list.len(), ..Default::default() });
        assert_eq!(explained.explanations.len(), list.len());
        // The recent events' parts, the earlier history and the rest add up to the score;
        // so do the earlier history and the rest alone (no parts).
        let parts: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
        let with_parts = r.attribute(s.profile(), &parts, &list, &which, &which[..20]).unwrap();
        let without = r.attribute(s.profile(), &[], &list, &which, &[]).unwrap();
        for ((a, b), scored) in with_parts.iter().zip(&without).zip(&scores) {
            assert!((b.score() - scored.score).abs() <= 1e-4 * scored.score.abs().max(1.0));
            let tolerance = 1e-4 * scored.score.abs().max(1.0);
            assert!(
                (a.score() - scored.score).abs() <= tolerance,
                "{events} events: {} vs {}",
                a.score(),
                scored.score
            );
            if events == 0 {
                assert_eq!(a.earlier, 0.0, "a new shopper has no history");
            }
        }
    }
}

#[test]
fn the_parts_cover_the_whole_profile_until_the_ring_overflows() {
    let r = ranker();
    let ids: Vec<String> = (0..60).map(|i| format!("item-{i}")).collect();
    let list = candidates(&ids);
    let all: Vec<usize> = (0..list.len()).collect();
    for (events, covered) in [(RECENT_EVENTS, true), (RECENT_EVENTS + 5, false)] {
        // Past the ring, the oldest events' parts are the earlier history (and a restored
        // session's parts start from an empty profile), so only the sums are compared.
        let s = session(&r, events);
        let (back, how) = Session::restore(&r, &s.to_bytes());
        assert_eq!(how, Restored::Stored);
        let options = RerankOptions { explain: 60, ..Default::default() };
        let (live, restored) = (s.rerank_options(&r, &list, &options), back.rerank_options(&r, &list, &options));
        if covered {
            assert_eq!(live, restored, "a page load keeps the explanations");
        }
        // The parts' share of each score: all of the history when the ring holds it all.
        let parts = parts_of(&r, &s);
        let parts: Vec<&[f32]> = parts.iter().map(Vec::as_slice).collect();
        let split = r.attribute(s.profile(), &parts, &list, &all, &[]).unwrap();
        let earlier = split.iter().map(|a| a.earlier.abs()).fold(0f32, f32::max);
        let history = split.iter().map(|a| a.parts.iter().map(|p| p.abs()).sum::<f32>()).fold(0f32, f32::max);
        assert!(history > 0.0);
        if covered {
            assert!(earlier <= 1e-4 * history, "{events} events: earlier {earlier} vs {history}");
        }
    }
}

/// The parts of a session's recent events, rebuilt the way a restored session does: from
/// an empty profile, each step's trace.
fn parts_of(r: &Ranker, s: &Session) -> Vec<Vec<f32>> {
    let mut profile = r.new_profile();
    let mut parts: Vec<Vec<f32>> = Vec::new();
    for e in s.recent_events() {
        let mut trace = pocketrank_runtime::StepTrace::default();
        let event = pocketrank_runtime::ShopperEvent {
            item_id: &e.item_id,
            kind: e.kind,
            ts: e.ts / 1000.0,
            code: None,
            title: None,
        };
        r.observe_traced(&mut profile, &event, &mut trace).unwrap();
        for p in &mut parts {
            p.iter_mut().zip(&trace.kept).for_each(|(x, k)| *x *= k);
        }
        parts.push(trace.added);
    }
    parts
}

#[test]
fn reasons_name_recent_items_once_with_shares_that_fit() {
    let r = ranker();
    let s = session(&r, 20);
    let ids: Vec<String> = (0..60).map(|i| format!("item-{i}")).collect();
    let list = candidates(&ids);
    let out = s.rerank_options(&r, &list, &RerankOptions { top_k: Some(8), explain: 20, ..Default::default() });
    assert_eq!(out.ranked.len(), 8);
    assert_eq!(out.explanations.len(), 8, "no more explanations than results");
    let recent: Vec<&str> = s.recent_events().map(|e| e.item_id.as_str()).collect();
    let mut named = 0;
    for because in &out.explanations {
        assert!(because.len() <= pocketrank_runtime::explain::MAX_REASONS);
        assert!(because.windows(2).all(|w| w[0].share >= w[1].share), "largest first");
        let total: f32 = because.iter().map(|b| b.share).sum();
        assert!(total <= 1.0 + 1e-5);
        for b in because {
            assert!(b.share > 0.0 && recent.contains(&b.item_id.as_str()));
            assert_eq!(because.iter().filter(|o| o.item_id == b.item_id).count(), 1, "one entry per item");
            let latest = s.recent_events().filter(|e| e.item_id == b.item_id).last().unwrap();
            assert_eq!(b.kind, latest.kind);
        }
        named += because.len();
    }
    assert!(named > 0);
    let fresh = Session::new(&r).rerank_options(&r, &list, &RerankOptions { explain: 5, ..Default::default() });
    assert!(fresh.explanations.iter().all(|b| b.is_empty()), "no history, no reasons");
}

#[test]
fn bad_diversity_options_return_the_shop_order() {
    let r = ranker();
    let s = session(&r, 5);
    let ids: Vec<String> = (0..30).map(|i| format!("item-{i}")).collect();
    let list = candidates(&ids);
    for diversity in [
        Diversity { lambda: 2.0, ..Default::default() },
        Diversity { lambda: f32::NAN, ..Default::default() },
        Diversity { lambda: 0.3, max_per_group: Some(2), groups: vec![] },
        Diversity { lambda: 0.3, max_per_group: Some(2), groups: vec![1; 29] },
    ] {
        let out = s.rerank_options(&r, &list, &RerankOptions { top_k: Some(10), diversity, ..Default::default() });
        assert_eq!(out.error.unwrap().code().as_str(), "E_OPTIONS");
        assert_eq!(out.ranked.iter().map(|x| x.index).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    }
    // A cap holds in the first places, and nothing is lost.
    let groups: Vec<u32> = (0..30).map(|i| (i % 3) as u32 + 1).collect();
    let diversity = Diversity { lambda: 0.2, max_per_group: Some(2), groups: groups.clone() };
    let out = s.rerank_options(&r, &list, &RerankOptions { diversity, ..Default::default() });
    assert!(out.error.is_none());
    assert_eq!(out.ranked.len(), 30);
    let first: Vec<u32> = out.ranked[..6].iter().map(|x| groups[x.index]).collect();
    for g in 1..=3 {
        assert_eq!(first.iter().filter(|&&x| x == g).count(), 2, "{first:?}");
    }
}
