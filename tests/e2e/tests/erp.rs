//! The ERP.net connector against the ERP.net simulator, over real HTTP on loopback.
//!
//! Every fixture checks, when it is dropped, that no request the connector made carried `or` in
//! a filter, so the whole suite is the evidence, not one scenario.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::erp::wire;
use mssync_core::erp::{
    ActivityDefaults, ActivityPatch, ActivityScope, ActivityState, ClientCredentials, ErpAuth,
    ErpClient, ErpConfig, ErpError, ExternalLink, Guid, TimeBasis, Watermark,
};
use mssync_core::host::{HttpClient, HttpRequest, ManualClock, Method};
use mssync_core::identity::StaticToken;
use mssync_core::jobs::calendar::map_erp;
use mssync_core::model::tz::Zone;
use mssync_core::model::{Attendee, Field, When};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::erp::{ACTIVITIES, ActivitySeed, DOCUMENT_TYPES, ErpSim, Fault, RecordedRequest};
use serde_json::{Value, json};

const CLIENT_ID: &str = "https://mssync.test/trusted-app";
const CLIENT_SECRET: &str = "s3cret-never-logged";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn guid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

/// No request may carry `or` in `$filter`: ERP.net refuses it.
fn assert_no_or(requests: &[RecordedRequest]) {
    for request in requests {
        for (name, value) in &request.query {
            let lower = value.to_lowercase();
            assert!(
                !(name == "$filter" && (lower.contains(" or ") || lower.starts_with("or "))),
                "a filter with `or`: {value}"
            );
        }
    }
}

struct Fx {
    sim: ErpSim,
    clock: Arc<ManualClock>,
    erp: ErpClient,
    user: String,
    defaults: ActivityDefaults,
}

impl Drop for Fx {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_no_or(&self.sim.requests());
        }
    }
}

impl Fx {
    async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    async fn with_config(edit: impl FnOnce(&mut ErpConfig)) -> Self {
        let sim = ErpSim::start(t0()).await;
        sim.register_client(CLIENT_ID, CLIENT_SECRET);
        let user = sim.add_user("j.doe@abc.test", false, true);
        let (enterprise, company) = sim.add_enterprise_company("ABC Ltd");
        let location = sim.add_location(&company, "Sofia HQ", true);
        let meeting = sim.add_document_type("Meeting", wire::ACTIVITY_ENTITY_NAME_FALLBACK);
        let clock = Arc::new(ManualClock::new(t0()));
        let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
        let tokens = ClientCredentials::new(
            http.clone(),
            clock.clone(),
            &sim.identity_base(),
            CLIENT_ID,
            CLIENT_SECRET,
        );
        let mut config = ErpConfig::new(sim.odata_root());
        edit(&mut config);
        let erp = ErpClient::new(
            http,
            clock.clone(),
            ErpAuth::Bearer(Arc::new(tokens)),
            config,
        )
        .unwrap();
        let defaults = ActivityDefaults {
            enterprise_company: guid(&enterprise),
            enterprise_company_location: guid(&location),
            document_type: guid(&meeting),
            assigned_to_user: Some(guid(&user)),
            from_party: None,
        };
        Self {
            sim,
            clock,
            erp,
            user,
            defaults,
        }
    }

    fn scope(&self) -> ActivityScope {
        ActivityScope {
            user: guid(&self.user),
            login: self.sim.login_of(&self.user),
            window: None,
        }
    }

    fn seed(&self, subject: &str) -> String {
        let mut seed = ActivitySeed::new(subject, t0() + chrono::Duration::days(1));
        seed.assigned_to = Some(self.user.clone());
        self.sim.seed_activity(seed)
    }

    fn api_requests(&self) -> Vec<RecordedRequest> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .collect()
    }

    fn count(&self, method: &str, path_contains: &str) -> usize {
        self.api_requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }
}

fn link(id: &str) -> ExternalLink {
    ExternalLink {
        external_id: id.into(),
        external_system: "MsSync/Graph".into(),
    }
}

fn sofia() -> Zone {
    Zone::parse("Europe/Sofia").unwrap()
}

// --- no `or` ----------------------------------------------------------------------------

