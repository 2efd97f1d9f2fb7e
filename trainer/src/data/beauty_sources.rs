//! Rebuilds the Beauty item table (ASIN, title, attribute names per S3-Rec item id) from the
//! public source files, exactly as `../shared/data/amazon-beauty-s3rec/items.tsv.gz` was
//! built:
//!
//! - S3-Rec item id → ASIN via P5's `datamaps.json` (`id2item`);
//! - ASIN → title via dh-r's `item_id_to_int.json` and `products_lookup.csv` (whitespace
//!   runs collapsed to one space);
//! - S3-Rec attribute id → name: S3-Rec numbers the attributes found on at least 5 items by
//!   first appearance, which is P5's attribute order restricted to `attributeid2num >= 5`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use serde::Deserialize;

use super::error::IngestError;
use super::source::{self, column, csv_error, parse_field};

/// Attributes on fewer items than this were dropped by S3-Rec's preprocessing.
const S3REC_ATTRIBUTE_CORE: u64 = 5;

#[derive(Deserialize)]
struct DataMaps {
    id2item: HashMap<String, String>,
    id2attribute: HashMap<String, String>,
    attributeid2num: HashMap<String, u64>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, IngestError> {
    serde_json::from_reader(source::open(path)?).map_err(|e| IngestError::parse(path, e.line(), "json", e.to_string()))
}

/// Input files of the join.
pub struct BeautySources<'a> {
    pub datamaps: &'a Path,
    pub item_id_to_int: &'a Path,
    pub products_lookup: &'a Path,
    pub item2attributes: &'a Path,
}

/// One row of the item table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub item_id: u64,
    pub asin: String,
    pub title: String,
    pub attributes: Vec<String>,
}

/// Joins the sources into item rows ordered by S3-Rec item id.
pub fn join(src: &BeautySources<'_>) -> Result<Vec<ItemRow>, IngestError> {
    let maps: DataMaps = read_json(src.datamaps)?;
    let asin_to_int: HashMap<String, u64> = read_json(src.item_id_to_int)?;
    let item2attributes: HashMap<String, Vec<u64>> = read_json(src.item2attributes)?;

    let path = src.products_lookup;
    let mut reader = source::csv_reader(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let (id_col, name_col) = (column(path, &header, "global_product_id")?, column(path, &header, "name")?);
    let mut titles: HashMap<u64, String> = HashMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let id = parse_field(path, line, "global_product_id", &rec[id_col])?;
        titles.insert(id, rec[name_col].split_whitespace().collect::<Vec<_>>().join(" "));
    }

    let mut kept: Vec<u64> = maps
        .attributeid2num
        .iter()
        .filter(|(_, n)| **n >= S3REC_ATTRIBUTE_CORE)
        .map(|(id, _)| parse_field(src.datamaps, 0, "attributeid2num", id))
        .collect::<Result<_, _>>()?;
    kept.sort_unstable();
    let attribute_names: Vec<&str> =
        kept.iter().map(|id| maps.id2attribute.get(&id.to_string()).map(String::as_str).unwrap_or_default()).collect();

    let ids: BTreeMap<u64, &String> = maps
        .id2item
        .iter()
        .map(|(id, asin)| Ok((parse_field(src.datamaps, 0, "id2item", id)?, asin)))
        .collect::<Result<_, IngestError>>()?;
    ids.into_iter()
        .map(|(item_id, asin)| {
            let int = asin_to_int.get(asin).ok_or_else(|| IngestError::Invalid {
                path: src.item_id_to_int.to_path_buf(),
                message: format!("ASIN {asin} (item {item_id}) has no product id"),
            })?;
            let title = titles.get(int).cloned().unwrap_or_default();
            let attributes = item2attributes
                .get(&item_id.to_string())
                .into_iter()
                .flatten()
                .map(|&a| {
                    attribute_names.get((a as usize).wrapping_sub(1)).map(|s| s.to_string()).ok_or_else(|| {
                        IngestError::Invalid {
                            path: src.item2attributes.to_path_buf(),
                            message: format!("item {item_id}: attribute id {a} is unknown"),
                        }
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(ItemRow { item_id, asin: asin.clone(), title, attributes })
        })
        .collect()
}

/// Writes rows as `items.tsv` (header `item_id asin title attributes`).
pub fn write_items_tsv(rows: &[ItemRow], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "item_id\tasin\ttitle\tattributes")?;
    let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
    for r in rows {
        writeln!(out, "{}\t{}\t{}\t{}", r.item_id, clean(&r.asin), clean(&r.title), clean(&r.attributes.join(" | ")))?;
    }
    Ok(())
}
