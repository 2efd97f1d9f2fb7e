//! Shopper events as JavaScript passes them, read field by field so that every message
//! names the field that is wrong.

use pocketrank_runtime::{EventKind, RecordedEvent};
use wasm_bindgen::JsValue;

use crate::coded_error;

fn invalid(message: &str) -> JsValue {
    coded_error("E_EVENT", &format!("invalid event: {message}"))
}

fn field(event: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    js_sys::Reflect::get(event, &JsValue::from_str(name)).map_err(|_| invalid(&format!("event.{name} cannot be read")))
}

/// Reads `{ itemId, kind?, ts?, code?, title? }`. `kind` defaults to "view" and accepts the usual
/// synonyms; a missing `ts` is now when `ts_defaults_to_now`, else an error.
pub(crate) fn event_from_js(event: &JsValue, ts_defaults_to_now: bool) -> Result<RecordedEvent, JsValue> {
    if !event.is_object() {
        return Err(invalid("an event must be an object { itemId, kind?, ts?, code?, title? }"));
    }
    let item_id = match field(event, "itemId")?.as_string() {
        Some(id) if !id.is_empty() => id,
        _ => return Err(invalid("event.itemId must be a non-empty string")),
    };
    let kind = field(event, "kind")?;
    let kind = if kind.is_undefined() || kind.is_null() {
        EventKind::View
    } else {
        let name = kind.as_string();
        match name.as_deref().map(str::parse::<EventKind>) {
            Some(Ok(kind)) => kind,
            _ => {
                let shown = name.map_or_else(|| "a non-string".to_string(), |n| format!("{n:?}"));
                return Err(invalid(&format!("event.kind must be one of view, cart, purchase, review (got {shown})")));
            }
        }
    };
    let ts = field(event, "ts")?;
    let ts = if (ts.is_undefined() || ts.is_null()) && ts_defaults_to_now {
        js_sys::Date::now()
    } else {
        match ts.as_f64() {
            Some(ts) if ts.is_finite() => ts,
            _ => return Err(invalid("event.ts must be a finite number of milliseconds since the epoch (Date.now())")),
        }
    };
    let title = field(event, "title")?.as_string().filter(|t| !t.is_empty());
    let code = field(event, "code")?;
    let code = if code.is_undefined() || code.is_null() {
        None
    } else {
        match code.as_string() {
            Some(c) => Some(c).filter(|c| !c.is_empty()),
            None => return Err(invalid("event.code must be a string (the item's code from the shop's catalog API)")),
        }
    };
    Ok(RecordedEvent { item_id, kind, ts, code, title })
}
