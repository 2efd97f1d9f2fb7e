//! A shop's event log built row by row, in bounded memory: each string id is interned
//! once, each event is kept in 24 bytes in its shopper's sequence (the raw rows are never
//! held), and every event remembers where it came from, so that a duplicate found when
//! the sequences are sorted is reported with both of its places in the files.

use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, Dataset, DatasetError, EventKind, Interaction, Item};

use super::error::IngestError;
use super::ids::Interner;

/// One event while the log is read: its shopper is implied by the sequence it is in.
#[derive(Debug, Clone, Copy)]
struct Pending {
    ts: i64,
    /// Where it came from (see [`EventLog::describe`]); increases with the file order.
    tag: u64,
    item: u32,
    kind: EventKind,
}

/// The part of the files a range of tags came from.
#[derive(Debug)]
struct Origin {
    /// The tag of local position 0.
    base: u64,
    file: PathBuf,
    /// `None`: local positions are line numbers. `Some(starts)`: they are row numbers in a
    /// Parquet file whose row groups start at `starts`.
    row_groups: Option<Vec<u64>>,
}

/// The items of the log: the catalog's, or every id the events mention.
#[derive(Debug)]
enum Items {
    Catalog(Catalog),
    Seen(Interner),
}

/// The dataset and what building it noticed.
#[derive(Debug)]
pub struct Built {
    pub dataset: Dataset,
    /// Events dropped because the same event (shopper, item, time, kind) came earlier.
    pub duplicates: usize,
}

/// An event log being read. Readers call [`EventLog::begin_file`] for each file, then
/// [`EventLog::user`], [`EventLog::item`] and [`EventLog::push`] for each row.
#[derive(Debug)]
pub struct EventLog {
    items: Items,
    users: Interner,
    sequences: Vec<Vec<Pending>>,
    origins: Vec<Origin>,
    /// The first tag not used yet.
    next_tag: u64,
    events: u64,
}

impl EventLog {
    /// An empty log over `catalog`, or over the items its events name when `None`.
    pub fn new(catalog: Option<Catalog>) -> Self {
        Self {
            items: catalog.map_or_else(|| Items::Seen(Interner::default()), Items::Catalog),
            users: Interner::default(),
            sequences: Vec::new(),
            origins: Vec::new(),
            next_tag: 0,
            events: 0,
        }
    }

    /// Starts a file: positions passed to [`EventLog::push`] are line numbers in it, or,
    /// with `row_groups` (the first row of each), row numbers in a Parquet file.
    pub fn begin_file(&mut self, file: &Path, row_groups: Option<Vec<u64>>) {
        self.origins.push(Origin { base: self.next_tag, file: file.to_path_buf(), row_groups });
    }

    /// The dense index of a shopper id.
    pub fn user(&mut self, id: &str) -> u32 {
        let user = self.users.intern(id);
        if user as usize == self.sequences.len() {
            self.sequences.push(Vec::new());
        }
        user
    }

    /// The dense index of an item id; `None` when a catalog was given and lacks it.
    pub fn item(&mut self, id: &str) -> Option<u32> {
        match &mut self.items {
            Items::Catalog(catalog) => catalog.index_of(id),
            Items::Seen(seen) => Some(seen.intern(id)),
        }
    }

    /// Adds an event read at `position` (a line or row number) of the current file.
    ///
    /// # Panics
    /// If no file was begun, or `user` did not come from [`EventLog::user`].
    pub fn push(&mut self, position: u64, user: u32, item: u32, ts: i64, kind: EventKind) {
        let base = self.origins.last().expect("begin_file before push").base;
        let tag = base + position;
        self.next_tag = self.next_tag.max(tag + 1);
        self.sequences[user as usize].push(Pending { ts, tag, item, kind });
        self.events += 1;
    }

    /// Events pushed so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Where the event with `tag` was read: `file:line`, or `file, row group G, row R`.
    fn describe(&self, tag: u64) -> String {
        let at = self.origins.partition_point(|o| o.base <= tag).saturating_sub(1);
        let Some(origin) = self.origins.get(at) else { return format!("position {tag}") };
        let local = tag - origin.base;
        match &origin.row_groups {
            None => format!("{}:{local}", origin.file.display()),
            Some(starts) => {
                let group = starts.partition_point(|&s| s <= local).saturating_sub(1);
                let row = local - starts.get(group).copied().unwrap_or(0);
                format!("{}, row group {group}, row {row}", origin.file.display())
            }
        }
    }

