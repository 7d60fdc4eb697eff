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

/// A one-hour meeting at 09:00 UTC on `day` of June 2026 (also used by the run's decide tests).
pub(super) fn meeting(subject: &str, day: u32) -> CalendarItem {
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
            lease_ttl: super::DEFAULT_LEASE_TTL,
        };
        futures::executor::block_on(run(&job, options))
            .map(|ran| ran.report)
            .map_err(PublicError::from)
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

/// Items born on both sides, one Released before it was ever synced: after the first run each
/// side names the other (the activity by ExternalId, the event by its activity-id property),
/// except the Released activity, which refuses ExternalId and is found through its event.
fn linked_calendar() -> World {
    let w = World::new();
    w.erp.user_put("a1", meeting("From ERP", 3));
    w.erp.user_put("a2", meeting("Released in ERP", 5));
    w.erp.set_read_only("a2");
    w.outlook.user_put("e1", meeting("From Outlook", 4));
    let report = w.run();
    assert_eq!((report.to_outlook.created, report.to_erp.created), (2, 1));
    w.assert_in_step();
    w
}

fn event_of(w: &World, subject: &str) -> String {
    w.outlook
        .items()
        .into_iter()
        .find(|(_, i)| i.subject == subject)
        .map(|(id, _)| id)
        .unwrap()
}

#[test]
fn an_activity_born_in_erp_records_its_event_in_the_same_run() {
    let w = linked_calendar();
    assert_eq!(
        w.erp.twin_of("a1").as_deref(),
        Some(event_of(&w, "From ERP").as_str())
    );
    assert_eq!(w.erp.twin_of("a2"), None, "a Released activity refuses it");
    assert_eq!(
        w.outlook
            .twin_of(&event_of(&w, "Released in ERP"))
            .as_deref(),
        Some("a2")
    );
    // Recording the link is not a change: the next run writes nothing.
    let report = w.run();
    assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
    let before = w.erp.request_count() + w.outlook.request_count();
    w.run();
    assert_eq!(
        w.erp.request_count() + w.outlook.request_count() - before,
        2,
        "a quiet run reads each side once"
    );
}

#[test]
fn a_lost_store_is_rebuilt_from_both_sides_without_creating_anything() {
    let w = linked_calendar();
    w.store.inner.restore(&Default::default());
    let report = w.run();
    assert_eq!(
        (report.to_outlook.created, report.to_erp.created),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
    assert_eq!(w.erp.items().len(), 3);
    assert_eq!(w.outlook.items().len(), 3);
    w.assert_in_step();
    // The links are back: an edit on each side flows, and a quiet run stays quiet.
    let mut edited = meeting("From ERP, moved", 3);
    edited.body = "agenda".into();
    w.erp.user_put("a1", edited);
    w.outlook
        .user_put("e1", meeting("From Outlook, renamed", 4));
    let report = w.run();
    assert_eq!((report.to_outlook.updated, report.to_erp.updated), (1, 1));
    assert_eq!((report.to_outlook.created, report.to_erp.created), (0, 0));
    w.assert_in_step();
    let report = w.run();
    assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
}

#[test]
fn an_older_copy_of_the_store_converges_without_duplicates_or_lost_edits() {
    let w = linked_calendar();
    let backup = w.store.inner.backup();
    // Two runs with new items and edits on both sides, then more edits.
    w.erp.user_put("a3", meeting("Second from ERP", 6));
    w.outlook.user_put("e3", meeting("Second from Outlook", 7));
    w.run();
    w.erp.user_put("a1", meeting("From ERP, edited", 3));
    w.outlook.user_put("e1", meeting("From Outlook, edited", 4));
    w.run();
    w.erp.user_put("a3", meeting("Second from ERP, edited", 6));
    let e3 = "e3";
    let mut outlook_edit = meeting("Second from Outlook", 7);
    outlook_edit.importance = Importance::High;
    w.outlook.user_put(e3, outlook_edit);
    w.store.inner.restore(&backup);
    w.run();
    w.run();
    assert_eq!(w.erp.items().len(), 5, "{:#?}", w.erp.subjects());
    assert_eq!(w.outlook.items().len(), 5, "{:#?}", w.outlook.subjects());
    w.assert_in_step();
    assert_eq!(
        w.outlook.subjects(),
        [
            "From ERP, edited",
            "From Outlook, edited",
            "Released in ERP",
            "Second from ERP, edited",
            "Second from Outlook"
        ]
    );
    let in_erp = w
        .erp
        .items()
        .into_iter()
        .find(|(_, i)| i.subject == "Second from Outlook")
        .unwrap()
        .1;
    assert_eq!(
        in_erp.importance,
        Importance::High,
        "the Outlook edit arrived"
    );
}

#[test]
fn a_replayed_create_writes_what_the_run_meant_in_the_same_run() {
    let w = World::new();
    w.erp.user_put("a1", meeting("Planning", 3));
    // The run dies after Outlook made the event, before recording it anywhere (ExternalId
    // included).
    w.crash_at_commit(3);
    assert!(w.run_with(RunOptions::default()).is_err());
    w.erp.user_forget_twin("a1");
    // The activity changes, and Graph's reads and searches do not show the event yet: the
    // create is sent again, and its transactionId answers with the event as the first attempt
    // made it.
    w.erp.user_put("a1", meeting("Planning, moved", 4));
    let event = event_of(&w, "Planning");
    w.outlook.state.lock().unwrap().unindexed.insert(event);
    let report = w.run();
    assert_eq!(report.to_outlook.created, 1, "{report:?}");
    assert_eq!(w.outlook.subjects(), ["Planning, moved"]);
    w.assert_in_step();
    w.outlook.state.lock().unwrap().unindexed.clear();
    let report = w.run();
    assert_eq!(report.to_outlook.total() + report.to_erp.total(), 0);
    w.assert_in_step();
}
