//! The application layer over in-memory sides: Setup, Home, states, schedule, notifications.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::engine::Side;
use crate::error::ErrorCode;
use crate::graph::GraphError;
use crate::host::Expect;
use crate::host::{Clock, ManualClock, MemoryStore, Store};
use crate::jobs::calendar::memory_side::MemorySide;
use crate::model::tz::Zone;
use crate::model::{CalendarItem, Importance, When};

struct World {
    clock: Arc<ManualClock>,
    app: App,
    erp: MemorySide,
    outlook: MemorySide,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

fn meeting(subject: &str) -> CalendarItem {
    CalendarItem {
        subject: subject.into(),
        when: When::Timed {
            start: Utc.with_ymd_and_hms(2026, 6, 3, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 6, 3, 10, 0, 0).unwrap(),
            zone: None,
        },
        body: String::new(),
        sensitivity: Default::default(),
        importance: Importance::Normal,
        reminder_minutes_before_start: None,
        attendees: vec![],
        series: None,
    }
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let store = Arc::new(MemoryStore::new());
        let host = Host {
            http: Arc::new(crate::host::testing::RefuseHttp),
            store: store.clone(),
            clock: clock.clone(),
        };
        let profile = UserProfile {
            user_id: "u1".into(),
            tenant_id: "t1".into(),
            email: "j.doe@abccompany.net".into(),
            name: "J. Doe".into(),
            erp_user_id: "e1".into(),
            erp_login: Some("jdoe".into()),
            rights_checked_at: None,
            is_admin: false,
            company_id: Some("c1".into()),
            location_id: Some("l1".into()),
            zone: Zone::parse("Europe/Sofia").unwrap(),
            policy: ConflictPolicy::Newest,
        };
        block(store.commit(profile::put(WriteBatch::new(), &profile, Expect::Absent))).unwrap();
        Self {
            erp: MemorySide::new(Side::Erp, clock.clone()),
            outlook: MemorySide::new(Side::Outlook, clock.clone()),
            clock,
            app: App::new(host),
        }
    }

    fn run(&self) -> Result<crate::jobs::calendar::RunReport, PublicError> {
        block(
            self.app
                .run_calendar_with("u1", &self.erp, &self.outlook, "node", false),
        )
    }

    fn home(&self) -> HomeView {
        block(self.app.home("u1")).unwrap()
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

#[test]
fn profiles_stored_before_the_erp_login_was_kept_still_read() {
    let old = serde_json::json!({
        "user_id": "u1", "tenant_id": "t1", "email": "j.doe@abccompany.net", "name": "J. Doe",
        "erp_user_id": "e1", "is_admin": false, "company_id": null, "location_id": null,
        "zone": "Europe/Sofia", "policy": "newest",
    });
    let profile: UserProfile = serde_json::from_value(old).unwrap();
    assert_eq!(profile.erp_login, None);
}

#[test]
fn setup_validates_choices_and_logs_changes() {
    let w = World::new();
    let setup = block(w.app.setup("u1")).unwrap();
    assert_eq!(
        setup.time_zone,
        "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"
    );
    let error = block(w.app.change_setup(
        "u1",
        SetupChange {
            time_zone: Some("Atlantis/Lost".into()),
            policy: None,
        },
    ))
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::UnknownTimeZone);
    let setup = block(w.app.change_setup(
        "u1",
        SetupChange {
            time_zone: Some("(UTC-05:00) Eastern Time (US & Canada)".into()),
            policy: Some(ConflictPolicy::ErpWins),
        },
    ))
    .unwrap();
    assert_eq!(setup.time_zone_iana, "America/New_York");
    assert_eq!(setup.policy, ConflictPolicy::ErpWins);
    let unknown = block(w.app.setup("nobody")).unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);
    insta::assert_json_snapshot!("setup_view", setup);
}

