//! The whole product over real HTTP to the three simulators: an admin connects the tenant and
//! grants the domain, a user signs in, sets up and turns Calendar on, and activities and events
//! travel both ways; then the denials and the Forbidden cases.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::env;
use mssync_core::ErrorCode;
use mssync_core::app::Actor;
use mssync_core::host::Store;
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::DOMAIN;
use serde_json::json;

fn outlook_event(subject: &str, day: u32, hour: u32) -> serde_json::Value {
    json!({
        "subject": subject,
        "start": {"dateTime": format!("2026-06-{day:02}T{hour:02}:00:00.0000000"), "timeZone": "FLE Standard Time"},
        "end": {"dateTime": format!("2026-06-{day:02}T{:02}:00:00.0000000", hour + 1), "timeZone": "FLE Standard Time"},
        "body": {"contentType": "html", "content": "<p>Agenda: <b>budget</b></p>"},
        "importance": "high",
        "isReminderOn": true,
        "reminderMinutesBeforeStart": 15,
        "location": {"displayName": "Teams"},
    })
}

#[tokio::test]
async fn a_user_syncs_both_ways_and_a_quiet_run_costs_one_request_a_side() {
    let env = env().await;
    env.connect_tenant().await;
    let session = env.sign_in(&env.world.alice().email).await.unwrap();
    assert_eq!(session.email, "alice@contoso.example");
    assert!(!session.is_admin);
    let alice = session.user_id.clone();
    env.set_up(&alice).await;

    let mut seed = ActivitySeed::new(
        "Budget review",
        Utc.with_ymd_and_hms(2026, 6, 3, 7, 0, 0).unwrap(),
    );
    seed.assigned_to = Some(env.world.alice().erp_user_id.clone());
    seed.notes = Some("Bring numbers".into());
    env.world.erp.seed_activity(seed);
    let event_id = env
        .world
        .graph
        .seed_event(&alice, outlook_event("Customer call", 4, 10));
    env.advance(Duration::from_secs(60));

    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        (report.to_outlook.created, report.to_erp.created),
        (1, 1),
        "{report:?}"
    );
    let events = env.world.graph.events(&alice);
    assert_eq!(events.len(), 2);
    assert!(events.iter().any(|e| e["subject"] == "Budget review"));
    let activities = env.activities();
    assert_eq!(activities.len(), 2);
    let call = activities
        .iter()
        .find(|a| a["Subject"] == "Customer call")
        .unwrap();
    assert_eq!(call["Notes"], "Agenda: budget", "HTML reduced to text");
    assert_eq!(
        call["StartTime"].as_str().unwrap().get(..16),
        Some("2026-06-04T07:00"),
        "10:00 in Sofia is 07:00 UTC"
    );
    assert_eq!(call["Priority"], "High");

    // Edits on both sides, then a second run.
    env.advance(Duration::from_secs(600));
    env.world.graph.user_update(
        &alice,
        &event_id,
        json!({"subject": "Customer call (moved)"}),
    );
    let budget = activities
        .iter()
        .find(|a| a["Subject"] == "Budget review")
        .unwrap();
    env.world
        .erp
        .edit_activity(budget["Id"].as_str().unwrap(), |a| {
            a.insert("Subject".into(), json!("Budget review v2"));
        });
    env.advance(Duration::from_secs(60));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        (report.to_outlook.updated, report.to_erp.updated),
        (1, 1),
        "{report:?}"
    );
    assert!(
        env.world
            .graph
            .events(&alice)
            .iter()
            .any(|e| e["subject"] == "Budget review v2")
    );
    assert!(
        env.activities()
            .iter()
            .any(|a| a["Subject"] == "Customer call (moved)")
    );
    // The Teams location Outlook had (no ERP.net twin) is untouched.
    let call_event = env.world.graph.event(&alice, &event_id).unwrap();
    assert_eq!(call_event["location"]["displayName"], "Teams");

    // Our own writes echo back; a quiet run reads each side once and writes nothing.
    env.advance(Duration::from_secs(15 * 60));
    env.run(&alice).await.unwrap();
    env.world.graph.clear_requests();
    env.world.erp.clear_requests();
    env.advance(Duration::from_secs(15 * 60));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(
        report.to_outlook.total() + report.to_erp.total(),
        0,
        "{report:?}"
    );
    assert_eq!(env.world.graph.requests().len(), 1, "one Graph request");
    assert_eq!(
        env.world.erp.requests().len(),
        2,
        "ERP.net: assigned and created-by queries (no `or`)"
    );

    let home = env.app.home(&alice).await.unwrap();
    assert_eq!(home.state, "Operational");
    assert!(home.jobs[0].remote_checkpoint.is_some());
    assert!(
        home.log
            .iter()
            .any(|l| l.contains("Pushed 1 event to Outlook")),
        "{:#?}",
        home.log
    );
    // Nothing secret reached the store in the clear.
    for (key, v) in env.store.scan("").await.unwrap() {
        let text = String::from_utf8_lossy(&v.value);
        assert!(!text.contains(&env.world.client_secret), "secret in {key}");
        assert!(!text.contains("eyJ"), "a token in {key}");
    }
}

