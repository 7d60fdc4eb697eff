//! Exports for test pages only (feature `test-hooks`).

use js_sys::Promise;
use mssync_core::host::conformance::check_store;
use wasm_bindgen::prelude::*;

use crate::host::JsStore;
use crate::panic::{PanicDetail, spawn_guarded_with};

/// `checkStore(host): Promise<void>`: runs the core store conformance suite against
/// `host.store`. Resolves when every case passes; rejects with an `MsSyncError` of code `panic`
/// (104) whose message names the failing case, or `invalid_argument` (101) if `host.store` is not
/// a store. A failed run leaves the module unusable (the suite fails by panicking): reload it.
#[wasm_bindgen(js_name = checkStore, unchecked_return_type = "Promise<void>")]
pub fn check_js_store(
    #[wasm_bindgen(unchecked_param_type = "MsSyncHost")] host: JsValue,
) -> Promise {
    spawn_guarded_with(PanicDetail::Shown, async move {
        let store = JsStore::from_host(&host)?;
        check_store(&store).await;
        Ok(JsValue::UNDEFINED)
    })
}
