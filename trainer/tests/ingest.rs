//! Ingestion of the real datasets: the counts of `shared/data/README.md`.

mod common;

use pocketrank_trainer::data::{self, LoadOptions};

fn load(name: &str) -> data::Ingested {
    let opts = LoadOptions { skip_bad_rows: false, allow_download: false, ..LoadOptions::default() };
    data::load(name, &common::data_dir(), &opts, &|_| {}).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn beauty_counts_titles_and_time() {
    let ing = load("amazon-beauty-s3rec");
    let s = ing.dataset.stats();
    assert_eq!((s.users, s.items, s.interactions), (22_363, 12_101, 198_502));
    let catalog = &ing.dataset.catalog;
    // Item 1 of the S3-Rec ids is the first row of items.tsv.
    let first = catalog.get(0).unwrap();
    assert_eq!(first.id, "B004756YJA");
    assert_eq!(first.title, "OPI Nail Lacquer, Simmer and Shimmer, 0.5-Fluid Ounce");
    assert_eq!(first.attributes, ["OPI", "Makeup", "Nails", "Nail Polish"]);
    assert_eq!(first.brand.as_deref(), Some("OPI"), "the first attribute names the brand");
    let by_id = |id: &str| catalog.get(catalog.index_of(id).unwrap()).unwrap();
    let tools = by_id("B004OHQR1Q");
    assert_eq!(tools.attributes[0], "Tools & Accessories");
    assert_eq!(tools.brand, None, "a category path's head is no brand");
    let branded = catalog.items().iter().filter(|i| i.brand.is_some()).count();
    assert!(branded > 6_000, "{branded} of 12,101 items have a brand");
    assert_eq!(catalog.items().iter().filter(|i| i.title.is_empty()).count(), 7);
    // User 1: `1 1 2 3 4 5` with gaps `0 0 9244800 62899200 0` (seconds, cumulative).
    let user1: Vec<(u32, i64)> = ing.dataset.sequences[0].iter().map(|e| (e.item, e.ts)).collect();
    assert_eq!(user1, [(0, 0), (1, 0), (2, 9_244_800), (3, 72_144_000), (4, 72_144_000)]);
    let min = ing.dataset.sequences.iter().map(Vec::len).min().unwrap();
    assert_eq!(min, 5, "5-core data");
}

#[test]
fn instacart_lines_and_baskets() {
    let ing = load("instacart");
    let s = ing.dataset.stats();
    assert_eq!(s.interactions, 150_000);
    assert_eq!(ing.baskets, Some(15_183));
    assert_eq!(s.users, 593);
    assert_eq!(s.items, 49_688);
    assert_eq!(s.items_with_events, 14_190);
    let cookies = ing.dataset.catalog.get(ing.dataset.catalog.index_of("1").unwrap()).unwrap();
    assert_eq!(cookies.title, "Chocolate Sandwich Cookies");
    assert_eq!(cookies.attributes, ["cookies cakes", "snacks"]);
    // Orders stay in order: every user's clock never goes back.
    for seq in &ing.dataset.sequences {
        assert!(seq.windows(2).all(|w| w[0].ts <= w[1].ts));
    }
}

#[test]
fn id_only_datasets() {
    for (name, users, items, interactions) in [
        ("amazon-toys-s3rec", 19_412, 11_924, 167_597),
        ("amazon-beauty-bert4rec", 40_226, 54_542, 353_962),
        ("amazon-videogames-sasrec", 31_013, 23_715, 287_107),
    ] {
        let s = load(name).dataset.stats();
        assert_eq!((s.users, s.items, s.interactions), (users, items, interactions), "{name}");
    }
}
