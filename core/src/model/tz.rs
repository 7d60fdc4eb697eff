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
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
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

/// Where zone offsets come from; see the module comment.
pub trait ZoneRules: Send + Sync {
    /// The zone's offset from UTC in seconds at `instant`, `None` for a zone these rules do
    /// not know.
    fn utc_offset(&self, zone: &Zone, instant: DateTime<Utc>) -> Option<i32>;
}

static INSTALLED_RULES: OnceLock<&'static dyn ZoneRules> = OnceLock::new();

/// Installs the zone rules for the whole process, before any zone is used; later calls change
/// nothing and return `false`. Builds without `bundled-zone-rules` must call this.
pub fn install_zone_rules(rules: &'static dyn ZoneRules) -> bool {
    INSTALLED_RULES.set(rules).is_ok()
}

fn rules() -> &'static dyn ZoneRules {
    if let Some(rules) = INSTALLED_RULES.get() {
        return *rules;
    }
    #[cfg(feature = "bundled-zone-rules")]
    {
        &BundledZoneRules
    }
    #[cfg(not(feature = "bundled-zone-rules"))]
    panic!("no time-zone rules: enable `bundled-zone-rules` or call tz::install_zone_rules")
}

/// The tz database compiled in (chrono-tz).
#[cfg(feature = "bundled-zone-rules")]
#[derive(Debug, Clone, Copy, Default)]
pub struct BundledZoneRules;

#[cfg(feature = "bundled-zone-rules")]
impl ZoneRules for BundledZoneRules {
    fn utc_offset(&self, zone: &Zone, instant: DateTime<Utc>) -> Option<i32> {
        use chrono::{Offset, TimeZone};
        Some(
            zone.0
                .offset_from_utc_datetime(&instant.naive_utc())
                .fix()
                .local_minus_utc(),
        )
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
const NEWER_ZONE_IANA: &[(&str, &str)] = &[
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

fn parse_zone(name: &str) -> Result<Zone, TimeZoneError> {
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
    fn zones_newer_than_the_crate_are_known_both_ways() {
        for (id, iana) in [
            ("British Columbia Standard Time", "America/Vancouver"),
            ("Alberta Standard Time", "America/Edmonton"),
            ("Manitoba Standard Time", "America/Winnipeg"),
        ] {
            assert_eq!(windows_to_iana(id).unwrap(), z(iana), "{id}");
            assert_eq!(z(iana).windows().unwrap().id, id);
            assert_eq!(z(iana).graph_name(), id);
            assert_eq!(windows_zones().filter(|w| w.id == id).count(), 1, "{id}");
        }
        // The zones they were split from keep their own ids.
        assert_eq!(
            z("America/Denver").windows().unwrap().id,
            "Mountain Standard Time"
        );
        assert_eq!(
            z("America/Chicago").windows().unwrap().id,
            "Central Standard Time"
        );
        let ids: Vec<&str> = windows_zones().map(|w| w.id).collect();
        let at = |id| ids.iter().position(|i| *i == id).unwrap();
        assert!(at("Pacific Standard Time") < at("British Columbia Standard Time"));
        assert!(at("British Columbia Standard Time") < at("Mountain Standard Time (Mexico)"));
    }

    /// `MSSYNC_CLDR_WINDOWS_TZ`: a copy of tzlocal's `windows_tz.py` (CLDR's Windows-zone table,
    /// the newest the registries carry; tests/run.sh downloads it from PyPI). Every Windows zone
    /// in it must be known here and map to an IANA zone with the same rules as CLDR's.
    #[test]
    fn every_windows_zone_of_the_newest_cldr_table_is_known_with_the_same_rules() {
        let Some(path) = std::env::var_os("MSSYNC_CLDR_WINDOWS_TZ") else {
            println!("MSSYNC_CLDR_WINDOWS_TZ is not set: the comparison with CLDR is skipped");
            return;
        };
        let text = std::fs::read_to_string(&path).expect("the CLDR table file");
        let block = text
            .split("win_tz = {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("a win_tz table");
        let table: Vec<(String, String)> = block
            .lines()
            .filter_map(|line| {
                let mut quoted = line.split('"').skip(1).step_by(2);
                Some((quoted.next()?.to_owned(), quoted.next()?.to_owned()))
            })
            .collect();
        assert!(table.len() >= 139, "{} zones read", table.len());
        let mut problems = Vec::new();
        for (windows, iana) in &table {
            let ours = match windows_to_iana(windows) {
                Ok(zone) => zone,
                Err(_) => {
                    problems.push(format!("{windows}: unknown"));
                    continue;
                }
            };
            let Ok(theirs) = Tz::from_str(iana).map(Zone) else {
                problems.push(format!(
                    "{windows}: CLDR's {iana} is not in the tz database"
                ));
                continue;
            };
            // Same rules: the same offset every day from 2000 to 2037.
            let start = DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01");
            let differs = (0..38 * 366)
                .map(|day| start + Duration::days(day))
                .find(|t| ours.offset_at(*t) != theirs.offset_at(*t));
            if let Some(t) = differs {
                problems.push(format!(
                    "{windows}: ours {} and CLDR's {iana} differ at {t}",
                    ours.iana_name()
                ));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        println!("{} Windows zones of CLDR checked", table.len());
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

    /// The offsets-only reading of local times (what the browser's `Intl` rules go through)
    /// agrees with chrono-tz's own on every day a zone changes its offset, 2000-2037, in every
    /// zone, at every quarter hour.
    #[test]
    fn local_times_read_from_offsets_match_the_tz_database_at_every_transition() {
        use chrono::{LocalResult, TimeZone};
        let expected = |tz: Tz, local: NaiveDateTime| match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
            LocalResult::None => None,
        };
        let mut transitions = 0;
        for tz in chrono_tz::TZ_VARIANTS {
            let zone = Zone(tz);
            let mut day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
            let last = NaiveDate::from_ymd_opt(2037, 12, 31).unwrap();
            let noon = |d: NaiveDate| {
                d.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
                    .and_utc()
            };
            while day < last {
                let next = day.succ_opt().unwrap();
                if zone.offset_at(noon(day)) != zone.offset_at(noon(next)) {
                    transitions += 1;
                    for quarter in 0..(2 * 24 * 4) {
                        let local = day.and_time(NaiveTime::MIN) + Duration::minutes(15 * quarter);
                        let got = zone.to_instant(local);
                        match expected(tz, local) {
                            Some(instant) => assert_eq!(got, instant, "{tz} {local}"),
                            // A skipped time lands past the gap by as much as it was into it.
                            None => assert!(
                                got > local.and_utc() - Duration::hours(16)
                                    && zone.to_local(got) > local,
                                "{tz} {local}"
                            ),
                        }
                    }
                }
                day = next;
            }
        }
        assert!(
            transitions > 5_000,
            "only {transitions} transitions checked"
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
