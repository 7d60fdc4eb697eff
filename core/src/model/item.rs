use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One calendar entry as MsSync reasons about it, whichever side it came from: only the fields
/// the mapping carries between ERP.net and Outlook. Fields one side cannot represent are not here,
/// so the sync can never overwrite or clear them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarItem {
    pub subject: String,
    pub when: When,
    /// Plain text; HTML from Outlook is reduced to text before it gets here.
    pub body: String,
    pub sensitivity: Sensitivity,
    pub importance: Importance,
    /// Minutes before the start; `None` means no reminder.
    pub reminder_minutes_before_start: Option<u32>,
    pub attendees: Vec<Attendee>,
    /// Set for an occurrence or exception of a recurring series.
    pub series: Option<SeriesLink>,
}

/// When an item happens: two instants, or whole dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum When {
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        /// The IANA zone the times were written in, if known. Informational: two items at the
        /// same instants are at the same time whatever zone names them.
        zone: Option<String>,
    },
    /// Whole days, `end` exclusive, never shifted by zones.
    AllDay { start: NaiveDate, end: NaiveDate },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    #[default]
    Normal,
    /// Outlook's private, personal and confidential all read as private.
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    Low,
    #[default]
    Normal,
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    /// Compared case-insensitively; stored lower-case by [`CalendarItem::normalized`].
    pub email: String,
    /// Display only; ERP.net participants have no name, so it takes no part in comparisons.
    pub name: Option<String>,
}

/// Links an occurrence or exception to its series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesLink {
    /// Graph's id of the series master.
    pub series_id: String,
    /// Where the occurrence was before any move (Graph's `originalStart`); identifies it in the series.
    pub original_start: DateTime<Utc>,
}

/// The mapped fields, for field-by-field merges. The series link is not one of them: it is
/// identity, not content, and ERP.net keeps it only through MsSync's own link records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Subject,
    When,
    Body,
    Sensitivity,
    Importance,
    Reminder,
    Attendees,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Subject,
        Field::When,
        Field::Body,
        Field::Sensitivity,
        Field::Importance,
        Field::Reminder,
        Field::Attendees,
    ];
}

/// A SHA-256 over the canonical form of the mapped fields, hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(pub String);

/// Line endings to `\n`, trailing spaces of each line and trailing blank lines dropped: the
/// differences two systems introduce when they store the same text.
pub fn normalize_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end_matches('\n').to_owned()
}

impl CalendarItem {
    /// The same item in canonical form: text normalized, subject trimmed, attendees lower-cased,
    /// deduplicated and sorted. Equal items have equal canonical forms.
    pub fn normalized(&self) -> Self {
        let mut item = self.clone();
        item.subject = item.subject.trim().to_owned();
        item.body = normalize_text(&item.body);
        let mut seen = BTreeSet::new();
        item.attendees = item
            .attendees
            .into_iter()
            .map(|a| Attendee {
                email: a.email.trim().to_lowercase(),
                name: a.name,
            })
            .filter(|a| !a.email.is_empty() && seen.insert(a.email.clone()))
            .collect();
        item.attendees.sort_by(|a, b| a.email.cmp(&b.email));
        item
    }