#[tokio::test]
async fn an_or_filter_is_refused_like_erp_net_refuses_it() {
    let sim = ErpSim::start(t0()).await;
    sim.add_personal_token("enrt_test_pat");
    let http = ReqwestHttp::new();
    let url = format!(
        "{}{ACTIVITIES}?$filter={}",
        sim.odata_root(),
        "Subject%20eq%20'a'%20or%20Subject%20eq%20'b'"
    );
    let response = http
        .send(HttpRequest::new(Method::Get, url).header("Authorization", "Bearer enrt_test_pat"))
        .await
        .unwrap();
    assert_eq!(response.status, 500);
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["message"], "The 'or' operator is not supported.");
    for key in ["code", "type", "info"] {
        assert!(body.get(key).is_some(), "ERP.net error bodies carry {key}");
    }
    // The same filter with `and` is served.
    let url = format!(
        "{}{ACTIVITIES}?$filter={}",
        sim.odata_root(),
        "Subject%20eq%20'a'%20and%20Void%20eq%20false"
    );
    let response = http
        .send(HttpRequest::new(Method::Get, url).header("X-Api-Key", "enrt_test_pat"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test]
async fn the_owner_fallback_is_two_queries_not_an_or() {
    let fx = Fx::new().await;
    let other = fx.sim.add_user("other@abc.test", false, true);
    let mine = fx.seed("assigned to me");
    let login = fx.sim.login_of(&fx.user).unwrap();
    let mut created = ActivitySeed::new("created by me, nobody assigned", t0());
    created.creation_user = Some(login.clone());
    let created = fx.sim.seed_activity(created);
    let mut theirs = ActivitySeed::new("created by me, assigned to another", t0());
    theirs.creation_user = Some(login.clone());
    theirs.assigned_to = Some(other.clone());
    fx.sim.seed_activity(theirs);
    let mut by_other = ActivitySeed::new("created by another, nobody assigned", t0());
    by_other.creation_user = fx.sim.login_of(&other);
    fx.sim.seed_activity(by_other);
    let mut longer = ActivitySeed::new("created by a login mine is a prefix of", t0());
    longer.creation_user = Some(format!("{login}x"));
    fx.sim.seed_activity(longer);
    let mut later = ActivitySeed::new("outside the window", t0() + chrono::Duration::days(400));
    later.assigned_to = Some(fx.user.clone());
    fx.sim.seed_activity(later);

    let mut scope = fx.scope();
    scope.window = Some((
        t0() - chrono::Duration::days(14),
        t0() + chrono::Duration::days(365),
    ));
    let pulled = fx.erp.pull_activities(&scope).await.unwrap();
    let mut ids: Vec<String> = pulled.iter().map(|a| a.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![mine, created];
    expected.sort();
    assert_eq!(ids, expected);
    let filters: Vec<String> = fx
        .api_requests()
        .iter()
        .filter_map(|r| r.filter().map(str::to_owned))
        .collect();
    assert_eq!(filters.len(), 2, "{filters:?}");
}

// --- paging and incremental pulls -------------------------------------------------------

#[tokio::test]
async fn two_thousand_five_hundred_changes_are_read_in_three_pages() {
    let fx = Fx::new().await;
    for i in 0..2500 {
        fx.seed(&format!("activity {i}"));
    }
    let batch = fx
        .erp
        .pull_changes(&fx.scope(), &Watermark::default())
        .await
        .unwrap();
    assert_eq!(batch.changes.len(), 2500);
    let mut ids: Vec<_> = batch.changes.iter().map(|a| a.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 2500, "no activity twice");
    assert_eq!(batch.next.at, Some(t0()));

    let assigned_pages: Vec<RecordedRequest> = fx
        .api_requests()
        .into_iter()
        .filter(|r| {
            r.filter()
                .is_some_and(|f| f.contains("AssignedToUser eq 'Systems"))
        })
        .collect();
    assert_eq!(assigned_pages.len(), 3, "1000 + 1000 + 500");
    let skips: Vec<Option<String>> = assigned_pages
        .iter()
        .map(|r| {
            r.query
                .iter()
                .find(|(k, _)| k == "$skip")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(skips, [None, Some("1000".into()), Some("2000".into())]);
    for page in &assigned_pages {
        assert!(page.query.contains(&("$top".into(), "1000".into())));
    }
}

#[tokio::test]
async fn the_overlap_redelivers_without_processing_twice() {
    let fx = Fx::new().await;
    let a = fx.seed("A");
    fx.sim.advance(minutes(1));
    fx.seed("B");
    let first = fx
        .erp
        .pull_changes(&fx.scope(), &Watermark::default())
        .await
        .unwrap();
    assert_eq!(first.changes.len(), 2);
    assert_eq!(first.next.at, Some(t0() + chrono::Duration::minutes(1)));
    // The caller commits its writes, then stores the watermark.
    let watermark = first.next;

    // A transaction that committed late carries a stamp inside the overlap, before the watermark.
    fx.sim.set_now(t0() + chrono::Duration::seconds(30));
    let late = fx.seed("late");
    fx.sim.set_now(t0() + chrono::Duration::minutes(3));
    fx.sim.edit_activity(&a, |o| {
        o.insert("Subject".into(), json!("A, edited"));
    });

    let second = fx.erp.pull_changes(&fx.scope(), &watermark).await.unwrap();
    let mut changed: Vec<String> = second.changes.iter().map(|x| x.id.to_string()).collect();
    changed.sort();
    let mut expected = vec![a.clone(), late];
    expected.sort();
    assert_eq!(
        changed, expected,
        "B is re-delivered but not processed again"
    );
    assert_eq!(second.redelivered, 1);
    assert_eq!(second.next.at, Some(t0() + chrono::Duration::minutes(3)));
    let filter = fx
        .api_requests()
        .last()
        .unwrap()
        .filter()
        .unwrap()
        .to_owned();
    assert!(
        filter.starts_with("AggregateLastUpdateTimeUtc ge 2026-03-02T07:56:00Z"),
        "{filter}"
    );

    // A run that failed does not store `second.next`: the same pull gives the same changes.
    let again = fx.erp.pull_changes(&fx.scope(), &watermark).await.unwrap();
    assert_eq!(again.changes, second.changes);

    // After it is stored, nothing is new.
    let third = fx
        .erp
        .pull_changes(&fx.scope(), &second.next)
        .await
        .unwrap();
    assert!(third.changes.is_empty());
    assert_eq!(
        third.redelivered, 3,
        "A, B and late are all inside the overlap"
    );
}

// --- writes -----------------------------------------------------------------------------

fn outlook_item() -> mssync_core::model::CalendarItem {
    mssync_core::model::CalendarItem {
        subject: "Budget review".into(),
        when: When::Timed {
            start: t0() + chrono::Duration::days(2),
            end: t0() + chrono::Duration::days(2) + chrono::Duration::minutes(45),
            zone: Some("Europe/Sofia".into()),
        },
        body: "Bring numbers".into(),
        sensitivity: mssync_core::model::Sensitivity::Normal,
        importance: mssync_core::model::Importance::High,
        reminder_minutes_before_start: Some(15),
        attendees: vec![Attendee {
            email: "Ann@abc.test".into(),
            name: Some("Ann".into()),
        }],
        series: None,
    }
}

#[tokio::test]
async fn a_retried_create_returns_the_same_activity() {
    let fx = Fx::new().await;
    let new = map_erp::item_to_new_activity(
        &outlook_item(),
        &sofia(),
        link("AAMk-1"),
        fx.defaults.clone(),
    );

    // The first attempt is written but its answer is lost: the run fails.
    fx.sim.push_fault(Fault::LostAnswer { status: 500 });
    let lost = fx.erp.create_activity(&new).await.unwrap_err();
    assert!(
        matches!(lost, ErpError::Remote { status: 500, .. }),
        "{lost:?}"
    );

    // The next run creates again: find-or-create returns the first.
    let created = fx.erp.create_activity(&new).await.unwrap();
    let again = fx.erp.create_activity(&new).await.unwrap();
    assert_eq!(created.id, again.id);
    let linked: Vec<Value> = fx
        .sim
        .activities()
        .into_iter()
        .filter(|a| a["ExternalId"] == "AAMk-1")
        .collect();
    assert_eq!(linked.len(), 1, "no duplicate");
    let stored = &linked[0];
    assert_eq!(stored["Subject"], "Budget review");
    assert_eq!(stored["Priority"], "High");
    assert_eq!(stored["SystemType"], "Meeting");
    assert_eq!(
        stored["DocumentType"]["@odata.id"],
        format!(
            "Systems_Documents_DocumentTypes({})",
            fx.defaults.document_type
        )
    );
    assert_eq!(
        stored["AssignedToUser"]["@odata.id"],
        format!("Systems_Security_Users({})", fx.user)
    );
    assert_eq!(stored["ReminderTime"], "2026-03-04T07:45:00Z");
    assert_eq!(stored["Participants"][0]["Email"], "ann@abc.test");
    assert_eq!(created.participants.len(), 1);

    // A throttled create waits as told and then succeeds, still without duplicates.
    fx.sim.push_fault(Fault::Status {
        status: 429,
        retry_after: Some(2),
    });
    let third = fx.erp.create_activity(&new).await.unwrap();
    assert_eq!(third.id, created.id);
    assert_eq!(fx.clock.sleeps(), [Duration::from_secs(2)]);
    assert_eq!(fx.sim.activities().len(), 1);
}

#[tokio::test]
async fn a_patch_carries_only_changed_fields_and_keeps_the_rest() {
    let fx = Fx::new().await;
    let new = map_erp::item_to_new_activity(
        &outlook_item(),
        &sofia(),
        link("AAMk-2"),
        fx.defaults.clone(),
    );
    let current = fx.erp.create_activity(&new).await.unwrap();
    fx.sim.clear_requests();

    let mut item = map_erp::activity_to_item(&current, &sofia());
    item.subject = "Budget review (moved)".into();
    item.attendees = vec![Attendee {
        email: "bob@abc.test".into(),
        name: None,
    }];
    let patch = map_erp::item_to_patch(
        &item,
        &sofia(),
        &[Field::Subject, Field::Attendees],
        &current,
    );
    let updated = fx.erp.update_activity(&current, &patch).await.unwrap();

    assert_eq!(updated.subject, "Budget review (moved)");
    assert_eq!(updated.object_version, current.object_version + 1);
    let emails: Vec<&str> = updated
        .participants
        .iter()
        .map(|p| p.email.as_str())
        .collect();
    assert_eq!(emails, ["bob@abc.test"]);
    let patch_request = fx
        .api_requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch_request.body,
        Some(json!({"Subject": "Budget review (moved)", "ObjectVersion": current.object_version}))
    );
    let stored = fx.sim.activity(current.id.as_str()).unwrap();
    assert_eq!(stored["Notes"], "Bring numbers", "untouched");
    assert_eq!(
        stored["EnterpriseCompanyLocation"]["@odata.id"],
        format!(
            "General_Contacts_CompanyLocations({})",
            fx.defaults.enterprise_company_location
        )
    );
    assert_eq!(fx.count("POST", "ActivityParticipants"), 1);
    assert_eq!(fx.count("DELETE", "ActivityParticipants"), 1);

    // An empty patch writes nothing.
    fx.sim.clear_requests();
    fx.erp
        .update_activity(&updated, &ActivityPatch::default())
        .await
        .unwrap();
    assert_eq!(fx.count("PATCH", ""), 0);
}

#[tokio::test]
async fn a_stale_object_version_is_a_typed_conflict() {
    let fx = Fx::new().await;
    let id = fx.seed("Weekly");
    let read = fx.erp.get_activity(&guid(&id)).await.unwrap();
    // Meanwhile a user edits it in ERP.net.
    fx.sim.edit_activity(&id, |o| {
        o.insert("Notes".into(), json!("changed in ERP.net"));
    });
    let patch = ActivityPatch {
        subject: Some("Weekly (from Outlook)".into()),
        ..Default::default()
    };
    let error = fx.erp.update_activity(&read, &patch).await.unwrap_err();
    assert_eq!(error, ErpError::StaleVersion);
    assert_eq!(PublicError::from(error).code, ErrorCode::StaleVersion);
    assert_eq!(
        fx.sim.activity(&id).unwrap()["Subject"],
        "Weekly",
        "nothing written"
    );
    assert_eq!(fx.count("PATCH", ""), 1, "not retried");
}

#[tokio::test]
async fn an_update_to_a_released_activity_is_a_typed_conflict() {
    let fx = Fx::new().await;
    let id = fx.seed("Signed off");
    let patch = ActivityPatch {
        subject: Some("edited in Outlook".into()),
        ..Default::default()
    };

    // Released after we read it: ERP.net refuses, the connector tells why.
    let read = fx.erp.get_activity(&guid(&id)).await.unwrap();
    fx.sim.set_state(&id, "Released");
    let error = fx.erp.update_activity(&read, &patch).await.unwrap_err();
    assert_eq!(
        error,
        ErpError::ReadOnlyActivity {
            state: "Released".into()
        }
    );
    assert_eq!(PublicError::from(error).code, ErrorCode::ReadOnlyActivity);
    assert_eq!(fx.count("PATCH", ""), 1, "not retried");

    // Known to be Closed: refused without a request.
    fx.sim.set_state(&id, "Closed");
    let read = fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(read.state, ActivityState::Closed);
    let error = fx.erp.update_activity(&read, &patch).await.unwrap_err();
    assert_eq!(
        error,
        ErpError::ReadOnlyActivity {
            state: "Closed".into()
        }
    );
    assert_eq!(fx.count("PATCH", ""), 1);
    assert_eq!(fx.sim.activity(&id).unwrap()["Subject"], "Signed off");
}

#[tokio::test]
async fn void_and_change_state() {
    let fx = Fx::new().await;
    let id = fx.seed("Cancelled in Outlook");
    fx.erp
        .change_state(&guid(&id), ActivityState::FirmPlanned)
        .await
        .unwrap();
    fx.erp
        .void_activity(&guid(&id), "Deleted in Outlook")
        .await
        .unwrap();
    let stored = fx.sim.activity(&id).unwrap();
    assert_eq!(stored["State"], "FirmPlanned");
    assert_eq!(stored["Void"], true);
    assert_eq!(stored["VoidReason"], "Deleted in Outlook");
    assert_eq!(stored["ObjectVersion"], 3);
    let read = fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert!(read.void);
    let void = fx
        .api_requests()
        .into_iter()
        .find(|r| r.path.ends_with("/MakeVoid"))
        .unwrap();
    assert_eq!(
        void.body,
        Some(json!({"reason": "Deleted in Outlook", "voidType": "VoidDocument"}))
    );
}

// --- authentication ---------------------------------------------------------------------

#[tokio::test]
async fn a_401_reauthenticates_once() {
    let fx = Fx::new().await;
    let id = fx.seed("x");
    fx.erp.pull_activities(&fx.scope()).await.unwrap();
    assert_eq!(fx.sim.tokens_issued(), 1);

    // The token is revoked server-side: one 401, one new token, the request succeeds.
    fx.sim.revoke_tokens();
    fx.sim.clear_requests();
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(fx.sim.tokens_issued(), 2);
    assert_eq!(fx.count("GET", ACTIVITIES), 2);

    // Refused again with the fresh token: a typed error, no loop.
    fx.sim.reject_all_tokens(true);
    fx.sim.clear_requests();
    let error = fx.erp.get_activity(&guid(&id)).await.unwrap_err();
    assert_eq!(error, ErpError::Unauthorized);
    assert_eq!(fx.sim.tokens_issued(), 3, "re-authenticated once");
    assert_eq!(fx.count("GET", ACTIVITIES), 2, "two attempts in all");
    assert_eq!(PublicError::from(error).code, ErrorCode::Unauthorized);
}

#[tokio::test]
async fn the_token_is_cached_until_shortly_before_it_expires() {
    let fx = Fx::new().await;
    let id = fx.seed("x");
    let advance = |by: Duration| {
        fx.clock.advance(by);
        fx.sim.advance(by);
    };
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(fx.sim.tokens_issued(), 1);
    advance(minutes(30));
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    advance(minutes(24) + Duration::from_secs(59)); // 54:59 in: more than 5 minutes left
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(fx.sim.tokens_issued(), 1, "cached");
    advance(Duration::from_secs(2)); // 55:01 in: less than 5 minutes left
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(fx.sim.tokens_issued(), 2, "refreshed shortly before expiry");
    let token_requests: Vec<RecordedRequest> = fx
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/id/connect/token")
        .collect();
    assert_eq!(token_requests.len(), 2);
    let body = token_requests[0].body.as_ref().unwrap();
    assert_eq!(body["scope"], "read update");
    assert_eq!(body["client_secret"], "[redacted]");
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_typed_error_without_the_secret() {
    let sim = ErpSim::start(t0()).await;
    sim.register_client(CLIENT_ID, "right");
    let clock = Arc::new(ManualClock::new(t0()));
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    let tokens = ClientCredentials::new(
        http.clone(),
        clock.clone(),
        &sim.identity_base(),
        CLIENT_ID,
        "wrong-secret",
    );
    let erp = ErpClient::new(
        http,
        clock,
        ErpAuth::Bearer(Arc::new(tokens)),
        ErpConfig::new(sim.odata_root()),
    )
    .unwrap();
    let error = erp.user_by_email("j.doe@abc.test").await.unwrap_err();
    // The identity server's refusal reaches the connector as it is (not a bare 401).
    assert_eq!(
        error,
        ErpError::InvalidClient {
            error: "invalid_client".into()
        }
    );
    let api_calls = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count();
    assert_eq!(api_calls, 0);
    let public = PublicError::from(error);
    assert_eq!(public.code, ErrorCode::Unauthorized);
    assert!(!public.reason.contains("wrong-secret"));
}

#[tokio::test]
async fn personal_access_token_and_inside_the_host() {
    let sim = ErpSim::start(t0()).await;
    sim.add_personal_token("enrt_pat_123");
    sim.add_user("j.doe@abc.test", true, true);
    let clock = Arc::new(ManualClock::new(t0()));
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    let pat = ErpClient::new(
        http.clone(),
        clock.clone(),
        ErpAuth::Bearer(Arc::new(StaticToken("enrt_pat_123".into()))),
        ErpConfig::new(sim.odata_root()),
    )
    .unwrap();
    let user = pat.user_by_email("J.Doe@abc.test").await.unwrap().unwrap();
    assert!(user.is_admin && user.active);

    let host =
        ErpClient::new(http, clock, ErpAuth::Host, ErpConfig::new(sim.odata_root())).unwrap();
    assert_eq!(
        host.user_by_email("j.doe@abc.test").await.unwrap_err(),
        ErpError::Unauthorized
    );
    sim.require_auth(false);
    assert!(
        host.user_by_email("j.doe@abc.test")
            .await
            .unwrap()
            .is_some()
    );
    let last = sim.requests().pop().unwrap();
    assert!(last.headers.iter().all(|(n, _)| n != "authorization"));
    assert_no_or(&sim.requests());
}

// --- reference data, errors, time basis -------------------------------------------------

#[tokio::test]
async fn reference_data_for_setup_and_give_permissions() {
    let fx = Fx::new().await;
    let companies = fx.erp.enterprise_companies().await.unwrap();
    assert_eq!(companies.len(), 1);
    assert_eq!(companies[0].name, "ABC Ltd");
    let company = companies[0].company.clone().unwrap();
    let (_, other_company) = fx.sim.add_enterprise_company("Other Ltd");
    fx.sim.add_location(&other_company, "Elsewhere", true);
    fx.sim
        .add_location(company.as_str(), "Closed office", false);
    let locations = fx.erp.company_locations(&company).await.unwrap();
    let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Sofia HQ"]);
    assert_eq!(fx.erp.user_by_email("nobody@abc.test").await.unwrap(), None);
    let user = fx
        .erp
        .user_by_email("j.doe@abc.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id.as_str(), fx.user);
    let meeting = fx.erp.meeting_document_type().await.unwrap().unwrap();
    assert_eq!(meeting.id, fx.defaults.document_type);
    assert!(matches!(
        fx.erp.ensure_meeting_document_type().await.unwrap(),
        mssync_core::erp::Ensured::Existed(_)
    ));
}

#[tokio::test]
async fn give_permissions_creates_the_meeting_document_type_where_allowed() {
    let sim = ErpSim::start(t0()).await;
    sim.add_personal_token("enrt_admin");
    let clock = Arc::new(ManualClock::new(t0()));
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    let erp = ErpClient::new(
        http,
        clock,
        ErpAuth::Bearer(Arc::new(StaticToken("enrt_admin".into()))),
        ErpConfig::new(sim.odata_root()),
    )
    .unwrap();
    sim.allow_document_type_create(false);
    assert_eq!(
        erp.ensure_meeting_document_type().await.unwrap_err(),
        ErpError::Forbidden
    );
    sim.allow_document_type_create(true);
    let created = erp.ensure_meeting_document_type().await.unwrap();
    assert!(matches!(created, mssync_core::erp::Ensured::Created(_)));
    // No activity to read EntityName from: the base table.
    assert_eq!(created.document_type().entity_name, "Cm_Activities");
    let create = sim
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with(DOCUMENT_TYPES))
        .unwrap();
    assert_eq!(
        create.body,
        Some(
            json!({"Code": "Meeting", "EntityName": "Cm_Activities", "TypeName": {"EN": "Meeting"}})
        )
    );
    assert!(matches!(
        erp.ensure_meeting_document_type().await.unwrap(),
        mssync_core::erp::Ensured::Existed(_)
    ));
    assert_no_or(&sim.requests());
}

#[tokio::test]
async fn erp_net_500_bodies_become_typed_errors_without_their_message() {
    let fx = Fx::new().await;
    fx.sim.push_fault(Fault::Status {
        status: 500,
        retry_after: None,
    });
    let error = fx.erp.pull_activities(&fx.scope()).await.unwrap_err();
    assert_eq!(
        error,
        ErpError::Remote {
            status: 500,
            code: Some("0".into()),
            kind: Some("SimulatedFault".into())
        }
    );
    let public = PublicError::from(error);
    assert_eq!(public.code, ErrorCode::ErpError);
    assert!(!public.reason.contains("Injected"), "{}", public.reason);

    // Throttling beyond what a run sleeps through ends it as throttled.
    fx.sim.push_fault(Fault::Status {
        status: 429,
        retry_after: Some(3600),
    });
    let error = fx.erp.pull_activities(&fx.scope()).await.unwrap_err();
    assert!(matches!(error, ErpError::Throttled { status: 429, .. }));
    assert_eq!(PublicError::from(error).code, ErrorCode::Throttled);
}

#[tokio::test]
async fn a_zone_time_basis_reads_and_writes_wall_clock_times() {
    let fx = Fx::with_config(|c| c.time_basis = TimeBasis::Zone(sofia())).await;
    let new = map_erp::item_to_new_activity(
        &outlook_item(),
        &sofia(),
        link("AAMk-3"),
        fx.defaults.clone(),
    );
    let created = fx.erp.create_activity(&new).await.unwrap();
    let stored = fx.sim.activity(created.id.as_str()).unwrap();
    // 08:00Z is 10:00 in Sofia (EET, +2) on 2026-03-04.
    assert_eq!(stored["StartTime"], "2026-03-04T10:00:00Z");
    assert_eq!(created.start_time, t0() + chrono::Duration::days(2));
    let item = map_erp::activity_to_item(&created, &sofia());
    assert!(item.changed_fields(&outlook_item().normalized()).is_empty());
}

// --- request shapes ---------------------------------------------------------------------

#[tokio::test]
async fn request_shapes_are_pinned() {
    let fx = Fx::with_config(|c| {
        c.context.enterprise_company = Some(guid("00000000-0000-4000-8000-0000000000aa"));
    })
    .await;
    let id = fx.seed("Seeded");
    let batch = fx
        .erp
        .pull_changes(&fx.scope(), &Watermark::default())
        .await
        .unwrap();
    let new = map_erp::item_to_new_activity(
        &outlook_item(),
        &sofia(),
        link("AAMk-4"),
        fx.defaults.clone(),
    );
    let created = fx.erp.create_activity(&new).await.unwrap();
    let patch = ActivityPatch {
        notes: Some("Bring the numbers".into()),
        ..Default::default()
    };
    fx.erp.update_activity(&created, &patch).await.unwrap();
    fx.erp
        .change_state(&guid(&id), ActivityState::Released)
        .await
        .unwrap();
    fx.erp
        .void_activity(&created.id, "Deleted in Outlook")
        .await
        .unwrap();
    fx.erp.user_by_email("j.doe@abc.test").await.unwrap();
    assert_eq!(batch.changes.len(), 1);
    insta::assert_json_snapshot!(fx.sim.requests());
}

#[tokio::test]
async fn a_slow_read_times_out_and_is_tried_again() {
    // The answer is held back far longer than the timeout: no race between the two.
    let fx = Fx::with_config(|c| c.request_timeout = Duration::from_millis(300)).await;
    let id = fx.seed("x");
    fx.erp.get_activity(&guid(&id)).await.unwrap();
    fx.sim.push_fault(Fault::Slow(Duration::from_secs(5)));
    let read = fx.erp.get_activity(&guid(&id)).await.unwrap();
    assert_eq!(read.subject, "x");
    assert_eq!(
        fx.count("GET", ACTIVITIES),
        3,
        "one timed out, then one answered"
    );
    assert_eq!(fx.clock.sleeps().len(), 1, "backed off once");
}

// --- the simulator refuses what the public pages do not name --------------------------------

const PAT: &str = "enrt_strict_pat";

/// One request straight to the simulator, past the connector: (status, body).
async fn raw(sim: &ErpSim, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    sim.add_personal_token(PAT);
    let mut request = HttpRequest::new(method, format!("{}{path}", sim.odata_root()))
        .header("Authorization", format!("Bearer {PAT}"));
    if let Some(body) = &body {
        request = request.json_body(body);
    }
    let response = ReqwestHttp::new().send(request).await.unwrap();
    let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, body)
}

/// `message` of an ERP.net error body (D error-handling.md: message, code, type, info).
fn message(body: &Value) -> &str {
    for key in ["code", "type", "info"] {
        assert!(
            body.get(key).is_some(),
            "ERP.net error bodies carry {key}: {body}"
        );
    }
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_unknown_entity_set_is_a_404_for_the_segment() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(&sim, Method::Get, "General_Nonsense?$top=1", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        message(&body),
        "Resource not found for the segment 'General_Nonsense'."
    );
    // So is an unknown bound action.
    let id = sim.seed_activity(ActivitySeed::new("x", t0()));
    let (status, body) = raw(
        &sim,
        Method::Post,
        &format!("{ACTIVITIES}({id})/Explode"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
    assert!(message(&body).contains("'Explode'"));
}

#[tokio::test]
async fn the_old_document_types_set_is_refused_with_its_new_name() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(&sim, Method::Get, "General_DocumentTypes", None).await;
    assert_eq!(status, 404);
    let text = message(&body);
    assert!(
        text.contains("'General_DocumentTypes' is no more supported"),
        "{text}"
    );
    assert!(text.contains("'Systems_Documents_DocumentTypes'"), "{text}");
    let (status, _) = raw(&sim, Method::Get, "Systems_Documents_DocumentTypes", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_erp_net_older_than_the_document_types_set_is_a_version_mismatch() {
    let fx = Fx::new().await;
    fx.sim.forget_entity_set(DOCUMENT_TYPES);
    let error = fx.erp.ensure_meeting_document_type().await.unwrap_err();
    assert_eq!(
        error,
        ErpError::VersionMismatch {
            name: Some(DOCUMENT_TYPES.into()),
            renamed: false
        }
    );
    let public = PublicError::from(error);
    assert_eq!(public.code, ErrorCode::ErpVersionMismatch);
    assert_eq!(public.code.number(), 406);
    assert_eq!(
        public.reason,
        "ERP.net does not know the entity set Systems_Documents_DocumentTypes (introduced in 24.1.5.35): upgrade ERP.net to a version MsSync supports"
    );
    // Not "the object no longer exists".
    assert_ne!(public.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_document_type_create_with_name_instead_of_type_name_is_refused() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Post,
        DOCUMENT_TYPES,
        Some(json!({"Code": "Meeting", "EntityName": "Cm_Activities", "Name": {"EN": "Meeting"}})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("property named 'Name'"), "{body}");
    assert!(sim.list(DOCUMENT_TYPES).is_empty(), "nothing created");
    // With TypeName it is created.
    let (status, _) = raw(
        &sim,
        Method::Post,
        DOCUMENT_TYPES,
        Some(json!({"Code": "Meeting", "EntityName": "Cm_Activities", "TypeName": {"EN": "Meeting"}})),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn an_unknown_property_in_select_is_refused() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$select=Id,Location"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("'Location'"));
}

#[tokio::test]
async fn an_unknown_property_in_expand_is_refused() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$expand=Attendees"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("'Attendees'"));
    // And inside an expanded collection's $select.
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$expand=Participants($select=Id,Mail)"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("'Mail'"));
}

#[tokio::test]
async fn an_unknown_property_in_filter_is_refused() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$filter=Owner%20eq%20'x'"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("'Owner'"));
}

#[tokio::test]
async fn an_unknown_property_in_orderby_is_refused() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$orderby=Starts%20desc"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("'Starts'"));
    let (status, _) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$orderby=StartTime%20desc"),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn eq_on_creation_user_is_refused_as_it_filters_by_like_only() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$filter=CreationUser%20eq%20'j.doe'"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        message(&body).contains("does not support the 'eq' filter"),
        "{body}"
    );
    let (status, _) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$filter=startswith(CreationUser,'j.doe')"),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn eq_null_is_refused_and_equalnull_is_served() {
    let sim = ErpSim::start(t0()).await;
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$filter=AssignedToUser%20eq%20null"),
        None,
    )
    .await;
    assert_eq!(status, 500);
    assert!(message(&body).contains("equalnull"), "{body}");
    sim.seed_activity(ActivitySeed::new("nobody assigned", t0()));
    let (status, body) = raw(
        &sim,
        Method::Get,
        &format!("{ACTIVITIES}?$filter=equalnull(AssignedToUser,null)"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
}

fn activity_body(fx: &Fx, external_id: &str) -> Value {
    json!({
        "@erpnet.action": "findOrCreate",
        "ExternalId": external_id,
        "ExternalSystem": "MsSync/Graph",
        "Subject": "Raw",
        "StartTime": "2026-03-05T08:00:00Z",
        "DocumentType": {"@odata.id": format!("{DOCUMENT_TYPES}({})", fx.defaults.document_type)},
        "EnterpriseCompany": {"@odata.id": format!("General_EnterpriseCompanies({})", fx.defaults.enterprise_company)},
        "EnterpriseCompanyLocation": {"@odata.id": format!("General_Contacts_CompanyLocations({})", fx.defaults.enterprise_company_location)},
    })
}

#[tokio::test]
async fn find_by_as_a_string_is_refused() {
    let fx = Fx::new().await;
    let mut body = activity_body(&fx, "AAMk-raw-1");
    body["@erpnet.findBy"] = json!("ExternalId");
    let (status, reply) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body.clone())).await;
    assert_eq!(status, 400);
    assert!(message(&reply).contains("must be an object"), "{reply}");
    assert!(fx.sim.activities().is_empty());
    // The documented object is served, and finds what it created.
    body["@erpnet.findBy"] = json!({"ExternalId": "AAMk-raw-1", "ExternalSystem": "MsSync/Graph"});
    let (status, first) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body.clone())).await;
    assert_eq!(status, 201);
    let (status, again) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(first["Id"], again["Id"]);
    // An unknown criterion is refused too.
    let mut odd = activity_body(&fx, "AAMk-raw-2");
    odd["@erpnet.findBy"] = json!({"EventId": "x"});
    assert_eq!(
        raw(&fx.sim, Method::Post, ACTIVITIES, Some(odd)).await.0,
        400
    );
}

#[tokio::test]
async fn a_bind_to_a_set_that_does_not_exist_is_refused() {
    let fx = Fx::new().await;
    let mut body = activity_body(&fx, "AAMk-raw-3");
    body["DocumentType"] =
        json!({"@odata.id": format!("General_DocumentTypes({})", fx.defaults.document_type)});
    let (status, reply) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body)).await;
    assert_eq!(status, 404);
    assert!(
        message(&reply).contains("'General_DocumentTypes'"),
        "{reply}"
    );
    let mut body = activity_body(&fx, "AAMk-raw-4");
    body["AssignedToUser"] = json!({"@odata.id": format!("Users({})", fx.user)});
    let (status, reply) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body)).await;
    assert_eq!(status, 404);
    assert!(message(&reply).contains("'Users'"), "{reply}");
    assert!(fx.sim.activities().is_empty());
}

