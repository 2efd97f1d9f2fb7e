//! The shopper session: ring buffer, stored record, rebuild after a model update, and the
//! shop's order on every failure.

mod common;

use pocketrank_runtime::session::{RECENT_EVENTS, shop_order};
use pocketrank_runtime::{
    Candidate, EventKind, ItemSource, MAX_CANDIDATES, Ranker, RecordedEvent, Restored, Seen, Session,
};

fn ranker(n_items: usize) -> Ranker {
    Ranker::from_bytes(&common::encode(&common::small_artifact(n_items))).unwrap()
}

fn event(item: &str, ts: f64) -> RecordedEvent {
    RecordedEvent { item_id: item.into(), kind: EventKind::View, ts, code: None, title: None }
}

fn candidates(ids: &[String]) -> Vec<Candidate<'_>> {
    ids.iter().map(|id| Candidate { id, code: None, title: None, score: None }).collect()
}

#[test]
fn a_stored_session_comes_back_as_it_was() {
    let r = ranker(40);
    let (mut s, how) = Session::restore(&r, &[]);
    assert_eq!(how, Restored::Fresh);
    for (k, id) in ["item-3", "item-9", "not-in-catalog"].iter().enumerate() {
        s.observe(&r, event(id, 1000.0 * k as f64)).unwrap();
    }
    let (back, how) = Session::restore(&r, &s.to_bytes());
    assert_eq!(how, Restored::Stored);
    assert_eq!(back, s);
    assert_eq!(how.warning(r.model_version()), None);
    // The session's profile is the runtime's, event by event.
    let mut p = r.new_profile();
    for e in s.recent_events() {
        r.observe(
            &mut p,
            &pocketrank_runtime::ShopperEvent {
                item_id: &e.item_id,
                kind: e.kind,
                ts: e.ts / 1000.0,
                code: None,
                title: None,
            },
        )
        .unwrap();
    }
    assert_eq!(&p, s.profile());
}

#[test]
fn the_ring_keeps_the_latest_events_only() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    for k in 0..RECENT_EVENTS + 7 {
        s.observe(&r, event(&format!("item-{}", k % 40), k as f64)).unwrap();
    }
    assert_eq!(s.recent_events().len(), RECENT_EVENTS);
    assert_eq!(s.recent_events().next().unwrap().ts, 7.0);
    assert_eq!(s.profile().events, (RECENT_EVENTS + 7) as u64, "the profile saw every event");
    let long = RecordedEvent { title: Some("é".repeat(100_000)), ..event("brand-new", 100.0) };
    s.observe(&r, long).unwrap();
    let kept = s.recent_events().last().unwrap();
    assert!(kept.title.as_ref().unwrap().len() <= 1024, "huge titles are cut before they are stored");
}

#[test]
fn a_model_update_rebuilds_the_profile_from_recent_events() {
    let (old, new) = (ranker(40), ranker(41));
    assert_ne!(old.model_version(), new.model_version());
    let mut s = Session::new(&old);
    for k in 0..5 {
        s.observe(&old, event(&format!("item-{k}"), k as f64 * 60_000.0)).unwrap();
    }
    let (rebuilt, how) = Session::restore(&new, &s.to_bytes());
    assert_eq!(how, Restored::RebuiltForModel { events: 5 });
    assert!(how.warning(new.model_version()).unwrap().contains(new.model_version()));
    let mut expected = Session::new(&new);
    for e in s.recent_events() {
        expected.observe(&new, e.clone()).unwrap();
    }
    assert_eq!(rebuilt, expected);
    // The old session is refused by the new model, with the shop's order.
    let ids: Vec<String> = (0..4).map(|i| format!("item-{i}")).collect();
    let out = s.rerank(&new, &candidates(&ids), None);
    assert!(out.error.is_some());
    assert!(out.ranked.iter().enumerate().all(|(i, x)| x.index == i && x.source == ItemSource::Shop));
}

#[test]
fn damaged_records_are_rebuilt_from_what_still_reads() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    s.observe(&r, event("item-1", 0.0)).unwrap();
    s.observe(&r, event("item-2", 1.0)).unwrap();
    let text = String::from_utf8(s.to_bytes()).unwrap();
    // A state of the wrong width (a damaged write): rebuilt from the two events.
    let bad_state = text.replacen("\"state\":[", "\"state\":[1.0,", 1);
    let (back, how) = Session::restore(&r, bad_state.as_bytes());
    assert_eq!(how, Restored::RebuiltDamaged { events: 2 });
    assert_eq!(back, s);
    // One unreadable event: the others are kept.
    let bad_event = text.replacen("\"itemId\":\"item-1\"", "\"itemId\":7", 1);
    let (back, how) = Session::restore(&r, bad_event.as_bytes());
    assert_eq!(how, Restored::RebuiltDamaged { events: 1 });
    assert_eq!(back.recent_events().next().unwrap().item_id, "item-2");
    // Not JSON at all, or not UTF-8: a fresh profile, never a panic.
    for garbage in [&b"\xff\xfe\x00garbage"[..], b"{", b"[]", b"null"] {
        let (back, how) = Session::restore(&r, garbage);
        assert_eq!(back, Session::new(&r));
        assert!(matches!(how, Restored::RebuiltForModel { events: 0 } | Restored::RebuiltDamaged { events: 0 }));
    }
}

#[test]
fn malformed_events_change_nothing() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    s.observe(&r, event("item-1", 0.0)).unwrap();
    let before = s.clone();
    assert_eq!(s.observe(&r, event("", 1.0)).unwrap_err().code().as_str(), "E_EVENT");
    let nan = s.observe(&r, event("item-2", f64::NAN)).unwrap_err();
    assert_eq!(nan.code().as_str(), "E_EVENT");
    assert!(nan.to_string().contains("milliseconds"), "{nan}");
    assert_eq!(s.observe(&r, event("item-2", f64::INFINITY)).unwrap_err().code().as_str(), "E_EVENT");
    assert_eq!(s, before);
}

