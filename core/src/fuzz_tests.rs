//! Property tests of every parser of what a server or a caller sends: each case ends in a value
//! or an error, never a panic, and stays within its bound (a result no larger than its input
//! where that holds, a wait no longer than the cap).
//!
//! `MSSYNC_FUZZ_CASES` sets the cases per target (default 2,000, what `./tests/run.sh` runs);
//! the long run is `MSSYNC_FUZZ_CASES=1000000 cargo test --release -p mssync-core fuzz_tests`.
//! A failing case is printed minimized; keep it as a regression test beside the parser.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value};

use crate::erp::TimeBasis;
use crate::erp::activities::read_activity;
use crate::graph::GraphEvent;
use crate::jobs::calendar::map_graph::{html_to_text, to_item};
use crate::model::tz::Zone;

fn cases() -> u32 {
    std::env::var("MSSYNC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// Strings a server might send where a value is expected: dates in and out of range, numbers
/// of every size as text, entities, markup, odd Unicode, empty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("2026-06-03T07:00:00.0000000".to_owned()),
        Just("2026-06-03T07:00:00Z".to_owned()),
        Just("+262143-12-31T23:59:59Z".to_owned()),
        Just("9999-99-99T99:99:99".to_owned()),
        Just("FLE Standard Time".to_owned()),
        Just("tzone://Microsoft/Custom".to_owned()),
        Just("Europe/Sofia".to_owned()),
        Just("1e308".to_owned()),
        Just("&#x10FFFF;&#0;&#xD800;&amp;&".to_owned()),
        Just("<p>x</p><script>".to_owned()),
        "\\PC{0,40}",
        "[0-9:.TZ+-]{0,30}",
    ]
}

/// Any JSON, biased to the names the connectors read, so parsers get past their first field.
fn json(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(Value::from(u64::MAX)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        prop::sample::select(keys).prop_map(str::to_owned),
                        "[a-zA-Z@.]{1,12}"
                    ],
                    inner
                ),
                0..12
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const EVENT_KEYS: &[&str] = &[
    "id",
    "changeKey",
    "lastModifiedDateTime",
    "type",
    "seriesMasterId",
    "originalStart",
    "subject",
    "body",
    "contentType",
    "content",
    "start",
    "end",
    "dateTime",
    "timeZone",
    "isAllDay",
    "sensitivity",
    "importance",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "attendees",
    "emailAddress",
    "address",
    "name",
    "categories",
    "isCancelled",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "value",
    "@removed",
    "reason",
    "@odata.nextLink",
    "@odata.deltaLink",
    "responses",
    "status",
    "headers",
    "Retry-After",
];

const ACTIVITY_KEYS: &[&str] = &[
    "Id",
    "ObjectVersion",
    "AggregateLastUpdateTimeUtc",
    "Subject",
    "StartTime",
    "EndTime",
    "Notes",
    "Priority",
    "Private",
    "ReminderTime",
    "State",
    "Void",
    "SystemType",
    "ExternalId",
    "ExternalSystem",
    "AssignedToUser",
    "CreationUser",
    "Participants",
    "Email",
    "Reminders",
    "IsDefault",
    "IsDismissed",
    "@odata.id",
];

#[test]
fn fuzz_graph_events_map_or_refuse() {
    let zone = Zone::parse("Europe/Sofia").unwrap();
    run(json(EVENT_KEYS), |value| {
        if let Ok(event) = serde_json::from_value::<GraphEvent>(value) {
            let _ = to_item(&event, &zone);
            let _ = event.activity_id();
            let _ = event.is_sparse();
        }
        Ok(())
    });
}

