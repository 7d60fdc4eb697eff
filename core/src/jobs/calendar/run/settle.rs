//! What the writes of each pair achieved, in pure code: the link writes for the store, the
//! counts and the log lines. Nothing here reads or writes a side or the store; the run commits
//! the ledger in one fenced batch.

use super::super::side::{RemoteItem, RemoteWrite, SideError, WriteOutcome};
use super::super::state::{Keys, Link, delete_link, put_link};
use super::decide::follow_up_result;
use super::pairs::{Ended, Pair, PerSide, SIDES};
use super::plan::Planned;
use crate::jobs::Counts;
use crate::engine::{LogLevel, Side, SideWrite};
use crate::error::PublicError;
use crate::host::{Expect, WriteBatch};

/// Everything the settled pairs add to the run's commit.
pub(super) struct Ledger<'k> {
    keys: &'k Keys<'k>,
    pub batch: WriteBatch,
    pub notes: Vec<(LogLevel, String)>,
    pub written: PerSide<Counts>,
    /// Pairs with a write that failed for now: left as they were, to be replayed.
    pub failed: u32,
    /// Events this run created: unconfirmed until a committed delta link covers them.
    pub created_events: Vec<String>,
}

impl<'k> Ledger<'k> {
    pub fn new(keys: &'k Keys<'k>) -> Self {
        Self {
            keys,
            batch: WriteBatch::new(),
            notes: Vec::new(),
            written: PerSide::default(),
            failed: 0,
            created_events: Vec::new(),
        }
    }

    fn note(&mut self, level: LogLevel, text: impl Into<String>) {
        self.notes.push((level, text.into()));
    }

    fn edit(&mut self, f: impl FnOnce(WriteBatch) -> WriteBatch) {
        self.batch = f(std::mem::take(&mut self.batch));
    }

    /// Records what the writes of one pair achieved. A write that failed for now leaves the
    /// pair as it was (counted in `failed`), to be replayed.
    pub fn settle(
        &mut self,
        pair: &Pair,
        plan: &Planned,
        first: PerSide<Option<Ended<'_>>>,
        follow_up: PerSide<Option<Ended<'_>>>,
    ) {
        if !self.settle_pair(pair, plan, first, follow_up) {
            self.failed += 1;
        }
    }

    fn settle_pair(
        &mut self,
        pair: &Pair,
        plan: &Planned,
        first: PerSide<Option<Ended<'_>>>,
        follow_up: PerSide<Option<Ended<'_>>>,
    ) -> bool {
        let keys = self.keys;
        let mut retry_later = false;
        let mut refused = None;
        for side in SIDES {
            let Some((write, outcome)) = *first.get(side) else {
                continue;
            };
            match outcome {
                WriteOutcome::Done(_) | WriteOutcome::Missing => {
                    self.written.get_mut(side).add(write)
                }
                WriteOutcome::Refused(error) => refused = Some((side, error)),
                WriteOutcome::Failed(_) => retry_later = true,
            }
        }
        if retry_later {
            return false;
        }
        let decision = &plan.decision;
        if pair.stored.is_none()
            && let Some(activity_id) = pair.id(Side::Erp)
        {
            self.edit(|b| b.delete(keys.pending(&activity_id), Expect::Any));
        }
        if let Some((side, error)) = refused {
            self.refused(pair, side, error);
            return true;
        }

        let created = |side: Side| -> Option<&RemoteItem> {
            let created = match side {
                Side::Erp => matches!(decision.to_erp, Some(SideWrite::Create(_))),
                Side::Outlook => matches!(decision.to_outlook, Some(SideWrite::Create(_))),
            };
            match first.get(side) {
                Some((_, WriteOutcome::Done(Some(item)))) if created => Some(item),
                _ => None,
            }
        };
        let ids = SIDES.map(|side| {
            created(side)
                .map(|i| i.id.clone())
                .or_else(|| pair.id(side))
        });
        let [activity_id, event_id] = ids;
        let expect = pair
            .stored
            .as_ref()
            .map_or(Expect::Absent, |s| Expect::Version(s.version));
        let resurrected_elsewhere = pair.stored.as_ref().is_some_and(|s| {
            Some(&s.link.activity_id) != activity_id.as_ref()
                || Some(&s.link.event_id) != event_id.as_ref()
        });
        if let Some(stored) = &pair.stored
            && (decision.snapshot.is_none() || resurrected_elsewhere)
        {
            self.edit(|b| delete_link(b, keys, &stored.link, expect));
        }
        let (snapshot, follow_ups_landed) = follow_up_result(decision, first, follow_up);
        if let (Some(snapshot), Some(activity_id), Some(event_id)) =
            (snapshot, activity_id, event_id)
        {
            // The item as it now is: a correction's result, else what the first write returned.
            let latest = |side: Side| -> Option<&RemoteItem> {
                match (follow_up.get(side), first.get(side)) {
                    (Some((RemoteWrite::Update { .. }, WriteOutcome::Done(Some(item)))), _) => {
                        Some(item)
                    }
                    (_, Some((_, WriteOutcome::Done(item)))) => item.as_ref(),
                    _ => None,
                }
            };
            let version =
                |side: Side| latest(side).map_or_else(|| pair.version(side), |i| i.version.clone());
            let conflict_marked = if plan.mark_conflict {
                pair.item(Side::Outlook)
                    .map(|e| e.state.item.content_hash())
            } else if decision.read_only_conflict {
                pair.stored
                    .as_ref()
                    .and_then(|s| s.link.conflict_marked.clone())
            } else {
                None
            };
            let link = Link {
                activity_id: activity_id.clone(),
                event_id: event_id.clone(),
                snapshot,
                activity_version: version(Side::Erp),
                event_version: version(Side::Outlook),
                read_only: pair.read_only(),
                conflict_marked,
            };
            let link_expect = if resurrected_elsewhere {
                Expect::Any
            } else {
                expect
            };
            self.edit(|b| put_link(b, keys, &link, link_expect));
            if created(Side::Outlook).is_some() {
                self.created_events.push(event_id);
            }
            self.edit(|b| b.delete(keys.pending(&activity_id), Expect::Any));
        }
        for conflict in &decision.conflicts {
            let winner = side_name(conflict.winner);
            self.note(
                LogLevel::Warning,
                format!(
                    "Both sides changed {:?} of the same item; kept the {winner} version.",
                    conflict.field
                ),
            );
        }
        if plan.mark_conflict {
            self.note(
                LogLevel::Warning,
                "Synchronization conflict: an Outlook change to a released or closed activity was not applied; the event is marked in Outlook.",
            );
        }
        follow_ups_landed
    }

    /// A side refused the change for good: logged as a conflict. An activity that became
    /// read-only is remembered, so Outlook's edit is marked next run instead of retried; other
    /// refusals are re-read and decided again.
    fn refused(&mut self, pair: &Pair, side: Side, error: &SideError) {
        let what = match side {
            Side::Erp => "activity",
            Side::Outlook => "event",
        };
        self.note(
            LogLevel::Warning,
            format!(
                "Synchronization conflict: an {what} refused the change ({}).",
                PublicError::from(error.clone()).code
            ),
        );
        if error.is_read_only()
            && let Some(stored) = &pair.stored
        {
            let mut link = stored.link.clone();
            link.read_only = true;
            let keys = self.keys;
            self.edit(|b| put_link(b, keys, &link, Expect::Version(stored.version)));
        }
    }
}

pub(super) fn side_name(side: Side) -> &'static str {
    match side {
        Side::Erp => "ERP.net",
        Side::Outlook => "Outlook",
    }
}
