//! ERP.net writes in `$batch` (D domain-api/data-manipulation/batch.md), connector against the
//! simulator over real HTTP: each write its own changeset, its result read in the same batch,
//! one failed item failing alone, a lost answer to a whole batch retried without a duplicate,
//! and the simulator refusing batches the page does not describe.

mod common;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::erp::wire;
use mssync_core::erp::{
    ActivityDefaults, ActivityPatch, ActivityWrite, ErpClient, ErpError, ExternalLink, Guid,
};
use mssync_core::host::{HttpClient, HttpRequest, ManualClock, Method};
use mssync_core::jobs::calendar::map_erp;
use mssync_core::model::tz::Zone;
use mssync_core::model::{Attendee, CalendarItem, When};
use mssync_sim::erp::{ActivitySeed, BatchFault, ErpSim};
use serde_json::Value;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn guid(text: &str) -> Guid {
    Guid::parse(text).unwrap()
}

struct Fx {
    sim: ErpSim,
    erp: ErpClient,
    user: String,
    defaults: ActivityDefaults,
}

impl Fx {
    async fn new() -> Self {
        let sim = ErpSim::start(t0()).await;
        let user = sim.add_user("j.doe@abc.test", false, true);
        let (enterprise, company) = sim.add_enterprise_company("ABC Ltd");
        let location = sim.add_location(&company, "Sofia HQ", true);
        let meeting = sim.add_document_type("Meeting", wire::ACTIVITY_ENTITY_NAME_FALLBACK);
        let clock = Arc::new(ManualClock::new(t0()));
        let erp = common::trusted_erp_client(&sim, clock.clone());
        let defaults = ActivityDefaults {
            enterprise_company: guid(&enterprise),
            enterprise_company_location: guid(&location),
            document_type: guid(&meeting),
            assigned_to_user: Some(guid(&user)),
            from_party: None,
        };
        Self {
            sim,
            erp,
            user,
            defaults,
        }
    }

    fn create(&self, n: usize) -> ActivityWrite {
        let item = CalendarItem {
            subject: format!("Meeting {n}"),
            when: When::Timed {
                start: t0() + chrono::Duration::days(1) + chrono::Duration::hours(n as i64),
                end: t0() + chrono::Duration::days(1) + chrono::Duration::hours(n as i64 + 1),
                zone: None,
            },
            body: format!("Notes {n}"),
            sensitivity: mssync_core::model::Sensitivity::Normal,
            importance: mssync_core::model::Importance::Normal,
            reminder_minutes_before_start: None,
            attendees: vec![Attendee {
                email: format!("guest{n}@abc.test"),
                name: None,
            }],
            series: None,
        };
        let link = ExternalLink {
            external_id: format!("AAMk-{n}"),
            external_system: "MsSync/Graph".into(),
        };
        ActivityWrite::Create(map_erp::item_to_new_activity(
            &item,
            &Zone::utc(),
            link,
            self.defaults.clone(),
        ))
    }

    /// The API requests the simulator received (the token request left out).
    fn api_requests(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .count()
    }
}

#[tokio::test]
async fn creates_are_one_batch_with_no_read_back_request_of_their_own() {
    let fx = Fx::new().await;
    let results = fx
        .erp
        .write_activities((0..3).map(|n| fx.create(n)).collect())
        .await;
    assert_eq!(fx.api_requests(), 1, "{:#?}", fx.sim.requests());
    assert_eq!(fx.sim.batches(), 1);
    for (n, result) in results.iter().enumerate() {
        let created = result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!(created.subject, format!("Meeting {n}"));
        assert_eq!(
            created.external_id.as_deref(),
            Some(format!("AAMk-{n}").as_str())
        );
        assert_eq!(created.participants.len(), 1, "the read after the create");
    }
    // What the simulator logged: each create in its own changeset, then its read.
    let batch = fx.sim.requests().into_iter().last().unwrap();
    let parts = batch.body.unwrap();
    assert_eq!(parts.as_array().unwrap().len(), 6);
    assert_eq!(parts[0]["changeset"].as_array().unwrap().len(), 1);
    assert_eq!(parts[0]["changeset"][0]["method"], "POST");
    assert_eq!(parts[1]["method"], "GET");
    assert_eq!(fx.sim.activities().len(), 3);
}