#[tokio::test]
async fn outlook_deletion_voids_and_a_released_activity_is_a_marked_conflict() {
    let env = env().await;
    env.connect_tenant().await;
    let alice = env.sign_in(&env.world.alice().email).await.unwrap().user_id;
    env.set_up(&alice).await;
    let start = Utc.with_ymd_and_hms(2026, 6, 5, 9, 0, 0).unwrap();
    let mut a = ActivitySeed::new("Weekly sync", start);
    a.assigned_to = Some(env.world.alice().erp_user_id.clone());
    let weekly = env.world.erp.seed_activity(a);
    let mut r = ActivitySeed::new("Signed contract", start + chrono::Duration::days(1));
    r.assigned_to = Some(env.world.alice().erp_user_id.clone());
    let released = env.world.erp.seed_activity(r);
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.unwrap();

    env.world.erp.set_state(&released, "Released");
    env.advance(Duration::from_secs(60));
    env.run(&alice).await.unwrap();
    let events = env.world.graph.events(&alice);
    let weekly_event = events
        .iter()
        .find(|e| e["subject"] == "Weekly sync")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contract_event = events
        .iter()
        .find(|e| e["subject"] == "Signed contract")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.world.graph.user_delete(&alice, &weekly_event);
    env.world.graph.user_update(
        &alice,
        &contract_event,
        json!({"subject": "Contract (moved by me)"}),
    );
    env.advance(Duration::from_secs(60));
    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_erp.removed, 1);
    assert_eq!(report.conflicts, 1);
    let weekly_now = env
        .world
        .erp
        .list("General_Activities_Activities")
        .into_iter()
        .find(|x| x["Id"] == weekly)
        .unwrap();
    assert_eq!(
        weekly_now["Void"], true,
        "deleting in Outlook voids the activity"
    );
    let contract = env.world.graph.event(&alice, &contract_event).unwrap();
    assert!(
        contract["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("conflict")),
        "{contract}"
    );
    assert!(
        env.activities()
            .iter()
            .any(|x| x["Subject"] == "Signed contract"),
        "ERP.net unchanged"
    );
    let home = env.app.home(&alice).await.unwrap();
    assert!(
        home.log
            .iter()
            .any(|l| l.contains("WRN] Synchronization conflict")),
        "{:#?}",
        home.log
    );
}

