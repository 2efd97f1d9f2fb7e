//! Dense ids for string ids, and the bad-row policy shared by the adapters.

use std::collections::HashMap;

use super::error::IngestError;

/// Assigns dense ids `0, 1, 2...` to string ids in order of first appearance.
#[derive(Debug, Default)]
pub struct Interner {
    map: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The dense id of `name`, assigning the next one if it is new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.map.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.map.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    /// The dense id of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.map.get(name).copied()
    }

    /// The name behind a dense id.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }

    /// Names in dense-id order.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
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
    /// Only parse errors are skippable: I/O and gzip failures always stop ingestion.
    pub fn check<T>(&mut self, row: Result<T, IngestError>) -> Result<Option<T>, IngestError> {
        match row {
            Ok(v) => Ok(Some(v)),
            Err(IngestError::Parse { .. }) if self.skip_bad_rows => {
                self.skipped += 1;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
