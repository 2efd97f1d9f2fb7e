//! The S3-Rec sequence format (Amazon Beauty/Sports/Toys 5-core): one line per user,
//! `user_id item_id item_id ...` in chronological order, optional day-resolution time gaps
//! and an optional `items.tsv` with ASINs, titles and attribute names.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, Dataset, Event, EventKind, Item};

use super::error::IngestError;
use super::ids::{Interner, RowPolicy};
use super::source::{self, parse_field};
use super::{Folder, Ingested, Source};

/// One S3-Rec dataset's files.
#[derive(Debug, Clone)]
pub struct S3Rec {
    pub name: String,
    /// `PREFIX.txt(.gz)`: `user_id item_id item_id ...` lines.
    pub sequences: PathBuf,
    /// `items.tsv(.gz)`: `item_id asin title attributes` with a header.
    pub items: Option<PathBuf>,
    /// `PREFIX_item2attributes.json(.gz)`: attribute ids per item (used when no `items.tsv`).
    pub attributes: Option<PathBuf>,
    /// `PREFIX_time_gaps.txt(.gz)`: the same lines plus a TAB and per-event gaps in seconds.
    pub time_gaps: Option<PathBuf>,
}

impl S3Rec {
    /// The files of the S3-Rec dataset `PREFIX` in `folder`; `items.tsv` (titles) is read
    /// when `with_titles`.
    pub fn open(folder: &Folder, prefix: &str, with_titles: bool) -> Result<Box<dyn Source>, IngestError> {
        Ok(Box::new(Self {
            name: folder.name.to_string(),
            sequences: folder.need(&format!("{prefix}.txt.gz"))?,
            items: if with_titles { folder.find("items.tsv.gz") } else { None },
            attributes: folder.find(&format!("{prefix}_item2attributes.json.gz")),
            time_gaps: folder.find(&format!("{prefix}_time_gaps.txt.gz")),
        }))
    }
}

impl Source for S3Rec {
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
        read(self, policy)
    }
}

fn read(files: &S3Rec, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
    let name = files.name.as_str();
    let path = files.sequences.as_path();
    let mut users = Interner::default();
    let mut rows: Vec<(u32, Vec<u64>)> = Vec::new();
    for line in source::lines(path)? {
        let (no, line) = line?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = (|| {
            let mut fields = line.split_ascii_whitespace();
            let user = fields.next().unwrap_or_default();
            parse_field::<u64>(path, no, "user_id", user)?;
            let items = fields
                .enumerate()
                .map(|(k, f)| parse_field::<u64>(path, no, &format!("item_id #{}", k + 1), f))
                .collect::<Result<Vec<_>, _>>()?;
            if items.is_empty() {
                return Err(IngestError::parse(path, no, "item_id #1", "the user has no items"));
            }
            Ok((user.to_string(), items))
        })();
        if let Some((user, items)) = policy.check(parsed)? {
            rows.push((users.intern(&user), items));
        }
    }
    if rows.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), expected: "lines `user_id item_id ...`".into() });
    }

    let (catalog, dense) = match (files.items.as_deref(), files.attributes.as_deref()) {
        (Some(items), _) => catalog_from_items_tsv(items)?,
        (None, attributes) => catalog_from_ids(rows.iter().flat_map(|(_, items)| items.iter().copied()), attributes)?,
    };
    let gaps = match files.time_gaps.as_deref() {
        Some(p) => Some(read_time_gaps(p, &rows, &users)?),
        None => None,
    };

    let mut events = Vec::with_capacity(rows.iter().map(|(_, i)| i.len()).sum());
    for (row, (user, items)) in rows.iter().enumerate() {
        let mut ts = 0i64;
        for (k, raw) in items.iter().enumerate() {
            let item = *dense.get(raw).ok_or_else(|| IngestError::Invalid {
                path: path.to_path_buf(),
                message: format!("user {}: item id {raw} is not in the catalog", users.name(*user)),
            })?;
            ts = match &gaps {
                Some(g) => ts + g[row][k],
                None => k as i64,
            };
            events.push(Event { user: *user, item, ts, kind: EventKind::Review });
        }
    }
    let dataset = Dataset::from_events(name, catalog, users.into_names(), &events)?;
    let rows = dataset.stats().interactions + policy.skipped;
    Ok(Ingested { dataset, rows, skipped_rows: policy.skipped, duplicate_events: 0, baskets: None })
}