#[tokio::test]
async fn every_denial_has_its_own_code_and_stores_nothing() {
    let env = env().await;
    // Before Service is set up, sign-in says so.
    assert_eq!(
        env.app
            .begin_sign_in(None, common::BROWSER_SESSION)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotConfigured
    );
    env.connect_tenant().await;

    // A local ERP.net session.
    assert_eq!(
        env.app.check_host_session("local").unwrap_err().code,
        ErrorCode::LocalCredentials
    );
    // A tenant other than the connected one (Bob's).
    let bob = env
        .sign_in(mssync_sim::entra::fixture::BOB)
        .await
        .unwrap_err();
    assert_eq!(bob.code, ErrorCode::WrongTenant, "{bob}");
    // A personal Microsoft account.
    let carol = env
        .sign_in(mssync_sim::entra::fixture::PERSONAL)
        .await
        .unwrap_err();
    assert!(
        matches!(
            carol.code,
            ErrorCode::PersonalAccount | ErrorCode::WrongTenant
        ),
        "{carol}"
    );
    // A domain the admin has not granted.
    env.app.revoke_domain(&Actor::Host, DOMAIN).await.unwrap();
    let denied = env.sign_in(&env.world.alice().email).await.unwrap_err();
    assert_eq!(denied.code, ErrorCode::DomainNotGranted);
    env.app.grant_domain(&Actor::Host, DOMAIN).await.unwrap();
    // No ERP.net user with that e-mail, then an inactive one.
    let user1 = env.world.users[1].clone();
    env.world
        .erp
        .set_user_email(&user1.erp_user_id, "someone.else@contoso.example");
    assert_eq!(
        env.sign_in(&user1.email).await.unwrap_err().code,
        ErrorCode::NoErpUser
    );
    env.world
        .erp
        .set_user_email(&user1.erp_user_id, &user1.email);
    env.world.erp.set_user_active(&user1.erp_user_id, false);
    assert_eq!(
        env.sign_in(&user1.email).await.unwrap_err().code,
        ErrorCode::InactiveErpUser
    );
    // None of them left a profile behind.
    assert!(env.store.scan("user/").await.unwrap().is_empty());

    // An ordinary user may not use Service; an ERP.net admin may.
    let alice = env.sign_in(&env.world.alice().email).await.unwrap().user_id;
    let actor = Actor::User(alice.clone());
    assert_eq!(
        env.app.service(&actor).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        env.app
            .grant_domain(&actor, "evil.example")
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        env.app.give_permissions(&actor).await.unwrap_err().code,
        ErrorCode::Forbidden
    );
    let admin = env.sign_in(&env.world.admin.email).await.unwrap();
    assert!(admin.is_admin);
    let view = env.app.service(&Actor::User(admin.user_id)).await.unwrap();
    assert_eq!(
        view.credential.as_deref(),
        Some("secret"),
        "the kind, never the value"
    );

    // Setup refuses choices ERP.net does not offer.
    let refused = env
        .app
        .set_company(&alice, &env.world.inactive_company, &env.world.location)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::CompanyNotAllowed);
    let refused = env
        .app
        .set_company(&alice, &env.world.company, &env.world.inactive_company)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::LocationNotAllowed);
    let options = env.app.setup_options(&alice).await.unwrap();
    assert_eq!(options.companies.len(), 1);
    assert_eq!(
        options.companies[0].locations.len(),
        2,
        "inactive locations are not offered"
    );
}

#[tokio::test]
async fn refused_graph_access_shows_as_an_error_with_its_fix() {
    let env = env().await;
    env.connect_tenant().await;
    let alice = env.sign_in(&env.world.alice().email).await.unwrap().user_id;
    env.set_up(&alice).await;
    env.world
        .graph
        .set_authorizer(Arc::new(|_: &str| Err("consent revoked".to_owned())));
    let error = env.run(&alice).await.unwrap_err();
    assert!(
        matches!(error.code, ErrorCode::Unauthorized | ErrorCode::Forbidden),
        "{error}"
    );
    let home = env.app.home(&alice).await.unwrap();
    assert_eq!(
        home.state,
        "Error: Unauthorized or insufficient permissions"
    );
    assert_eq!(
        home.fix.as_deref(),
        Some("Go to Service and click 'Connect to Microsoft Entra ID'.")
    );
    let notes = env.app.take_notifications(10).await.unwrap();
    assert_eq!(notes.len(), 1);
}

