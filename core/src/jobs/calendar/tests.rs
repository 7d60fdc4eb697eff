//! Runs of the calendar job against two in-memory sides with the behaviour the real services
//! promise (idempotent creates, partial updates, read-only activities, change feeds), so every
//! rule of a run is checked without HTTP. The same rules are checked end to end against the
//! simulators in `tests/e2e`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use super::memory_side::MemorySide as FakeSide;
use super::*;
use crate::engine::{ConflictPolicy, Side};
use crate::error::{ErrorCode, PublicError};
use crate::host::testing::CrashingStore;
use crate::host::{Host, ManualClock};
use crate::model::tz::Zone;
use crate::model::{CalendarItem, Importance, When};

struct World {
    clock: Arc<ManualClock>,
    store: Arc<CrashingStore>,
    host: Host,
    erp: FakeSide,
    outlook: FakeSide,
    policy: ConflictPolicy,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

fn meeting(subject: &str, day: u32) -> CalendarItem {
    CalendarItem {
        subject: subject.into(),
        when: When::Timed {
            start: Utc.with_ymd_and_hms(2026, 6, day, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 6, day, 10, 0, 0).unwrap(),
            zone: None,
        },
        body: String::new(),
        sensitivity: Default::default(),
        importance: Importance::Normal,
        reminder_minutes_before_start: Some(15),
        attendees: vec![],
        series: None,
    }
}

impl World {
    fn new() -> Self {
        let clock = Arc::new(ManualClock::new(start()));
        let store = Arc::new(CrashingStore::new());
        let host = Host {
            http: Arc::new(NoHttp),
            store: store.clone(),
            clock: clock.clone(),
        };
        Self {
            erp: FakeSide::new(Side::Erp, clock.clone()),
            outlook: FakeSide::new(Side::Outlook, clock.clone()),
            clock,
            store,
            host,
            policy: ConflictPolicy::Newest,
        }
    }

    fn run_with(&self, options: RunOptions) -> Result<RunReport, PublicError> {
        self.clock.advance(std::time::Duration::from_secs(60));
        let job = CalendarJob {
            host: &self.host,
            user: "u1",
            zone: Zone::parse("Europe/Sofia").unwrap(),
            policy: self.policy,
            erp: &self.erp,
            outlook: &self.outlook,
            runner: "test-node",
            process: None,
        };
        futures::executor::block_on(run(&job, options))
    }

    fn crash_at_commit(&self, n: u32) {
        self.store.crash_at_commit(Some(n));
    }

    fn run(&self) -> RunReport {
        self.run_with(RunOptions::default()).expect("run succeeds")
    }

