//! Expanding Graph's `patternedRecurrence` into occurrence dates: daily and weekly patterns with
//! an interval, days of the week and the first day of the week; ranges endDate, numbered, noEnd.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde_json::Value;

/// A recurrence the simulator can expand, read from the event's `recurrence` JSON.
#[derive(Debug, Clone)]
pub struct Recurrence {
    pattern: Pattern,
    interval: u32,
    start: NaiveDate,
    end: RangeEnd,
}

#[derive(Debug, Clone)]
enum Pattern {
    Daily,
    Weekly {
        days: Vec<Weekday>,
        first_day: Weekday,
    },
}

#[derive(Debug, Clone)]
enum RangeEnd {
    Date(NaiveDate),
    Count(u32),
    Never,
}

/// Never expand more than this many occurrences of one series.
const MAX_OCCURRENCES: usize = 5_000;

impl Recurrence {
    /// `Err` names what is not supported or malformed (answered 400 by the simulator).
    pub fn parse(json: &Value) -> Result<Self, String> {
        let pattern = &json["pattern"];
        let range = &json["range"];
        let interval = pattern["interval"].as_u64().unwrap_or(1).max(1) as u32;
        let pattern = match pattern["type"].as_str() {
            Some("daily") => Pattern::Daily,
            Some("weekly") => {
                let days = pattern["daysOfWeek"]
                    .as_array()
                    .ok_or("weekly pattern without daysOfWeek")?
                    .iter()
                    .map(|d| weekday(d.as_str().unwrap_or_default()))
                    .collect::<Result<Vec<_>, _>>()?;
                let first_day = match pattern["firstDayOfWeek"].as_str() {
                    Some(d) => weekday(d)?,
                    None => Weekday::Sun,
                };
                Pattern::Weekly { days, first_day }
            }
            other => return Err(format!("pattern {other:?} is not simulated")),
        };
        let date = |v: &Value| {
            v.as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        };
        let start = date(&range["startDate"]).ok_or("range without startDate")?;
        let end = match range["type"].as_str() {
            Some("endDate") => {
                RangeEnd::Date(date(&range["endDate"]).ok_or("range without endDate")?)
            }
            Some("numbered") => RangeEnd::Count(
                range["numberOfOccurrences"]
                    .as_u64()
                    .ok_or("range without numberOfOccurrences")? as u32,
            ),
            Some("noEnd") => RangeEnd::Never,
            other => return Err(format!("range {other:?} is not known")),
        };
        Ok(Self {
            pattern,
            interval,
            start,
            end,
        })
    }

    /// Occurrence dates in order, up to and including `until` (and the range's own end).
    pub fn dates(&self, until: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let last = match self.end {
            RangeEnd::Date(d) => d.min(until),
            _ => until,
        };
        let limit = match self.end {
            RangeEnd::Count(n) => n as usize,
            _ => MAX_OCCURRENCES,
        };
        match &self.pattern {
            Pattern::Daily => {
                let mut d = self.start;
                while d <= last && out.len() < limit {
                    out.push(d);
                    d = d + Days::new(self.interval as u64);
                }
            }
            Pattern::Weekly { days, first_day } => {
                let back = (7 + self.start.weekday().num_days_from_monday()
                    - first_day.num_days_from_monday())
                    % 7;
                let mut week = self.start - Days::new(back as u64);
                'weeks: while week <= last {
                    for offset in 0..7 {
                        let d = week + Days::new(offset);
                        if d < self.start || !days.contains(&d.weekday()) {
                            continue;
                        }
                        if d > last || out.len() >= limit {
                            break 'weeks;
                        }
                        out.push(d);
                    }
                    week = week + Days::new(7 * self.interval as u64);
                }
            }
        }
        out
    }
}

fn weekday(name: &str) -> Result<Weekday, String> {
    name.parse::<Weekday>()
        .map_err(|_| format!("unknown day {name:?}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekly_every_second_week_numbered() {
        let r = Recurrence::parse(&json!({
            "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"], "firstDayOfWeek": "monday"},
            "range": {"type": "numbered", "startDate": "2026-03-05", "numberOfOccurrences": 4}
        }))
        .unwrap();
        assert_eq!(
            r.dates(d("2027-01-01")),
            [
                d("2026-03-05"),
                d("2026-03-16"),
                d("2026-03-19"),
                d("2026-03-30")
            ]
        );
    }

    #[test]
    fn daily_with_end_date_and_no_end() {
        let r = Recurrence::parse(&json!({
            "pattern": {"type": "daily", "interval": 3},
            "range": {"type": "endDate", "startDate": "2026-03-01", "endDate": "2026-03-10"}
        }))
        .unwrap();
        assert_eq!(
            r.dates(d("2027-01-01")),
            [
                d("2026-03-01"),
                d("2026-03-04"),
                d("2026-03-07"),
                d("2026-03-10")
            ]
        );
        let r = Recurrence::parse(&json!({
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "noEnd", "startDate": "2026-03-01"}
        }))
        .unwrap();
        assert_eq!(r.dates(d("2026-03-03")).len(), 3);
    }
}
