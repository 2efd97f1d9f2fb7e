//! pocketrank for JavaScript: the WebAssembly entry points.
//!
//! The package grows the on-device `Personalizer` (load an artifact, observe events,
//! rerank) on top of `pocketrank-model`; today it exposes the version it was built from.

use wasm_bindgen::prelude::*;

/// The version of the pocketrank package, e.g. `"0.1.0"`.
#[wasm_bindgen(js_name = version)]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_crate_version() {
        assert_eq!(super::version(), env!("CARGO_PKG_VERSION"));
    }
}
