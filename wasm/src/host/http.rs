use async_trait::async_trait;
use js_sys::Function;
use mssync_core::host::{
    HttpClient, HttpRequest, HttpResponse, TransportError, TransportErrorKind,
};
use wasm_bindgen::JsValue;

use super::call::{call_async, describe, method, string_property};
use super::dto::{HttpRequestJs, HttpResponseJs};
use super::to_js;
use crate::error::JsResult;

/// `host.http` as the core's [`HttpClient`].
///
/// A rejection is a [`TransportError`] (any status, 500 included, is a response). Its kind comes
/// from the thrown value: a `kind` of `"timeout"`, `"connection"` or `"host"` is taken as is; a
/// `TimeoutError`/`AbortError` (an aborted or timed-out `fetch`) is a timeout; a `TypeError`
/// (what `fetch` throws when the network fails) is a connection failure; anything else is the
/// host's own failure.
pub struct JsHttp {
    host: JsValue,
    send: Function,
}

impl JsHttp {
    pub fn from_host(host: &JsValue) -> JsResult<Self> {
        Ok(Self {
            host: host.clone(),
            send: method(host, "http", "host.http")?,
        })
    }
}

fn transport_kind(thrown: &JsValue) -> TransportErrorKind {
    match string_property(thrown, "kind").as_deref() {
        Some("timeout") => return TransportErrorKind::Timeout,
        Some("connection") => return TransportErrorKind::Connection,
        Some("host") => return TransportErrorKind::Host,
        _ => {}
    }
    match string_property(thrown, "name").as_deref() {
        Some("TimeoutError" | "AbortError") => TransportErrorKind::Timeout,
        Some("TypeError") => TransportErrorKind::Connection,
        _ => TransportErrorKind::Host,
    }
}

#[async_trait(?Send)]
impl HttpClient for JsHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let request = to_js(&HttpRequestJs::from(request))
            .map_err(|e| TransportError::new(TransportErrorKind::Host, describe(&e)))?;
        let answer = call_async(&self.host, &self.send, &request)
            .await
            .map_err(|thrown| TransportError::new(transport_kind(&thrown), describe(&thrown)))?;
        let response: HttpResponseJs = serde_wasm_bindgen::from_value(answer).map_err(|e| {
            TransportError::new(
                TransportErrorKind::Host,
                format!(
                    "host.http resolved to something other than {{ status, headers, body }}: {e}"
                ),
            )
        })?;
        Ok(response.into())
    }
}
