//! Time zones: Windows <-> IANA names from the CLDR table (through `windows-timezones`), rules from
//! `chrono-tz`, Graph's `dateTimeTimeZone` both ways, and all-day dates.
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

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use strum::IntoEnumIterator;
use windows_timezones::WindowsTimezone;

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
        instant.with_timezone(&self.0).naive_local()
    }

    /// The instant of a wall-clock time in this zone, by the rules in the module comment.
    pub fn to_instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        local_to_instant(local, self.0)
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

/// Graph's custom zone marker; see the module comment for how it is read.
pub const GRAPH_CUSTOM_ZONE: &str = "tzone://Microsoft/Custom";
const GRAPH_UTC_ZONE: &str = "tzone://Microsoft/Utc";

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

/// Every Windows zone of the CLDR table, in Windows' display order (by offset, then name).
pub fn windows_zones() -> impl Iterator<Item = WindowsZone> {
    WindowsTimezone::iter().map(WindowsZone::from)
}

/// The Windows zone named by its id ("FLE Standard Time") or its display name.
pub fn windows_zone(name: &str) -> Option<WindowsZone> {
    let name = name.trim();
    WindowsTimezone::from_str(name)
        .ok()
        .or_else(|| WindowsTimezone::iter().find(|z| z.description() == name))
        .map(WindowsZone::from)
}

/// The zone of a Windows zone id or display name, by its CLDR default IANA zone.
pub fn windows_to_iana(name: &str) -> Result<Zone, TimeZoneError> {
    let zone = windows_zone(name).ok_or_else(|| TimeZoneError::UnknownZone(name.to_owned()))?;
    Tz::from_str(zone.iana)
        .map(Zone)
        .map_err(|_| TimeZoneError::UnknownZone(name.to_owned()))
}

fn parse_zone(name: &str) -> Result<Zone, TimeZoneError> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("UTC") || trimmed == GRAPH_UTC_ZONE {
        return Ok(Zone::utc());
    }
    Tz::from_str(trimmed)
        .map(Zone)
        .or_else(|_| windows_to_iana(trimmed))
}

fn local_to_instant(local: NaiveDateTime, zone: Tz) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        LocalResult::None => {
            // Inside a gap: read the time with the offset in force just before the gap, which
            // lands the same distance past the gap's end.
            let before = zone
                .offset_from_utc_datetime(&(local - chrono::Duration::hours(6)))
                .fix();
            (local - chrono::Duration::seconds(before.local_minus_utc() as i64)).and_utc()
        }
    }
}

/// Graph's `dateTimeTimeZone`: a wall-clock time and the zone it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphDateTime {
    #[serde(rename = "dateTime")]
    pub date_time: String,
    #[serde(rename = "timeZone")]
    pub time_zone: String,
}

impl GraphDateTime {
    /// The instant this value names. Zones Graph cannot name (`tzone://Microsoft/Custom`, or
    /// any other name we cannot resolve) are read in `fallback`, the user's zone.
    pub fn to_instant(&self, fallback: &Zone) -> Result<DateTime<Utc>, TimeZoneError> {
        let local = parse_graph_local(&self.date_time)?;
        let zone = parse_zone(&self.time_zone).unwrap_or_else(|_| fallback.clone());
        Ok(zone.to_instant(local))
    }

    /// The wall-clock time of `instant` in `zone`, named as Graph expects.
    pub fn from_instant(instant: DateTime<Utc>, zone: &Zone) -> Self {
        Self {
            date_time: format_graph_local(zone.to_local(instant)),
            time_zone: zone.graph_name(),
        }
    }

    /// Midnight of `date` in `zone`, for an all-day event.
    pub fn all_day(date: NaiveDate, zone: &Zone) -> Self {
        Self {
            date_time: format_graph_local(date.and_time(NaiveTime::MIN)),
            time_zone: zone.graph_name(),
        }
    }

    /// The calendar date of an all-day bound as written, with no zone conversion: all-day
    /// events keep their dates whatever zone they are read in.
    pub fn date(&self) -> Result<NaiveDate, TimeZoneError> {
        Ok(parse_graph_local(&self.date_time)?.date())
    }
}

/// Graph's own form: seven fractional digits (100 ns ticks), which chrono has no specifier for.
fn format_graph_local(local: NaiveDateTime) -> String {
    let ticks = local.and_utc().timestamp_subsec_nanos() / 100;
    format!("{}.{ticks:07}", local.format("%Y-%m-%dT%H:%M:%S"))
}

/// Graph writes seven fractional digits ("2026-03-29T09:00:00.0000000"); accept any number, and
/// a trailing "Z".
fn parse_graph_local(text: &str) -> Result<NaiveDateTime, TimeZoneError> {
    let trimmed = text.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M"))
        .map_err(|_| TimeZoneError::BadDateTime(text.to_owned()))
}