#[tokio::test]
async fn an_unknown_property_in_a_body_is_refused() {
    let fx = Fx::new().await;
    let mut body = activity_body(&fx, "AAMk-raw-5");
    body["Location"] = json!("Room 1");
    let (status, reply) = raw(&fx.sim, Method::Post, ACTIVITIES, Some(body)).await;
    assert_eq!(status, 400);
    assert!(message(&reply).contains("'Location'"));
    assert!(fx.sim.activities().is_empty());
}

#[tokio::test]
async fn creation_user_is_the_login_of_the_token() {
    let fx = Fx::new().await;
    fx.sim.set_client_login(CLIENT_ID, "svc-mssync");
    let new = map_erp::item_to_new_activity(
        &outlook_item(),
        &sofia(),
        link("AAMk-login"),
        fx.defaults.clone(),
    );
    let created = fx.erp.create_activity(&new).await.unwrap();
    assert_eq!(created.creation_user.as_deref(), Some("svc-mssync"));
    assert_eq!(
        fx.sim.activity(created.id.as_str()).unwrap()["CreationUser"],
        "svc-mssync"
    );
    // A personal access token's user.
    fx.sim.add_personal_token_for("enrt_jdoe", "j.doe");
    let mut body = activity_body(&fx, "AAMk-pat");
    body["@erpnet.findBy"] = json!({"ExternalId": "AAMk-pat"});
    let response = ReqwestHttp::new()
        .send(
            HttpRequest::new(Method::Post, format!("{}{ACTIVITIES}", fx.sim.odata_root()))
                .header("Authorization", "Bearer enrt_jdoe")
                .json_body(&body),
        )
        .await
        .unwrap();
    assert_eq!(response.status, 201);
    let stored: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(stored["CreationUser"], "j.doe");
}

