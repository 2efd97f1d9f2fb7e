//! What a shopper can do with an item.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What the shopper did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View,
    Cart,
    Purchase,
    Review,
}

impl EventKind {
    /// All kinds, in a stable order (used for embeddings and one-hot features).
    pub const ALL: [EventKind; 4] = [Self::View, Self::Cart, Self::Purchase, Self::Review];

    /// Stable small integer for this kind (its position in [`EventKind::ALL`]).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The canonical lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
            Self::Review => "review",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event name that is not one of the known kinds.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown event kind {0:?}: expected view, cart, purchase or review")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    /// Accepts the canonical names and the common synonyms shops export
    /// (`click`, `add_to_cart`, `order`, `transaction`, `rating`...), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The canonical names as logs usually spell them, without normalising a copy.
        if let Some(kind) = Self::ALL.into_iter().find(|k| k.as_str() == s) {
            return Ok(kind);
        }
        let normalized = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Ok(match normalized.as_str() {
            "view" | "click" | "detail" | "pageview" | "page_view" | "impression_click" => Self::View,
            "cart" | "add_to_cart" | "addtocart" | "basket" | "add" => Self::Cart,
            "purchase" | "buy" | "order" | "transaction" | "checkout" => Self::Purchase,
            "review" | "rating" | "rate" => Self::Review,
            _ => return Err(UnknownEventKind(s.to_string())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_synonyms() {
        assert_eq!("View".parse::<EventKind>(), Ok(EventKind::View));
        assert_eq!("add-to-cart".parse::<EventKind>(), Ok(EventKind::Cart));
        assert_eq!(" transaction ".parse::<EventKind>(), Ok(EventKind::Purchase));
        assert_eq!("rating".parse::<EventKind>(), Ok(EventKind::Review));
        let err = "wishlist".parse::<EventKind>().unwrap_err();
        assert!(err.to_string().contains("wishlist"));
    }
}
