//! A batch's local item table: the batch computes the vectors of only the items it reads
//! or scores, and indexes them through this map.

use std::collections::HashMap;

/// Maps shifted item ids (item + 1; 0 = padding) to rows of a batch's local table. Row 0
/// is always padding; every new id gets the next row.
#[derive(Debug, Clone)]
pub struct LocalTable {
    rows: HashMap<i64, i64>,
    ids: Vec<i64>,
}

impl Default for LocalTable {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalTable {
    /// A table holding only padding (row 0).
    pub fn new() -> Self {
        Self { rows: HashMap::from([(0, 0)]), ids: vec![0] }
    }

    /// A table with no rows at all (for column maps, where padding is not a column).
    pub fn empty() -> Self {
        Self { rows: HashMap::new(), ids: Vec::new() }
    }

    /// The row of `shifted`, adding it when new.
    pub fn row(&mut self, shifted: i64) -> i64 {
        let next = self.ids.len() as i64;
        *self.rows.entry(shifted).or_insert_with(|| {
            self.ids.push(shifted);
            next
        })
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table has no rows (only for [`empty`](Self::empty) tables).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The shifted ids in row order.
    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    /// The shifted ids in row order: `[len]`, what the batch's item vectors are computed for.
    pub fn into_ids(self) -> Vec<i64> {
        self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::LocalTable;

    #[test]
    fn rows_in_order_of_first_use_with_padding_first() {
        let mut t = LocalTable::new();
        assert_eq!([t.row(5), t.row(9), t.row(5), t.row(0), t.row(2)], [1, 2, 1, 0, 3]);
        assert_eq!(t.len(), 4);
        assert_eq!(t.into_ids(), vec![0, 5, 9, 2]);
        let mut c = LocalTable::empty();
        assert!(c.is_empty());
        assert_eq!([c.row(7), c.row(3), c.row(7)], [0, 1, 0]);
    }
}
