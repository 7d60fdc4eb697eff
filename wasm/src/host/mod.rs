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

/// Serializes a core view for JavaScript with camelCase keys (`companyId`); values unchanged.
pub fn to_js_camel<T: Serialize + ?Sized>(value: &T) -> JsResult<JsValue> {
    let json = serde_json::to_value(value).map_err(|e| {
        crate::error::invalid_argument(format!("cannot hand a value to JavaScript: {e}"))
    })?;
    to_js(&rename_keys(json, &snake_to_camel))
}

/// Reads a request from JavaScript written with camelCase keys into a core type.
pub fn from_js_camel<T: serde::de::DeserializeOwned>(value: &JsValue, what: &str) -> JsResult<T> {
    let bad = |e: &dyn std::fmt::Display| {
        crate::error::invalid_argument(format!(
            "{what}: {}",
            mssync_core::error::argument_error_without_values(&e.to_string())
        ))
    };
    let json: serde_json::Value =
        serde_wasm_bindgen::from_value(value.clone()).map_err(|e| bad(&e))?;
    serde_json::from_value(rename_keys(json, &camel_to_snake)).map_err(|e| bad(&e))
}

fn rename_keys(value: serde_json::Value, rename: &dyn Fn(&str) -> String) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (rename(&k), rename_keys(v, rename)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| rename_keys(v, rename)).collect())
        }
        other => other,
    }
}

fn snake_to_camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn camel_to_snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{camel_to_snake, snake_to_camel};

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn keys_convert_both_ways() {
        for (snake, camel) in [
            ("company_id", "companyId"),
            ("time_zone_iana", "timeZoneIana"),
            ("name", "name"),
            ("to_outlook", "toOutlook"),
        ] {
            assert_eq!(snake_to_camel(snake), camel);
            assert_eq!(camel_to_snake(camel), snake);
        }
    }
}
