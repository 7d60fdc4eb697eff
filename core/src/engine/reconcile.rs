//! The decision table of the sync: for one linked pair, what each side did since the last sync
//! and what must be written to bring them together again.
//!
//! Pure functions over the neutral model, so every rule is in one place and tested as a table.
//! Each side is compared against the last-synced snapshot of the mapped fields (three-way):
//! - changed on one side: copy it to the other;
//! - changed on both: merge field by field; a field changed on both sides to different values is
//!   decided by the user's [`ConflictPolicy`];
//! - changed against deleted: the change wins unless the policy favours the deleting side;
//! - new version stamps with unchanged content (our own echo) are no change at all;
//! - a Released or Closed activity is read-only: Outlook's changes to it are a conflict, kept in
//!   Outlook and marked there, never copied and never silently dropped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{CalendarItem, Field};

/// How a field changed on both sides is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The side modified last on its server wins (ERP.net on a tie: it is the system of record).
    #[default]
    Newest,
    ErpWins,
    OutlookWins,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Erp,
    Outlook,
}

/// One side's current state of an item, as read this run.
#[derive(Debug, Clone, PartialEq)]
pub struct SideState {
    pub item: CalendarItem,
    /// When that side's server last modified it.
    pub modified: DateTime<Utc>,
    /// ERP.net activities that are Released or Closed cannot be changed.
    pub read_only: bool,
}

/// What this run saw of one side of a link.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed<'a> {
    /// Not in this run's changes: as at the last sync.
    Unchanged,
    Present(&'a SideState),
    /// Deleted in Outlook, voided in ERP.net.
    Gone,
}

/// A write to one side.
#[derive(Debug, Clone, PartialEq)]
pub enum SideWrite {
    Create(CalendarItem),
    /// Only `fields` are written; the other fields of that side stay as they are.
    Update {
        fields: Vec<Field>,
        item: CalendarItem,
    },
    /// Delete the Outlook event, or void the activity.
    Remove,
}

/// A field both sides changed differently, and who won it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: Field,
    pub winner: Side,
}

/// What to do about one pair.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub to_erp: Option<SideWrite>,
    pub to_outlook: Option<SideWrite>,
    /// The content both sides hold once the writes are done; `None` ends the link.
    pub snapshot: Option<CalendarItem>,
    pub conflicts: Vec<FieldConflict>,
    /// Outlook changed a read-only activity: mark the event and log it, write nothing to ERP.net.
    pub read_only_conflict: bool,
    /// A change won over a deletion on the other side (the item is re-created there).
    pub resurrected: bool,
}

impl Decision {
    pub fn is_noop(&self) -> bool {
        self.to_erp.is_none()
            && self.to_outlook.is_none()
            && self.conflicts.is_empty()
            && !self.read_only_conflict
    }

    fn keep(snapshot: &CalendarItem) -> Self {
        Self {
            snapshot: Some(snapshot.clone()),
            ..Self::default()
        }
    }
}

