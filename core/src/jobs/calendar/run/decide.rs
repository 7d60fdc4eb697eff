//! Every decision of a run about one pair, in pure code: which writes a pair needs
//! ([`decide`], built on the field-level table in `engine::reconcile`), the writes that follow
//! what the first writes returned ([`void_wins_over_found_twin`], [`follow_ups`]), and what the
//! link records once they ended ([`follow_up_result`]). Nothing here reads or writes a side or
//! the store, so the table tests below pin every rule.

use super::super::side::{RemoteItem, RemoteWrite, WriteOutcome};
use super::pairs::{Ended, Pair, PerSide, Seen};
use crate::engine::{
    ConflictPolicy, Decision, Observed, Side, SideWrite, reconcile_linked, reconcile_unlinked_pair,
};
use crate::model::CalendarItem;

/// What a run knows besides the pair itself.
pub(super) struct Context<'c> {
    pub policy: ConflictPolicy,
    /// Whether an item touches the run's window (all-day dates read in the user's zone).
    pub in_window: &'c dyn Fn(&CalendarItem) -> bool,
    /// Which sides were read completely: a linked item a complete read did not return is gone.
    pub complete: PerSide<bool>,
}

/// The writes `pair` needs, or `None` when it is none of the run's business (outside the
/// window, or removed before it was ever linked).
pub(super) fn decide(pair: &Pair, cx: &Context<'_>) -> Option<Decision> {
    let Some(stored) = &pair.stored else {
        return decide_unlinked(pair, cx);
    };
    let link = &stored.link;
    let in_window = (cx.in_window)(&link.snapshot);
    let observe = |side: Side| -> Observed<'_> {
        match pair.seen.get(side) {
            Some(Seen::Item(item)) => Observed::Present(&item.state),
            // Graph also reports items that left the window as removed: only a removal inside
            // the window is a deletion.
            Some(Seen::Removed) if in_window => Observed::Gone,
            Some(Seen::Removed) => Observed::Unchanged,
            None if *cx.complete.get(side) && in_window => Observed::Gone,
            None => Observed::Unchanged,
        }
    };
    Some(reconcile_linked(
        &link.snapshot,
        observe(Side::Erp),
        observe(Side::Outlook),
        pair.read_only(),
        cx.policy,
    ))
}

fn decide_unlinked(pair: &Pair, cx: &Context<'_>) -> Option<Decision> {
    let copy_to = |side: Side, from: &RemoteItem| -> Option<Decision> {
        let item = &from.state.item;
        if !(cx.in_window)(item) {
            return None;
        }
        let mut decision = Decision {
            snapshot: Some(item.clone()),
            ..Decision::default()
        };
        *to_side(&mut decision, side) = Some(SideWrite::Create(item.clone()));
        Some(decision)
    };
    let remove_on = |side: Side| {
        let mut decision = Decision::default();
        *to_side(&mut decision, side) = Some(SideWrite::Remove);
        Some(decision)
    };
    match (&pair.seen.erp, &pair.seen.outlook) {
        (Some(Seen::Item(a)), Some(Seen::Item(e))) => {
            Some(reconcile_unlinked_pair(&a.state, &e.state, cx.policy))
        }
        // Made from its twin, whose deletion we never recorded: it goes too.
        (Some(Seen::Item(_)), Some(Seen::Removed)) => remove_on(Side::Erp),
        (Some(Seen::Removed), Some(Seen::Item(_))) => remove_on(Side::Outlook),
        (Some(Seen::Item(activity)), _) => copy_to(Side::Outlook, activity),
        (_, Some(Seen::Item(event))) => copy_to(Side::Erp, event),
        _ => None,
    }
}

fn to_side(decision: &mut Decision, side: Side) -> &mut Option<SideWrite> {
    match side {
        Side::Erp => &mut decision.to_erp,
        Side::Outlook => &mut decision.to_outlook,
    }
}

/// Whether Outlook's conflict with a read-only activity is one not marked yet (it is marked
/// and logged once per content, not on every run).
pub(super) fn conflict_is_new(pair: &Pair) -> bool {
    let Some(event) = pair.item(Side::Outlook) else {
        return false;
    };
    let marked = pair
        .stored
        .as_ref()
        .and_then(|s| s.link.conflict_marked.as_ref());
    marked != Some(&event.state.item.content_hash())
}

/// The write `decided` asks of `side` for `pair`, in the side's terms; `None` when the pair
/// holds no item to update or remove on that side, or no twin to create from (the decision
/// table never asks that; no write goes out under an empty id).
pub(super) fn remote_write(pair: &Pair, side: Side, decided: &SideWrite) -> Option<RemoteWrite> {
    Some(match decided {
        SideWrite::Create(item) => RemoteWrite::Create {
            idempotency_key: creation_key(pair.id(other(side))?, pair, side),
            item: item.clone(),
        },
        SideWrite::Update { fields, item } => RemoteWrite::Update {
            id: pair.id(side)?,
            version: pair.version(side),
            fields: fields.clone(),
            item: item.clone(),
        },
        SideWrite::Remove => RemoteWrite::Remove { id: pair.id(side)? },
    })
}

pub(super) fn other(side: Side) -> Side {
    match side {
        Side::Erp => Side::Outlook,
        Side::Outlook => Side::Erp,
    }
}

/// The idempotency key of a create on `side`: the twin's id, plus the replaced item's id when a
/// change re-creates what that side deleted (so it is not found as the deleted one).
fn creation_key(twin: String, pair: &Pair, side: Side) -> String {
    match &pair.stored {
        Some(stored) => {
            let replaced = match side {
                Side::Erp => &stored.link.activity_id,
                Side::Outlook => &stored.link.event_id,
            };
            format!("{twin}#{replaced}")
        }
        None => twin,
    }
}