    /// The canonical text of one field; equal texts mean the field is unchanged.
    pub fn field_text(&self, field: Field) -> String {
        let item = self.normalized();
        let instant = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        match field {
            Field::Subject => item.subject,
            Field::When => match &item.when {
                When::Timed { start, end, .. } => {
                    format!("timed {} {}", instant(start), instant(end))
                }
                When::AllDay { start, end } => format!("all-day {start} {end}"),
            },
            Field::Body => item.body,
            Field::Sensitivity => format!("{:?}", item.sensitivity),
            Field::Importance => format!("{:?}", item.importance),
            Field::Reminder => match item.reminder_minutes_before_start {
                Some(m) => m.to_string(),
                None => "off".to_owned(),
            },
            Field::Attendees => item
                .attendees
                .iter()
                .map(|a| a.email.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The fields whose canonical text differs between `self` and `other`.
    pub fn changed_fields(&self, other: &CalendarItem) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|f| self.field_text(*f) != other.field_text(*f))
            .collect()
    }

    /// A stable hash over the mapped fields only: the basis of echo detection and three-way merge.
    /// Display names of attendees, the zone that named the times and the series link do not count.
    pub fn content_hash(&self) -> ContentHash {
        let mut hasher = Sha256::new();
        for field in Field::ALL {
            let text = self.field_text(field);
            // Length-prefixed, so no two different field lists hash alike.
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
        let digest = hasher.finalize();
        ContentHash(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn meeting() -> CalendarItem {
        CalendarItem {
            subject: "Quarterly review".into(),
            when: When::Timed {
                start: Utc.with_ymd_and_hms(2026, 3, 30, 6, 0, 0).unwrap(),
                end: Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap(),
                zone: Some("Europe/Sofia".into()),
            },
            body: "Agenda:\n- numbers".into(),
            sensitivity: Sensitivity::Normal,
            importance: Importance::High,
            reminder_minutes_before_start: Some(15),
            attendees: vec![
                Attendee {
                    email: "B@example.com".into(),
                    name: Some("Bea".into()),
                },
                Attendee {
                    email: "a@example.com".into(),
                    name: None,
                },
            ],
            series: None,
        }
    }

    #[test]
    fn hash_is_pinned() {
        // Stored snapshots compare against this; a change re-syncs every user's calendar.
        insta::assert_snapshot!(meeting().content_hash().0);
    }

    #[test]
    fn hash_ignores_what_is_not_mapped_or_only_spelled_differently() {
        let base = meeting().content_hash();
        let mut other = meeting();
        other.attendees.reverse();
        other.attendees[0].email = "b@EXAMPLE.com ".into();
        other.attendees[0].name = None;
        other.attendees.push(Attendee {
            email: "A@example.com".into(),
            name: None,
        });
        other.body = "Agenda:  \r\n- numbers\r\n\r\n".into();
        other.subject = " Quarterly review ".into();
        if let When::Timed { zone, .. } = &mut other.when {
            *zone = Some("Europe/Helsinki".into());
        }
        assert_eq!(other.content_hash(), base);
        assert!(other.changed_fields(&meeting()).is_empty());
    }

    #[test]
    fn every_mapped_field_changes_the_hash() {
        let base = meeting();
        type Edit = Box<dyn Fn(&mut CalendarItem)>;
        let edits: Vec<(Field, Edit)> = vec![
            (Field::Subject, Box::new(|i| i.subject.push('!'))),
            (
                Field::When,
                Box::new(|i| {
                    if let When::Timed { end, .. } = &mut i.when {
                        *end += chrono::Duration::minutes(30);
                    }
                }),
            ),
            (Field::Body, Box::new(|i| i.body.push_str(" and plans"))),
            (
                Field::Sensitivity,
                Box::new(|i| i.sensitivity = Sensitivity::Private),
            ),
            (
                Field::Importance,
                Box::new(|i| i.importance = Importance::Normal),
            ),
            (
                Field::Reminder,
                Box::new(|i| i.reminder_minutes_before_start = None),
            ),
            (
                Field::Attendees,
                Box::new(|i| i.attendees.pop().map(|_| ()).unwrap()),
            ),
        ];
        for (field, edit) in edits {
            let mut changed = base.clone();
            edit(&mut changed);
            assert_ne!(changed.content_hash(), base.content_hash(), "{field:?}");
            assert_eq!(changed.changed_fields(&base), vec![field]);
        }
    }

    #[test]
    fn all_day_and_timed_never_compare_equal() {
        let mut all_day = meeting();
        all_day.when = When::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 3, 30).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        };
        assert_eq!(all_day.changed_fields(&meeting()), vec![Field::When]);
    }

    #[test]
    fn text_normalization_is_idempotent() {
        for text in ["a\r\nb  \r\n\r\n", "\n\nx\ty \n", "", "line\rmac"] {
            let once = normalize_text(text);
            assert_eq!(normalize_text(&once), once, "{text:?}");
        }
        assert_eq!(normalize_text("a\r\nb  \r\n\r\n"), "a\nb");
    }
}
