//! The one way the panels reach their backend: `host.api(operation, requestJson)`, a function
//! the page supplies that resolves to the answer's JSON text (or rejects with the backend's
//! error). The operations are those of `mssync_core::app::UserOperation`; the page's backend
//! runs them for the user its own session signed in. No request names a user.

use js_sys::{Function, Promise, Reflect};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::{INVALID_JSON, JsResult, MsSyncError, invalid_argument};

/// The page's `host`: only its `api` function is kept.
#[derive(Clone)]
pub struct Backend {
    api: Function,
}

impl Backend {
    /// Reads `host.api`; anything else on `host` is ignored.
    pub fn from_js(host: &JsValue) -> JsResult<Self> {
        let api = Reflect::get(host, &"api".into()).unwrap_or(JsValue::UNDEFINED);
        let api = api
            .dyn_into::<Function>()
            .map_err(|_| invalid_argument("host.api must be a function"))?;
        Ok(Self { api })
    }

    /// Calls `operation` with `request` and reads the answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        operation: &str,
        request: serde_json::Value,
    ) -> Result<T, MsSyncError> {
        let answer = self
            .api
            .call2(
                &JsValue::UNDEFINED,
                &operation.into(),
                &request.to_string().into(),
            )
            .map_err(|e| MsSyncError::from_rejection(&e))?;
        let answer = JsFuture::from(Promise::resolve(&answer))
            .await
            .map_err(|e| MsSyncError::from_rejection(&e))?;
        let text = answer.as_string().ok_or_else(|| {
            MsSyncError::new(
                INVALID_JSON,
                "host.api must resolve to the answer's JSON text",
            )
        })?;
        serde_json::from_str(&text).map_err(|_| {
            MsSyncError::new(
                INVALID_JSON,
                format!("the backend's answer to {operation} is not its view"),
            )
        })
    }
}