/// An event whose activity create found the activity an earlier run made for it (before it
/// died unrecorded, or lost the answer), voided since by the user: the void wins, and the event
/// is deleted in this same run instead of being linked to a void activity. This holds for a
/// re-create too (a linked event whose activity was voided, the event edited since): the
/// activity that replaced it was voided after it was made, the user's latest word. Returns the
/// decision that replaces the pair's, with the Outlook write it needs.
pub(super) fn void_wins_over_found_twin(
    pair: &Pair,
    first_erp: Option<Ended<'_>>,
    writes_outlook: bool,
) -> Option<(Decision, RemoteWrite)> {
    let found_void = matches!(
        first_erp,
        Some((RemoteWrite::Create { .. }, WriteOutcome::Missing))
    );
    let event = pair.item(Side::Outlook)?;
    if !found_void || writes_outlook {
        return None;
    }
    let decision = Decision {
        to_outlook: Some(SideWrite::Remove),
        ..Decision::default()
    };
    let remove = RemoteWrite::Remove {
        id: event.id.clone(),
    };
    Some((decision, remove))
}

/// Writes that depend on what the first writes returned:
/// - a create that found the item an earlier run made (Graph's `transactionId`, ERP.net's
///   findOrCreate) got that item back as it was then: the difference from what this run meant
///   is written now, so the link's snapshot is true of both sides;
/// - an activity that does not record its event yet gets ExternalId and ExternalSystem, so the
///   link lives in ERP.net too and survives the loss of the host's store. A Released or Closed
///   activity refuses it; its event's activity-id property keeps the link instead.
pub(super) fn follow_ups(
    pair: &Pair,
    decision: &Decision,
    first: PerSide<Option<Ended<'_>>>,
) -> PerSide<Option<RemoteWrite>> {
    let landed = |o: Option<Ended<'_>>| {
        !matches!(
            o,
            Some((_, WriteOutcome::Failed(_) | WriteOutcome::Refused(_)))
        )
    };
    if decision.snapshot.is_none() || !landed(first.erp) || !landed(first.outlook) {
        return PerSide::default();
    }
    PerSide {
        erp: correction_of(first.erp).or_else(|| link_to_record(pair, first.erp, first.outlook)),
        outlook: correction_of(first.outlook),
    }
}

/// The update that brings an item a create got back to what the create meant, if they differ
/// (the create found an item an earlier run made, with the content it had then).
fn correction_of(first: Option<Ended<'_>>) -> Option<RemoteWrite> {
    let (RemoteWrite::Create { item: meant, .. }, WriteOutcome::Done(Some(got))) = first? else {
        return None;
    };
    let fields = meant.changed_fields(&got.state.item);
    if fields.is_empty() {
        return None;
    }
    Some(RemoteWrite::Update {
        id: got.id.clone(),
        version: got.version.clone(),
        fields,
        item: meant.clone(),
    })
}

/// ExternalId for an activity that does not name its event yet: one read this run that names
/// another (or none), or one whose event this run created. Activities this run created name
/// their event from birth.
fn link_to_record(
    pair: &Pair,
    first_erp: Option<Ended<'_>>,
    first_outlook: Option<Ended<'_>>,
) -> Option<RemoteWrite> {
    if matches!(first_erp, Some((RemoteWrite::Create { .. }, _))) {
        return None;
    }
    let created_event = match first_outlook {
        Some((RemoteWrite::Create { .. }, WriteOutcome::Done(Some(event)))) => {
            Some(event.id.clone())
        }
        _ => None,
    };
    let recorded = match &pair.seen.erp {
        Some(Seen::Item(activity)) if activity.state.read_only => return None,
        Some(Seen::Item(activity)) => activity.twin.clone(),
        // Not read this run: only a new event changes what it should name.
        _ if created_event.is_none() => return None,
        _ if pair.stored.as_ref().is_some_and(|s| s.link.read_only) => return None,
        _ => None,
    };
    let activity_id = pair.id(Side::Erp)?;
    let event_id = created_event.or_else(|| pair.id(Side::Outlook))?;
    if recorded.as_deref() == Some(event_id.as_str()) {
        return None;
    }
    Some(RemoteWrite::Link {
        id: activity_id,
        twin: event_id,
    })
}

/// The snapshot a pair's link records once its follow-ups ended, and whether they all landed
/// (a follow-up that failed for now keeps the checkpoints where they are, so it is retried).
/// A correction that did not land leaves the created item as it came back: the link records
/// that content, so the next run sees the other side's difference and writes it again.
pub(super) fn follow_up_result(
    decision: &Decision,
    first: PerSide<Option<Ended<'_>>>,
    follow_up: PerSide<Option<Ended<'_>>>,
) -> (Option<CalendarItem>, bool) {
    let mut snapshot = decision.snapshot.clone();
    let mut landed = true;
    for (first, follow_up) in [
        (first.erp, follow_up.erp),
        (first.outlook, follow_up.outlook),
    ] {
        let Some((write, outcome)) = follow_up else {
            continue;
        };
        if matches!(outcome, WriteOutcome::Failed(_)) {
            landed = false;
        }
        let corrected = matches!(outcome, WriteOutcome::Done(_));
        if let (RemoteWrite::Update { .. }, false, Some((_, WriteOutcome::Done(Some(got))))) =
            (write, corrected, first)
        {
            snapshot = Some(got.state.item.clone());
        }
    }
    (snapshot, landed)
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
