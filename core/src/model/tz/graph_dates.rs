//! Graph's `dateTimeTimeZone` both ways, and all-day dates.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::windows::parse_zone;
use super::{TimeZoneError, Zone};

/// Graph's custom zone marker; see the comment of the `tz` module for how it is read.
pub const GRAPH_CUSTOM_ZONE: &str = "tzone://Microsoft/Custom";
pub(super) const GRAPH_UTC_ZONE: &str = "tzone://Microsoft/Utc";

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
