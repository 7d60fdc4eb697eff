//! Graph event <-> neutral calendar item.
//!
//! Reads take the user's zone: timed events become instants (`GraphDateTime::to_instant`), all-day
//! events keep their dates. Writes carry only mapped fields, all-day as midnight dates in the
//! user's zone, timed in the user's zone, bodies as text. HTML bodies from Outlook are reduced to
//! text by [`html_to_text`], deterministically, so the same HTML always gives the same text and an
//! event we wrote does not come back as a change.

use serde_json::{Value, json};

use crate::graph::wire::{
    attendee_type, body_type, event as prop, importance, item_body, sensitivity,
};
use crate::graph::{GraphAttendee, GraphEvent};
use crate::model::tz::{GraphDateTime, TimeZoneError, Zone};
use crate::model::{
    Attendee, CalendarItem, Field, Importance, Sensitivity, SeriesLink, When, normalize_text,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// A field the item cannot do without (start, end) is missing: the entry is sparse (a delta
    /// occurrence) or broken; fetch the event whole.
    #[error("the event has no {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Time(#[from] TimeZoneError),
}

/// The neutral item of a Graph event, read in the user's zone.
pub fn to_item(event: &GraphEvent, user_zone: &Zone) -> Result<CalendarItem, MapError> {
    let start = event.start.as_ref().ok_or(MapError::Missing("start"))?;
    let end = event.end.as_ref().ok_or(MapError::Missing("end"))?;
    let when = if event.is_all_day == Some(true) {
        When::AllDay {
            start: start.date()?,
            end: end.date()?,
        }
    } else {
        let zone = Zone::parse(&start.time_zone).unwrap_or_else(|_| user_zone.clone());
        When::Timed {
            start: start.to_instant(user_zone)?,
            end: end.to_instant(user_zone)?,
            zone: Some(zone.iana_name().to_owned()),
        }
    };
    let body = match &event.body {
        Some(body) if body.content_type.eq_ignore_ascii_case(body_type::HTML) => {
            html_to_text(&body.content)
        }
        Some(body) => normalize_text(&body.content),
        None => String::new(),
    };
    let sensitivity = match event.sensitivity.as_deref() {
        Some(s)
            if [
                sensitivity::PRIVATE,
                sensitivity::PERSONAL,
                sensitivity::CONFIDENTIAL,
            ]
            .contains(&s.to_ascii_lowercase().as_str()) =>
        {
            Sensitivity::Private
        }
        _ => Sensitivity::Normal,
    };
    let importance = match event
        .importance
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some(importance::LOW) => Importance::Low,
        Some(importance::HIGH) => Importance::High,
        _ => Importance::Normal,
    };
    let reminder_minutes_before_start =
        match (event.is_reminder_on, event.reminder_minutes_before_start) {
            (Some(false), _) | (_, None) => None,
            (_, Some(minutes)) => Some(minutes.clamp(0, u32::MAX as i64) as u32),
        };
    let attendees = event
        .attendees
        .iter()
        .flatten()
        .filter_map(|a| {
            let email = a.email_address.address.as_deref()?.trim();
            (!email.is_empty()).then(|| Attendee {
                email: email.to_owned(),
                name: a.email_address.name.clone().filter(|n| !n.is_empty()),
            })
        })
        .collect();
    let series = match &event.series_master_id {
        Some(series_id) => {
            // An unmoved occurrence may come without originalStart: it starts where it always did.
            let original_start = match event.original_start {
                Some(t) => t,
                None => start.to_instant(user_zone)?,
            };
            Some(SeriesLink {
                series_id: series_id.clone(),
                original_start,
            })
        }
        None => None,
    };
    Ok(CalendarItem {
        subject: event.subject.clone().unwrap_or_default(),
        when,
        body,
        sensitivity,
        importance,
        reminder_minutes_before_start,
        attendees,
        series,
    })
}

/// The JSON body that creates `item` (the connector adds the transaction id and activity id).
/// A series link is not written: occurrences exist only through their series.
pub fn create_body(item: &CalendarItem, user_zone: &Zone) -> Value {
    patch_body(item, &Field::ALL, user_zone)
}

