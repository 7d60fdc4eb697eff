//! Typed errors for JavaScript: every failure that leaves this crate is an `Error` whose `name` is
//! `"MsSyncError"`, with `code` (the stable numeric error code), `codeName` (its snake_case name)
//! and `message`. Errors the backend answers carry its code; the panels add only their own few
//! (an argument the page got wrong, a malformed answer, a panic).

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

/// What exported functions return: the error side is always an `MsSyncError` object.
pub type JsResult<T> = Result<T, JsValue>;

/// The `name` of every error MsSync hands to JavaScript.
pub const ERROR_NAME: &str = "MsSyncError";

/// The codes the panels raise themselves (the same numbers as the core's `ErrorCode`).
pub const INTERNAL: (u32, &str) = (100, "internal");
pub const INVALID_ARGUMENT: (u32, &str) = (101, "invalid_argument");
pub const INVALID_JSON: (u32, &str) = (102, "invalid_json");
pub const PANIC: (u32, &str) = (104, "panic");
/// The backend could not be reached (the `api` callback rejected without a code).
pub const TRANSPORT_FAILURE: (u32, &str) = (202, "transport_failure");

/// An error as the panels show it and hand it to JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsSyncError {
    pub code: u32,
    pub code_name: String,
    pub message: String,
}

impl MsSyncError {
    pub fn new((code, code_name): (u32, &str), message: impl Into<String>) -> Self {
        Self {
            code,
            code_name: code_name.to_owned(),
            message: message.into(),
        }
    }

    /// The error a rejection of `host.api` carries: `code`, `codeName` (or `code_name`) and
    /// `message` (or `reason`) when the host passed the backend's error on; otherwise a
    /// transport failure (the message of a plain `Error` is kept, it is the page's own).
    pub fn from_rejection(value: &JsValue) -> Self {
        let member = |name: &str| Reflect::get(value, &name.into()).ok();
        let text = |name: &str| member(name).and_then(|v| v.as_string());
        let code = member("code").and_then(|v| v.as_f64());
        let message = text("message")
            .or_else(|| text("reason"))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| "the backend could not be reached".to_owned());
        match code {
            Some(code) if code >= 0.0 && code.fract() == 0.0 => Self {
                code: code as u32,
                code_name: text("codeName")
                    .or_else(|| text("code_name"))
                    .unwrap_or_default(),
                message,
            },
            _ => Self::new(TRANSPORT_FAILURE, message),
        }
    }
}

impl From<MsSyncError> for JsValue {
    fn from(error: MsSyncError) -> Self {
        let js = js_sys::Error::new(&error.message);
        js.set_name(ERROR_NAME);
        // Setting plain data properties on a fresh Error object cannot fail.
        let _ = Reflect::set(&js, &"code".into(), &JsValue::from(error.code));
        let _ = Reflect::set(&js, &"codeName".into(), &JsValue::from(error.code_name));
        js.into()
    }
}

/// An argument from JavaScript that is not what the TypeScript definitions promise.
pub fn invalid_argument(reason: impl Into<String>) -> JsValue {
    MsSyncError::new(INVALID_ARGUMENT, reason).into()
}