#[test]
fn home_after_a_successful_run() {
    let w = World::new();
    assert_eq!(w.home().state, "Disabled");
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    let due = block(w.app.due_jobs(w.clock.now())).unwrap();
    assert_eq!(due.len(), 1, "turning a job on makes it due at once");
    w.erp.user_put("a1", meeting("Board"));
    w.clock.advance(std::time::Duration::from_secs(30));
    w.run().unwrap();
    let home = w.home();
    assert_eq!(home.state, "Operational");
    assert_eq!(home.jobs[0].last_run.to_outlook.created, 1);
    assert!(block(w.app.due_jobs(w.clock.now())).unwrap().is_empty());
    let later = w.clock.now() + chrono::Duration::minutes(15);
    assert_eq!(
        block(w.app.due_jobs(later)).unwrap().len(),
        1,
        "due again after 15 minutes"
    );
    insta::assert_json_snapshot!("home_after_success", home);
}

#[test]
fn a_due_job_is_claimed_once_and_not_after_it_ran_and_again_when_a_claim_expires() {
    let w = World::new();
    let other_node = w.app.clone();
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    let stale = block(w.app.due_jobs(w.clock.now())).unwrap();
    assert_eq!(stale.len(), 1);
    // Another node ran it since this list was made: not due any more, not claimed.
    w.run().unwrap();
    assert!(!block(w.app.claim_due_job(&stale[0])).unwrap());

    // Due again: the first claim wins, the job leaves every node's due list.
    w.clock.advance(std::time::Duration::from_secs(15 * 60));
    let due = block(w.app.due_jobs(w.clock.now())).unwrap();
    assert_eq!(due.len(), 1);
    assert!(block(w.app.claim_due_job(&due[0])).unwrap());
    assert!(!block(other_node.claim_due_job(&due[0])).unwrap());
    assert!(
        block(other_node.due_jobs(w.clock.now()))
            .unwrap()
            .is_empty()
    );

    // The claiming node died: after the lease time the job is due and claimed elsewhere.
    w.clock
        .advance(crate::jobs::calendar::DEFAULT_LEASE_TTL + std::time::Duration::from_secs(1));
    let due = block(other_node.due_jobs(w.clock.now())).unwrap();
    assert_eq!(due.len(), 1);
    assert!(block(other_node.claim_due_job(&due[0])).unwrap());
}

#[test]
fn a_due_job_runs_once_through_run_due_job_and_ends_its_claim() {
    let w = World::new();
    let other_node = w.app.clone();
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    let due = block(w.app.due_jobs(w.clock.now())).unwrap();
    assert_eq!(due.len(), 1);
    // This application reaches no ERP.net: the run happens, fails and is recorded.
    let run = block(w.app.run_due_job(&due[0]))
        .unwrap()
        .expect("the due job is this node's to run");
    assert!(run.result.is_err());
    let store = w.app.host().store.clone();
    let (status, _) = block(status::load_status(store.as_ref(), "u1", JobKind::Calendar)).unwrap();
    assert!(status.claim.is_none(), "the claim ends with the run");
    // The same list on another node: that due time has run.
    assert!(block(other_node.run_due_job(&due[0])).unwrap().is_none());
    // Not due (never turned on, or unknown): not run.
    let stranger = DueJob {
        user_id: "nobody".into(),
        ..due[0].clone()
    };
    assert!(block(w.app.run_due_job(&stranger)).unwrap().is_none());
}

#[test]
fn notified_jobs_come_before_scheduled_ones() {
    let w = World::new();
    let store = w.app.host().store.clone();
    let (mut second, _) = block(profile::require(store.as_ref(), "u1")).unwrap();
    second.user_id = "u2".into();
    block(store.commit(profile::put(WriteBatch::new(), &second, Expect::Absent))).unwrap();
    for user in ["u1", "u2"] {
        block(w.app.set_job_enabled(user, JobKind::Calendar, true)).unwrap();
    }
    let scheduled = block(w.app.due_jobs(w.clock.now())).unwrap();
    let users = |due: &[DueJob]| -> Vec<(String, bool)> {
        due.iter()
            .map(|d| (d.user_id.clone(), d.notified))
            .collect()
    };
    assert_eq!(
        users(&scheduled),
        [("u1".to_owned(), false), ("u2".to_owned(), false)]
    );
    // A change notification for u2, a minute after both came due.
    w.clock.advance(std::time::Duration::from_secs(60));
    let at = w.clock.now();
    block(store.commit(crate::engine::subscriptions::put_notified(
        WriteBatch::new(),
        JobKind::Calendar.id(),
        "u2",
        at,
    )))
    .unwrap();
    let due = block(w.app.due_jobs(w.clock.now())).unwrap();
    assert_eq!(
        users(&due),
        [("u2".to_owned(), true), ("u1".to_owned(), false)]
    );
    assert_eq!(
        due[0].due_since, scheduled[1].due_since,
        "due since its schedule"
    );
}