/// The JSON body of a PATCH carrying only `changed` fields of `item`, so fields MsSync does not
/// map (location, categories, online meeting...) are never touched.
pub fn patch_body(item: &CalendarItem, changed: &[Field], user_zone: &Zone) -> Value {
    let mut body = serde_json::Map::new();
    for field in changed {
        match field {
            Field::Subject => {
                body.insert(prop::SUBJECT.into(), json!(item.subject));
            }
            Field::When => {
                let (start, end, all_day) = match &item.when {
                    When::AllDay { start, end } => (
                        GraphDateTime::all_day(*start, user_zone),
                        GraphDateTime::all_day(*end, user_zone),
                        true,
                    ),
                    When::Timed { start, end, .. } => (
                        GraphDateTime::from_instant(*start, user_zone),
                        GraphDateTime::from_instant(*end, user_zone),
                        false,
                    ),
                };
                body.insert(prop::START.into(), json!(start));
                body.insert(prop::END.into(), json!(end));
                body.insert(prop::IS_ALL_DAY.into(), json!(all_day));
            }
            Field::Body => {
                body.insert(
                    prop::BODY.into(),
                    json!({
                        item_body::CONTENT_TYPE: body_type::TEXT,
                        item_body::CONTENT: item.body,
                    }),
                );
            }
            Field::Sensitivity => {
                let value = match item.sensitivity {
                    Sensitivity::Normal => sensitivity::NORMAL,
                    Sensitivity::Private => sensitivity::PRIVATE,
                };
                body.insert(prop::SENSITIVITY.into(), json!(value));
            }
            Field::Importance => {
                let value = match item.importance {
                    Importance::Low => importance::LOW,
                    Importance::Normal => importance::NORMAL,
                    Importance::High => importance::HIGH,
                };
                body.insert(prop::IMPORTANCE.into(), json!(value));
            }
            Field::Reminder => match item.reminder_minutes_before_start {
                Some(minutes) => {
                    body.insert(prop::IS_REMINDER_ON.into(), json!(true));
                    body.insert(prop::REMINDER_MINUTES_BEFORE_START.into(), json!(minutes));
                }
                None => {
                    body.insert(prop::IS_REMINDER_ON.into(), json!(false));
                }
            },
            Field::Attendees => {
                let attendees: Vec<GraphAttendee> = item
                    .attendees
                    .iter()
                    .map(|a| GraphAttendee {
                        email_address: crate::graph::EmailAddress {
                            address: Some(a.email.clone()),
                            name: a.name.clone(),
                        },
                        attendee_type: Some(attendee_type::REQUIRED.into()),
                    })
                    .collect();
                body.insert(prop::ATTENDEES.into(), json!(attendees));
            }
        }
    }
    Value::Object(body)
}

/// HTML reduced to plain text: head, style, script and comments dropped, block ends and `<br>`
/// as line breaks, list items as "- " lines, runs of white space as one space, entities decoded,
/// then [`normalize_text`] with at most one blank line in a row. Deterministic (the same HTML
/// always gives the same text, so a body does not echo as a change) and linear in the length of
/// the HTML (bodies come from anyone who can send a meeting invitation). Not idempotent on its
/// output: text with '<', '&' or line breaks reads as markup again (found by the property
/// tests), and it is only ever given HTML. A hand-written reducer because the maintained
/// HTML-to-text crates pull a full HTML5 parser into the WASM build for what Outlook bodies need.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone '<' is text.
            push_text(&mut out, rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() && !closing {
            // "<" followed by something that is no tag ("a < b").
            push_text(&mut out, "<");
            push_text(&mut out, tag);
            push_text(&mut out, ">");
            continue;
        }
        match name.as_str() {
            "head" | "style" | "script" | "title" if !closing => {
                let close = format!("</{name}");
                rest = match find_ignoring_ascii_case(rest, &close) {
                    Some(at) => rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..]),
                    None => "",
                };
            }
            "br" => out.push('\n'),
            "li" if !closing => {
                line_break(&mut out);
                out.push_str("- ");
            }
            "p" | "div" | "li" | "tr" | "ul" | "ol" | "table" | "h1" | "h2" | "h3" | "h4"
            | "h5" | "h6" | "blockquote" | "pre" | "hr" => line_break(&mut out),
            "td" | "th" if closing => out.push(' '),
            _ => {}
        }
    }
    push_text(&mut out, rest);
    let text = normalize_text(&out);
    let mut lines: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line);
    }
    lines.join("\n").trim_end().to_owned()
}

