//! The host's store is a cache of links, snapshots and checkpoints: the link between an
//! activity and its event lives on both services (the activity's ExternalId, the event's
//! activity-id property). A host that loses MsSync's store, or restores an older copy of it,
//! costs reads, never a duplicate and never a lost edit.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{Env, alice_env};
use mssync_core::host::Clock;
use mssync_core::jobs::calendar::window_for;
use mssync_sim::erp::ActivitySeed;
use serde_json::{Value, json};

fn outlook_event(subject: &str, day: u32, hour: u32) -> Value {
    json!({
        "subject": subject,
        "start": {"dateTime": format!("2026-06-{day:02}T{hour:02}:00:00.0000000"), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("2026-06-{day:02}T{:02}:00:00.0000000", hour + 1), "timeZone": "FLE Standard Time"},
        "body": {"contentType": "text", "content": format!("Agenda of {subject}")},
        "importance": "normal",
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 15,
        "location": {"displayName": "Room 1"},
    })
}

fn seed_activity(env: &Env, subject: &str, day: u32) -> String {
    let mut seed = ActivitySeed::new(
        subject,
        Utc.with_ymd_and_hms(2026, 6, day, 7, 0, 0).unwrap(),
    );
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    seed.notes = Some(format!("Notes of {subject}"));
    env.world.erp.seed_activity(seed)
}

/// What Outlook shows in the window: singles, occurrences and exceptions.
fn outlook_view(env: &Env, alice: &str) -> Vec<Value> {
    let w = window_for(env.clock.now());
    env.world.graph.calendar_view(alice, w.start, w.end)
}

fn subjects_in_outlook(env: &Env, alice: &str) -> Vec<String> {
    let mut v: Vec<String> = outlook_view(env, alice)
        .iter()
        .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    v.sort();
    v
}