// --- the connector's documented forms -------------------------------------------------------

#[tokio::test]
async fn the_window_is_asked_for_by_whole_days_and_cut_exactly() {
    let fx = Fx::new().await;
    let to = t0() + chrono::Duration::days(3); // 2026-03-05T08:00Z
    let mut last_day = ActivitySeed::new(
        "late on the last day, inside",
        to - chrono::Duration::hours(1),
    );
    last_day.assigned_to = Some(fx.user.clone());
    let inside = fx.sim.seed_activity(last_day);
    let mut after = ActivitySeed::new(
        "the same day, after the end",
        to + chrono::Duration::hours(2),
    );
    after.assigned_to = Some(fx.user.clone());
    fx.sim.seed_activity(after);
    let mut before = ActivitySeed::new("before the start", t0() - chrono::Duration::hours(2));
    before.assigned_to = Some(fx.user.clone());
    fx.sim.seed_activity(before);

    let mut scope = fx.scope();
    scope.window = Some((t0(), to));
    let pulled = fx.erp.pull_activities(&scope).await.unwrap();
    let ids: Vec<String> = pulled.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(ids, [inside]);
    let filter = fx.api_requests()[0].filter().unwrap().to_owned();
    assert!(
        filter
            .starts_with("StartTime ge 2026-03-02T00:00:00Z and StartTime le 2026-03-06T00:00:00Z"),
        "{filter}"
    );
}

