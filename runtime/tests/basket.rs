//! The basket context through the session: items bought again come first, the "together"
//! term follows the open basket, each score is the student's plus the head's terms, and a
//! model without a basket head refuses the context with the shop's order.

mod common;

use pocketrank_runtime::artifact::Dims;
use pocketrank_runtime::basket::{BasketContext, BasketWeights};
use pocketrank_runtime::session::RerankOptions;
use pocketrank_runtime::{Candidate, ErrorCode, EventKind, ItemSource, ListContext, Ranker, RecordedEvent, Session};

const DAY_MS: f64 = 86_400_000.0;

fn ranker(basket: Option<BasketWeights>) -> Ranker {
    let dims = Dims { n_items: 80, d: 16, hidden: 16, vocab_size: 30, title_tokens: 4 };
    let mut a = common::artifact(dims, "item-");
    a.manifest.basket = basket;
    Ranker::from_bytes(&common::encode(&a)).unwrap()
}

fn event(item: usize, kind: EventKind, ts: f64) -> RecordedEvent {
    RecordedEvent { item_id: format!("item-{item}"), kind, ts, code: None, title: None }
}

/// Last week: item 3 bought three times, item 40 once, item 50 viewed; today: items 7
/// and 9 in the basket.
fn shopper(r: &Ranker) -> Session {
    let mut s = Session::new(r);
    let events = [
        event(3, EventKind::Purchase, 0.0),
        event(40, EventKind::Purchase, 1_000.0),
        event(3, EventKind::Purchase, 2.0 * DAY_MS),
        event(50, EventKind::View, 2.0 * DAY_MS + 5_000.0),
        event(3, EventKind::Purchase, 4.0 * DAY_MS),
        event(7, EventKind::Cart, 7.0 * DAY_MS),
        event(9, EventKind::Cart, 7.0 * DAY_MS + 60_000.0),
    ];
    for e in events {
        s.observe(r, e).unwrap();
    }
    s
}

fn ids() -> Vec<String> {
    (0..80).map(|i| format!("item-{i}")).collect()
}

fn candidates(ids: &[String]) -> Vec<Candidate<'_>> {
    ids.iter().map(|id| Candidate { id, ..Default::default() }).collect()
}

fn basket(top_k: Option<usize>) -> RerankOptions {
    RerankOptions { top_k, context: ListContext::Basket, ..Default::default() }
}

#[test]
fn items_bought_again_come_first_and_each_score_is_the_student_s_plus_the_head_s() {
    let weights = BasketWeights { repeat: 50.0, together: 2.0 };
    let r = ranker(Some(weights));
    let s = shopper(&r);
    let ids = ids();
    let list = candidates(&ids);
    let plain = s.rerank(&r, &list, None);
    let out = s.rerank_options(&r, &list, &basket(None));
    assert_eq!(out.error, None);
    assert_eq!(out.ranked.len(), 80);
    let order: Vec<usize> = out.ranked.iter().map(|x| x.index).collect();
    // Bought three times, then once: the repeat term dominates at 50. Items 7 and 9 are
    // in the basket already: last, counted as seen.
    assert_eq!(order[..2], [3, 40], "{order:?}");
    assert_eq!(out.seen, 2);
    let mut last: Vec<usize> = order[78..].to_vec();
    last.sort_unstable();
    assert_eq!(last, [7, 9]);
    assert!(order.iter().position(|&i| i == 50).unwrap() > 1, "a view is not a purchase");

    let recent: Vec<RecordedEvent> = s.recent_events().cloned().collect();
    let context = BasketContext::new(recent.iter().map(|e| (e.item_id.as_str(), e.kind, e.ts / 1000.0)), |id| {
        r.candidate_vector(&Candidate { id, ..Default::default() })
    });
    assert_eq!(context.basket_len(), 2, "items 7 and 9 are the open basket");
    let student: std::collections::HashMap<usize, f32> = plain.ranked.iter().map(|x| (x.index, x.score)).collect();
    for x in &out.ranked {
        let lift = context.lift(&weights, list[x.index].id, &r.candidate_vector(&list[x.index]));
        assert!((x.score - (student[&x.index] + lift)).abs() < 1e-4, "candidate {}", x.index);
        assert_eq!(x.source, ItemSource::Catalog);
    }
    // The default context is the student's order, untouched.
    assert_eq!(plain.ranked, s.rerank_options(&r, &list, &RerankOptions::default()).ranked);
}

#[test]
fn the_together_term_lifts_what_resembles_the_open_basket() {
    let r = ranker(Some(BasketWeights { repeat: 0.0, together: 1_000.0 }));
    let s = shopper(&r);
    let ids = ids();
    let list = candidates(&ids);
    let out = s.rerank_options(&r, &list, &basket(Some(10)));
    assert_eq!(out.ranked.len(), 10);
    // At this weight the order is the mean cosine with items 7 and 9's vectors.
    let unit = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(move |x| x / n)
    };
    let vector = |i: usize| r.candidate_vector(&list[i]);
    let direction: Vec<f32> = unit(vector(7)).zip(unit(vector(9))).map(|(a, b)| (a + b) / 2.0).collect();
    let cosine = |i: usize| unit(vector(i)).zip(&direction).map(|(a, b)| a * b).sum::<f32>();
    let mut by_cosine: Vec<usize> = (0..80).collect();
    by_cosine.sort_by(|&a, &b| cosine(b).total_cmp(&cosine(a)));
    // Items 7 and 9 themselves are closest, but in the basket already (they go last).
    let mut closest = by_cosine[..2].to_vec();
    closest.sort_unstable();
    assert_eq!(closest, [7, 9]);
    let first: Vec<usize> = out.ranked[..3].iter().map(|x| x.index).collect();
    assert_eq!(first, by_cosine[2..5], "{:?}", out.ranked);
    // Without a purchase or an open basket, both terms are zero: the student's order.
    let mut quiet = Session::new(&r);
    quiet.observe(&r, event(50, EventKind::View, 0.0)).unwrap();
    let plain = quiet.rerank(&r, &list, None).ranked;
    assert_eq!(quiet.rerank_options(&r, &list, &basket(None)).ranked, plain);
}

#[test]
fn a_model_without_a_basket_head_refuses_the_context_with_the_shop_order() {
    let r = ranker(None);
    let s = shopper(&r);
    let ids = ids();
    let list = candidates(&ids);
    let out = s.rerank_options(&r, &list, &basket(Some(5)));
    let error = out.error.expect("refused");
    assert_eq!(error.code(), ErrorCode::Options);
    assert!(error.to_string().contains("basket head"), "{error}");
    assert_eq!(out.ranked.iter().map(|x| x.index).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    assert!(out.ranked.iter().all(|x| x.source == ItemSource::Shop));
}
