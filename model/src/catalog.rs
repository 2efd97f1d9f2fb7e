//! The shop's catalog: every item the model can score, with the text it is known by.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Dense item index, `0..catalog.len()`. Shops' string ids are mapped to these once, at
/// ingestion; every model and metric works on dense indices.
pub type ItemIdx = u32;

/// One product as the shop describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Item {
    /// The shop's own id (e.g. an ASIN such as `B004756YJA`), unique in the catalog.
    pub id: String,
    /// Product title; may be empty.
    pub title: String,
    /// Brand, when the source names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Most specific category, when the source names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Other descriptive names (brands, category paths, aisles...), most important first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

impl Item {
    /// All text known about the item, for tokenizers and text encoders:
    /// title, brand, category and attributes joined with ` | `, without repeats.
    pub fn text(&self) -> String {
        self.parts().join(" | ")
    }

    /// The item's text apart from its title: brand, category and attributes joined with
    /// ` | `, without repeats and without a part that repeats the title.
    pub fn attribute_text(&self) -> String {
        let title = self.title.trim();
        self.parts().into_iter().filter(|p| *p != title).collect::<Vec<_>>().join(" | ")
    }

    /// Title, brand, category and attributes, trimmed, without empty parts or repeats.
    fn parts(&self) -> Vec<&str> {
        let mut parts: Vec<&str> = Vec::with_capacity(3 + self.attributes.len());
        let candidates = std::iter::once(self.title.as_str())
            .chain(self.brand.as_deref())
            .chain(self.category.as_deref())
            .chain(self.attributes.iter().map(String::as_str));
        for part in candidates {
            let part = part.trim();
            if !part.is_empty() && !parts.contains(&part) {
                parts.push(part);
            }
        }
        parts
    }
}

/// Why a catalog could not be built.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("item id {id:?} appears twice in the catalog (rows {first} and {second})")]
    DuplicateId { id: String, first: usize, second: usize },
    #[error("item id at row {row} is empty")]
    EmptyId { row: usize },
    #[error("the catalog has {0} items, more than the 2^32-1 a dense index can address")]
    TooLarge(usize),
}

/// The items a model can rank, addressable by dense index and by the shop's string id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    items: Vec<Item>,
    index: HashMap<String, ItemIdx>,
}

impl Catalog {
    /// Builds a catalog; item `i` of `items` gets dense index `i`.
    pub fn new(items: Vec<Item>) -> Result<Self, CatalogError> {
        if items.len() >= u32::MAX as usize {
            return Err(CatalogError::TooLarge(items.len()));
        }
        let mut index = HashMap::with_capacity(items.len());
        for (row, item) in items.iter().enumerate() {
            if item.id.is_empty() {
                return Err(CatalogError::EmptyId { row });
            }
            if let Some(first) = index.insert(item.id.clone(), row as ItemIdx) {
                return Err(CatalogError::DuplicateId { id: item.id.clone(), first: first as usize, second: row });
            }
        }
        Ok(Self { items, index })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the catalog holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item at a dense index.
    pub fn get(&self, idx: ItemIdx) -> Option<&Item> {
        self.items.get(idx as usize)
    }

    /// The dense index of a shop id.
    pub fn index_of(&self, id: &str) -> Option<ItemIdx> {
        self.index.get(id).copied()
    }

    /// All items in dense-index order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, title: &str) -> Item {
        Item { id: id.into(), title: title.into(), ..Item::default() }
    }

    #[test]
    fn maps_ids_both_ways() {
        let catalog = Catalog::new(vec![item("a", "A"), item("b", "B")]).unwrap();
        assert_eq!(catalog.len(), 2);
        assert_eq!(catalog.index_of("b"), Some(1));
        assert_eq!(catalog.get(1).unwrap().title, "B");
        assert_eq!(catalog.index_of("c"), None);
        assert!(catalog.get(2).is_none());
    }

    #[test]
    fn rejects_duplicate_and_empty_ids() {
        let err = Catalog::new(vec![item("a", "A"), item("a", "again")]).unwrap_err();
        assert_eq!(err, CatalogError::DuplicateId { id: "a".into(), first: 0, second: 1 });
        assert_eq!(Catalog::new(vec![item("", "x")]).unwrap_err(), CatalogError::EmptyId { row: 0 });
    }

    #[test]
    fn text_joins_without_repeats_or_blanks() {
        let it = Item {
            id: "1".into(),
            title: "OPI Nail Lacquer".into(),
            brand: Some("OPI".into()),
            category: None,
            attributes: vec!["OPI".into(), " ".into(), "Nail Polish".into()],
        };
        assert_eq!(it.text(), "OPI Nail Lacquer | OPI | Nail Polish");
        assert_eq!(it.attribute_text(), "OPI | Nail Polish");
        assert_eq!(item("x", "").text(), "");
        assert_eq!(item("x", "Lipstick").attribute_text(), "");
        let untitled = Item { attributes: vec!["Makeup".into(), "Nails".into()], ..item("y", " ") };
        assert_eq!((untitled.text(), untitled.attribute_text()), ("Makeup | Nails".into(), "Makeup | Nails".into()));
        let repeated = Item { brand: Some("Lipstick".into()), category: Some("Lips".into()), ..item("z", "Lipstick") };
        assert_eq!(repeated.attribute_text(), "Lips");
    }
}
