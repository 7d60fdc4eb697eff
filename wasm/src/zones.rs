//! The time-zone list of the Setup panel: the core's, with camelCase keys like every view.

use mssync_core::app::time_zone_options;
use wasm_bindgen::prelude::*;

use crate::error::JsResult;
use crate::host::to_js_camel;

/// `timeZones(): TimeZoneOption[]`, the list Setup offers, in Windows' display order.
#[wasm_bindgen(js_name = timeZones, unchecked_return_type = "TimeZoneOption[]")]
pub fn time_zones() -> JsResult<JsValue> {
    to_js_camel(&time_zone_options())
}
