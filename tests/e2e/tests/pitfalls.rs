//! The twelve pitfalls of calendar sync tools (the end of `shared/reference/graph.md`), each a
//! named test end to end: an `App` on the Graph, ERP.net and Entra ID simulators, real HTTP,
//! `App::run_job`, and assertions on what each side holds afterwards.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::{Env, alice_env};
use mssync_core::ErrorCode;
use mssync_core::app::{JobKind, SetupChange};
use mssync_core::engine::ConflictPolicy;
use mssync_core::host::Method;
use mssync_sim::erp::{ActivitySeed, Fault};
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_secs(16 * 60);

fn utc(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, day, hour, 0, 0).unwrap()
}

fn seed_activity(env: &Env, subject: &str, start: DateTime<Utc>) -> String {
    let mut seed = ActivitySeed::new(subject, start);
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    env.world.erp.seed_activity(seed)
}

/// An Outlook event at `hour` local time (FLE Standard Time) on a June day, with a location
/// (a field ERP.net has no twin for).
fn event(subject: &str, day: u32, hour: u32) -> Value {
    json!({
        "subject": subject,
        "start": {"dateTime": format!("2026-06-{day:02}T{hour:02}:00:00.0000000"), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("2026-06-{day:02}T{:02}:00:00.0000000", hour + 1), "timeZone": "FLE Standard Time"},
        "body": {"contentType": "html", "content": format!("<p>About <b>{subject}</b></p>")},
        "importance": "normal",
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 15,
        "location": {"displayName": "Room 1"},
    })
}

fn weekly(subject: &str, first_day: u32, count: u32) -> Value {
    let mut e = event(subject, first_day, 9);
    let weekday = Utc
        .with_ymd_and_hms(2026, 6, first_day, 12, 0, 0)
        .unwrap()
        .format("%A")
        .to_string()
        .to_lowercase();
    e["recurrence"] = json!({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]},
        "range": {"type": "numbered", "startDate": format!("2026-06-{first_day:02}"), "numberOfOccurrences": count},
    });
    e
}

async fn run_ok(env: &Env, alice: &str) -> mssync_core::app::RunView {
    env.advance(QUIET);
    env.run(alice).await.expect("the run succeeds")
}

/// Live activities by subject (panics on none).
fn activity(env: &Env, subject: &str) -> Value {
    let found: Vec<Value> = env
        .activities()
        .into_iter()
        .filter(|a| a["Subject"] == subject)
        .collect();
    assert_eq!(found.len(), 1, "one live activity {subject:?}: {found:#?}");
    found[0].clone()
}

