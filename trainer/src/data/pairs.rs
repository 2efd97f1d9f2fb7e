//! The `user_id item_id` pair format (BERT4Rec's Beauty, SASRec's Video Games): one event per
//! line, grouped by user, chronological within a user, no item text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, Dataset, Event, EventKind, Item};

use super::error::IngestError;
use super::ids::{Interner, RowPolicy};
use super::source::{self, parse_field};
use super::{Folder, Ingested, Source};

/// A pair file; the catalog is every item id that occurs, in ascending order.
#[derive(Debug, Clone)]
pub struct Pairs {
    pub name: String,
    pub file: PathBuf,
}

impl Pairs {
    /// The pair file `file` in `folder`.
    pub fn open(folder: &Folder, file: &str) -> Result<Box<dyn Source>, IngestError> {
        Ok(Box::new(Self { name: folder.name.to_string(), file: folder.need(file)? }))
    }
}

impl Source for Pairs {
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
        read(&self.name, &self.file, policy)
    }
}

fn read(name: &str, path: &Path, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
    let mut users = Interner::default();
    let mut rows: Vec<(u32, u64)> = Vec::new();
    for line in source::lines(path)? {
        let (no, line) = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = (|| {
            let mut f = line.split_ascii_whitespace();
            let (Some(user), Some(item), None) = (f.next(), f.next(), f.next()) else {
                return Err(IngestError::parse(path, no, "row", "expected `user_id item_id`"));
            };
            parse_field::<u64>(path, no, "user_id", user)?;
            Ok((user.to_string(), parse_field::<u64>(path, no, "item_id", item)?))
        })();
        if let Some((user, item)) = policy.check(parsed)? {
            rows.push((users.intern(&user), item));
        }
    }
    if rows.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), expected: "lines `user_id item_id`".into() });
    }
    let mut raw: Vec<u64> = rows.iter().map(|r| r.1).collect();
    raw.sort_unstable();
    raw.dedup();
    let dense: HashMap<u64, u32> = raw.iter().enumerate().map(|(i, &r)| (r, i as u32)).collect();
    let catalog = Catalog::new(raw.iter().map(|r| Item { id: r.to_string(), ..Item::default() }).collect())?;
    // Position in the file is the clock: lines are chronological within a user.
    let events: Vec<Event> = rows
        .iter()
        .enumerate()
        .map(|(pos, &(user, item))| Event { user, item: dense[&item], ts: pos as i64, kind: EventKind::Review })
        .collect();
    let dataset = Dataset::from_events(name, catalog, users.into_names(), &events)?;
    let rows = dataset.stats().interactions + policy.skipped;
    Ok(Ingested { dataset, rows, skipped_rows: policy.skipped, duplicate_events: 0, baskets: None })
}