/// Where `needle` (ASCII) first occurs in `haystack`, ignoring ASCII case; one pass, no copy.
fn find_ignoring_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn line_break(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Text between tags: entities decoded, white space runs (HTML's, not the author's) as one space.
fn push_text(out: &mut String, raw: &str) {
    let decoded = decode_entities(raw);
    for c in decoded.chars() {
        if c == '\u{a0}' {
            out.push(' ');
        } else if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with([' ', '\n']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Entity names are short: look for the ';' among the next bytes only, so a body of
        // many '&' stays linear.
        let entity = rest.as_bytes()[1..]
            .iter()
            .take(11)
            .position(|b| *b == b';')
            .map(|end| &rest[1..end + 1]);
        let decoded = entity.and_then(|name| match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    name.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32)
            }
        });
        match (entity, decoded) {
            (Some(name), Some(c)) => {
                out.push(c);
                rest = &rest[name.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    /// Hostile bodies (anyone can send an invitation) take time in proportion to their length.
    /// Each of these took minutes before (quadratic scans); the bound is a thousand times what
    /// a linear pass needs, so it never flakes.
    #[test]
    fn hostile_bodies_are_reduced_in_linear_time() {
        let bodies = [
            "&".repeat(2_000_000),
            "&a".repeat(1_000_000),
            "<style>".repeat(300_000),
            "<p>x</p><STYLE>".repeat(200_000),
        ];
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for body in &bodies {
                let text = html_to_text(body);
                assert!(text.len() <= body.len());
            }
            let _ = done.send(());
        });
        finished
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("hostile bodies reduced within 30 s");
    }

    fn sofia() -> Zone {
        Zone::parse("Europe/Sofia").unwrap()
    }

    fn event(json: Value) -> GraphEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn reads_a_timed_event_in_the_users_zone() {
        let e = event(json!({
            "id": "AAMk1", "subject": "Review",
            "body": {"contentType": "html", "content": "<html><head><style>p{}</style></head><body><p>Agenda:</p><ul><li>numbers &amp; plans</li></ul></body></html>"},
            "start": {"dateTime": "2026-03-29T09:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-03-29T10:30:00.0000000", "timeZone": "FLE Standard Time"},
            "isAllDay": false, "sensitivity": "confidential", "importance": "high",
            "isReminderOn": true, "reminderMinutesBeforeStart": 15,
            "attendees": [{"emailAddress": {"address": "Ann@Example.com", "name": "Ann"}, "type": "required"}]
        }));
        let item = to_item(&e, &sofia()).unwrap();
        assert_eq!(item.subject, "Review");
        assert_eq!(item.body, "Agenda:\n- numbers & plans");
        assert_eq!(
            item.when,
            When::Timed {
                // 29 March 2026 is the first day of summer time in Sofia (UTC+3).
                start: Utc.with_ymd_and_hms(2026, 3, 29, 6, 0, 0).unwrap(),
                end: Utc.with_ymd_and_hms(2026, 3, 29, 7, 30, 0).unwrap(),
                zone: Some(Zone::parse("FLE Standard Time").unwrap().iana_name().into()),
            }
        );
        assert_eq!(item.sensitivity, Sensitivity::Private);
        assert_eq!(item.importance, Importance::High);
        assert_eq!(item.reminder_minutes_before_start, Some(15));
        assert_eq!(item.attendees[0].email, "Ann@Example.com");
        assert_eq!(item.series, None);
    }

    #[test]
    fn reminder_off_sensitivity_personal_and_series_link() {
        let e = event(json!({
            "id": "occ", "type": "exception", "seriesMasterId": "master",
            "originalStart": "2026-03-02T07:00:00Z",
            "start": {"dateTime": "2026-03-02T12:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T13:00:00.0000000", "timeZone": "UTC"},
            "isReminderOn": false, "reminderMinutesBeforeStart": 15,
            "sensitivity": "personal", "importance": "low"
        }));
        let item = to_item(&e, &sofia()).unwrap();
        assert_eq!(item.reminder_minutes_before_start, None);
        assert_eq!(item.sensitivity, Sensitivity::Private);
        assert_eq!(item.importance, Importance::Low);
        assert_eq!(
            item.series,
            Some(SeriesLink {
                series_id: "master".into(),
                original_start: Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap()
            })
        );
    }

    #[test]
    fn sparse_entries_are_reported_not_guessed() {
        let e = event(json!({"id": "x", "type": "occurrence"}));
        assert_eq!(to_item(&e, &sofia()), Err(MapError::Missing("start")));
    }

    fn item(when: When) -> CalendarItem {
        CalendarItem {
            subject: "Planning".into(),
            when,
            body: "Line one\nLine two".into(),
            sensitivity: Sensitivity::Private,
            importance: Importance::Low,
            reminder_minutes_before_start: Some(30),
            attendees: vec![Attendee {
                email: "bo@example.com".into(),
                name: Some("Bo".into()),
            }],
            series: None,
        }
    }

    /// What Graph would answer for a body we wrote: the same fields, plus an id.
    fn as_read(body: &Value) -> GraphEvent {
        let mut read = body.clone();
        read["id"] = json!("AAMk=");
        event(read)
    }

    #[test]
    fn all_day_round_trips_as_dates() {
        let original = item(When::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 10, 24).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 10, 27).unwrap(),
        });
        let body = create_body(&original, &sofia());
        assert_eq!(body["isAllDay"], json!(true));
        assert_eq!(
            body["start"],
            json!({"dateTime": "2026-10-24T00:00:00.0000000", "timeZone": "FLE Standard Time"})
        );
        // Read back by a user in another zone: the dates do not move.
        let back = to_item(&as_read(&body), &Zone::parse("America/New_York").unwrap()).unwrap();
        assert!(back.changed_fields(&original).is_empty(), "{back:?}");
    }

    #[test]
    fn timed_round_trips_across_dst() {
        let original = item(When::Timed {
            start: Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 10, 25, 2, 0, 0).unwrap(),
            zone: None,
        });
        let body = create_body(&original, &sofia());
        insta::assert_json_snapshot!(body);
        let back = to_item(&as_read(&body), &sofia()).unwrap();
        assert_eq!(back.content_hash(), original.content_hash());
    }

    #[test]
    fn patch_carries_only_changed_fields() {
        let it = item(When::AllDay {
            start: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2026, 5, 2).unwrap(),
        });
        let body = patch_body(&it, &[Field::Subject], &sofia());
        assert_eq!(body, json!({"subject": "Planning"}));
        let mut off = it.clone();
        off.reminder_minutes_before_start = None;
        let body = patch_body(&off, &[Field::Reminder], &sofia());
        assert_eq!(body, json!({"isReminderOn": false}));
        let body = patch_body(&it, &[Field::When], &sofia());
        assert_eq!(
            body,
            json!({
                "start": {"dateTime": "2026-05-01T00:00:00.0000000", "timeZone": "FLE Standard Time"},
                "end": {"dateTime": "2026-05-02T00:00:00.0000000", "timeZone": "FLE Standard Time"},
                "isAllDay": true
            })
        );
    }

    #[test]
    fn html_reduces_deterministically() {
        let html = "<html><head><meta charset=\"utf-8\"><title>x</title></head>\r\n<body>\
            <div>Hello&nbsp;<b>world</b>,</div><!-- comment <p> --><div><br></div>\
            <p>a &lt; b &#38; c &#x263A;</p><table><tr><td>1</td><td>2</td></tr></table>\
            <script>alert('no')</script>\n   trailing   space  </body></html>";
        let text = html_to_text(html);
        assert_eq!(
            text,
            "Hello world,\n\na < b & c \u{263a}\n1 2\ntrailing space"
        );
        let as_html = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('\n', "<br>");
        assert_eq!(html_to_text(&as_html), text);
        assert_eq!(html_to_text("x < y and & z"), "x < y and & z");
        assert_eq!(html_to_text("<p>unclosed <b"), "unclosed <b");
    }

    #[test]
    fn text_we_wrote_does_not_echo_through_outlooks_html() {
        // Outlook keeps bodies as HTML; a text body written by MsSync comes back like this.
        let written = "Line one\nLine two & more";
        let outlook = "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n<div>Line one<br>\r\nLine two &amp; more</div>\r\n</body>\r\n</html>\r\n";
        assert_eq!(html_to_text(outlook), written);
    }
}
