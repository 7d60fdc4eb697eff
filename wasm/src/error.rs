//! Typed errors for JavaScript: every failure that leaves this crate is an `Error` whose `name` is
//! `"MsSyncError"`, with `code` (the stable numeric [`ErrorCode`]), `codeName` (its snake_case
//! name) and `message` (the [`PublicError`] reason, which never carries content or secrets).

use js_sys::Reflect;
use mssync_core::{ErrorCode, PublicError};
use wasm_bindgen::prelude::*;

/// What exported functions return: the error side is always an `MsSyncError` object.
pub type JsResult<T> = Result<T, JsValue>;

/// The `name` of every error MsSync hands to JavaScript.
pub const ERROR_NAME: &str = "MsSyncError";

/// A [`PublicError`] on its way to JavaScript. Wraps the core type without adding anything, so
/// `?` turns any core error into a JS exception in one step.
#[repr(transparent)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsSyncError(pub PublicError);

impl MsSyncError {
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self(PublicError::new(code, reason))
    }

    pub fn code(&self) -> ErrorCode {
        self.0.code
    }
}

impl From<PublicError> for MsSyncError {
    fn from(error: PublicError) -> Self {
        Self(error)
    }
}

impl From<MsSyncError> for JsValue {
    fn from(error: MsSyncError) -> Self {
        to_js_error(&error.0)
    }
}

/// Builds the JS `MsSyncError` for a public error.
pub fn to_js_error(error: &PublicError) -> JsValue {
    let js = js_sys::Error::new(&error.reason);
    js.set_name(ERROR_NAME);
    let code_name = serde_json_name(error.code);
    // Setting plain data properties on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &"code".into(), &JsValue::from(error.code.number()));
    let _ = Reflect::set(&js, &"codeName".into(), &JsValue::from(code_name));
    js.into()
}

/// The snake_case name the core gives a code (`store_conflict`), as it appears in logs and docs.
fn serde_json_name(code: ErrorCode) -> String {
    // `Display` is "name (number)"; the name is the part before the space.
    let shown = code.to_string();
    shown
        .split_once(' ')
        .map(|(name, _)| name.to_owned())
        .unwrap_or(shown)
}

/// Any core error (store, transport, time zone, ...) as a JS `MsSyncError`, for `map_err`.
pub fn js_error(error: impl Into<PublicError>) -> JsValue {
    to_js_error(&error.into())
}

/// An argument from JavaScript that is not what the TypeScript definitions promise.
pub fn invalid_argument(reason: impl Into<String>) -> JsValue {
    MsSyncError::new(ErrorCode::InvalidArgument, reason).into()
}