/// Decides a pair that has been synced before (`snapshot` is the last-synced content).
/// `erp_read_only` is the activity's read-only state as last known, for runs where ERP.net
/// reported no change.
pub fn reconcile_linked(
    snapshot: &CalendarItem,
    erp: Observed<'_>,
    outlook: Observed<'_>,
    erp_read_only: bool,
    policy: ConflictPolicy,
) -> Decision {
    let changed = |state: &SideState| state.item.changed_fields(snapshot);
    match (erp, outlook) {
        (Observed::Unchanged, Observed::Unchanged) => Decision::keep(snapshot),

        (Observed::Present(e), Observed::Unchanged) => copy_one_way(snapshot, e, Side::Erp),
        (Observed::Unchanged, Observed::Present(o)) => {
            if changed(o).is_empty() {
                Decision::keep(snapshot)
            } else if erp_read_only {
                read_only_conflict(snapshot)
            } else {
                copy_one_way(snapshot, o, Side::Outlook)
            }
        }
        (Observed::Present(e), Observed::Present(o)) => merge(snapshot, e, o, policy),

        (Observed::Gone, Observed::Gone) => Decision::default(),
        (Observed::Gone, Observed::Unchanged) => Decision {
            to_outlook: Some(SideWrite::Remove),
            ..Decision::default()
        },
        (Observed::Unchanged, Observed::Gone) => Decision {
            to_erp: Some(SideWrite::Remove),
            ..Decision::default()
        },
        (Observed::Gone, Observed::Present(o)) => {
            if changed(o).is_empty() || policy == ConflictPolicy::ErpWins {
                Decision {
                    to_outlook: Some(SideWrite::Remove),
                    ..Decision::default()
                }
            } else {
                Decision {
                    to_erp: Some(SideWrite::Create(o.item.clone())),
                    snapshot: Some(o.item.clone()),
                    resurrected: true,
                    ..Decision::default()
                }
            }
        }
        (Observed::Present(e), Observed::Gone) => {
            if changed(e).is_empty() || policy == ConflictPolicy::OutlookWins || e.read_only {
                // A read-only activity cannot change any more, so its "change" is not a user's
                // edit racing the deletion; the deletion in Outlook voids it as usual.
                Decision {
                    to_erp: Some(SideWrite::Remove),
                    ..Decision::default()
                }
            } else {
                Decision {
                    to_outlook: Some(SideWrite::Create(e.item.clone())),
                    snapshot: Some(e.item.clone()),
                    resurrected: true,
                    ..Decision::default()
                }
            }
        }
    }
}

/// Decides a pair seen together for the first time with no snapshot (a link found by the ids
/// each side keeps of the other, e.g. after a crash between the write and the commit). With no
/// common base, every differing field is a conflict decided by the policy.
pub fn reconcile_unlinked_pair(
    erp: &SideState,
    outlook: &SideState,
    policy: ConflictPolicy,
) -> Decision {
    let differing = erp.item.changed_fields(&outlook.item);
    if differing.is_empty() {
        return Decision::keep(&erp.item);
    }
    let winner = winner(policy, erp, outlook);
    let (merged, loser_write) = match winner {
        Side::Erp => (erp.item.clone(), Side::Outlook),
        Side::Outlook if erp.read_only => {
            let mut d = Decision::keep(&erp.item);
            d.read_only_conflict = true;
            return d;
        }
        Side::Outlook => (outlook.item.clone(), Side::Erp),
    };
    let write = Some(SideWrite::Update {
        fields: differing.clone(),
        item: merged.clone(),
    });
    let conflicts = differing
        .into_iter()
        .map(|field| FieldConflict { field, winner })
        .collect();
    match loser_write {
        Side::Outlook => Decision {
            to_outlook: write,
            snapshot: Some(merged),
            conflicts,
            ..Decision::default()
        },
        Side::Erp => Decision {
            to_erp: write,
            snapshot: Some(merged),
            conflicts,
            ..Decision::default()
        },
    }
}

fn copy_one_way(snapshot: &CalendarItem, from: &SideState, side: Side) -> Decision {
    let fields = from.item.changed_fields(snapshot);
    if fields.is_empty() {
        // New version stamps, same content: our own echo, or an edit undone.
        return Decision::keep(snapshot);
    }
    let write = Some(SideWrite::Update {
        fields,
        item: from.item.clone(),
    });
    let mut decision = Decision {
        snapshot: Some(from.item.clone()),
        ..Decision::default()
    };
    match side {
        Side::Erp => decision.to_outlook = write,
        Side::Outlook => decision.to_erp = write,
    }
    decision
}

fn read_only_conflict(snapshot: &CalendarItem) -> Decision {
    Decision {
        read_only_conflict: true,
        ..Decision::keep(snapshot)
    }
}

fn winner(policy: ConflictPolicy, erp: &SideState, outlook: &SideState) -> Side {
    match policy {
        ConflictPolicy::ErpWins => Side::Erp,
        ConflictPolicy::OutlookWins => Side::Outlook,
        ConflictPolicy::Newest if outlook.modified > erp.modified => Side::Outlook,
        ConflictPolicy::Newest => Side::Erp,
    }
}