/// The instants an all-day span covers for a user in `zone`: local midnight of `start` to local
/// midnight of `end_exclusive`. This is how all-day events reach ERP.net, which has only instants.
pub fn all_day_to_instants(
    start: NaiveDate,
    end_exclusive: NaiveDate,
    zone: &Zone,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        zone.to_instant(start.and_time(NaiveTime::MIN)),
        zone.to_instant(end_exclusive.and_time(NaiveTime::MIN)),
    )
}

/// The all-day dates of an instant span, if it runs from one local midnight to a later local
/// midnight in `zone` (end exclusive); `None` for anything else.
pub fn instants_to_all_day(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: &Zone,
) -> Option<(NaiveDate, NaiveDate)> {
    if end <= start {
        return None;
    }
    let (s, e) = (zone.to_local(start), zone.to_local(end));
    if s.time() != NaiveTime::MIN || e.time() != NaiveTime::MIN {
        return None;
    }
    // Compare with the instants the dates map back to, so a midnight that exists twice or not at
    // all still round-trips exactly.
    let dates = (s.date(), e.date());
    (all_day_to_instants(dates.0, dates.1, zone) == (start, end)).then_some(dates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(name: &str) -> Zone {
        Zone::parse(name).unwrap()
    }

    fn local(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        local(text).and_utc()
    }

    #[test]
    fn every_cldr_windows_zone_maps_to_iana_and_back() {
        let zones: Vec<WindowsZone> = windows_zones().collect();
        assert!(
            zones.len() > 130,
            "CLDR lists about 140 zones, got {}",
            zones.len()
        );
        for zone in &zones {
            let tz = windows_to_iana(zone.id).unwrap_or_else(|e| panic!("{}: {e}", zone.id));
            let back = tz
                .windows()
                .unwrap_or_else(|| panic!("{} -> {} has no Windows zone", zone.id, tz.iana_name()));
            assert_eq!(
                back.id,
                zone.id,
                "{} -> {} -> {}",
                zone.id,
                tz.iana_name(),
                back.id
            );
            assert_eq!(
                windows_to_iana(zone.display_name).unwrap(),
                tz,
                "by display name"
            );
        }
    }

    #[test]
    fn setup_display_names_come_from_cldr() {
        let fle = windows_zone("FLE Standard Time").unwrap();
        assert_eq!(
            fle.display_name,
            "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"
        );
        // CLDR's default ("001") zone for FLE is the tzdb name Europe/Kiev.
        assert_eq!(parse_zone(fle.display_name).unwrap(), z("Europe/Kiev"));
        assert_eq!(z("Europe/Sofia").windows().unwrap().id, "FLE Standard Time");
        assert_eq!(
            z("America/New_York").windows().unwrap().id,
            "Eastern Standard Time"
        );
        assert_eq!(parse_zone("Europe/Sofia").unwrap(), z("Europe/Sofia"));
        assert_eq!(parse_zone("UTC").unwrap(), Zone::utc());
        assert!(matches!(
            parse_zone("Mars/Olympus"),
            Err(TimeZoneError::UnknownZone(_))
        ));
    }

    #[test]
    fn wall_clock_is_kept_across_dst_in_sofia_and_new_york() {
        // A 09:00 meeting stays at 09:00 local on both sides of each 2026 change.
        let cases = [
            (z("Europe/Sofia"), "2026-03-28 09:00", "2026-03-28 07:00"), // EET +2
            (z("Europe/Sofia"), "2026-03-30 09:00", "2026-03-30 06:00"), // EEST +3
            (z("Europe/Sofia"), "2026-10-24 09:00", "2026-10-24 06:00"),
            (z("Europe/Sofia"), "2026-10-26 09:00", "2026-10-26 07:00"),
            (
                z("America/New_York"),
                "2026-03-07 09:00",
                "2026-03-07 14:00",
            ), // EST -5
            (
                z("America/New_York"),
                "2026-03-09 09:00",
                "2026-03-09 13:00",
            ), // EDT -4
            (
                z("America/New_York"),
                "2026-10-31 09:00",
                "2026-10-31 13:00",
            ),
            (
                z("America/New_York"),
                "2026-11-02 09:00",
                "2026-11-02 14:00",
            ),
        ];
        for (zone, wall, expected_utc) in cases {
            let instant = zone.to_instant(local(wall));
            assert_eq!(instant, utc(expected_utc), "{wall} in {zone}");
            let graph = GraphDateTime::from_instant(instant, &zone);
            assert_eq!(
                graph.date_time,
                format!("{}:00.0000000", wall.replace(' ', "T"))
            );
            assert_eq!(
                graph.to_instant(&Zone::utc()).unwrap(),
                instant,
                "round trip {wall}"
            );
        }
    }

    #[test]
    fn skipped_hour_moves_forward_by_the_gap() {
        // Sofia skips 03:00-04:00 on 2026-03-29; New York skips 02:00-03:00 on 2026-03-08.
        let sofia = z("Europe/Sofia").to_instant(local("2026-03-29 03:30"));
        assert_eq!(z("Europe/Sofia").to_local(sofia), local("2026-03-29 04:30"));
        let ny = z("America/New_York").to_instant(local("2026-03-08 02:30"));
        assert_eq!(
            z("America/New_York").to_local(ny),
            local("2026-03-08 03:30")
        );
    }

    #[test]
    fn repeated_hour_takes_the_earlier_instant() {
        // Sofia repeats 03:00-04:00 on 2026-10-25 (EEST then EET).
        let t = z("Europe/Sofia").to_instant(local("2026-10-25 03:30"));
        assert_eq!(t, utc("2026-10-25 00:30"));
        let t = z("America/New_York").to_instant(local("2026-11-01 01:30"));
        assert_eq!(t, utc("2026-11-01 05:30"));
    }

    #[test]
    fn graph_date_times_in_windows_iana_utc_and_custom_zones() {
        let at = |date_time: &str, zone: &str| GraphDateTime {
            date_time: date_time.into(),
            time_zone: zone.into(),
        };
        let fallback = z("Europe/Sofia");
        assert_eq!(
            at("2026-06-01T10:00:00.0000000", "FLE Standard Time")
                .to_instant(&fallback)
                .unwrap(),
            utc("2026-06-01 07:00")
        );
        assert_eq!(
            at("2026-06-01T10:00:00", "America/New_York")
                .to_instant(&fallback)
                .unwrap(),
            utc("2026-06-01 14:00")
        );
        assert_eq!(
            at("2026-06-01T10:00:00.0000000", "UTC")
                .to_instant(&fallback)
                .unwrap(),
            utc("2026-06-01 10:00")
        );
        assert_eq!(
            at("2026-06-01T10:00:00.0000000", "tzone://Microsoft/Utc")
                .to_instant(&fallback)
                .unwrap(),
            utc("2026-06-01 10:00")
        );
        // Custom zones are read in the user's zone (the fallback), as documented.
        assert_eq!(
            at("2026-06-01T10:00:00.0000000", GRAPH_CUSTOM_ZONE)
                .to_instant(&fallback)
                .unwrap(),
            utc("2026-06-01 07:00")
        );
        assert!(matches!(
            at("yesterday", "UTC").to_instant(&fallback),
            Err(TimeZoneError::BadDateTime(_))
        ));
        let out = GraphDateTime::from_instant(utc("2026-06-01 07:00"), &z("Europe/Sofia"));
        assert_eq!(out.time_zone, "FLE Standard Time");
        assert_eq!(out.date_time, "2026-06-01T10:00:00.0000000");
    }

    #[test]
    fn all_day_dates_survive_extreme_offsets() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let next = date.succ_opt().unwrap();
        for zone in [
            z("Etc/GMT+12"),
            z("Pacific/Kiritimati"),
            z("Pacific/Apia"),
            Zone::utc(),
        ] {
            let (start, end) = all_day_to_instants(date, next, &zone);
            assert_eq!(end - start, chrono::Duration::days(1), "{zone}");
            assert_eq!(
                instants_to_all_day(start, end, &zone),
                Some((date, next)),
                "{zone}"
            );
            assert_eq!(
                GraphDateTime::all_day(date, &zone).date().unwrap(),
                date,
                "{zone}"
            );
        }
        // UTC-12 midnight is noon UTC: the same instants are not all-day for a UTC+14 user.
        let (start, end) = all_day_to_instants(date, next, &z("Etc/GMT+12"));
        assert_eq!(start, utc("2026-12-31 12:00"));
        assert_eq!(
            instants_to_all_day(start, end, &z("Pacific/Kiritimati")),
            None
        );
    }

    #[test]
    fn all_day_spans_across_dst_and_rejections() {
        // The night clocks change is 23 or 25 hours long and still one all-day date.
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (start, end) =
            all_day_to_instants(d("2026-03-29"), d("2026-03-30"), &z("Europe/Sofia"));
        assert_eq!(end - start, chrono::Duration::hours(23));
        assert_eq!(
            instants_to_all_day(start, end, &z("Europe/Sofia")),
            Some((d("2026-03-29"), d("2026-03-30")))
        );
        let (start, end) =
            all_day_to_instants(d("2026-10-24"), d("2026-10-27"), &z("Europe/Sofia"));
        assert_eq!(end - start, chrono::Duration::hours(73));
        assert_eq!(
            instants_to_all_day(start, start, &z("Europe/Sofia")),
            None,
            "empty"
        );
        assert_eq!(
            instants_to_all_day(end, start, &z("Europe/Sofia")),
            None,
            "reversed"
        );
        assert_eq!(
            instants_to_all_day(start + chrono::Duration::hours(1), end, &z("Europe/Sofia")),
            None,
            "not at midnight"
        );
    }
}