fn subjects_in_erp(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .activities()
        .iter()
        .map(|a| a["Subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    v.sort();
    v
}

/// A user renames an activity in ERP.net.
fn rename_activity(env: &Env, from: &str, to: &str) {
    let activity = env
        .activities()
        .into_iter()
        .find(|a| a["Subject"] == from)
        .unwrap();
    env.world
        .erp
        .edit_activity(activity["Id"].as_str().unwrap(), |a| {
            a.insert("Subject".into(), json!(to));
        });
}

/// A user renames an event in Outlook; returns its id.
fn rename_event(env: &Env, alice: &str, from: &str, to: &str) -> String {
    let event = outlook_view(env, alice)
        .into_iter()
        .find(|e| e["subject"] == from)
        .unwrap();
    let id = event["id"].as_str().unwrap().to_owned();
    env.world
        .graph
        .user_update(alice, &id, json!({"subject": to}));
    id
}

/// Everything either service holds, void activities and series masters included: a create
/// anywhere changes one of these numbers.
fn totals(env: &Env, alice: &str) -> (usize, usize) {
    (
        env.world.erp.list("General_Activities_Activities").len(),
        env.world.graph.events(alice).len(),
    )
}

/// A calendar with items born on both sides: an activity, a Released activity (Released before
/// it was ever synced, so it never carries ExternalId), an activity voided after its first sync,
/// an Outlook event and an Outlook weekly series with one occurrence moved.
async fn synced_calendar() -> (Env, String) {
    let (env, alice) = alice_env().await;
    seed_activity(&env, "Budget review", 3);
    let released = seed_activity(&env, "Signed contract", 5);
    env.world.erp.set_state(&released, "Released");
    let voided = seed_activity(&env, "Cancelled visit", 8);
    env.world
        .graph
        .seed_event(&alice, outlook_event("Customer call", 4, 10));
    let mut series = outlook_event("Weekly sync", 2, 9);
    series["recurrence"] = json!({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "range": {"type": "numbered", "startDate": "2026-06-02", "numberOfOccurrences": 3},
    });
    env.world.graph.seed_event(&alice, series);
    let second = outlook_view(&env, &alice)
        .into_iter()
        .filter(|e| e["subject"] == "Weekly sync")
        .nth(1)
        .expect("a second occurrence");
    env.world.graph.user_update(
        &alice,
        second["id"].as_str().unwrap(),
        json!({
            "start": {"dateTime": "2026-06-10T14:00:00.0000000", "timeZone": "FLE Standard Time"},
            "end": {"dateTime": "2026-06-10T15:00:00.0000000", "timeZone": "FLE Standard Time"},
        }),
    );
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.expect("the first sync");

    env.world.erp.edit_activity(&voided, |a| {
        a.insert("Void".into(), json!(true));
        a.insert("VoidReason".into(), json!("not needed"));
    });
    env.advance(Duration::from_secs(16 * 60));
    env.run(&alice).await.expect("the void reaches Outlook");
    env.advance(Duration::from_secs(16 * 60));
    let quiet = env.run(&alice).await.unwrap();
    assert_eq!(quiet.to_outlook.total() + quiet.to_erp.total(), 0);
    assert_eq!(subjects_in_erp(&env), subjects_in_outlook(&env, &alice));
    assert_eq!(
        subjects_in_erp(&env),
        [
            "Budget review",
            "Customer call",
            "Signed contract",
            "Weekly sync",
            "Weekly sync",
            "Weekly sync"
        ]
    );
    (env, alice)
}

#[tokio::test]
async fn a_lost_store_is_rebuilt_from_both_services_without_a_single_create() {
    let (env, alice) = synced_calendar().await;
    let totals_before = totals(&env, &alice);
    let erp_before = subjects_in_erp(&env);

    env.lose_the_store(&alice).await;
    env.advance(Duration::from_secs(16 * 60));
    let report = env.run(&alice).await.expect("the run after the loss");
    assert_eq!(
        (report.to_outlook.created, report.to_erp.created),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(totals(&env, &alice), totals_before, "nothing was created");
    assert_eq!(subjects_in_erp(&env), erp_before);
    assert_eq!(subjects_in_outlook(&env, &alice), erp_before);

    // The links are back: an edit on each side flows, and nothing else moves.
    rename_activity(&env, "Budget review", "Budget review v2");
    let call = rename_event(&env, &alice, "Customer call", "Customer call (moved)");
    env.advance(Duration::from_secs(16 * 60));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        (report.to_outlook.updated, report.to_erp.updated),
        (1, 1),
        "{report:?}"
    );
    assert_eq!((report.to_outlook.created, report.to_erp.created), (0, 0));
    assert_eq!(totals(&env, &alice), totals_before);
    assert_eq!(subjects_in_erp(&env), subjects_in_outlook(&env, &alice));
    assert!(subjects_in_erp(&env).contains(&"Budget review v2".to_owned()));
    assert!(subjects_in_erp(&env).contains(&"Customer call (moved)".to_owned()));
    let moved = env.world.graph.event(&alice, &call).unwrap();
    assert_eq!(
        moved["location"]["displayName"], "Room 1",
        "Outlook's own field kept"
    );

    env.advance(Duration::from_secs(16 * 60));
    let quiet = env.run(&alice).await.unwrap();
    assert_eq!(
        quiet.to_outlook.total() + quiet.to_erp.total(),
        0,
        "{quiet:?}"
    );
}

#[tokio::test]
async fn an_older_copy_of_the_store_converges_with_no_duplicate_and_no_lost_edit() {
    let (env, alice) = synced_calendar().await;
    let backup = env.store.inner.backup();

    // Two more runs with new items and edits on both sides, then more edits.
    seed_activity(&env, "Board meeting", 11);
    env.world
        .graph
        .seed_event(&alice, outlook_event("Supplier visit", 12, 11));
    env.advance(Duration::from_secs(16 * 60));
    env.run(&alice).await.unwrap();
    rename_activity(&env, "Budget review", "Budget review v2");
    rename_event(&env, &alice, "Customer call", "Customer call v2");
    env.advance(Duration::from_secs(16 * 60));
    env.run(&alice).await.unwrap();
    let board = env
        .activities()
        .into_iter()
        .find(|a| a["Subject"] == "Board meeting")
        .unwrap();
    env.world
        .erp
        .edit_activity(board["Id"].as_str().unwrap(), |a| {
            a.insert("Notes".into(), json!("Agenda sent"));
        });
    rename_event(&env, &alice, "Supplier visit", "Supplier visit (moved)");
    let totals_before = totals(&env, &alice);

    env.store.inner.restore(&backup);
    env.advance(Duration::from_secs(16 * 60));
    let report = env.run(&alice).await.expect("the run on the older copy");
    assert_eq!(
        (report.to_outlook.created, report.to_erp.created),
        (0, 0),
        "{report:?}"
    );
    env.advance(Duration::from_secs(16 * 60));
    env.run(&alice).await.unwrap();
    assert_eq!(totals(&env, &alice), totals_before, "nothing was created");
    let expected = [
        "Board meeting",
        "Budget review v2",
        "Customer call v2",
        "Signed contract",
        "Supplier visit (moved)",
        "Weekly sync",
        "Weekly sync",
        "Weekly sync",
    ];
    assert_eq!(subjects_in_erp(&env), expected);
    assert_eq!(subjects_in_outlook(&env, &alice), expected);
    let board_event = outlook_view(&env, &alice)
        .into_iter()
        .find(|e| e["subject"] == "Board meeting")
        .unwrap();
    assert!(
        board_event["body"]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Agenda sent"),
        "the ERP.net edit made after the copy arrived: {board_event}"
    );
    env.advance(Duration::from_secs(16 * 60));
    let quiet = env.run(&alice).await.unwrap();
    assert_eq!(
        quiet.to_outlook.total() + quiet.to_erp.total(),
        0,
        "{quiet:?}"
    );
}

/// An activity another integration links (its own ExternalId and ExternalSystem) keeps that
/// link: MsSync records its own on the event only, and still finds the pair after a lost store.
#[tokio::test]
async fn another_systems_link_is_kept_and_the_pair_still_survives_a_lost_store() {
    let (env, alice) = alice_env().await;
    let mut seed = ActivitySeed::new(
        "Linked by a CRM",
        Utc.with_ymd_and_hms(2026, 6, 9, 7, 0, 0).unwrap(),
    );
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    seed.external_id = Some("CRM-42".into());
    seed.external_system = Some("SomeCRM".into());
    let id = env.world.erp.seed_activity(seed);
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.unwrap();
    let activity = env.world.erp.activity(&id).unwrap();
    assert_eq!(activity["ExternalId"], "CRM-42");
    assert_eq!(activity["ExternalSystem"], "SomeCRM");
    assert_eq!(subjects_in_outlook(&env, &alice), ["Linked by a CRM"]);
    let totals_before = totals(&env, &alice);

    env.lose_the_store(&alice).await;
    env.advance(Duration::from_secs(16 * 60));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        (report.to_outlook.created, report.to_erp.created),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(totals(&env, &alice), totals_before);
}