fn merge(
    snapshot: &CalendarItem,
    erp: &SideState,
    outlook: &SideState,
    policy: ConflictPolicy,
) -> Decision {
    let erp_changed = erp.item.changed_fields(snapshot);
    let mut outlook_changed = outlook.item.changed_fields(snapshot);
    let mut read_only_conflict = false;
    if erp.read_only && !outlook_changed.is_empty() {
        // Outlook's edits cannot reach a read-only activity: keep them in Outlook, marked, and
        // copy over only what ERP.net changed in fields Outlook left alone.
        read_only_conflict = true;
        outlook_changed.clear();
    }
    let mut merged = snapshot.clone();
    let mut conflicts = Vec::new();
    for field in crate::model::Field::ALL {
        let in_erp = erp_changed.contains(&field);
        let in_outlook = outlook_changed.contains(&field);
        let take = match (in_erp, in_outlook) {
            (false, false) => continue,
            (true, false) => Side::Erp,
            (false, true) => Side::Outlook,
            (true, true) if erp.item.field_text(field) == outlook.item.field_text(field) => {
                Side::Erp // both made the same edit: no conflict
            }
            (true, true) => {
                let winner = winner(policy, erp, outlook);
                conflicts.push(FieldConflict { field, winner });
                winner
            }
        };
        let source = match take {
            Side::Erp => &erp.item,
            Side::Outlook => &outlook.item,
        };
        copy_field(&mut merged, source, field);
    }
    let to_erp = update_towards(&erp.item, &merged);
    let mut to_outlook = update_towards(&outlook.item, &merged);
    if read_only_conflict {
        // Never overwrite the Outlook edits that are in conflict: only ERP.net's own changes go.
        to_outlook = match to_outlook {
            Some(SideWrite::Update { fields, item }) => {
                let fields: Vec<Field> = fields
                    .into_iter()
                    .filter(|f| outlook.item.field_text(*f) == snapshot.field_text(*f))
                    .collect();
                (!fields.is_empty()).then_some(SideWrite::Update { fields, item })
            }
            other => other,
        };
    }
    Decision {
        to_erp: if read_only_conflict { None } else { to_erp },
        to_outlook,
        snapshot: Some(merged),
        conflicts,
        read_only_conflict,
        resurrected: false,
    }
}

fn update_towards(current: &CalendarItem, target: &CalendarItem) -> Option<SideWrite> {
    let fields = target.changed_fields(current);
    (!fields.is_empty()).then(|| SideWrite::Update {
        fields,
        item: target.clone(),
    })
}

