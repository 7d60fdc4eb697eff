//! The WASM build of MsSync; the panels arrive with their issue.

use wasm_bindgen::prelude::*;

/// The library version, so a page can tell which build it loaded.
#[wasm_bindgen(js_name = mssyncVersion)]
pub fn mssync_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
