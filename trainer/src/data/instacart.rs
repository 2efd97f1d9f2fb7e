//! Instacart order lines: baskets of products, with the product, aisle and department
//! tables as the catalog.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use pocketrank_model::{Catalog, Dataset, Event, EventKind, Item};

use super::error::IngestError;
use super::ids::{Interner, RowPolicy};
use super::source::{self, column, csv_error, parse_field};
use super::{Folder, Ingested, Source};

/// Paths of the Instacart tables.
#[derive(Debug, Clone)]
pub struct Instacart {
    pub order_lines: PathBuf,
    pub products: PathBuf,
    pub aisles: PathBuf,
    pub departments: PathBuf,
}

impl Instacart {
    /// The order-line sample and the product, aisle and department tables in `folder`.
    pub fn open(folder: &Folder) -> Result<Box<dyn Source>, IngestError> {
        Ok(Box::new(Self {
            order_lines: folder.need(ORDER_LINES)?,
            products: folder.need("products.csv.gz")?,
            aisles: folder.need("aisles.csv")?,
            departments: folder.need("departments.csv")?,
        }))
    }
}

/// The order-line sample: the file that marks an Instacart folder.
pub const ORDER_LINES: &str = "order_lines_sample.csv.gz";

impl Source for Instacart {
    fn read(&self, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
        read(self, policy)
    }
}

/// Reads an `id,name` lookup table.
fn names(path: &Path, id_col: &str, name_col: &str) -> Result<HashMap<u32, String>, IngestError> {
    let mut reader = source::csv_reader(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let (id, name) = (column(path, &header, id_col)?, column(path, &header, name_col)?);
    let mut out = HashMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        out.insert(parse_field(path, line, id_col, &rec[id])?, rec[name].to_string());
    }
    Ok(out)
}

/// Reads the order lines. Every product of the product table is in the catalog (the shop's
/// whole assortment); each order line becomes a `purchase` event.
///
/// Time: the data have only days between orders and the hour of day, so an order's clock
/// is the running sum of `days_since_prior_order` (in seconds) plus its hour, and lines
/// within a basket are one second apart in cart order.
fn read(files: &Instacart, policy: &mut RowPolicy) -> Result<Ingested, IngestError> {
    let aisles = names(&files.aisles, "aisle_id", "aisle")?;
    let departments = names(&files.departments, "department_id", "department")?;

    let path = files.products.as_path();
    let mut reader = source::csv_reader(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let cols = ["product_id", "product_name", "aisle_id", "department_id"]
        .map(|c| column(path, &header, c))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut items = Vec::new();
    let mut dense: HashMap<u64, u32> = HashMap::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let id: u64 = parse_field(path, line, "product_id", &rec[cols[0]])?;
        let aisle = aisles.get(&parse_field(path, line, "aisle_id", &rec[cols[2]])?).cloned();
        let department = departments.get(&parse_field(path, line, "department_id", &rec[cols[3]])?).cloned();
        dense.insert(id, items.len() as u32);
        items.push(Item {
            id: id.to_string(),
            title: rec[cols[1]].trim().to_string(),
            brand: None,
            category: aisle.clone(),
            attributes: aisle.into_iter().chain(department).collect(),
        });
    }
    let catalog = Catalog::new(items)?;

    let path = files.order_lines.as_path();
    let mut reader = source::csv_reader(path)?;
    let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
    let wanted =
        ["user_id", "order_number", "order_hour_of_day", "days_since_prior_order", "product_id", "add_to_cart_order"];
    let c = wanted.map(|w| column(path, &header, w)).into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut users = Interner::default();
    let mut events = Vec::new();
    let mut baskets: HashSet<(u32, u32)> = HashSet::new();
    // Per user: (last order number, that order's clock).
    let mut clock: HashMap<u32, (u32, i64)> = HashMap::new();
    let mut lines = 0usize;
    for rec in reader.records() {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        lines += 1;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let parsed = (|| {
            let user: u64 = parse_field(path, line, "user_id", &rec[c[0]])?;
            let order: u32 = parse_field(path, line, "order_number", &rec[c[1]])?;
            let hour: u32 = parse_field(path, line, "order_hour_of_day", &rec[c[2]])?;
            let days = rec[c[3]].trim();
            let days: f64 =
                if days.is_empty() { 0.0 } else { parse_field(path, line, "days_since_prior_order", days)? };
            let product: u64 = parse_field(path, line, "product_id", &rec[c[4]])?;
            let cart_pos: f64 = parse_field(path, line, "add_to_cart_order", &rec[c[5]])?;
            let item = *dense.get(&product).ok_or_else(|| {
                IngestError::parse(
                    path,
                    line,
                    "product_id",
                    format!("product {product} is not in {}", files.products.display()),
                )
            })?;
            if hour > 23 || !days.is_finite() || days < 0.0 || !cart_pos.is_finite() || cart_pos < 0.0 {
                return Err(IngestError::parse(path, line, "order", "hour, days or cart position out of range"));
            }
            Ok((user, order, hour, days, item, cart_pos))
        })();
        let Some((user, order, hour, days, item, cart_pos)) = policy.check(parsed)? else { continue };
        let u = users.intern(&user.to_string());
        let (last_order, last_clock) = clock.get(&u).copied().unwrap_or((0, 0));
        let order_clock = if order == last_order {
            last_clock
        } else {
            let day_start = last_clock - last_clock.rem_euclid(86_400);
            (day_start + (days * 86_400.0) as i64 + hour as i64 * 3600).max(last_clock + 3600)
        };
        clock.insert(u, (order, order_clock));
        baskets.insert((u, order));
        events.push(Event { user: u, item, ts: order_clock + cart_pos as i64, kind: EventKind::Purchase });
    }
    if lines == 0 {
        return Err(IngestError::Empty { path: path.to_path_buf(), expected: "order lines".into() });
    }
    let dataset = Dataset::from_events("instacart", catalog, users.into_names(), &events)?;
    let rows = dataset.stats().interactions + policy.skipped;
    Ok(Ingested { dataset, rows, skipped_rows: policy.skipped, duplicate_events: 0, baskets: Some(baskets.len()) })
}
