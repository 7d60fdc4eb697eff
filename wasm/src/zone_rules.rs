//! Zone rules from the browser's `Intl` (see `mssync_core::host::ZoneRules`): the module ships no tz
//! data, and follows the tzdata of the browser (or Node) it runs in.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use js_sys::{Array, Date, Object, Reflect};
use mssync_core::host::{Zone, ZoneRules, install_zone_rules};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat`, bound here with `catch`: an unknown zone throws a RangeError.
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    #[derive(Clone)]
    type ZoneFormat;

    #[wasm_bindgen(constructor, catch, js_namespace = Intl, js_class = "DateTimeFormat")]
    fn new(locales: &str, options: &Object) -> Result<ZoneFormat, JsValue>;

    #[wasm_bindgen(method, js_class = "DateTimeFormat", js_name = formatToParts)]
    fn format_to_parts(this: &ZoneFormat, date: &Date) -> Array;
}

thread_local! {
    // Building a DateTimeFormat is the slow part; one per zone, kept for the page's life.
    static FORMATS: RefCell<HashMap<&'static str, Option<ZoneFormat>>> =
        RefCell::new(HashMap::new());
}

/// Offsets read by formatting the instant in the zone with `Intl.DateTimeFormat`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntlZoneRules;

/// Makes `Intl` the zone rules of this module; called when it starts.
pub fn install() {
    install_zone_rules(&IntlZoneRules);
}

fn format_for(iana: &'static str) -> Option<ZoneFormat> {
    FORMATS.with(|formats| {
        formats
            .borrow_mut()
            .entry(iana)
            .or_insert_with(|| {
                let options = Object::new();
                for (key, value) in [
                    ("timeZone", iana),
                    ("hourCycle", "h23"),
                    ("year", "numeric"),
                    ("month", "numeric"),
                    ("day", "numeric"),
                    ("hour", "numeric"),
                    ("minute", "numeric"),
                    ("second", "numeric"),
                    ("era", "short"),
                ] {
                    Reflect::set(&options, &key.into(), &value.into()).ok()?;
                }
                // An unknown zone throws: the rules do not know it.
                ZoneFormat::new("en-US", &options).ok()
            })
            .clone()
    })
}

impl ZoneRules for IntlZoneRules {
    fn utc_offset(&self, zone: &Zone, instant: DateTime<Utc>) -> Option<i32> {
        let format = format_for(zone.iana_name())?;
        let seconds = instant.timestamp();
        let date = Date::new(&JsValue::from_f64(seconds as f64 * 1000.0));
        let parts = format.format_to_parts(&date);
        let (mut year, mut month, mut day, mut hour, mut minute, mut second) = (0, 0, 0, 0, 0, 0);
        let mut before_christ = false;
        for part in parts.iter() {
            let kind = Reflect::get(&part, &"type".into()).ok()?.as_string()?;
            let value = Reflect::get(&part, &"value".into()).ok()?.as_string()?;
            let number = || value.parse::<i64>().ok();
            match kind.as_str() {
                "year" => year = number()?,
                "month" => month = number()?,
                "day" => day = number()?,
                "hour" => hour = number()?,
                "minute" => minute = number()?,
                "second" => second = number()?,
                "era" => before_christ = value.starts_with('B'),
                _ => {}
            }
        }
        if before_christ {
            year = 1 - year;
        }
        let local = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)?
            .and_hms_opt(hour as u32, minute as u32, second as u32)?
            .and_utc()
            .timestamp();
        i32::try_from(local - seconds).ok()
    }
}