/// The JSON every binding shows for Service, sign-in and Setup, pinned.
#[tokio::test]
async fn views_are_pinned() {
    let env = env().await;
    env.connect_tenant().await;
    let host = Actor::Host;
    let service = env.app.service(&host).await.unwrap();
    let session = env.sign_in(&env.world.alice().email).await.unwrap();
    let options = env.app.setup_options(&session.user_id).await.unwrap();
    let permissions = env.app.give_permissions(&host).await.unwrap();
    let connect = env.app.connect(&host, &env.world.admin.oid).await.unwrap();
    let mut options_json = serde_json::to_value(&options).unwrap();
    // Every zone is listed; pin the count and the first, not 139 entries.
    let zones = options_json["time_zones"].as_array().unwrap().clone();
    options_json["time_zones"] = json!({"count": zones.len(), "first": zones[0]});
    insta::assert_json_snapshot!("service_view", service);
    insta::assert_json_snapshot!("session", session);
    insta::assert_json_snapshot!("setup_options", options_json);
    insta::assert_json_snapshot!("permissions_report", permissions);
    insta::assert_json_snapshot!("connect_report", connect);
}

#[tokio::test]
async fn an_unassigned_activity_reaches_the_outlook_of_the_user_who_created_it_only() {
    let env = env().await;
    env.connect_tenant().await;
    let session = env.sign_in(&env.world.alice().email).await.unwrap();
    let alice = session.user_id.clone();
    env.set_up(&alice).await;
    let bob = env.world.users[1].clone();

    // Entered in ERP.net by Alice and by Bob (user1), nobody assigned: CreationUser is the login.
    let at = Utc.with_ymd_and_hms(2026, 6, 3, 7, 0, 0).unwrap();
    let mut by_alice = ActivitySeed::new("Created by Alice", at);
    by_alice.creation_user = Some(env.world.alice().erp_login.clone());
    env.world.erp.seed_activity(by_alice);
    let mut by_bob = ActivitySeed::new("Created by Bob", at);
    by_bob.creation_user = Some(bob.erp_login.clone());
    env.world.erp.seed_activity(by_bob);
    // A login Alice's is a prefix of ("alice" / "alice2") is not Alice's.
    let mut by_alice2 = ActivitySeed::new("Created by alice2", at);
    by_alice2.creation_user = Some(format!("{}2", env.world.alice().erp_login));
    env.world.erp.seed_activity(by_alice2);
    env.advance(Duration::from_secs(60));

    let report = env.run(&alice).await.unwrap();
    assert_eq!(report.to_outlook.created, 1, "{report:?}");
    let subjects: Vec<String> = env
        .world
        .graph
        .events(&alice)
        .iter()
        .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(subjects, ["Created by Alice"]);
    // Asked for with the documented forms, never `eq` on CreationUser or `eq null`.
    let filters: Vec<String> = env
        .world
        .erp
        .requests()
        .iter()
        .filter_map(|r| r.filter().map(str::to_owned))
        .filter(|f| f.contains("CreationUser"))
        .collect();
    assert!(!filters.is_empty());
    for f in &filters {
        assert!(
            f.contains("equalnull(AssignedToUser,null) and startswith(CreationUser,'alice')"),
            "{f}"
        );
    }
}

#[tokio::test]
async fn an_erp_net_without_the_activities_entity_set_is_a_version_mismatch_on_home() {
    let env = env().await;
    env.connect_tenant().await;
    let session = env.sign_in(&env.world.alice().email).await.unwrap();
    let alice = session.user_id.clone();
    env.set_up(&alice).await;
    // An ERP.net older than 24.1.5.35 calls activities General_Contacts_Activities.
    env.world
        .erp
        .forget_entity_set("General_Activities_Activities");

    let error = env.run(&alice).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::ErpVersionMismatch, "{error}");
    assert_eq!(
        error.reason,
        "ERP.net does not know the entity set General_Activities_Activities (introduced in 24.1.5.35): upgrade ERP.net to a version MsSync supports"
    );
    let home = env.app.home(&alice).await.unwrap();
    assert!(
        home.state
            .contains("General_Activities_Activities (introduced in 24.1.5.35)"),
        "{}",
        home.state
    );
    assert!(
        home.fix
            .as_deref()
            .unwrap_or_default()
            .contains("versions that work together"),
        "{:?}",
        home.fix
    );
    assert!(
        env.world.graph.events(&alice).is_empty(),
        "nothing deleted or created"
    );
}