    fn assert_in_step(&self) {
        let erp = self.erp.items();
        let outlook = self.outlook.items();
        assert_eq!(
            erp.len(),
            outlook.len(),
            "same number of items\n{erp:#?}\n{outlook:#?}"
        );
        let mut a: Vec<_> = erp.iter().map(|(_, i)| i.content_hash()).collect();
        let mut b: Vec<_> = outlook.iter().map(|(_, i)| i.content_hash()).collect();
        a.sort_by(|x, y| x.0.cmp(&y.0));
        b.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(a, b, "same content on both sides");
    }
}

struct NoHttp;

#[async_trait(?Send)]
impl crate::host::HttpClient for NoHttp {
    async fn send(
        &self,
        _: crate::host::HttpRequest,
    ) -> Result<crate::host::HttpResponse, crate::host::TransportError> {
        panic!("the calendar run reaches services only through its sides")
    }
}

#[test]
fn first_run_copies_both_ways_and_the_next_one_does_nothing() {
    let w = World::new();
    w.erp.user_put("a1", meeting("From ERP", 3));
    w.outlook.user_put("e1", meeting("From Outlook", 4));
    let report = w.run();
    assert_eq!(report.to_outlook.created, 1);
    assert_eq!(report.to_erp.created, 1);
    assert!(report.checkpoints_advanced);
    w.assert_in_step();
    assert_eq!(w.erp.subjects(), ["From ERP", "From Outlook"]);

    let before = w.erp.request_count() + w.outlook.request_count();
    let report = w.run();
    assert_eq!((report.to_outlook.total(), report.to_erp.total()), (0, 0));
    assert_eq!(
        w.erp.request_count() + w.outlook.request_count() - before,
        2,
        "a no-change run reads each side once and writes nothing"
    );
    w.assert_in_step();
}

#[test]
fn edits_on_both_sides_merge_and_do_not_echo() {
    let w = World::new();
    w.erp.user_put("a1", meeting("Plan", 3));
    w.run();
    let event_id = w.outlook.items()[0].0.clone();
    let mut erp_edit = meeting("Plan v2", 3);
    erp_edit.body = "agenda".into();
    w.erp.user_put("a1", erp_edit);
    let mut outlook_edit = meeting("Plan", 3);
    outlook_edit.importance = Importance::High;
    w.outlook.user_put(&event_id, outlook_edit);
    let report = w.run();
    assert_eq!((report.to_outlook.updated, report.to_erp.updated), (1, 1));
    assert_eq!(report.conflicts, 0);
    w.assert_in_step();
    let merged = &w.erp.items()[0].1;
    assert_eq!(
        (merged.subject.as_str(), merged.body.as_str()),
        ("Plan v2", "agenda")
    );
    assert_eq!(merged.importance, Importance::High);
    // Our own writes come back in the next feed: no change, no write.
    let report = w.run();
    assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
}

#[test]
fn deleting_in_outlook_voids_and_voiding_in_erp_deletes() {
    let w = World::new();
    w.erp.user_put("a1", meeting("One", 3));
    w.erp.user_put("a2", meeting("Two", 4));
    w.run();
    let (e1, _) = w
        .outlook
        .items()
        .into_iter()
        .find(|(_, i)| i.subject == "One")
        .unwrap();
    w.outlook.user_remove(&e1);
    w.erp.user_remove("a2");
    let report = w.run();
    assert_eq!((report.to_erp.removed, report.to_outlook.removed), (1, 1));
    assert!(w.erp.items().is_empty() && w.outlook.items().is_empty());
}

#[test]
fn read_only_conflict_is_marked_once_and_never_copied() {
    let w = World::new();
    w.erp.user_put("a1", meeting("Released", 3));
    w.run();
    w.erp.set_read_only("a1");
    w.run();
    let event_id = w.outlook.items()[0].0.clone();
    w.outlook
        .user_put(&event_id, meeting("Moved in Outlook", 5));
    let report = w.run();
    assert_eq!(report.conflicts, 1);
    assert_eq!(w.outlook.marked(), 1);
    assert_eq!(w.erp.subjects(), ["Released"], "the activity is untouched");
    assert_eq!(
        w.outlook.subjects(),
        ["Moved in Outlook"],
        "the Outlook edit is kept"
    );
    let report = w.run();
    assert_eq!(report.conflicts, 0, "the same conflict is reported once");
    let home =
        futures::executor::block_on(crate::engine::journal::latest(w.store.as_ref(), "u1", 50))
            .unwrap();
    let marked = home
        .iter()
        .filter(|l| l.text.contains("released or closed"))
        .count();
    assert_eq!(marked, 1);
}

#[test]
fn a_crash_between_writes_and_commit_creates_no_duplicates() {
    // Crash at each commit of the run in turn: taking the lease, recording pending creates, and
    // recording the writes after they reached both sides.
    for crash_at in [1, 2, 3] {
        let w = World::new();
        w.erp.user_put("a1", meeting("From ERP", 3));
        w.outlook.user_put("e1", meeting("From Outlook", 4));
        w.crash_at_commit(crash_at);
        assert!(
            w.run_with(RunOptions::default()).is_err(),
            "crash at commit {crash_at}"
        );
        // The next runs recover: same items, linked, nothing created twice.
        w.run();
        w.run();
        assert_eq!(w.erp.items().len(), 2, "crash at commit {crash_at}");
        assert_eq!(w.outlook.items().len(), 2, "crash at commit {crash_at}");
        w.assert_in_step();
        let report = w.run();
        assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
    }
}

#[test]
fn a_failed_write_keeps_the_checkpoint_and_is_retried() {
    let w = World::new();
    w.erp.user_put("a1", meeting("One", 3));
    w.erp.user_put("a2", meeting("Two", 4));
    w.outlook.state.lock().unwrap().fail_writes = 1;
    let report = w.run();
    assert_eq!(report.failed, 1);
    assert!(!report.checkpoints_advanced);
    assert_eq!(w.outlook.items().len(), 1);
    let report = w.run();
    assert_eq!(report.failed, 0);
    assert_eq!(w.outlook.items().len(), 2);
    w.assert_in_step();
}

#[test]
fn an_empty_complete_read_never_deletes_in_bulk() {
    let w = World::new();
    w.erp.user_put("a1", meeting("One", 3));
    w.erp.user_put("a2", meeting("Two", 4));
    w.erp.user_put("a3", meeting("Three", 5));
    w.run();
    w.outlook.state.lock().unwrap().empty_full_reads = true;
    let error = w
        .run_with(RunOptions {
            full_refresh: true,
            dry_run: false,
        })
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::SafetyGuard);
    assert_eq!(w.erp.items().len(), 3, "nothing voided");
}