fn subjects_of_activities(env: &Env) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for a in env.activities() {
        *out.entry(a["Subject"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

/// What Outlook shows in June and July (occurrences expanded, cancelled ones left out).
fn outlook(env: &Env, alice: &str) -> Vec<Value> {
    env.world.graph.calendar_view(
        alice,
        utc(1, 0) - chrono::Duration::days(20),
        utc(1, 0) + chrono::Duration::days(200),
    )
}

fn subjects_of_events(env: &Env, alice: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in outlook(env, alice) {
        *out.entry(e["subject"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    out
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn graph_utc(v: &Value) -> DateTime<Utc> {
    chrono::NaiveDateTime::parse_from_str(v["dateTime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
}

/// Pitfall 1: a create whose answer was lost is retried without making a second item, on
/// either side (Graph `transactionId` + activity-id property; ERP.net findOrCreate).
#[tokio::test]
async fn pitfall_01_retried_create_makes_no_duplicate() {
    let (env, alice) = alice_env().await;
    seed_activity(&env, "From ERP.net", utc(3, 7));
    env.world
        .graph
        .seed_event(&alice, event("From Outlook", 4, 10));
    // Both creates reach the services; neither answer comes back.
    env.http.lose_answer_of(|r| {
        r.method == Method::Post && r.url.contains("/v1.0/") && !r.url.contains("delta")
    });
    env.http.lose_answer_of(|r| {
        r.method == Method::Post && r.url.contains("General_Activities_Activities")
    });
    env.advance(QUIET);
    let _ = env.run(&alice).await;
    env.http.heal();
    run_ok(&env, &alice).await;
    run_ok(&env, &alice).await;
    let expected = BTreeMap::from([
        ("From ERP.net".to_owned(), 1),
        ("From Outlook".to_owned(), 1),
    ]);
    assert_eq!(subjects_of_activities(&env), expected);
    assert_eq!(subjects_of_events(&env, &alice), expected);
}

/// Pitfall 2: a failed read, or a read that comes back empty while links exist, never deletes
/// the other side in bulk; the run stops with an error Home shows.
#[tokio::test]
async fn pitfall_02_empty_or_failed_read_never_mass_deletes() {
    let (env, alice) = alice_env().await;
    for (i, day) in [3, 4, 5, 6].into_iter().enumerate() {
        seed_activity(&env, &format!("Meeting {i}"), utc(day, 7));
    }
    run_ok(&env, &alice).await;
    assert_eq!(outlook(&env, &alice).len(), 4);

    // Graph fails every request of a run.
    env.world.graph.unavailable_next(100);
    env.advance(QUIET);
    assert!(env.run(&alice).await.is_err());
    env.world.graph.unavailable_next(0);
    assert_eq!(env.activities().len(), 4, "a failed read voids nothing");

    // The whole calendar comes back empty on a full read.
    for e in outlook(&env, &alice) {
        env.world
            .graph
            .user_delete(&alice, e["id"].as_str().unwrap());
    }
    env.app
        .request_full_refresh(&alice, JobKind::Calendar)
        .await
        .unwrap();
    env.advance(QUIET);
    let refused = env.run(&alice).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::SafetyGuard, "{refused}");
    assert_eq!(env.activities().len(), 4, "an empty read voids nothing");
    let home = env.app.home(&alice).await.unwrap();
    assert!(home.state.starts_with("Error"), "{}", home.state);
}

/// Pitfall 3: an expired delta token (410 `syncStateNotFound`) and an expired page link in the
/// middle of a round both end in a full re-read that creates no duplicates.
#[tokio::test]
async fn pitfall_03_expired_delta_token_and_next_link_resync_without_duplicates() {
    let (env, alice) = alice_env().await;
    seed_activity(&env, "From ERP.net", utc(3, 7));
    // More events than one delta page (50) holds.
    for i in 0..55 {
        env.world.graph.seed_event(
            &alice,
            event(&format!("Outlook {i}"), 2 + i % 25, 8 + i / 25),
        );
    }
    env.world.graph.expire_next_page_link();
    env.advance(QUIET);
    let _ = env.run(&alice).await;
    run_ok(&env, &alice).await;
    let settled = subjects_of_activities(&env);
    assert_eq!(settled.len(), 56);
    assert!(settled.values().all(|n| *n == 1), "{settled:?}");

    env.world.graph.expire_delta_tokens();
    let report = run_ok(&env, &alice).await;
    assert!(report.full_read, "{report:?}");
    assert_eq!(
        (report.to_erp.total(), report.to_outlook.total()),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(subjects_of_activities(&env), settled);
    assert_eq!(subjects_of_events(&env, &alice), settled);
}

/// Pitfall 4: delta reports `@removed` for items that only left the window (moved beyond it,
/// or the window rolled past them); that deletes nothing.
#[tokio::test]
async fn pitfall_04_removed_outside_the_window_deletes_nothing() {
    let (env, alice) = alice_env().await;
    let early = env.world.graph.seed_event(&alice, event("Early", 2, 10));
    let moved = env
        .world
        .graph
        .seed_event(&alice, event("Moved away", 10, 10));
    run_ok(&env, &alice).await;
    // The user moves one event two years ahead: out of the window, not deleted.
    env.world.graph.user_update(
        &alice,
        &moved,
        json!({
            "start": {"dateTime": "2028-06-10T10:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2028-06-10T11:00:00.0000000", "timeZone": "FLE Standard Time"},
        }),
    );
    run_ok(&env, &alice).await;
    assert_eq!(
        activity(&env, "Moved away")["Void"],
        false,
        "moved out of the window is not deleted"
    );
    // A month later the window has rolled past the early event.
    env.advance(Duration::from_secs(30 * 24 * 3600));
    run_ok(&env, &alice).await;
    run_ok(&env, &alice).await;
    assert_eq!(activity(&env, "Early")["Void"], false);
    assert!(env.world.graph.event(&alice, &early).is_some());
}

/// Pitfall 5: one occurrence moved, edited or cancelled, in Outlook or in ERP.net, changes that
/// occurrence only, on the other side.
#[tokio::test]
async fn pitfall_05_single_occurrence_move_edit_delete_both_ways() {
    let (env, alice) = alice_env().await;
    let master = env.world.graph.seed_event(&alice, weekly("Standup", 8, 5));
    run_ok(&env, &alice).await;
    assert_eq!(
        subjects_of_activities(&env),
        BTreeMap::from([("Standup".into(), 5)])
    );

    let occurrences = outlook(&env, &alice);
    let id = |i: usize| occurrences[i]["id"].as_str().unwrap().to_owned();
    // Outlook: move the 1st an hour later, rename the 2nd, cancel the 3rd.
    let first_start = graph_utc(&occurrences[0]["start"]);
    env.world.graph.user_update(
        &alice,
        &id(0),
        json!({
            "start": {"dateTime": "2026-06-08T10:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-06-08T11:00:00.0000000", "timeZone": "FLE Standard Time"},
        }),
    );
    env.world
        .graph
        .user_update(&alice, &id(1), json!({"subject": "Standup (demo)"}));
    env.world.graph.user_delete(&alice, &id(2));
    run_ok(&env, &alice).await;
    let activities = env.activities();
    assert_eq!(activities.len(), 4, "the cancelled one is voided");
    assert!(activities.iter().any(|a| a["Subject"] == "Standup (demo)"));
    assert!(
        activities
            .iter()
            .any(|a| time(&a["StartTime"]) == first_start + chrono::Duration::hours(1)),
        "the moved occurrence moved: {activities:#?}"
    );

    // ERP.net: rename the 4th, move the 5th, void the renamed one.
    let by_start = |day: u32| {
        env.activities()
            .into_iter()
            .find(|a| time(&a["StartTime"]).format("%d").to_string() == format!("{day:02}"))
            .unwrap()["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let fourth = by_start(29);
    let fifth = by_start(6);
    env.world.erp.edit_activity(&fourth, |a| {
        a.insert("Subject".into(), json!("Standup (retro)"));
    });
    env.world.erp.edit_activity(&fifth, |a| {
        a.insert("StartTime".into(), json!("2026-07-06T09:00:00Z"));
        a.insert("EndTime".into(), json!("2026-07-06T10:00:00Z"));
    });
    let demo = activity(&env, "Standup (demo)")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.world.erp.edit_activity(&demo, |a| {
        a.insert("Void".into(), json!(true));
    });
    run_ok(&env, &alice).await;
    let view = outlook(&env, &alice);
    assert_eq!(view.len(), 3, "two cancelled of five: {view:#?}");
    assert!(view.iter().any(|e| e["subject"] == "Standup (retro)"));
    assert!(
        view.iter()
            .any(|e| graph_utc(&e["start"]) == Utc.with_ymd_and_hms(2026, 7, 6, 9, 0, 0).unwrap())
    );
    assert!(view.iter().all(|e| e["seriesMasterId"] == json!(master)));
    assert!(
        env.world.graph.event(&alice, &master).is_some(),
        "the series stays"
    );
    assert_eq!(env.activities().len(), 3);
}

/// Pitfall 6: a master edit (new subject, shortened range) updates the linked activities and
/// voids the ones that no longer exist, without orphaning or duplicating the exceptions.
#[tokio::test]
async fn pitfall_06_master_edit_keeps_exceptions() {
    let (env, alice) = alice_env().await;
    let master = env.world.graph.seed_event(&alice, weekly("Review", 9, 4));
    run_ok(&env, &alice).await;
    let second = outlook(&env, &alice)[1]["id"].as_str().unwrap().to_owned();
    env.world
        .graph
        .user_update(&alice, &second, json!({"subject": "Review (special)"}));
    run_ok(&env, &alice).await;

    let mut recurrence = env.world.graph.event(&alice, &master).unwrap()["recurrence"].clone();
    recurrence["range"]["numberOfOccurrences"] = json!(3);
    env.world.graph.user_update(
        &alice,
        &master,
        json!({"importance": "high", "recurrence": recurrence}),
    );
    run_ok(&env, &alice).await;
    run_ok(&env, &alice).await;
    assert_eq!(
        subjects_of_activities(&env),
        BTreeMap::from([("Review".into(), 2), ("Review (special)".into(), 1)]),
        "the fourth voided, the exception kept once"
    );
    assert!(env.activities().iter().all(|a| a["Priority"] == "High"));
    assert_eq!(
        subjects_of_events(&env, &alice),
        subjects_of_activities(&env)
    );
}

/// Pitfall 7: all-day items are whole dates: an Outlook all-day event becomes an activity from
/// local midnight to local midnight, and back, never shifted a day by zones.
#[tokio::test]
async fn pitfall_07_all_day_round_trips_midnight_to_midnight() {
    let (env, alice) = alice_env().await;
    let mut holiday = event("Holiday", 10, 0);
    holiday["isAllDay"] = json!(true);
    holiday["start"] =
        json!({"dateTime": "2026-06-10T00:00:00.0000000", "timeZone": "FLE Standard Time"});
    holiday["end"] =
        json!({"dateTime": "2026-06-11T00:00:00.0000000", "timeZone": "FLE Standard Time"});
    let holiday_id = env.world.graph.seed_event(&alice, holiday);
    // Two whole days in Sofia (UTC+3 in summer), entered in ERP.net.
    let mut trip = ActivitySeed::new("Trip", Utc.with_ymd_and_hms(2026, 6, 11, 21, 0, 0).unwrap());
    trip.end = Some(Utc.with_ymd_and_hms(2026, 6, 13, 21, 0, 0).unwrap());
    trip.assigned_to = Some(env.world.alice().erp_user_id.clone());
    let trip_id = env.world.erp.seed_activity(trip);
    run_ok(&env, &alice).await;

    let h = activity(&env, "Holiday");
    assert_eq!(h["StartTime"], "2026-06-09T21:00:00Z");
    assert_eq!(h["EndTime"], "2026-06-10T21:00:00Z");
    let t = outlook(&env, &alice)
        .into_iter()
        .find(|e| e["subject"] == "Trip")
        .unwrap();
    assert_eq!(t["isAllDay"], true, "{t}");

    // Edits on both sides keep the dates.
    env.world.erp.edit_activity(&trip_id, |a| {
        a.insert("Subject".into(), json!("Trip (booked)"));
    });
    env.world
        .graph
        .user_update(&alice, &holiday_id, json!({"subject": "Holiday!"}));
    run_ok(&env, &alice).await;
    run_ok(&env, &alice).await;
    let h = activity(&env, "Holiday!");
    assert_eq!(h["StartTime"], "2026-06-09T21:00:00Z");
    assert_eq!(h["EndTime"], "2026-06-10T21:00:00Z");
    let t = activity(&env, "Trip (booked)");
    assert_eq!(t["StartTime"], "2026-06-11T21:00:00Z");
    assert_eq!(t["EndTime"], "2026-06-13T21:00:00Z");
    let trip_event = outlook(&env, &alice)
        .into_iter()
        .find(|e| e["subject"] == "Trip (booked)")
        .unwrap();
    assert_eq!(trip_event["isAllDay"], true);
    let holiday_event = env.world.graph.event(&alice, &holiday_id).unwrap();
    assert_eq!(holiday_event["isAllDay"], true);
    assert_eq!(holiday_event["location"]["displayName"], "Room 1");
}

/// Pitfall 8: times cross daylight-saving changes and Windows/IANA names correctly, also for
/// events whose original zone is `tzone://Microsoft/Custom`.
#[tokio::test]
async fn pitfall_08_dst_and_windows_iana_zones_incl_custom() {
    let (env, alice) = alice_env().await;
    // 10:00 in Sofia the day after summer time ends (25 Oct 2026): UTC+2, so 08:00 UTC.
    let mut autumn = json!({
        "subject": "After DST",
        "start": {"dateTime": "2026-10-26T10:00:00.0000000", "timeZone": "FLE Standard Time"},
        "end": {"dateTime": "2026-10-26T11:00:00.0000000", "timeZone": "FLE Standard Time"},
        "isReminderOn": false,
    });
    autumn["originalStartTimeZone"] = json!("tzone://Microsoft/Custom");
    autumn["originalEndTimeZone"] = json!("tzone://Microsoft/Custom");
    env.world.graph.seed_event(&alice, autumn);
    // 09:00 in Seattle (Pacific Standard Time, UTC-7 in June) = 16:00 UTC.
    env.world.graph.seed_event(
        &alice,
        json!({
            "subject": "Seattle call",
            "start": {"dateTime": "2026-06-15T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-06-15T10:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "isReminderOn": false,
        }),
    );
    // Summer in ERP.net: 07:00 UTC is 10:00 in Sofia (UTC+3).
    seed_activity(&env, "Summer", utc(16, 7));
    run_ok(&env, &alice).await;
    assert_eq!(
        activity(&env, "After DST")["StartTime"],
        "2026-10-26T08:00:00Z"
    );
    assert_eq!(
        activity(&env, "Seattle call")["StartTime"],
        "2026-06-15T16:00:00Z"
    );
    let summer = outlook(&env, &alice)
        .into_iter()
        .find(|e| e["subject"] == "Summer")
        .unwrap();
    assert_eq!(graph_utc(&summer["start"]), utc(16, 7));
    // The engine wrote it in the user's Windows zone.
    let create = env
        .world
        .graph
        .requests()
        .into_iter()
        .find(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("Summer"))
        })
        .unwrap();
    assert!(
        create
            .body
            .unwrap()
            .to_string()
            .contains("FLE Standard Time"),
        "written in the user's Windows zone"
    );
    // Quiet afterwards: no zone round trip shows up as a change.
    let report = run_ok(&env, &alice).await;
    let report2 = run_ok(&env, &alice).await;
    assert_eq!(
        report2.to_erp.total() + report2.to_outlook.total(),
        0,
        "{report:?} {report2:?}"
    );
}

/// Pitfall 9: our own writes come back through delta and the ERP.net watermark with new
/// versions and (in Outlook) HTML bodies; none of it is taken as a change.
#[tokio::test]
async fn pitfall_09_no_echo_of_own_writes() {
    let (env, alice) = alice_env().await;
    seed_activity(&env, "Plain notes", utc(3, 7));
    env.world
        .graph
        .seed_event(&alice, event("Rich body", 4, 10));
    run_ok(&env, &alice).await;
    assert_eq!(activity(&env, "Rich body")["Notes"], "About Rich body");
    let echo = run_ok(&env, &alice).await;
    assert_eq!(echo.to_erp.total() + echo.to_outlook.total(), 0, "{echo:?}");
    env.world.graph.clear_requests();
    env.world.erp.clear_requests();
    let quiet = run_ok(&env, &alice).await;
    assert_eq!(
        quiet.to_erp.total() + quiet.to_outlook.total(),
        0,
        "{quiet:?}"
    );
    assert_eq!(env.world.graph.requests().len(), 1, "one Graph request");
    assert_eq!(env.world.erp.requests().len(), 2, "the two ERP.net queries");
}

/// Pitfall 10: the conflict matrix gives the same answer every time (here with the ERP.net-wins
/// policy): the same field goes ERP.net's way, different fields merge, ERP.net's edit wins over
/// an Outlook deletion (the event comes back) and ERP.net's void over an Outlook edit, and what
/// both sides deleted never comes back.
#[tokio::test]
async fn pitfall_10_conflict_matrix_is_deterministic_without_resurrection() {
    let (env, alice) = alice_env().await;
    env.app
        .change_setup(
            &alice,
            SetupChange {
                time_zone: None,
                policy: Some(ConflictPolicy::ErpWins),
            },
        )
        .await
        .unwrap();
    let same = seed_activity(&env, "Same field", utc(3, 7));
    let merge = seed_activity(&env, "Different fields", utc(4, 7));
    let void_vs_edit = seed_activity(&env, "Voided here", utc(5, 7));
    let edit_vs_delete = seed_activity(&env, "Deleted there", utc(6, 7));
    let both_gone = seed_activity(&env, "Gone both", utc(7, 7));
    run_ok(&env, &alice).await;
    let event_of = |subject: &str| {
        outlook(&env, &alice)
            .into_iter()
            .find(|e| e["subject"] == subject)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (e_same, e_merge, e_void, e_del, e_gone) = (
        event_of("Same field"),
        event_of("Different fields"),
        event_of("Voided here"),
        event_of("Deleted there"),
        event_of("Gone both"),
    );
    let edit = |id: &str, field: &str, value: Value| {
        env.world.erp.edit_activity(id, |a| {
            a.insert(field.into(), value);
        })
    };
    edit(&same, "Subject", json!("Same field (ERP.net)"));
    env.world
        .graph
        .user_update(&alice, &e_same, json!({"subject": "Same field (Outlook)"}));
    edit(&merge, "Notes", json!("notes from ERP.net"));
    env.world.graph.user_update(
        &alice,
        &e_merge,
        json!({"subject": "Different fields (Outlook)"}),
    );
    edit(&void_vs_edit, "Void", json!(true));
    env.world
        .graph
        .user_update(&alice, &e_void, json!({"subject": "Voided here (kept)"}));
    edit(&edit_vs_delete, "Subject", json!("Deleted there (kept)"));
    env.world.graph.user_delete(&alice, &e_del);
    edit(&both_gone, "Void", json!(true));
    env.world.graph.user_delete(&alice, &e_gone);
    run_ok(&env, &alice).await;
    run_ok(&env, &alice).await;

    let expected = BTreeMap::from([
        ("Deleted there (kept)".to_owned(), 1),
        ("Different fields (Outlook)".to_owned(), 1),
        ("Same field (ERP.net)".to_owned(), 1),
    ]);
    assert_eq!(subjects_of_activities(&env), expected);
    assert_eq!(subjects_of_events(&env, &alice), expected);
    assert_eq!(
        activity(&env, "Different fields (Outlook)")["Notes"],
        "notes from ERP.net",
        "different fields merge"
    );
    assert!(env.world.graph.event(&alice, &e_gone).is_none());
    assert!(
        env.world.graph.event(&alice, &e_void).is_none(),
        "the void won"
    );
    let report = run_ok(&env, &alice).await;
    assert_eq!(
        report.to_erp.total() + report.to_outlook.total(),
        0,
        "settled: {report:?}"
    );
}

/// Pitfall 11: 429 and 503 are retried after `Retry-After` (slept on the host clock), at most
/// four requests are in flight per mailbox, and a `$batch` whose items fail in part keeps the
/// rest and retries the failed ones later without duplicates.
#[tokio::test]
async fn pitfall_11_throttling_concurrency_and_partial_batch_failure() {
    let (env, alice) = alice_env().await;
    for day in 2..10 {
        seed_activity(&env, &format!("Day {day}"), utc(day, 7));
    }
    env.world.graph.set_delay(Duration::from_millis(5));
    env.world.graph.throttle_next(1, 7);
    env.world.erp.push_fault(Fault::Status {
        status: 429,
        retry_after: Some(3),
    });
    env.world.graph.fail_batch_item("2", 503, 10);
    env.advance(QUIET);
    let report = env.run(&alice).await.unwrap();
    assert!(report.failed >= 1, "{report:?}");
    let sleeps = env.clock.sleeps();
    assert!(sleeps.contains(&Duration::from_secs(7)), "{sleeps:?}");
    assert!(sleeps.contains(&Duration::from_secs(3)), "{sleeps:?}");
    assert!(outlook(&env, &alice).len() >= 7);
    env.world.graph.fail_batch_item("2", 503, 0);
    run_ok(&env, &alice).await;
    let events = subjects_of_events(&env, &alice);
    assert_eq!(events.len(), 8, "{events:?}");
    assert!(events.values().all(|n| *n == 1), "{events:?}");
    assert!(env.world.graph.max_concurrency(&alice) <= 4);
}

/// Pitfall 12: ids are immutable and case-sensitive: every Graph request asks for immutable ids,
/// the activity keeps the event id exactly as Graph spelled it, and an edit keeps the link.
/// Webhooks (validation, `missed` -> resync) are not built: MsSync polls with delta on the
/// host's schedule, so that part of the pitfall does not apply.
#[tokio::test]
async fn pitfall_12_immutable_case_sensitive_ids() {
    let (env, alice) = alice_env().await;
    let id = env
        .world
        .graph
        .seed_event(&alice, event("Kept link", 4, 10));
    assert_ne!(id.to_lowercase(), id, "the simulator's ids have upper case");
    run_ok(&env, &alice).await;
    for r in env.world.graph.requests() {
        assert!(
            r.header_values("prefer")
                .iter()
                .any(|v| v.contains(r#"IdType="ImmutableId""#)),
            "{} {} lacks the immutable-id preference",
            r.method,
            r.path
        );
    }
    let a = activity(&env, "Kept link");
    assert_eq!(
        a["ExternalId"],
        json!(id),
        "the id exactly as Graph spelled it"
    );
    env.world
        .graph
        .user_update(&alice, &id, json!({"subject": "Kept link (renamed)"}));
    run_ok(&env, &alice).await;
    let renamed = activity(&env, "Kept link (renamed)");
    assert_eq!(renamed["Id"], a["Id"], "the same activity");
    assert_eq!(env.activities().len(), 1);
}
