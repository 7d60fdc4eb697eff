//! Times in the user's zone. The views carry UTC times as `2024-02-16 07:35Z`; the panels show
//! them in the zone the user chose in Setup, formatted by the browser's `Intl` (the module carries
//! no time-zone data).

/// `2024-02-16 07:35Z` as an ISO 8601 instant (`2024-02-16T07:35:00Z`), for `<time datetime>`
/// and `Date`; `None` for any other text.
pub fn iso_instant(label: &str) -> Option<String> {
    let (date, time) = label.strip_suffix('Z')?.split_once(' ')?;
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    let (h, min) = time.split_once(':')?;
    (digits(y, 4) && digits(m, 2) && digits(day, 2) && digits(h, 2) && digits(min, 2))
        .then(|| format!("{date}T{time}:00Z"))
}

#[cfg(target_arch = "wasm32")]
mod intl {
    use js_sys::{Date, Object, Reflect};
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// `Intl.DateTimeFormat`, bound with `catch`: an unknown zone throws a RangeError.
        #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
        type ZoneFormat;

        #[wasm_bindgen(constructor, catch, js_namespace = Intl, js_class = "DateTimeFormat")]
        fn new(locales: &JsValue, options: &Object) -> Result<ZoneFormat, JsValue>;

        #[wasm_bindgen(method, js_class = "DateTimeFormat")]
        fn format(this: &ZoneFormat, date: &Date) -> String;
    }

    /// `instant` (ISO 8601) in `zone` (IANA) in the browser's language, or `None` when the
    /// browser does not know the zone.
    pub fn format(instant: &str, zone: &str) -> Option<String> {
        let options = Object::new();
        for (key, value) in [
            ("timeZone", zone),
            ("dateStyle", "medium"),
            ("timeStyle", "short"),
        ] {
            Reflect::set(&options, &key.into(), &value.into()).ok()?;
        }
        let format = ZoneFormat::new(&JsValue::UNDEFINED, &options).ok()?;
        let date = Date::new(&JsValue::from_str(instant));
        date.get_time().is_finite().then(|| format.format(&date))
    }
}

/// A view's UTC time as the user reads it: in `zone` through `Intl`, or the UTC label as it
/// came when there is no zone or the browser does not know it (and natively, in tests).
pub fn in_zone(label: &str, zone: Option<&str>) -> String {
    #[cfg(target_arch = "wasm32")]
    if let (Some(instant), Some(zone)) = (iso_instant(label), zone)
        && let Some(shown) = intl::format(&instant, zone)
    {
        return shown;
    }
    let _ = zone;
    label.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn utc_labels_become_iso_instants_and_nothing_else_does() {
        assert_eq!(
            iso_instant("2026-11-28 10:05Z").as_deref(),
            Some("2026-11-28T10:05:00Z")
        );
        for other in [
            "",
            "—",
            "2026-11-28 10:05",
            "2026-11-28T10:05Z",
            "26-11-28 10:05Z",
        ] {
            assert_eq!(iso_instant(other), None, "{other}");
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_time_without_a_known_zone_stays_in_utc() {
        assert_eq!(in_zone("2026-11-28 10:05Z", None), "2026-11-28 10:05Z");
        assert_eq!(in_zone("—", Some("Asia/Tokyo")), "—");
        assert_eq!(
            in_zone("2026-11-28 10:05Z", Some("Not/AZone")),
            "2026-11-28 10:05Z"
        );
    }

    /// Under Node: `Intl` shows the instant in the zone (Tokyo is UTC+9, no DST).
    #[cfg(target_arch = "wasm32")]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn intl_shows_the_time_in_the_users_zone() {
        let tokyo = in_zone("2026-11-28 10:05Z", Some("Asia/Tokyo"));
        assert!(tokyo.contains("19:05") || tokyo.contains("7:05"), "{tokyo}");
        let sofia = in_zone("2026-07-01 10:05Z", Some("Europe/Sofia"));
        assert!(sofia.contains("13:05") || sofia.contains("1:05"), "{sofia}");
    }
}
