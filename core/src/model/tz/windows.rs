//! Windows zones: the CLDR table (through `windows-timezones`) with the zones newer than the crate,
//! Windows ids and display names to IANA zones, and the parsing of a zone name.

use std::str::FromStr;

use chrono::DateTime;
use chrono_tz::Tz;
use serde::Serialize;
use strum::IntoEnumIterator;
use windows_timezones::WindowsTimezone;

use super::graph_dates::GRAPH_UTC_ZONE;
use super::rules::rules;
use super::{TimeZoneError, Zone};

/// One Windows time zone as Setup lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowsZone {
    /// The Windows id, e.g. "FLE Standard Time"; what Graph's `outlook.timezone` takes.
    pub id: &'static str,
    /// e.g. "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius".
    pub display_name: &'static str,
    /// The CLDR default ("001") IANA zone, e.g. "Europe/Helsinki".
    pub iana: &'static str,
}

impl From<WindowsTimezone> for WindowsZone {
    fn from(zone: WindowsTimezone) -> Self {
        Self {
            id: zone.name(),
            display_name: zone.description(),
            iana: zone.tzdb_id(),
        }
    }
}

/// Windows zones of CLDR's current `windowsZones.xml` that the `windows-timezones` crate (0.5.1,
/// the newest on crates.io) does not know yet: Windows added them in 2026 for Canadian provinces
/// whose rules part from their neighbours'. Ids and IANA zones as CLDR has them (tzlocal 5.4's
/// copy of the table); the display names are MsSync's own, in Windows' "(UTC±hh:mm) Place" form,
/// as no table we can read carries them. A test compares the whole table against CLDR's.
const NEWER_ZONES: &[WindowsZone] = &[
    WindowsZone {
        id: "British Columbia Standard Time",
        display_name: "(UTC-08:00) British Columbia",
        iana: "America/Vancouver",
    },
    WindowsZone {
        id: "Alberta Standard Time",
        display_name: "(UTC-07:00) Alberta",
        iana: "America/Edmonton",
    },
    WindowsZone {
        id: "Manitoba Standard Time",
        display_name: "(UTC-06:00) Manitoba",
        iana: "America/Winnipeg",
    },
];

/// The IANA zones CLDR now maps to the [`NEWER_ZONES`] (their territory "CA" entries and the
/// tzdb aliases tzlocal lists).
pub(super) const NEWER_ZONE_IANA: &[(&str, &str)] = &[
    ("America/Vancouver", "British Columbia Standard Time"),
    ("Canada/Pacific", "British Columbia Standard Time"),
    ("America/Edmonton", "Alberta Standard Time"),
    ("America/Inuvik", "Alberta Standard Time"),
    ("America/Yellowknife", "Alberta Standard Time"),
    ("Canada/Mountain", "Alberta Standard Time"),
    ("America/Winnipeg", "Manitoba Standard Time"),
    ("America/Rainy_River", "Manitoba Standard Time"),
    ("Canada/Central", "Manitoba Standard Time"),
];

/// Every Windows zone of the CLDR table, in Windows' display order (by offset, then name).
pub fn windows_zones() -> impl Iterator<Item = WindowsZone> {
    let mut zones: Vec<WindowsZone> = WindowsTimezone::iter().map(WindowsZone::from).collect();
    for newer in NEWER_ZONES {
        if zones.iter().any(|z| z.id == newer.id) {
            continue; // a newer crate has it
        }
        // After the last zone of the same offset ("(UTC-08:00)").
        let offset = &newer.display_name[..newer.display_name.find(')').map_or(0, |i| i + 1)];
        let at = zones
            .iter()
            .rposition(|z| z.display_name.starts_with(offset))
            .map_or(zones.len(), |i| i + 1);
        zones.insert(at, newer.clone());
    }
    zones.into_iter()
}

/// The Windows zone named by its id ("FLE Standard Time") or its display name.
pub fn windows_zone(name: &str) -> Option<WindowsZone> {
    let name = name.trim();
    WindowsTimezone::from_str(name)
        .ok()
        .or_else(|| WindowsTimezone::iter().find(|z| z.description() == name))
        .map(WindowsZone::from)
        .or_else(|| {
            NEWER_ZONES
                .iter()
                .find(|z| z.id == name || z.display_name == name)
                .cloned()
        })
}

/// The zone of a Windows zone id or display name, by its CLDR default IANA zone.
pub fn windows_to_iana(name: &str) -> Result<Zone, TimeZoneError> {
    let zone = windows_zone(name).ok_or_else(|| TimeZoneError::UnknownZone(name.to_owned()))?;
    let zone = Tz::from_str(zone.iana)
        .map(Zone)
        .map_err(|_| TimeZoneError::UnknownZone(name.to_owned()))?;
    known_to_rules(zone)
}

pub(super) fn parse_zone(name: &str) -> Result<Zone, TimeZoneError> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("UTC") || trimmed == GRAPH_UTC_ZONE {
        return Ok(Zone::utc());
    }
    let zone = Tz::from_str(trimmed)
        .map(Zone)
        .or_else(|_| windows_to_iana(trimmed))?;
    known_to_rules(zone)
}

/// A zone the installed rules cannot answer for is unknown: better refused when it is named
/// than read as UTC later.
fn known_to_rules(zone: Zone) -> Result<Zone, TimeZoneError> {
    if zone.0 == Tz::UTC || rules().utc_offset(&zone, DateTime::UNIX_EPOCH).is_some() {
        Ok(zone)
    } else {
        Err(TimeZoneError::UnknownZone(zone.iana_name().to_owned()))
    }
}