#[tokio::test]
async fn set_external_link_patches_the_link_and_is_refused_on_a_released_activity() {
    let fx = Fx::new().await;
    let id = fx.seed("Planned in ERP.net");
    let event = link("AAMk-linked");
    fx.erp.set_external_link(&guid(&id), &event).await.unwrap();
    let patch = fx
        .api_requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch.body,
        Some(json!({"ExternalId": "AAMk-linked", "ExternalSystem": "MsSync/Graph"}))
    );
    let found = fx.erp.find_by_external_id(&event).await.unwrap().unwrap();
    assert_eq!(found.id.as_str(), id);
    assert_eq!(found.external_system.as_deref(), Some("MsSync/Graph"));

    let released = fx.seed("Signed off");
    fx.sim.set_state(&released, "Released");
    let error = fx
        .erp
        .set_external_link(&guid(&released), &link("AAMk-other"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ErpError::ReadOnlyActivity {
            state: "Released".into()
        }
    );
    assert_eq!(
        fx.sim.activity(&released).unwrap()["ExternalId"],
        Value::Null
    );
    // An activity that does not exist is NotFound (a 404 without a segment message).
    let missing = guid("00000000-0000-4000-8000-0000000000ff");
    assert_eq!(
        fx.erp
            .set_external_link(&missing, &event)
            .await
            .unwrap_err(),
        ErpError::NotFound
    );
}

#[tokio::test]
async fn give_permissions_reads_the_entity_name_from_an_activity() {
    let sim = ErpSim::start(t0()).await;
    sim.add_personal_token("enrt_admin");
    sim.set_activity_entity_name("General.Activities.Activities");
    sim.seed_activity(ActivitySeed::new("any", t0()));
    let erp = ErpClient::new(
        Arc::new(ReqwestHttp::new()),
        Arc::new(ManualClock::new(t0())),
        ErpAuth::Bearer(Arc::new(StaticToken("enrt_admin".into()))),
        ErpConfig::new(sim.odata_root()),
    )
    .unwrap();
    let created = erp.ensure_meeting_document_type().await.unwrap();
    assert_eq!(
        created.document_type().entity_name,
        "General.Activities.Activities"
    );
    let read = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with(ACTIVITIES))
        .unwrap();
    assert!(read.query.contains(&("$top".into(), "1".into())));
    assert!(
        read.query
            .contains(&("$select".into(), "EntityName".into()))
    );
}