#[test]
fn items_the_shopper_already_had_go_last_when_the_shop_asks() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    s.observe(&r, event("item-4", 0.0)).unwrap();
    s.observe(&r, RecordedEvent { kind: EventKind::Purchase, ..event("item-7", 1.0) }).unwrap();
    let ids: Vec<String> = (0..12).map(|i| format!("item-{i}")).collect();
    let plain = s.rerank(&r, &candidates(&ids), None);
    assert_eq!(plain.seen, 0);
    let order = |out: &pocketrank_runtime::Reranked| out.ranked.iter().map(|x| x.index).collect::<Vec<_>>();
    let without = |drop: &[usize]| order(&plain).into_iter().filter(|i| !drop.contains(i)).collect::<Vec<_>>();

    // Any kind: both go last, each part in the model's order.
    let any = s.rerank_with(&r, &candidates(&ids), None, Seen::any());
    assert_eq!(any.seen, 2);
    assert_eq!(order(&any)[..10], without(&[4, 7])[..]);
    let mut last = order(&any)[10..].to_vec();
    let model_order: Vec<usize> = order(&plain).into_iter().filter(|i| [4, 7].contains(i)).collect();
    assert_eq!(last, model_order);
    last.sort();
    assert_eq!(last, [4, 7]);
    // Scores are the model's: only the order changes.
    for x in &any.ranked {
        assert_eq!(x.score, plain.ranked.iter().find(|p| p.index == x.index).unwrap().score);
    }

    // Purchases only: the viewed item stays where the model put it.
    let bought = s.rerank_with(&r, &candidates(&ids), None, Seen::of(&[EventKind::Purchase]));
    assert_eq!((bought.seen, *order(&bought).last().unwrap()), (1, 7));
    assert_eq!(order(&bought)[..11], without(&[7])[..]);

    // The cut to top_k counts only the moved items still in the list.
    assert_eq!(s.rerank_with(&r, &candidates(&ids), Some(5), Seen::any()).seen, 0);
    let cut = s.rerank_with(&r, &candidates(&ids), Some(11), Seen::any());
    assert_eq!((cut.ranked.len(), cut.seen), (11, 1));
    assert_eq!(Seen::from_bits(0b1111), Seen::any());
    assert_eq!(Seen::from_bits(0), Seen::KEEP);
    assert_eq!(Seen::from_bits(0xf0), Seen::KEEP, "unknown bits are ignored");
    let failed = s.rerank_with(&r, &candidates(&vec!["item-4".to_string(); MAX_CANDIDATES + 1]), Some(3), Seen::any());
    assert_eq!((failed.ranked.len(), failed.seen), (3, 0), "the shop's order moves nothing");
}

#[test]
fn rerank_falls_back_to_the_shop_order() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    s.observe(&r, event("item-1", 0.0)).unwrap();
    let ids: Vec<String> = (0..10).map(|i| format!("item-{i}")).collect();
    let ok = s.rerank(&r, &candidates(&ids), Some(3));
    assert_eq!(ok.error, None);
    assert_eq!(ok.ranked.len(), 3);
    assert!(ok.ranked.windows(2).all(|w| w[0].score >= w[1].score));
    let many: Vec<String> = (0..MAX_CANDIDATES + 1).map(|i| format!("item-{}", i % 40)).collect();
    let out = s.rerank(&r, &candidates(&many), Some(5));
    assert_eq!(out.error.as_ref().unwrap().code().as_str(), "E_TOO_MANY");
    assert_eq!(out.ranked.iter().map(|x| x.index).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    let all = s.rerank(&r, &candidates(&many), None);
    assert_eq!(all.ranked.len(), MAX_CANDIDATES + 1, "the shop's order keeps every candidate");
    assert!(out.ranked.iter().all(|x| x.source == ItemSource::Shop && x.score.is_nan()));
    assert_eq!(shop_order(3, Some(10)).len(), 3, "topK beyond the list keeps every candidate");
    assert_eq!(shop_order(3, Some(0)).len(), 0);
    assert_eq!(shop_order(3, None).len(), 3);
}

#[test]
fn forget_wipes_profile_and_events() {
    let r = ranker(40);
    let mut s = Session::new(&r);
    s.observe(&r, event("item-1", 0.0)).unwrap();
    s.forget(&r);
    assert_eq!(s, Session::new(&r));
    assert_eq!(Session::restore(&r, &s.to_bytes()).1, Restored::Stored);
}

mod stored_bytes {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever storage hands back — random bytes, or a real record with one byte
        /// changed — restores to a usable session of this model, never a panic.
        #[test]
        fn any_stored_bytes_restore_to_a_usable_session(
            noise in proptest::collection::vec(any::<u8>(), 0..256),
            at in any::<prop::sample::Index>(),
            value in any::<u8>(),
        ) {
            let r = ranker(20);
            let mut s = Session::new(&r);
            for k in 0..4 {
                s.observe(&r, event(&format!("item-{k}"), k as f64)).unwrap();
            }
            let mut record = s.to_bytes();
            let i = at.index(record.len());
            record[i] = value;
            for bytes in [noise.as_slice(), record.as_slice()] {
                let (back, _) = Session::restore(&r, bytes);
                prop_assert!(back.profile().check(r.profile_len()).is_ok());
                prop_assert!(back.recent_events().len() <= RECENT_EVENTS);
                let ids = ["item-1".to_string(), "item-2".to_string()];
                prop_assert_eq!(back.rerank(&r, &candidates(&ids), None).error, None);
            }
        }
    }
}