#[test]
fn full_refresh_reconciles_without_duplicates_and_finds_deletions() {
    let w = World::new();
    w.erp.user_put("a1", meeting("One", 3));
    w.outlook.user_put("e1", meeting("Two", 4));
    w.run();
    // A deletion the feed never reported (an expired delta token loses it).
    let (event, _) = w
        .outlook
        .items()
        .into_iter()
        .find(|(_, i)| i.subject == "One")
        .unwrap();
    w.outlook.state.lock().unwrap().live.remove(&event);
    let report = w
        .run_with(RunOptions {
            full_refresh: true,
            dry_run: false,
        })
        .unwrap();
    assert!(report.full_read);
    assert_eq!(report.to_erp.removed, 1);
    assert_eq!(report.to_outlook.created + report.to_erp.created, 0);
    w.assert_in_step();
}

#[test]
fn dry_run_reports_the_plan_and_writes_nothing() {
    let w = World::new();
    w.erp.user_put("a1", meeting("One", 3));
    let report = w
        .run_with(RunOptions {
            full_refresh: false,
            dry_run: true,
        })
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.to_outlook.created, 1);
    assert!(w.outlook.items().is_empty());
    assert!(
        w.store.inner.is_empty(),
        "nothing stored, not even a log line"
    );
}

#[test]
fn same_field_conflict_follows_the_policy_and_is_logged() {
    let mut w = World::new();
    w.policy = ConflictPolicy::ErpWins;
    w.erp.user_put("a1", meeting("Plan", 3));
    w.run();
    let event_id = w.outlook.items()[0].0.clone();
    w.outlook.user_put(&event_id, meeting("Outlook title", 3));
    w.clock.advance(std::time::Duration::from_secs(60));
    w.erp.user_put("a1", meeting("ERP title", 3));
    let report = w.run();
    assert_eq!(report.conflicts, 1);
    assert_eq!(w.outlook.subjects(), ["ERP title"]);
    w.assert_in_step();
    let log =
        futures::executor::block_on(crate::engine::journal::latest(w.store.as_ref(), "u1", 50))
            .unwrap();
    assert!(
        log.iter()
            .any(|l| l.text.contains("kept the ERP.net version")),
        "{log:#?}"
    );
}

#[test]
fn a_second_runner_is_refused_while_the_lease_is_held() {
    let w = World::new();
    let lease = futures::executor::block_on(crate::engine::acquire_lease(
        w.store.as_ref(),
        w.clock.as_ref(),
        &crate::engine::lease_key("u1", JOB_NAME),
        "other-node",
        None,
        std::time::Duration::from_secs(600),
    ))
    .unwrap();
    let error = w.run_with(RunOptions::default()).unwrap_err();
    assert_eq!(error.code, ErrorCode::LeaseHeld);
    drop(lease);
}

#[test]
fn window_moves_weekly_and_covers_two_weeks_back_and_a_year_ahead() {
    let now = Utc.with_ymd_and_hms(2026, 6, 17, 12, 0, 0).unwrap(); // a Wednesday
    let w = window_for(now);
    assert_eq!(w.start, Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()); // Monday
    assert!(w.start <= now - chrono::Duration::days(14));
    assert_eq!(w.end, now + chrono::Duration::days(365));
    assert_eq!(window_for(now + chrono::Duration::days(1)).start, w.start);
}

#[test]
fn removal_of_an_item_outside_the_window_deletes_nothing() {
    let w = World::new();
    w.erp.user_put("a1", meeting("Soon", 3));
    w.run();
    // Time passes; the meeting falls out of the window and Graph reports it "removed".
    w.clock
        .advance(std::time::Duration::from_secs(40 * 24 * 3600));
    let event_id = w.outlook.items()[0].0.clone();
    {
        let mut s = w.outlook.state.lock().unwrap();
        s.seq += 1;
        let seq = s.seq;
        s.feed.push((seq, event_id.clone()));
        // Still there in Outlook; only the feed says removed (as Graph does for the window).
        let entry = s.live.remove(&event_id).unwrap();
        s.live.insert(event_id.clone() + "-hidden", entry);
    }
    w.run();
    assert_eq!(w.erp.items().len(), 1, "the activity must not be voided");
}
