//! The pair-level rules as tables: each row is what the sides showed (and the link, if any)
//! and the writes the run must ask for.

use chrono::{TimeZone, Utc};

use super::super::super::tests::meeting;
use super::super::super::side::{RemoteItem, RemoteWrite, SideError, WriteOutcome};
use super::super::super::state::{Link, StoredLink};
use super::super::pairs::{Pair, PerSide, Seen};
use super::*;
use crate::engine::{ConflictPolicy, SideState, SideWrite};
use crate::erp::ErpError;
use crate::graph::GraphError;
use crate::model::{CalendarItem, When};

fn item(id: &str, twin: Option<&str>, content: CalendarItem, read_only: bool) -> RemoteItem {
    RemoteItem {
        id: id.into(),
        twin: twin.map(Into::into),
        version: format!("v-{id}"),
        state: SideState {
            item: content,
            modified: Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap(),
            read_only,
        },
    }
}

fn seen(id: &str, content: CalendarItem) -> Option<Seen> {
    Some(Seen::Item(item(id, None, content, false)))
}

fn linked(snapshot: CalendarItem, read_only: bool) -> Option<StoredLink> {
    Some(StoredLink {
        link: Link {
            activity_id: "a1".into(),
            event_id: "e1".into(),
            snapshot,
            activity_version: "va".into(),
            event_version: "ve".into(),
            read_only,
            conflict_marked: None,
        },
        version: 7,
    })
}

/// Days 1..=20 of June are in the window; later ones are not.
fn in_june_window(item: &CalendarItem) -> bool {
    match item.when {
        When::Timed { start, .. } => start < Utc.with_ymd_and_hms(2026, 6, 21, 0, 0, 0).unwrap(),
        When::AllDay { .. } => true,
    }
}

fn decide_with(pair: &Pair, complete: PerSide<bool>) -> Option<Decision> {
    let cx = Context {
        policy: ConflictPolicy::Newest,
        in_window: &in_june_window,
        complete,
    };
    decide(pair, &cx)
}

/// The shape of a decision: what it asks of ERP.net, of Outlook, and whether the link stays.
#[derive(Debug, PartialEq)]
enum Asks {
    Nothing,
    Create,
    Update,
    Remove,
}

