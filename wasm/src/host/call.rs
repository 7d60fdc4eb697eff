//! Calling the page's functions and awaiting what they return.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::{JsResult, invalid_argument};

/// `object[name]`, which must be a function; `path` names it in the error ("host.store.get").
pub(crate) fn method(object: &JsValue, name: &str, path: &str) -> JsResult<Function> {
    if !object.is_object() && !object.is_function() {
        return Err(invalid_argument(format!(
            "{} must be an object",
            path.rsplit_once('.').map_or(path, |(owner, _)| owner)
        )));
    }
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| invalid_argument(format!("{path} must be a function")))
}

/// Calls `function` with `this` bound to `owner` and awaits the result, whether the function
/// returned a Promise or a plain value. A synchronous throw and a rejection both come back as `Err`.
pub(crate) async fn call_async(
    owner: &JsValue,
    function: &Function,
    arg: &JsValue,
) -> Result<JsValue, JsValue> {
    let returned = function.call1(owner, arg)?;
    JsFuture::from(Promise::resolve(&returned)).await
}

/// A short description of what JavaScript threw, for the host's own logs.
pub(crate) fn describe(thrown: &JsValue) -> String {
    if let Some(error) = thrown.dyn_ref::<js_sys::Error>() {
        format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        )
    } else if let Some(text) = thrown.as_string() {
        text
    } else {
        format!("{thrown:?}")
    }
}

/// A string property of a thrown value, if it has one (`name`, `kind`).
pub(crate) fn string_property(thrown: &JsValue, name: &str) -> Option<String> {
    if !thrown.is_object() {
        return None;
    }
    Reflect::get(thrown, &JsValue::from_str(name))
        .ok()?
        .as_string()
}
