//! The JS host adapter: the page's `host = { http, store }` as the core's host contracts.
//!
//! ```js
//! const host = {
//!   http: async (request) => ({ status, headers, body }),   // HttpRequestJs -> HttpResponseJs
//!   store: { get: async (key) => ..., scan: async (prefix) => ..., commit: async (batch) => ... },
//! };
//! ```
//! Every member may return a value or a Promise; a thrown exception or a rejection becomes the
//! core's `TransportError` or `StoreError::Backend`. The shapes are the DTOs of [`dto`] and the
//! TypeScript section of this crate. Native builds keep only the DTOs: a `JsValue` is not `Send`,
//! and the core's host contracts require it there.

pub mod dto;

#[cfg(target_arch = "wasm32")]
mod call;
#[cfg(target_arch = "wasm32")]
mod clock;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(target_arch = "wasm32")]
pub use clock::BrowserClock;
#[cfg(target_arch = "wasm32")]
pub use http::JsHttp;
#[cfg(target_arch = "wasm32")]
pub use store::JsStore;

use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::JsResult;

/// Serializes for JavaScript: JSON-compatible (maps as plain objects, `None` as `null`), but byte
/// buffers as `Uint8Array` rather than arrays of numbers.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsResult<JsValue> {
    let serializer =
        serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false);
    value.serialize(&serializer).map_err(|e| {
        crate::error::invalid_argument(format!("cannot hand a value to JavaScript: {e}"))
    })
}

/// The page's `host` object as the core's [`Host`](mssync_core::host::Host), with
/// [`BrowserClock`] for time. Fails with `invalid_argument` (101) naming the first missing member.
#[cfg(target_arch = "wasm32")]
pub fn host_from_js(host: &JsValue) -> JsResult<mssync_core::host::Host> {
    use std::sync::Arc;
    Ok(mssync_core::host::Host {
        http: Arc::new(JsHttp::from_host(host)?),
        store: Arc::new(JsStore::from_host(host)?),
        clock: Arc::new(BrowserClock),
    })
}