fn copy_field(into: &mut CalendarItem, from: &CalendarItem, field: Field) {
    match field {
        Field::Subject => into.subject = from.subject.clone(),
        Field::When => into.when = from.when.clone(),
        Field::Body => into.body = from.body.clone(),
        Field::Sensitivity => into.sensitivity = from.sensitivity,
        Field::Importance => into.importance = from.importance,
        Field::Reminder => into.reminder_minutes_before_start = from.reminder_minutes_before_start,
        Field::Attendees => into.attendees = from.attendees.clone(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::model::{Importance, When};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 4, h, 0, 0).unwrap()
    }

    fn base() -> CalendarItem {
        CalendarItem {
            subject: "Plan".into(),
            when: When::Timed {
                start: at(9),
                end: at(10),
                zone: None,
            },
            body: "notes".into(),
            sensitivity: Default::default(),
            importance: Importance::Normal,
            reminder_minutes_before_start: Some(15),
            attendees: vec![],
            series: None,
        }
    }

    fn state(item: CalendarItem, modified_hour: u32) -> SideState {
        SideState {
            item,
            modified: at(modified_hour),
            read_only: false,
        }
    }

    fn with_subject(s: &str) -> CalendarItem {
        CalendarItem {
            subject: s.into(),
            ..base()
        }
    }

    fn with_body(s: &str) -> CalendarItem {
        CalendarItem {
            body: s.into(),
            ..base()
        }
    }

    fn update(fields: &[Field], item: CalendarItem) -> Option<SideWrite> {
        Some(SideWrite::Update {
            fields: fields.to_vec(),
            item,
        })
    }

    #[test]
    fn nothing_seen_nothing_done() {
        let d = reconcile_linked(
            &base(),
            Observed::Unchanged,
            Observed::Unchanged,
            false,
            ConflictPolicy::Newest,
        );
        assert!(d.is_noop());
        assert_eq!(d.snapshot, Some(base()));
    }

    #[test]
    fn own_echo_is_not_a_change() {
        let echo = state(base(), 11);
        for (e, o) in [
            (Observed::Present(&echo), Observed::Unchanged),
            (Observed::Unchanged, Observed::Present(&echo)),
            (Observed::Present(&echo), Observed::Present(&echo)),
        ] {
            let d = reconcile_linked(&base(), e, o, false, ConflictPolicy::Newest);
            assert!(d.is_noop(), "{d:?}");
        }
    }

    #[test]
    fn one_side_changed_is_copied_with_only_its_fields() {
        let e = state(with_subject("Plan v2"), 11);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Unchanged,
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(
            d.to_outlook,
            update(&[Field::Subject], with_subject("Plan v2"))
        );
        assert_eq!(d.to_erp, None);
        assert_eq!(d.snapshot, Some(with_subject("Plan v2")));

        let o = state(with_body("new notes"), 11);
        let d = reconcile_linked(
            &base(),
            Observed::Unchanged,
            Observed::Present(&o),
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(d.to_erp, update(&[Field::Body], with_body("new notes")));
        assert_eq!(d.to_outlook, None);
    }

    #[test]
    fn different_fields_changed_on_both_sides_merge_without_conflict() {
        let e = state(with_subject("Plan v2"), 11);
        let o = state(with_body("new notes"), 12);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Present(&o),
            false,
            ConflictPolicy::ErpWins,
        );
        let merged = CalendarItem {
            subject: "Plan v2".into(),
            body: "new notes".into(),
            ..base()
        };
        assert_eq!(d.to_erp, update(&[Field::Body], merged.clone()));
        assert_eq!(d.to_outlook, update(&[Field::Subject], merged.clone()));
        assert_eq!(d.snapshot, Some(merged));
        assert!(d.conflicts.is_empty());
    }

    #[test]
    fn same_field_changed_on_both_sides_follows_the_policy() {
        let e = state(with_subject("ERP title"), 11);
        let o = state(with_subject("Outlook title"), 12);
        let cases = [
            (ConflictPolicy::Newest, Side::Outlook, "Outlook title"),
            (ConflictPolicy::ErpWins, Side::Erp, "ERP title"),
            (ConflictPolicy::OutlookWins, Side::Outlook, "Outlook title"),
        ];
        for (policy, winner, subject) in cases {
            let d = reconcile_linked(
                &base(),
                Observed::Present(&e),
                Observed::Present(&o),
                false,
                policy,
            );
            assert_eq!(
                d.conflicts,
                vec![FieldConflict {
                    field: Field::Subject,
                    winner
                }],
                "{policy:?}"
            );
            assert_eq!(d.snapshot.as_ref().unwrap().subject, subject, "{policy:?}");
            let (to_winner, to_loser) = match winner {
                Side::Erp => (&d.to_erp, &d.to_outlook),
                Side::Outlook => (&d.to_outlook, &d.to_erp),
            };
            assert_eq!(*to_winner, None, "{policy:?}");
            assert_eq!(
                *to_loser,
                update(&[Field::Subject], with_subject(subject)),
                "{policy:?}"
            );
        }
        // Newest on a tie: ERP.net, the system of record.
        let o_same_time = state(with_subject("Outlook title"), 11);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Present(&o_same_time),
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(d.conflicts[0].winner, Side::Erp);
    }

    #[test]
    fn same_edit_on_both_sides_is_no_conflict() {
        let e = state(with_subject("Same"), 11);
        let o = state(with_subject("Same"), 12);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Present(&o),
            false,
            ConflictPolicy::Newest,
        );
        assert!(d.is_noop(), "{d:?}");
        assert_eq!(d.snapshot, Some(with_subject("Same")));
    }

    #[test]
    fn deletions_propagate_when_the_other_side_is_unchanged() {
        let d = reconcile_linked(
            &base(),
            Observed::Gone,
            Observed::Unchanged,
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(d.to_outlook, Some(SideWrite::Remove));
        assert_eq!(d.snapshot, None);
        let d = reconcile_linked(
            &base(),
            Observed::Unchanged,
            Observed::Gone,
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(d.to_erp, Some(SideWrite::Remove));
        let echo = state(base(), 12);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&echo),
            Observed::Gone,
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(
            d.to_erp,
            Some(SideWrite::Remove),
            "unchanged content is no reason to resurrect"
        );
        let d = reconcile_linked(
            &base(),
            Observed::Gone,
            Observed::Gone,
            false,
            ConflictPolicy::Newest,
        );
        assert!(d.to_erp.is_none() && d.to_outlook.is_none() && d.snapshot.is_none());
    }

    #[test]
    fn change_beats_delete_unless_the_policy_favours_the_deleter() {
        let e = state(with_subject("Edited in ERP"), 11);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Gone,
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(
            d.to_outlook,
            Some(SideWrite::Create(with_subject("Edited in ERP")))
        );
        assert!(d.resurrected);
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Gone,
            false,
            ConflictPolicy::OutlookWins,
        );
        assert_eq!(d.to_erp, Some(SideWrite::Remove));

        let o = state(with_subject("Edited in Outlook"), 11);
        let d = reconcile_linked(
            &base(),
            Observed::Gone,
            Observed::Present(&o),
            false,
            ConflictPolicy::Newest,
        );
        assert_eq!(
            d.to_erp,
            Some(SideWrite::Create(with_subject("Edited in Outlook")))
        );
        let d = reconcile_linked(
            &base(),
            Observed::Gone,
            Observed::Present(&o),
            false,
            ConflictPolicy::ErpWins,
        );
        assert_eq!(d.to_outlook, Some(SideWrite::Remove));
    }

    #[test]
    fn outlook_edit_to_a_read_only_activity_is_a_marked_conflict() {
        let o = state(with_subject("Moved in Outlook"), 12);
        let d = reconcile_linked(
            &base(),
            Observed::Unchanged,
            Observed::Present(&o),
            true,
            ConflictPolicy::OutlookWins,
        );
        assert!(d.read_only_conflict);
        assert_eq!(d.to_erp, None);
        assert_eq!(
            d.to_outlook, None,
            "the Outlook edit is kept, not overwritten"
        );
        assert_eq!(d.snapshot, Some(base()));

        // ERP.net changed another field meanwhile: that still reaches Outlook, the conflict stays.
        let mut e = state(with_body("released notes"), 11);
        e.read_only = true;
        let d = reconcile_linked(
            &base(),
            Observed::Present(&e),
            Observed::Present(&o),
            true,
            ConflictPolicy::OutlookWins,
        );
        assert!(d.read_only_conflict);
        assert_eq!(d.to_erp, None);
        match &d.to_outlook {
            Some(SideWrite::Update { fields, .. }) => assert_eq!(fields, &vec![Field::Body]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unlinked_pair_found_after_a_crash() {
        let e = state(base(), 10);
        let o = state(base(), 11);
        let d = reconcile_unlinked_pair(&e, &o, ConflictPolicy::Newest);
        assert!(d.is_noop());
        assert_eq!(d.snapshot, Some(base()));

        let o = state(with_subject("Renamed"), 11);
        let d = reconcile_unlinked_pair(&e, &o, ConflictPolicy::Newest);
        assert_eq!(d.to_erp, update(&[Field::Subject], with_subject("Renamed")));
        assert_eq!(
            d.conflicts,
            vec![FieldConflict {
                field: Field::Subject,
                winner: Side::Outlook
            }]
        );
    }
}
