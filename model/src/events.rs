//! Shopper events and the per-shopper chronological sequences built from them.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalog::{Catalog, ItemIdx};
pub use pocketrank_runtime::event_kind::{EventKind, UnknownEventKind};

/// One event of the flat log a shop exports: dense user and item indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Dense user index (`0..users.len()`).
    pub user: u32,
    /// Dense item index into the [`Catalog`].
    pub item: ItemIdx,
    /// Seconds since the Unix epoch, or any monotone clock of the source (relative
    /// clocks are fine: only order and differences are used).
    pub ts: i64,
    pub kind: EventKind,
}

/// One event in a shopper's sequence (the user is implied by the sequence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub item: ItemIdx,
    pub ts: i64,
    pub kind: EventKind,
}

/// Why events could not be turned into a dataset.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DatasetError {
    #[error("event {index} refers to item index {item}, but the catalog has only {catalog_len} items")]
    ItemOutOfRange { index: usize, item: ItemIdx, catalog_len: usize },
    #[error("event {index} refers to user index {user}, but only {users} users are known")]
    UserOutOfRange { index: usize, user: u32, users: usize },
    #[error("the dataset has no events")]
    NoEvents,
    #[error("the catalog is empty")]
    EmptyCatalog,
}

/// Counts that describe a dataset (and that reports print).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Users with at least one event.
    pub users: usize,
    /// Items in the catalog.
    pub items: usize,
    /// Distinct items that occur in at least one event.
    pub items_with_events: usize,
    /// Events.
    pub interactions: usize,
}

/// A catalog plus every shopper's events in chronological order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Name of the source (e.g. `amazon-beauty-s3rec`).
    pub name: String,
    pub catalog: Catalog,
    /// The source's user ids, one per sequence.
    pub users: Vec<String>,
    /// `sequences[u]` holds user `u`'s events, oldest first; never empty.
    pub sequences: Vec<Vec<Interaction>>,
}

impl Dataset {
    /// Groups a flat event log by user and orders each user's events by time (stable:
    /// events with equal timestamps keep their log order). Users without events are dropped.
    pub fn from_events(
        name: impl Into<String>,
        catalog: Catalog,
        users: Vec<String>,
        events: &[Event],
    ) -> Result<Self, DatasetError> {
        if catalog.is_empty() {
            return Err(DatasetError::EmptyCatalog);
        }
        if events.is_empty() {
            return Err(DatasetError::NoEvents);
        }
        let mut per_user: Vec<Vec<Interaction>> = vec![Vec::new(); users.len()];
        for (index, e) in events.iter().enumerate() {
            if e.item as usize >= catalog.len() {
                return Err(DatasetError::ItemOutOfRange { index, item: e.item, catalog_len: catalog.len() });
            }
            let seq = per_user.get_mut(e.user as usize).ok_or(DatasetError::UserOutOfRange {
                index,
                user: e.user,
                users: users.len(),
            })?;
            seq.push(Interaction { item: e.item, ts: e.ts, kind: e.kind });
        }
        let (mut kept_users, mut sequences) = (Vec::new(), Vec::new());
        for (user, mut seq) in users.into_iter().zip(per_user) {
            if seq.is_empty() {
                continue;
            }
            seq.sort_by_key(|i| i.ts);
            kept_users.push(user);
            sequences.push(seq);
        }
        Ok(Self { name: name.into(), catalog, users: kept_users, sequences })
    }

    /// Counts of users, items and interactions.
    pub fn stats(&self) -> DatasetStats {
        let mut seen = vec![false; self.catalog.len()];
        let mut interactions = 0;
        for seq in &self.sequences {
            interactions += seq.len();
            for i in seq {
                seen[i.item as usize] = true;
            }
        }
        DatasetStats {
            users: self.sequences.len(),
            items: self.catalog.len(),
            items_with_events: seen.iter().filter(|s| **s).count(),
            interactions,
        }
    }

    /// Each user's item sequence, oldest first.
    pub fn item_sequences(&self) -> Vec<Vec<ItemIdx>> {
        self.sequences.iter().map(|s| s.iter().map(|i| i.item).collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Item;

    fn catalog(n: usize) -> Catalog {
        Catalog::new((0..n).map(|i| Item { id: format!("i{i}"), ..Item::default() }).collect()).unwrap()
    }

    #[test]
    fn groups_by_user_and_sorts_stably_by_time() {
        let ev = |user, item, ts| Event { user, item, ts, kind: EventKind::View };
        let events = [ev(1, 0, 30), ev(0, 2, 5), ev(1, 1, 10), ev(1, 2, 10)];
        let users = vec!["a".into(), "b".into(), "never".into()];
        let ds = Dataset::from_events("t", catalog(3), users, &events).unwrap();
        assert_eq!(ds.users, vec!["a", "b"]);
        assert_eq!(ds.item_sequences(), vec![vec![2], vec![1, 2, 0]]);
        let stats = ds.stats();
        assert_eq!((stats.users, stats.items, stats.interactions), (2, 3, 4));
        assert_eq!(stats.items_with_events, 3);
    }

    #[test]
    fn rejects_out_of_range_ids() {
        let users = vec!["a".to_string()];
        let bad_item = [Event { user: 0, item: 3, ts: 0, kind: EventKind::View }];
        assert_eq!(
            Dataset::from_events("t", catalog(3), users.clone(), &bad_item).unwrap_err(),
            DatasetError::ItemOutOfRange { index: 0, item: 3, catalog_len: 3 }
        );
        let bad_user = [Event { user: 1, item: 0, ts: 0, kind: EventKind::View }];
        assert!(matches!(
            Dataset::from_events("t", catalog(3), users.clone(), &bad_user),
            Err(DatasetError::UserOutOfRange { user: 1, .. })
        ));
        assert_eq!(Dataset::from_events("t", catalog(3), users, &[]).unwrap_err(), DatasetError::NoEvents);
    }
}
