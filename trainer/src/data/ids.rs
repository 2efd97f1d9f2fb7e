//! Dense ids for string ids, and the bad-row policy shared by the adapters.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::error::IngestError;

/// Assigns dense ids `0, 1, 2...` to string ids in order of first appearance.
///
/// Each name is stored once, in one string arena; the hash table holds only dense ids.
/// At 10^7 shoppers this is a quarter of the memory of a `HashMap<String, u32>` next to
/// a `Vec<String>` of names.
#[derive(Default)]
pub struct Interner {
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
    arena: String,
    /// `ends[i]` is where name `i` ends in the arena; it starts where name `i - 1` ends.
    ends: Vec<usize>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.len()).finish()
    }
}

/// Name `id` in an interner's arena.
fn slice<'a>(arena: &'a str, ends: &[usize], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] };
    &arena[start..ends[id]]
}

impl Interner {
    /// The dense id of `name`, assigning the next one if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        let hash = self.hasher.hash_one(name);
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        let entry =
            self.table.entry(hash, |&id| slice(arena, ends, id) == name, |&id| hasher.hash_one(slice(arena, ends, id)));
        match entry {
            hashbrown::hash_table::Entry::Occupied(e) => *e.get(),
            hashbrown::hash_table::Entry::Vacant(e) => {
                let id = self.ends.len() as u32;
                e.insert(id);
                self.arena.push_str(name);
                self.ends.push(self.arena.len());
                id
            }
        }
    }

    /// The dense id of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table.find(hash, |&id| slice(&self.arena, &self.ends, id) == name).copied()
    }

    /// The name behind a dense id.
    pub fn name(&self, id: u32) -> &str {
        if id as usize >= self.ends.len() {
            return "?";
        }
        slice(&self.arena, &self.ends, id)
    }

    /// Names in dense-id order.
    pub fn into_names(self) -> Vec<String> {
        (0..self.ends.len() as u32).map(|id| slice(&self.arena, &self.ends, id).to_string()).collect()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// What to do with a malformed row: fail (the default) or skip it and count.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowPolicy {
    pub skip_bad_rows: bool,
    pub skipped: usize,
}

impl RowPolicy {
    pub fn new(skip_bad_rows: bool) -> Self {
        Self { skip_bad_rows, skipped: 0 }
    }

    /// Passes a good row through; a bad row is an error, or `None` when skipping.
    /// Only errors in one row are skippable: I/O, gzip and schema failures always stop
    /// ingestion.
    pub fn check<T>(&mut self, row: Result<T, IngestError>) -> Result<Option<T>, IngestError> {
        match row {
            Ok(v) => Ok(Some(v)),
            Err(IngestError::Parse { .. } | IngestError::Row { .. }) if self.skip_bad_rows => {
                self.skipped += 1;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Interner;

    #[test]
    fn dense_ids_in_order_of_first_appearance() {
        let mut ids = Interner::default();
        let names = ["b", "", "a", "b", "ab", "a"];
        let got: Vec<u32> = names.iter().map(|n| ids.intern(n)).collect();
        assert_eq!(got, [0, 1, 2, 0, 3, 2]);
        assert_eq!((ids.get("ab"), ids.get("ba")), (Some(3), None));
        assert_eq!((ids.name(1), ids.name(3), ids.name(9)), ("", "ab", "?"));
        let many: Vec<String> = (0..100_000).map(|i| format!("user-{i}")).collect();
        for n in &many {
            ids.intern(n);
        }
        assert_eq!(ids.get("user-77777"), Some(4 + 77_777));
        assert_eq!(ids.into_names()[4..], many[..]);
    }
}