#[tokio::test]
async fn a_failed_item_fails_alone_and_its_neighbours_are_written() {
    let fx = Fx::new().await;
    fx.sim
        .push_batch_fault(BatchFault::FailItem { changeset: 1 });
    let results = fx
        .erp
        .write_activities((0..3).map(|n| fx.create(n)).collect())
        .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(
        matches!(&results[1], Err(ErpError::Remote { status: 500, kind: Some(k), .. }) if k == "SimulatedFault"),
        "{:?}",
        results[1]
    );
    let subjects: Vec<String> = fx
        .sim
        .activities()
        .iter()
        .map(|a| a["Subject"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(subjects, ["Meeting 0", "Meeting 2"]);
}

#[tokio::test]
async fn a_lost_answer_fails_every_item_and_the_retry_makes_no_duplicate() {
    let fx = Fx::new().await;
    fx.sim
        .push_batch_fault(BatchFault::LostAnswer { status: 500 });
    let lost = fx
        .erp
        .write_activities((0..2).map(|n| fx.create(n)).collect())
        .await;
    assert!(lost.iter().all(|r| r.is_err()), "{lost:?}");
    assert_eq!(fx.sim.activities().len(), 2, "the writes happened");
    let again = fx
        .erp
        .write_activities((0..2).map(|n| fx.create(n)).collect())
        .await;
    assert!(again.iter().all(|r| r.is_ok()), "{again:?}");
    assert_eq!(fx.sim.activities().len(), 2, "findOrCreate found them");
}

#[tokio::test]
async fn updates_and_links_share_a_batch_and_a_stale_update_is_told_by_its_read() {
    let fx = Fx::new().await;
    let mut seed = ActivitySeed::new("Plan", t0() + chrono::Duration::days(1));
    seed.assigned_to = Some(fx.user.clone());
    let a = fx.sim.seed_activity(seed.clone());
    let b = fx.sim.seed_activity(seed.clone());
    let c = fx.sim.seed_activity(seed);
    let current_a = fx.erp.get_activity(&guid(&a)).await.unwrap();
    let current_b = fx.erp.get_activity(&guid(&b)).await.unwrap();
    // Someone edits b after it was read.
    fx.sim.edit_activity(&b, |o| {
        o.insert("Subject".into(), Value::from("Plan (theirs)"));
    });
    fx.sim.clear_requests();
    let patch = ActivityPatch {
        subject: Some("Plan (ours)".into()),
        participants: Some(vec!["x@abc.test".into()]),
        ..ActivityPatch::default()
    };
    let results = fx
        .erp
        .write_activities(vec![
            ActivityWrite::Update {
                current: Box::new(current_a),
                patch: patch.clone(),
            },
            ActivityWrite::Update {
                current: Box::new(current_b),
                patch,
            },
            ActivityWrite::Link {
                id: guid(&c),
                link: ExternalLink {
                    external_id: "AAMk-c".into(),
                    external_system: "MsSync/Graph".into(),
                },
            },
        ])
        .await;
    assert_eq!(fx.api_requests(), 1, "one batch, no read of its own");
    let updated = results[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(updated.subject, "Plan (ours)");
    assert_eq!(updated.participants.len(), 1);
    assert_eq!(results[1], Err(ErpError::StaleVersion));
    assert_eq!(results[2], Ok(None));
    assert_eq!(fx.sim.activity(&b).unwrap()["Subject"], "Plan (theirs)");
    assert_eq!(fx.sim.activity(&c).unwrap()["ExternalId"], "AAMk-c");
}

#[tokio::test]
async fn a_changeset_is_rolled_back_as_a_whole() {
    let fx = Fx::new().await;
    let mut seed = ActivitySeed::new("Plan", t0() + chrono::Duration::days(1));
    seed.assigned_to = Some(fx.user.clone());
    let a = fx.sim.seed_activity(seed);
    let current = fx.erp.get_activity(&guid(&a)).await.unwrap();
    // The PATCH passes, the participant's POST fails (an ERP.net without the participants
    // set): the PATCH is rolled back with it.
    fx.sim
        .forget_entity_set("General_Activities_ActivityParticipants");
    let results = fx
        .erp
        .write_activities(vec![ActivityWrite::Update {
            current: Box::new(current),
            patch: ActivityPatch {
                subject: Some("Moved".into()),
                participants: Some(vec!["x@abc.test".into()]),
                ..ActivityPatch::default()
            },
        }])
        .await;
    assert!(
        matches!(results[0], Err(ErpError::VersionMismatch { .. })),
        "{:?}",
        results[0]
    );
    assert_eq!(fx.sim.activity(&a).unwrap()["Subject"], "Plan");
}

/// Raw batches the page does not describe are refused whole.
#[tokio::test]
async fn the_simulator_refuses_what_the_page_does_not_describe() {
    let fx = Fx::new().await;
    fx.sim.require_auth(false);
    let http = ReqwestHttp::new();
    let send = |body: &str| {
        let request = HttpRequest {
            body: body.replace('\n', "\r\n").into_bytes(),
            ..HttpRequest::new(Method::Post, format!("{}$batch", fx.sim.odata_root()))
                .header("Content-Type", "multipart/mixed; boundary=b")
        };
        let http = &http;
        async move { http.send(request).await.unwrap().status }
    };
    // A write outside a changeset.
    let outside = "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nPOST General_Activities_Activities HTTP/1.1\nContent-Type: application/json\n\n{}\n--b--\n";
    assert_eq!(send(outside).await, 400);
    // A changeset request without Content-ID.
    let no_id = "--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nPATCH General_Activities_Activities(1) HTTP/1.1\n\n{}\n--c--\n--b--\n";
    assert_eq!(send(no_id).await, 400);
    // A read inside a changeset.
    let read_in = "--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: application/http\nContent-Transfer-Encoding: binary\nContent-ID: 1\n\nGET General_Activities_Activities HTTP/1.1\n\n--c--\n--b--\n";
    assert_eq!(send(read_in).await, 400);
    // No closing delimiter.
    let open = "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET General_Activities_Activities HTTP/1.1\n\n";
    assert_eq!(send(open).await, 400);
    // The documented form is served.
    let read = "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET General_Activities_Activities?$top=2 HTTP/1.1\n\n--b--\n";
    assert_eq!(send(read).await, 200);
}