/// What a decision asks of ERP.net and of Outlook, and whether the link stays.
type Shape = (Asks, Asks, bool);
/// A row of a table: what it shows, and what the run must ask for.
type Row<Input, Expected> = (&'static str, Input, Expected);
/// A row with two inputs.
type Row2<A, B, Expected> = (&'static str, A, B, Expected);

fn asks(write: &Option<SideWrite>) -> Asks {
    match write {
        None => Asks::Nothing,
        Some(SideWrite::Create(_)) => Asks::Create,
        Some(SideWrite::Update { .. }) => Asks::Update,
        Some(SideWrite::Remove) => Asks::Remove,
    }
}

#[test]
fn unlinked_items_table() {
    let near = meeting("Plan", 5);
    let far = meeting("Later", 28);
    // (row, stored, erp, outlook) -> (to ERP.net, to Outlook, keeps a link) or skipped
    let rows: Vec<Row<Pair, Option<Shape>>> = vec![
        (
            "a new activity is copied to Outlook",
            Pair::new(None, seen("a1", near.clone()), None),
            Some((Asks::Nothing, Asks::Create, true)),
        ),
        (
            "a new event is copied to ERP.net",
            Pair::new(None, None, seen("e1", near.clone())),
            Some((Asks::Create, Asks::Nothing, true)),
        ),
        (
            "a new activity outside the window is skipped",
            Pair::new(None, seen("a1", far.clone()), None),
            None,
        ),
        (
            "a new event outside the window is skipped",
            Pair::new(None, None, seen("e1", far.clone())),
            None,
        ),
        (
            "an activity whose twin event is gone goes too",
            Pair::new(None, seen("a1", near.clone()), Some(Seen::Removed)),
            Some((Asks::Remove, Asks::Nothing, false)),
        ),
        (
            "an event whose twin activity is void goes too",
            Pair::new(None, Some(Seen::Removed), seen("e1", near.clone())),
            Some((Asks::Nothing, Asks::Remove, false)),
        ),
        (
            "twins found unlinked with equal content need nothing",
            Pair::new(None, seen("a1", near.clone()), seen("e1", near.clone())),
            Some((Asks::Nothing, Asks::Nothing, true)),
        ),
        (
            "both removed before ever linked: nothing to do",
            Pair::new(None, Some(Seen::Removed), Some(Seen::Removed)),
            None,
        ),
    ];
    for (row, pair, expected) in rows {
        let got = decide_with(&pair, PerSide::new(false, false))
            .map(|d| (asks(&d.to_erp), asks(&d.to_outlook), d.snapshot.is_some()));
        assert_eq!(got, expected, "{row}");
    }
}

#[test]
fn removals_of_linked_items_table() {
    let near = meeting("Plan", 5);
    let far = meeting("Later", 28);
    let incremental = PerSide::new(false, false);
    let complete = PerSide::new(true, true);
    // (row, pair, reads) -> (to ERP.net, to Outlook, keeps the link)
    let rows: Vec<Row2<Pair, PerSide<bool>, Shape>> = vec![
        (
            "an event deleted in the window voids the activity",
            Pair::new(linked(near.clone(), false), None, Some(Seen::Removed)),
            incremental,
            (Asks::Remove, Asks::Nothing, false),
        ),
        (
            "an activity voided deletes the event",
            Pair::new(linked(near.clone(), false), Some(Seen::Removed), None),
            incremental,
            (Asks::Nothing, Asks::Remove, false),
        ),
        (
            "a removal reported for an item outside the window is no deletion",
            Pair::new(linked(far.clone(), false), None, Some(Seen::Removed)),
            incremental,
            (Asks::Nothing, Asks::Nothing, true),
        ),
        (
            "a linked event a complete read did not return is gone: its activity is voided",
            Pair::new(linked(near.clone(), false), seen("a1", near.clone()), None),
            complete,
            (Asks::Remove, Asks::Nothing, false),
        ),
        (
            "an incremental read that does not mention an item changes nothing",
            Pair::new(linked(near.clone(), false), None, None),
            incremental,
            (Asks::Nothing, Asks::Nothing, true),
        ),
    ];
    for (row, pair, reads, expected) in rows {
        let d = decide_with(&pair, reads).expect(row);
        let got = (asks(&d.to_erp), asks(&d.to_outlook), d.snapshot.is_some());
        assert_eq!(got, expected, "{row}");
    }
}

#[test]
fn writes_name_the_items_they_touch() {
    let near = meeting("Plan", 5);
    let pair = Pair::new(linked(near.clone(), false), None, Some(Seen::Removed));
    assert_eq!(
        remote_write(&pair, Side::Erp, &SideWrite::Remove),
        Some(RemoteWrite::Remove { id: "a1".into() })
    );
    // A re-creation carries the replaced item's id, so it is not found as the deleted one.
    match remote_write(&pair, Side::Outlook, &SideWrite::Create(near.clone())) {
        Some(RemoteWrite::Create {
            idempotency_key, ..
        }) => assert_eq!(idempotency_key, "a1#e1"),
        other => panic!("expected a create, got {other:?}"),
    }
    // Nothing to remove on a side that holds nothing: no write under an empty id.
    let lone = Pair::new(None, None, seen("e1", near));
    assert_eq!(remote_write(&lone, Side::Erp, &SideWrite::Remove), None);
}

#[test]
fn a_void_activity_found_by_a_create_takes_the_unlinked_event_with_it() {
    let near = meeting("Plan", 5);
    let create = RemoteWrite::Create {
        idempotency_key: "e1".into(),
        item: near.clone(),
    };
    let lone_event = Pair::new(None, None, seen("e1", near.clone()));
    let got =
        void_wins_over_found_twin(&lone_event, Some((&create, &WriteOutcome::Missing)), false);
    let (decision, write) = got.expect("the event goes");
    assert_eq!(asks(&decision.to_outlook), Asks::Remove);
    assert_eq!(write, RemoteWrite::Remove { id: "e1".into() });

    // Not when the create made or found a live activity.
    let done = WriteOutcome::Done(Some(item("a9", Some("e1"), near.clone(), false)));
    assert!(void_wins_over_found_twin(&lone_event, Some((&create, &done)), false).is_none());
    // A re-create (the linked activity was voided, the event edited since) that finds its
    // replacement voided too: the event goes as well (regression seed 735).
    let linked_pair = Pair::new(linked(near.clone(), false), None, seen("e1", near));
    let got =
        void_wins_over_found_twin(&linked_pair, Some((&create, &WriteOutcome::Missing)), false);
    assert_eq!(got.map(|(_, write)| write), Some(RemoteWrite::Remove { id: "e1".into() }));
}

#[test]
fn follow_ups_table() {
    let meant = meeting("Plan", 5);
    let stale = meeting("Plan (old)", 5);
    let create = RemoteWrite::Create {
        idempotency_key: "a1".into(),
        item: meant.clone(),
    };
    let keep = Decision {
        snapshot: Some(meant.clone()),
        ..Decision::default()
    };
    let activity = |twin: Option<&str>, read_only| {
        Some(Seen::Item(item("a1", twin, meant.clone(), read_only)))
    };
    let found_stale = WriteOutcome::Done(Some(item("e1", Some("a1"), stale, false)));
    let made_fresh = WriteOutcome::Done(Some(item("e1", Some("a1"), meant.clone(), false)));
    let failed = WriteOutcome::Failed(SideError::Graph(GraphError::Throttled {
        status: 429,
        until: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
    }));

    let link_e1 = Some(RemoteWrite::Link {
        id: "a1".into(),
        twin: "e1".into(),
    });
    // (row, activity as read, Outlook create outcome) -> (ERP.net follow-up, Outlook follow-up)
    // (ERP.net follow-up, whether Outlook's create is corrected)
    type FollowUps = (Option<RemoteWrite>, bool);
    let rows: Vec<Row2<Option<Seen>, &WriteOutcome, FollowUps>> = vec![
        (
            "an event made for an activity records it in ExternalId",
            activity(None, false),
            &made_fresh,
            (link_e1.clone(), false),
        ),
        (
            "an activity that already names its event needs nothing",
            activity(Some("e1"), false),
            &made_fresh,
            (None, false),
        ),
        (
            "a read-only activity refuses ExternalId: the event's property keeps the link",
            activity(None, true),
            &made_fresh,
            (None, false),
        ),
        (
            "a create that found an older event corrects it",
            activity(Some("e1"), false),
            &found_stale,
            (None, true),
        ),
        (
            "a create that failed for now is followed by nothing",
            activity(None, false),
            &failed,
            (None, false),
        ),
    ];
    for (row, erp, outcome, (erp_follow_up, corrects_outlook)) in rows {
        let pair = Pair::new(None, erp, None);
        let first = PerSide::new(None, Some((&create, outcome)));
        let got = follow_ups(&pair, &keep, first);
        assert_eq!(got.erp, erp_follow_up, "{row}");
        assert_eq!(
            matches!(got.outlook, Some(RemoteWrite::Update { .. })),
            corrects_outlook,
            "{row}"
        );
    }
}

#[test]
fn a_correction_that_did_not_land_records_what_the_create_found() {
    let meant = meeting("Plan", 5);
    let stale = meeting("Plan (old)", 5);
    let decision = Decision {
        snapshot: Some(meant.clone()),
        ..Decision::default()
    };
    let create = RemoteWrite::Create {
        idempotency_key: "a1".into(),
        item: meant.clone(),
    };
    let found = WriteOutcome::Done(Some(item("e1", Some("a1"), stale.clone(), false)));
    let correction = RemoteWrite::Update {
        id: "e1".into(),
        version: "v".into(),
        fields: vec![],
        item: meant.clone(),
    };
    let first = PerSide::new(None, Some((&create, &found)));
    let cases = [
        (WriteOutcome::Done(None), Some(meant.clone()), true),
        (
            WriteOutcome::Refused(SideError::Erp(ErpError::ReadOnlyActivity {
                state: "Released".into(),
            })),
            Some(stale.clone()),
            true,
        ),
        (
            WriteOutcome::Failed(SideError::Graph(GraphError::Throttled {
        status: 429,
        until: Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
    })),
            Some(stale),
            false,
        ),
    ];
    for (outcome, snapshot, landed) in cases {
        let follow_up = PerSide::new(None, Some((&correction, &outcome)));
        assert_eq!(
            follow_up_result(&decision, first, follow_up),
            (snapshot, landed),
            "{outcome:?}"
        );
    }
}
