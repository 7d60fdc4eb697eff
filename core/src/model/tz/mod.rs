//! Time zones: Windows <-> IANA names from the CLDR table (through `windows-timezones`), Graph's
//! `dateTimeTimeZone` both ways, and all-day dates.
//!
//! The rules (each zone's UTC offset at an instant) come from a [`ZoneRules`]: native builds
//! bundle the tz database (`chrono-tz`, feature `bundled-zone-rules`); the browser build installs
//! rules read from the browser's `Intl`, which keeps about 200 KB of tz data out of the module and
//! follows the browser's own tzdata updates. Either way the local-time rules below are applied
//! here, once, over the offsets.
//!
//! Rules for local times that do not exist or exist twice, used everywhere:
//! - a time inside a skipped hour (spring forward) moves forward by the length of the gap, as
//!   Outlook does: 02:30 on a day clocks jump from 02:00 to 03:00 becomes 03:30;
//! - a time that occurs twice (fall back) is the earlier of the two.
//!
//! Graph may name a zone `tzone://Microsoft/Custom` (an organizer-defined zone with no name). We
//! always ask Graph to express times in the user's zone (`Prefer: outlook.timezone`), so such a
//! value is read in the caller's fallback zone, which is the user's zone; `tzone://Microsoft/Utc`
//! is UTC.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use windows_timezones::WindowsTimezone;

mod graph_dates;
mod rules;
mod windows;

pub use graph_dates::{GRAPH_CUSTOM_ZONE, GraphDateTime, all_day_to_instants, instants_to_all_day};
#[cfg(feature = "bundled-zone-rules")]
pub use rules::BundledZoneRules;
use rules::rules;
pub use rules::{ZoneRules, install_zone_rules};
use windows::{NEWER_ZONE_IANA, parse_zone};
pub use windows::{WindowsZone, windows_to_iana, windows_zone, windows_zones};

#[cfg(test)]
mod tests;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error("unknown time zone {0:?}")]
    UnknownZone(String),
    #[error("unreadable date-time {0:?}")]
    BadDateTime(String),
}

/// A time zone with its rules, named by IANA. Every zone the sync handles is one of these, so how
/// rules are sourced stays a private matter of this module.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Zone(Tz);

impl Zone {
    pub fn utc() -> Self {
        Zone(Tz::UTC)
    }

    /// A zone as users, Graph or ERP.net name it: an IANA name, a Windows id or a Windows
    /// display name.
    pub fn parse(name: &str) -> Result<Self, TimeZoneError> {
        parse_zone(name)
    }

    /// The IANA name, e.g. "Europe/Sofia".
    pub fn iana_name(&self) -> &'static str {
        self.0.name()
    }

    /// The Windows zone, following the CLDR territory mappings (so "Europe/Sofia" is
    /// "FLE Standard Time"). Zones CLDR does not list have none.
    pub fn windows(&self) -> Option<WindowsZone> {
        let iana = self.iana_name();
        if let Some((_, id)) = NEWER_ZONE_IANA.iter().find(|(name, _)| *name == iana) {
            return windows_zone(id);
        }
        WindowsTimezone::try_from(self.0)
            .ok()
            .map(WindowsZone::from)
    }

    /// The name Graph should be given: the Windows id where CLDR has one, else the IANA name
    /// (Graph accepts both in `outlook.timezone` and `dateTimeTimeZone`).
    pub fn graph_name(&self) -> String {
        if self.0 == Tz::UTC {
            return "UTC".to_owned();
        }
        self.windows()
            .map(|w| w.id.to_owned())
            .unwrap_or_else(|| self.iana_name().to_owned())
    }

    /// The wall-clock time of an instant in this zone.
    pub fn to_local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.naive_utc() + Duration::seconds(self.offset_at(instant))
    }

    /// The instant of a wall-clock time in this zone, by the rules in the module comment.
    pub fn to_instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let as_utc = local.and_utc();
        // The offsets in force around this wall-clock time (no zone changes its offset twice
        // within a day of the same instant): each one that maps back to `local` is a reading.
        let before = self.offset_at(as_utc - Duration::days(1));
        let readings = [
            before,
            self.offset_at(as_utc),
            self.offset_at(as_utc + Duration::days(1)),
        ]
        .into_iter()
        .map(|offset| as_utc - Duration::seconds(offset))
        .filter(|&instant| self.to_local(instant) == local);
        // A repeated time takes the earlier instant; a skipped one is read with the offset in
        // force before the gap, which lands the same distance past the gap's end.
        readings
            .min()
            .unwrap_or_else(|| as_utc - Duration::seconds(before))
    }

    /// Seconds east of UTC at `instant`.
    fn offset_at(&self, instant: DateTime<Utc>) -> i64 {
        if self.0 == Tz::UTC {
            return 0;
        }
        // `parse_zone` admits only zones the rules know, so `None` cannot happen here.
        rules().utc_offset(self, instant).unwrap_or(0).into()
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.iana_name())
    }
}

impl FromStr for Zone {
    type Err = TimeZoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_zone(s)
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.iana_name())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        parse_zone(&name).map_err(serde::de::Error::custom)
    }
}
