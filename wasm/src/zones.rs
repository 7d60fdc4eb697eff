//! The time-zone list of the Setup panel.

use mssync_core::model::tz::{WindowsZone, windows_zones};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::JsResult;
use crate::host::to_js;

/// One choice of the Setup time-zone list (`TimeZoneOption` in the TypeScript definitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeZoneOption {
    /// The Windows id Graph takes, e.g. "FLE Standard Time".
    pub id: &'static str,
    /// e.g. "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius".
    pub display_name: &'static str,
    /// The IANA zone it maps to, e.g. "Europe/Helsinki".
    pub iana: &'static str,
}

impl From<WindowsZone> for TimeZoneOption {
    fn from(zone: WindowsZone) -> Self {
        Self {
            id: zone.id,
            display_name: zone.display_name,
            iana: zone.iana,
        }
    }
}

/// Every Windows zone, in Windows' display order (by offset, then name).
pub fn time_zone_options() -> Vec<TimeZoneOption> {
    windows_zones().map(TimeZoneOption::from).collect()
}

/// `timeZones(): TimeZoneOption[]`, the list Setup offers.
#[wasm_bindgen(js_name = timeZones, unchecked_return_type = "TimeZoneOption[]")]
pub fn time_zones() -> JsResult<JsValue> {
    to_js(&time_zone_options())
}