/// Parses `items.tsv`: `item_id  asin  title  attributes` (attributes joined with ` | `).
pub fn catalog_from_items_tsv(path: &Path) -> Result<(Catalog, HashMap<u64, u32>), IngestError> {
    let mut items = Vec::new();
    let mut dense = HashMap::new();
    for line in source::lines(path)? {
        let (no, line) = line?;
        if no == 1 {
            if !line.starts_with("item_id") {
                return Err(IngestError::parse(path, 1, "header", "expected `item_id\tasin\ttitle\tattributes`"));
            }
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            return Err(IngestError::parse(
                path,
                no,
                "row",
                format!("expected 4 TAB-separated fields, found {}", f.len()),
            ));
        }
        let raw: u64 = parse_field(path, no, "item_id", f[0])?;
        let attributes: Vec<String> =
            f[3].split(" | ").map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect();
        dense.insert(raw, items.len() as u32);
        items.push(Item { id: f[1].to_string(), title: f[2].trim().to_string(), attributes, ..Item::default() });
    }
    if items.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), expected: "an item table".into() });
    }
    name_brands(&mut items);
    Ok((Catalog::new(items)?, dense))
}

/// The brand of each item whose first attribute is one. The S3-Rec attributes are the
/// brand (when known) followed by the category path, so a first attribute that never
/// appears further down any item's list is a brand; a category path's head is not. The
/// item's text is unchanged (the brand is its first attribute either way).
fn name_brands(items: &mut [Item]) {
    let categories: HashSet<String> = items.iter().flat_map(|i| i.attributes.iter().skip(1).cloned()).collect();
    for item in items {
        item.brand = item.attributes.first().filter(|a| !categories.contains(*a)).cloned();
    }
}

/// A catalog of the numeric ids that occur in the sequences (ascending), optionally with
/// attribute ids as text (`attr17`) when the names are unknown.
fn catalog_from_ids(
    ids: impl Iterator<Item = u64>,
    attributes: Option<&Path>,
) -> Result<(Catalog, HashMap<u64, u32>), IngestError> {
    let mut raw: Vec<u64> = ids.collect();
    raw.sort_unstable();
    raw.dedup();
    let attrs: HashMap<String, Vec<u64>> = match attributes {
        Some(p) => serde_json::from_reader(source::open(p)?)
            .map_err(|e| IngestError::parse(p, e.line(), "json", e.to_string()))?,
        None => HashMap::new(),
    };
    let dense = raw.iter().enumerate().map(|(i, &r)| (r, i as u32)).collect();
    let items = raw
        .iter()
        .map(|r| Item {
            id: r.to_string(),
            attributes: attrs.get(&r.to_string()).into_iter().flatten().map(|a| format!("attr{a}")).collect(),
            ..Item::default()
        })
        .collect();
    Ok((Catalog::new(items)?, dense))
}

/// Reads per-event gaps (seconds since the user's previous event) and checks that the file
/// describes exactly the same users and items as the sequence file.
fn read_time_gaps(path: &Path, rows: &[(u32, Vec<u64>)], users: &Interner) -> Result<Vec<Vec<i64>>, IngestError> {
    let by_user: HashMap<u32, usize> = rows.iter().enumerate().map(|(i, (u, _))| (*u, i)).collect();
    let mut gaps: Vec<Option<Vec<i64>>> = vec![None; rows.len()];
    for line in source::lines(path)? {
        let (no, line) = line?;
        if line.trim().is_empty() {
            continue;
        }
        let (seq, g) = line
            .split_once('\t')
            .ok_or_else(|| IngestError::parse(path, no, "row", "expected `user items...<TAB>gaps...`"))?;
        let mut seq_fields = seq.split_ascii_whitespace();
        let user = seq_fields.next().unwrap_or_default();
        let Some(&row) = users.get(user).and_then(|u| by_user.get(&u)) else {
            continue; // a user skipped as a bad row in the sequence file
        };
        let items: Vec<u64> = seq_fields.map(|f| parse_field(path, no, "item_id", f)).collect::<Result<_, _>>()?;
        if items != rows[row].1 {
            return Err(IngestError::parse(
                path,
                no,
                "item_id",
                format!("user {user}'s items differ from the sequence file"),
            ));
        }
        let g: Vec<i64> =
            g.split_ascii_whitespace().map(|f| parse_field(path, no, "gap", f)).collect::<Result<_, _>>()?;
        if g.len() != items.len() || g.iter().any(|&x| x < 0) {
            return Err(IngestError::parse(path, no, "gap", "expected one non-negative gap per item"));
        }
        gaps[row] = Some(g);
    }
    gaps.into_iter()
        .enumerate()
        .map(|(row, g)| {
            g.ok_or_else(|| IngestError::Invalid {
                path: path.to_path_buf(),
                message: format!("no time gaps for the user on sequence row {}", row + 1),
            })
        })
        .collect()
}
