//! Which column of a shop's export holds which field: `user_id`, `item_id`, `timestamp`
//! and `event` unless the shop names them otherwise (`--column user=customer_id`).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A field the trainer reads from a shop's events or catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    User,
    Item,
    Timestamp,
    Event,
    Title,
    Brand,
    Category,
    Attributes,
}

impl Field {
    /// Every field, in the order `--help` lists them.
    pub const ALL: [Field; 8] = [
        Self::User,
        Self::Item,
        Self::Timestamp,
        Self::Event,
        Self::Title,
        Self::Brand,
        Self::Category,
        Self::Attributes,
    ];

    /// The short name used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Item => "item",
            Self::Timestamp => "timestamp",
            Self::Event => "event",
            Self::Title => "title",
            Self::Brand => "brand",
            Self::Category => "category",
            Self::Attributes => "attributes",
        }
    }

    /// What the field holds, in words.
    pub fn about(self) -> &'static str {
        match self {
            Self::User => "shopper id",
            Self::Item => "item id",
            Self::Timestamp => "time",
            Self::Event => "event kind",
            Self::Title => "title",
            Self::Brand => "brand",
            Self::Category => "category",
            Self::Attributes => "attributes",
        }
    }

    /// The column name used when the shop does not say otherwise.
    pub fn default_column(self) -> &'static str {
        match self {
            Self::User => "user_id",
            Self::Item => "item_id",
            other => other.key(),
        }
    }
}

/// A `--column` value that is not `FIELD=NAME` with a known field.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ColumnSpecError {
    #[error("expected FIELD=COLUMN (e.g. user=customer_id), got {0:?}")]
    Shape(String),
    #[error("unknown field {0:?}: expected one of user, item, timestamp, event, title, brand, category, attributes")]
    UnknownField(String),
}

/// One `--column FIELD=NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub field: Field,
    pub column: String,
}

impl FromStr for ColumnSpec {
    type Err = ColumnSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, column) = s.split_once('=').ok_or_else(|| ColumnSpecError::Shape(s.to_string()))?;
        let (key, column) = (key.trim().to_ascii_lowercase(), column.trim());
        if column.is_empty() {
            return Err(ColumnSpecError::Shape(s.to_string()));
        }
        let field = Field::ALL
            .into_iter()
            .find(|f| f.key() == key || f.default_column() == key)
            .ok_or(ColumnSpecError::UnknownField(key))?;
        Ok(Self { field, column: column.to_string() })
    }
}

impl fmt::Display for ColumnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.field.key(), self.column)
    }
}

/// The column name of every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    names: [String; Field::ALL.len()],
}

impl Default for Columns {
    fn default() -> Self {
        Self { names: Field::ALL.map(|f| f.default_column().to_string()) }
    }
}

impl Columns {
    /// The defaults, with `specs` applied in order (a later spec for a field wins).
    pub fn with(specs: &[ColumnSpec]) -> Self {
        let mut columns = Self::default();
        for spec in specs {
            columns.names[spec.field as usize] = spec.column.clone();
        }
        columns
    }

    /// The column that holds `field`.
    pub fn name(&self, field: Field) -> &str {
        &self.names[field as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_rename_fields() {
        let specs: Vec<ColumnSpec> =
            ["user=customer_id", "ITEM_ID = sku", "timestamp=event_time"].iter().map(|s| s.parse().unwrap()).collect();
        let columns = Columns::with(&specs);
        assert_eq!(columns.name(Field::User), "customer_id");
        assert_eq!(columns.name(Field::Item), "sku");
        assert_eq!(columns.name(Field::Timestamp), "event_time");
        assert_eq!(columns.name(Field::Event), "event");
        assert_eq!(specs[0].to_string(), "user=customer_id");
        assert_eq!(Columns::with(&[]), Columns::default());
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        assert_eq!("user".parse::<ColumnSpec>(), Err(ColumnSpecError::Shape("user".into())));
        assert_eq!("user=".parse::<ColumnSpec>(), Err(ColumnSpecError::Shape("user=".into())));
        let err = "shopper=x".parse::<ColumnSpec>().unwrap_err();
        assert!(err.to_string().contains("unknown field \"shopper\""), "{err}");
    }
}
