//! MsSync's panels in the browser: Setup and Home, rendered into the host page.
//!
//! The module holds no engine, no store and no secret, and never names a user: everything goes
//! through one async callback the page supplies, `host.api(operation, requestJson)`, which
//! reaches the page's backend. The backend knows the signed-in user from its own session and
//! answers with that user's views ([`api`]). Times are shown in the user's zone through the
//! browser's `Intl` ([`time`]).
//!
//! Exports: `mountSetupPanel` and `mountHomePanel` ([`panels`]), `mssyncVersion()`.

pub mod api;
pub mod error;
pub mod panels;
mod panic;
pub mod time;
mod typescript;
pub mod views;

pub use error::{JsResult, MsSyncError};
pub use panic::spawn_guarded;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: panics become readable in the console and reject
/// the operations still pending (see [`panic`]).
#[wasm_bindgen(start)]
pub fn start() {
    panic::install_hook();
}

/// The library version, so a page can tell which build it loaded.
#[wasm_bindgen(js_name = mssyncVersion)]
pub fn mssync_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
