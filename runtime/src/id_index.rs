//! The catalog's item ids and their dense indices.
//!
//! The ids are kept in one buffer (each id's end in `ends`) and the hash table holds only
//! indices into it: one allocation for the whole catalog instead of one per id, so a large
//! catalog loads faster, takes less memory and its lookups touch less of it. FxHash: SipHash
//! made the id map the slowest part of a cold load in WebAssembly, and the ids come from
//! the model, not from an attacker.

use std::hash::Hasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxHasher;

/// Item id → dense index (the order the ids were given in).
#[derive(Debug, Default)]
pub struct IdIndex {
    /// Every id, one after the other.
    text: String,
    /// `ends[i]`: where id `i` ends in `text` (it starts where id `i − 1` ends).
    ends: Vec<u32>,
    /// Indices, found by the hash of their id.
    table: HashTable<u32>,
}

fn hash(id: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(id);
    h.finish()
}

/// `a == b`, eight bytes at a time (a byte loop is what `memcmp` is in WebAssembly).
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let word = |c: &[u8]| c.try_into().map_or(0, u64::from_ne_bytes);
    ca.remainder().iter().zip(cb.remainder()).all(|(x, y)| x == y) && ca.zip(cb).all(|(x, y)| word(x) == word(y))
}

impl IdIndex {
    /// The index of `ids`; `Err` with the first id that appears twice. At most
    /// `u32::MAX` ids of at most 4 GiB in all.
    pub fn new<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Result<Self, String> {
        let mut index = Self {
            text: String::new(),
            ends: Vec::with_capacity(ids.len()),
            table: HashTable::with_capacity(ids.len()),
        };
        for id in ids {
            let i = index.ends.len() as u32;
            index.text.push_str(id);
            let end = u32::try_from(index.text.len()).map_err(|_| "the item ids take more than 4 GiB".to_string())?;
            index.ends.push(end);
            let Self { text, ends, table } = &mut index;
            let id_of = |j: u32| id_bytes(text, ends, j as usize);
            match table.entry(hash(id.as_bytes()), |&j| same(id_of(j), id.as_bytes()), |&j| hash(id_of(j))) {
                Entry::Occupied(_) => return Err(id.to_string()),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        Ok(index)
    }

    /// The dense index of `id`, if it is in the catalog.
    pub fn get(&self, id: &str) -> Option<u32> {
        let id = id.as_bytes();
        self.table.find(hash(id), |&j| same(id_bytes(&self.text, &self.ends, j as usize), id)).copied()
    }

    /// Id `i`, if there is one.
    pub fn id(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? as usize };
        self.text.get(start..*self.ends.get(i)? as usize)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no ids.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The bytes of id `i` (empty past the end).
fn id_bytes<'t>(text: &'t str, ends: &[u32], i: usize) -> &'t [u8] {
    let start = if i == 0 { 0 } else { ends.get(i - 1).map_or(0, |&e| e as usize) };
    let end = ends.get(i).map_or(0, |&e| e as usize);
    text.as_bytes().get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_finds_its_index() {
        let ids: Vec<String> =
            (0..5000).map(|i| format!("B{:09}-{}", i * 7919 % 100_003, "x".repeat(i % 19))).collect();
        let index = IdIndex::new(ids.iter().map(String::as_str)).unwrap();
        assert_eq!(index.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(i as u32), "{id}");
            assert_eq!(index.id(i), Some(id.as_str()));
        }
        for missing in ["", "B", "B000000000-xx", &format!("{}y", ids[7]), &ids[7][..ids[7].len() - 1]] {
            assert_eq!(index.get(missing), None, "{missing:?}");
        }
        assert_eq!(index.id(ids.len()), None);
    }

    #[test]
    fn ids_of_any_length_and_script() {
        let ids = ["", "a", "ab", "abcdefgh", "abcdefghi", "äöü", "商品-42", "abcdefgh\u{301}"];
        let index = IdIndex::new(ids.iter().copied()).unwrap();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(i as u32));
            assert_eq!(index.id(i), Some(*id));
        }
    }

    #[test]
    fn an_id_twice_is_refused() {
        assert_eq!(IdIndex::new(["a", "b", "a"].into_iter()).unwrap_err(), "a");
        assert!(IdIndex::new(std::iter::empty()).unwrap().is_empty());
    }
}