#[test]
fn home_after_a_throttled_and_a_failed_run() {
    let w = World::new();
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    let until = w.clock.now() + chrono::Duration::minutes(30);
    w.outlook.state.lock().unwrap().fail_pulls =
        Some(GraphError::Throttled { status: 429, until }.into());
    w.run().unwrap_err();
    let home = w.home();
    assert_eq!(home.state, "Throttled until 2026-06-01 08:30Z");
    assert!(
        block(w.app.due_jobs(until - chrono::Duration::minutes(1)))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        block(w.app.due_jobs(until)).unwrap().len(),
        1,
        "due when the wait is over"
    );
    insta::assert_json_snapshot!("home_throttled", home);

    w.outlook.state.lock().unwrap().fail_pulls = Some(
        GraphError::Forbidden {
            code: "ErrorAccessDenied".into(),
        }
        .into(),
    );
    w.run().unwrap_err();
    w.run().unwrap_err();
    let home = w.home();
    assert_eq!(
        home.state,
        "Error: Unauthorized or insufficient permissions"
    );
    assert_eq!(
        home.fix.as_deref(),
        Some("Go to Service and click 'Connect to Microsoft Entra ID'.")
    );
    let notes = block(w.app.take_notifications(10)).unwrap();
    assert_eq!(
        notes.len(),
        1,
        "one notification when the error starts, not one per run"
    );
    assert_eq!(notes[0].title, "MS Sync experienced an error");
    assert!(
        block(w.app.take_notifications(10)).unwrap().is_empty(),
        "taken once"
    );
    insta::assert_json_snapshot!("home_error", home);

    w.outlook.state.lock().unwrap().fail_pulls = None;
    w.run().unwrap();
    let home = w.home();
    assert_eq!(home.state, "Operational");
    assert!(
        home.log
            .iter()
            .any(|l| l.ends_with("INF] State restored to 'Operational'.")),
        "{:#?}",
        home.log
    );
}

#[test]
fn a_user_without_a_company_gets_the_original_error() {
    let w = World::new();
    let store = w.app.host().store.clone();
    let (mut profile, version) = block(profile::require(store.as_ref(), "u1")).unwrap();
    profile.company_id = None;
    block(store.commit(profile::put(
        WriteBatch::new(),
        &profile,
        Expect::Version(version),
    )))
    .unwrap();
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    let error = w.run().unwrap_err();
    assert_eq!(error.code, ErrorCode::NoEnterpriseCompany);
    assert_eq!(
        w.home().state,
        "Error: SyncJob 'Calendar' processing error. There's no enterprise company defined."
    );
}

#[test]
fn full_refresh_is_due_at_once_and_rereads_the_window() {
    let w = World::new();
    block(w.app.set_job_enabled("u1", JobKind::Calendar, true)).unwrap();
    w.erp.user_put("a1", meeting("Board"));
    w.run().unwrap();
    assert!(block(w.app.due_jobs(w.clock.now())).unwrap().is_empty());
    let setup = block(w.app.request_full_refresh("u1", JobKind::Calendar)).unwrap();
    assert!(setup.jobs[0].full_refresh_requested);
    assert_eq!(
        block(w.app.due_jobs(w.clock.now())).unwrap().len(),
        1,
        "due at once"
    );
    let report = w.run().unwrap();
    assert!(report.full_read, "a full refresh re-reads the window");
    assert_eq!(
        report.to_outlook.created + report.to_erp.created,
        0,
        "no duplicates"
    );
    let setup = block(w.app.setup("u1")).unwrap();
    assert!(!setup.jobs[0].full_refresh_requested, "done once");
}