    fn item_name(&self, item: u32) -> String {
        match &self.items {
            Items::Catalog(catalog) => catalog.get(item).map_or_else(String::new, |i| i.id.clone()),
            Items::Seen(seen) => seen.name(item).to_string(),
        }
    }

    /// Sorts every shopper's events by time (events at the same time keep the files'
    /// order) and builds the dataset. An event identical to an earlier one (shopper,
    /// item, time and kind) is an error naming both places, or, with `skip_duplicates`,
    /// dropped and counted. Shoppers whose rows were all skipped are left out.
    pub fn finish(mut self, name: &str, skip_duplicates: bool) -> Result<Built, IngestError> {
        if self.events == 0 {
            return Err(DatasetError::NoEvents.into());
        }
        let mut duplicates = 0;
        let mut kept_users = Vec::new();
        let mut sequences = Vec::new();
        let mut run: Vec<usize> = Vec::new();
        for (user, mut seq) in std::mem::take(&mut self.sequences).into_iter().enumerate() {
            if seq.is_empty() {
                continue;
            }
            seq.sort_unstable_by_key(|e| (e.ts, e.tag));
            let mut keep = vec![true; seq.len()];
            let mut start = 0;
            while start < seq.len() {
                let end = start + seq[start..].iter().take_while(|e| e.ts == seq[start].ts).count();
                if end - start > 1 {
                    run.clear();
                    run.extend(start..end);
                    run.sort_unstable_by_key(|&i| (seq[i].item, seq[i].kind, seq[i].tag));
                    for pair in run.windows(2) {
                        let (a, b) = (seq[pair[0]], seq[pair[1]]);
                        if (a.item, a.kind) != (b.item, b.kind) {
                            continue;
                        }
                        if !skip_duplicates {
                            return Err(IngestError::Duplicate {
                                event: format!(
                                    "shopper {:?}, item {:?}, {} at {}",
                                    self.users.name(user as u32),
                                    self.item_name(a.item),
                                    a.kind,
                                    a.ts
                                ),
                                first: self.describe(a.tag),
                                second: self.describe(b.tag),
                            });
                        }
                        keep[pair[1]] = false;
                        duplicates += 1;
                    }
                }
                start = end;
            }
            let mut out = Vec::with_capacity(keep.iter().filter(|k| **k).count());
            out.extend(seq.iter().zip(&keep).filter(|(_, k)| **k).map(|(e, _)| Interaction {
                item: e.item,
                ts: e.ts,
                kind: e.kind,
            }));
            kept_users.push(user as u32);
            sequences.push(out);
        }
        let users = kept_users.iter().map(|&u| self.users.name(u).to_string()).collect();
        let catalog = match self.items {
            Items::Catalog(catalog) => catalog,
            Items::Seen(seen) => {
                Catalog::new(seen.into_names().into_iter().map(|id| Item { id, ..Item::default() }).collect())?
            }
        };
        Ok(Built { dataset: Dataset { name: name.to_string(), catalog, users, sequences }, duplicates })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(rows: &[(u64, &str, &str, i64, EventKind)]) -> EventLog {
        let mut log = EventLog::new(None);
        log.begin_file(Path::new("a.csv"), None);
        for &(line, user, item, ts, kind) in rows {
            let (u, i) = (log.user(user), log.item(item).unwrap());
            log.push(line, u, i, ts, kind);
        }
        log
    }

    #[test]
    fn sorts_by_time_and_keeps_file_order_on_ties() {
        use EventKind::*;
        let log = log_of(&[
            (2, "u", "x", 30, View),
            (3, "v", "y", 1, View),
            (4, "u", "y", 10, View),
            (5, "u", "z", 10, Cart),
        ]);
        let built = log.finish("t", false).unwrap();
        assert_eq!(built.dataset.users, ["u", "v"]);
        let u: Vec<_> = built.dataset.sequences[0].iter().map(|e| (e.item, e.ts, e.kind)).collect();
        assert_eq!(u, [(1, 10, View), (2, 10, Cart), (0, 30, View)]);
        assert_eq!(built.duplicates, 0);
    }

    #[test]
    fn duplicates_fail_with_both_places_or_are_counted() {
        use EventKind::*;
        let rows = [(2, "u", "x", 5, View), (3, "u", "y", 5, View), (4, "u", "x", 5, Cart), (9, "u", "x", 5, View)];
        let err = log_of(&rows).finish("t", false).unwrap_err().to_string();
        assert!(err.contains("a.csv:2") && err.contains("a.csv:9") && err.contains("\"x\""), "{err}");
        let built = log_of(&rows).finish("t", true).unwrap();
        assert_eq!(built.duplicates, 1);
        let kept: Vec<_> = built.dataset.sequences[0].iter().map(|e| (e.item, e.kind)).collect();
        assert_eq!(kept, [(0, View), (1, View), (0, Cart)]);
    }

    #[test]
    fn parquet_places_name_the_row_group() {
        let mut log = EventLog::new(None);
        log.begin_file(Path::new("a.csv"), None);
        let u = log.user("u");
        log.push(7, u, 0, 1, EventKind::View);
        log.begin_file(Path::new("part-1.parquet"), Some(vec![0, 100, 200]));
        assert_eq!(log.describe(8 + 150), "part-1.parquet, row group 1, row 50");
        assert_eq!(log.describe(7), "a.csv:7");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any log, split anywhere between a CSV file and a Parquet file: every shopper's
        /// events come out sorted by time (equal times in the files' order), each distinct
        /// event once; with duplicates and no skipping, an error instead.
        #[test]
        fn any_log_reads_as_a_stable_sort_without_repeats(
            rows in proptest::collection::vec((0u8..5, 0u8..6, 0i64..4, proptest::bool::ANY), 0..50),
            cut in 0usize..50,
        ) {
            let cut = cut.min(rows.len());
            let kind = |cart: bool| if cart { EventKind::Cart } else { EventKind::View };
            let read = |skip: bool| {
                let mut log = EventLog::new(None);
                log.begin_file(Path::new("a.csv"), None);
                for (n, &(u, i, ts, cart)) in rows.iter().enumerate() {
                    if n == cut {
                        log.begin_file(Path::new("b.parquet"), Some(vec![0]));
                    }
                    let (user, item) = (log.user(&format!("u{u}")), log.item(&format!("i{i}")).unwrap());
                    let position = if n < cut { n as u64 + 2 } else { (n - cut) as u64 };
                    log.push(position, user, item, ts, kind(cart));
                }
                log.finish("t", skip)
            };
            // The reference: shoppers in order of first appearance, a stable sort by time,
            // the first of each repeated event kept.
            let mut users: Vec<u8> = Vec::new();
            for r in &rows {
                if !users.contains(&r.0) {
                    users.push(r.0);
                }
            }
            let expected: Vec<Vec<(String, i64, EventKind)>> = users
                .iter()
                .map(|&u| {
                    let mut seq: Vec<(String, i64, EventKind)> =
                        rows.iter().filter(|r| r.0 == u).map(|r| (format!("i{}", r.1), r.2, kind(r.3))).collect();
                    seq.sort_by_key(|e| e.1);
                    let mut kept: Vec<(String, i64, EventKind)> = Vec::new();
                    for e in seq {
                        if !kept.contains(&e) {
                            kept.push(e);
                        }
                    }
                    kept
                })
                .collect();
            let repeats = rows.len() - expected.iter().map(Vec::len).sum::<usize>();
            if rows.is_empty() {
                proptest::prop_assert!(read(true).is_err());
                return Ok(());
            }
            let built = read(true).unwrap();
            let ds = &built.dataset;
            let got: Vec<Vec<(String, i64, EventKind)>> = ds
                .sequences
                .iter()
                .map(|s| s.iter().map(|e| (ds.catalog.get(e.item).unwrap().id.clone(), e.ts, e.kind)).collect())
                .collect();
            proptest::prop_assert_eq!(&ds.users, &users.iter().map(|u| format!("u{u}")).collect::<Vec<_>>());
            proptest::prop_assert_eq!(got, expected);
            proptest::prop_assert_eq!(built.duplicates, repeats);
            proptest::prop_assert_eq!(read(false).is_err(), repeats > 0);
        }
    }
}
