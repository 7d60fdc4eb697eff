//! MsSync in the browser.
//!
//! The page hands MsSync a `host` object (`{ http, store }`, every member async); [`host`] wraps
//! it as the core's [`HttpClient`](mssync_core::host::HttpClient) and
//! [`Store`](mssync_core::host::Store), adds a `setTimeout` clock, and every failure that crosses
//! back into JavaScript is a typed `MsSyncError` ([`error`]). The panels (Setup, Home) build on
//! this with the application layer.
//!
//! Exports: `mountSetupPanel` and `mountHomePanel` ([`panels`]), the `MsSync` class ([`app`]) for
//! Service, sign-in and everything the panels do, `timeZones()`, `mssyncVersion()`, and with the
//! `test-hooks` feature `checkStore(host)`.

pub mod app;
pub mod error;
pub mod host;
pub mod panels;
mod panic;
mod typescript;
#[cfg(target_arch = "wasm32")]
mod zone_rules;
mod zones;

#[cfg(all(feature = "test-hooks", target_arch = "wasm32"))]
mod test_hooks;

pub use error::{JsResult, MsSyncError, js_error, to_js_error};
pub use panic::spawn_guarded;
#[cfg(all(feature = "test-hooks", target_arch = "wasm32"))]
pub use test_hooks::check_js_store;
pub use zones::time_zones;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: panics become readable in the console and reject
/// the operations still pending (see [`panic`]).
#[wasm_bindgen(start)]
pub fn start() {
    panic::install_hook();
    #[cfg(target_arch = "wasm32")]
    zone_rules::install();
}

/// The library version, so a page can tell which build it loaded.
#[wasm_bindgen(js_name = mssyncVersion)]
pub fn mssync_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