#[test]
fn fuzz_delta_and_batch_pages_parse_or_refuse() {
    run(json(EVENT_KEYS), |value| {
        let bytes = serde_json::to_vec(&value).unwrap();
        let _ = crate::graph::client::parse_json::<crate::graph::delta::DeltaPage>(&bytes);
        if let Ok(batch) =
            crate::graph::client::parse_json::<crate::graph::batch::BatchResponse>(&bytes)
        {
            let now = chrono::Utc::now();
            for response in batch.responses {
                if let Some(wait) = response.retry_after(now) {
                    prop_assert!(wait <= crate::host::MAX_SERVER_WAIT);
                }
                let _ = crate::graph::batch::item_result(response);
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_raw_bytes_never_panic_a_page_parser() {
    run(prop::collection::vec(any::<u8>(), 0..512), |bytes| {
        let _ = crate::graph::client::parse_json::<crate::graph::delta::DeltaPage>(&bytes);
        let _ = crate::graph::client::parse_json::<crate::graph::batch::BatchResponse>(&bytes);
        let _ = crate::graph::client::parse_json::<GraphEvent>(&bytes);
        Ok(())
    });
}

#[test]
fn fuzz_erp_activities_read_or_refuse() {
    let bases = [
        TimeBasis::Utc,
        TimeBasis::Zone(Zone::parse("Europe/Sofia").unwrap()),
    ];
    let zone = Zone::parse("America/New_York").unwrap();
    run(json(ACTIVITY_KEYS), |value| {
        for basis in &bases {
            if let Ok(activity) = read_activity(&value, basis) {
                let _ = crate::jobs::calendar::map_erp::activity_to_item(&activity, &zone);
            }
        }
        Ok(())
    });
}

#[test]
fn fuzz_html_bodies_reduce_to_no_more_text() {
    let html = prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(
            prop::sample::select(
                &[
                    "<",
                    ">",
                    "&",
                    ";",
                    "&amp;",
                    "&#",
                    "x",
                    "<p>",
                    "</p>",
                    "<br>",
                    "<li>",
                    "<style>",
                    "</style",
                    "<!--",
                    "-->",
                    "<head>",
                    "\u{a0}",
                    "\r\n",
                    " ",
                    "é",
                    "&#x1F600;",
                    "&nbsp;",
                    "<td>",
                    "</td>",
                ][..]
            ),
            0..80,
        )
        .prop_map(|parts| parts.concat()),
    ];
    run(html, |html| {
        let text = html_to_text(&html);
        prop_assert!(
            text.len() <= html.len() + 4,
            "{} > {}",
            text.len(),
            html.len()
        );
        prop_assert_eq!(html_to_text(&html), text.clone(), "deterministic");
        Ok(())
    });
}

#[test]
fn fuzz_zone_names_and_waits_parse_or_refuse() {
    let now = chrono::Utc::now();
    run(text(), |name| {
        if let Ok(zone) = Zone::parse(&name) {
            let _ = zone.graph_name();
        }
        if let Some(wait) = crate::host::retry::parse_retry_after(&name, now) {
            prop_assert!(wait <= crate::host::MAX_SERVER_WAIT);
        }
        let _ = crate::error::argument_error_without_values(&name);
        Ok(())
    });
}

#[test]
fn fuzz_argument_errors_never_quote_the_argument() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Change {
        time_zone: Option<String>,
        policy: Option<crate::engine::ConflictPolicy>,
        enabled: bool,
    }
    let secret = "[a-z]{12}".prop_map(|s| format!("SECRET{s}"));
    let shape = prop_oneof![
        Just(r#"{{"enabled": "{}"}}"#),
        Just(r#"{{"enabled": true, "policy": "{}"}}"#),
        Just(r#"{{"enabled": true, "{}": 1}}"#),
        Just(r#"["{}"]"#),
        Just(r#"{}"#),
    ];
    run((shape, secret), |(shape, secret)| {
        let json = shape
            .replace("{}", &secret)
            .replace("{{", "{")
            .replace("}}", "}");
        if let Err(e) = serde_json::from_str::<Change>(&json) {
            let text = crate::error::argument_error_without_values(&e.to_string());
            prop_assert!(!text.contains(&secret), "{text}");
        }
        Ok(())
    });
}
