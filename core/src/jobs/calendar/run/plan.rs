//! The plan of a run, in pure code: every pair's decision and the writes it asks of each side.

use super::super::side::RemoteWrite;
use super::decide::{Context, conflict_is_new, decide, remote_write};
use super::pairs::{Pair, PerSide, SIDES};
use crate::jobs::Counts;
use crate::engine::{Decision, Side};

/// A decision with the writes it needs, by index into each side's write lists.
pub(super) struct Planned {
    pub pair_index: usize,
    pub decision: Decision,
    pub first: PerSide<Option<usize>>,
    /// Writes that follow the first ones (see [`super::decide::follow_ups`]).
    pub follow_up: PerSide<Option<usize>>,
    /// Outlook's change to a read-only activity is new: the event is marked and it is logged.
    pub mark_conflict: bool,
}

pub(super) struct Plan {
    pub planned: Vec<Planned>,
    pub writes: PerSide<Vec<RemoteWrite>>,
    pub conflicts: u32,
    /// Pairs that are none of the run's business (outside the window).
    pub skipped: u32,
}

impl Plan {
    /// What the first writes would do on each side, for dry runs.
    pub fn counts(&self) -> PerSide<Counts> {
        self.writes.as_ref().map(|_, writes| {
            let mut counts = Counts::default();
            writes.iter().for_each(|w| counts.add(w));
            counts
        })
    }
}

pub(super) fn plan(pairs: &[Pair], cx: &Context<'_>) -> Plan {
    let mut plan = Plan {
        planned: Vec::new(),
        writes: PerSide::default(),
        conflicts: 0,
        skipped: 0,
    };
    for (pair_index, pair) in pairs.iter().enumerate() {
        let Some(decision) = decide(pair, cx) else {
            plan.skipped += 1;
            continue;
        };
        let writes = SIDES.map(|side| {
            let decided = match side {
                Side::Erp => decision.to_erp.as_ref(),
                Side::Outlook => decision.to_outlook.as_ref(),
            };
            decided.map(|w| remote_write(pair, side, w))
        });
        // The table asks to update or remove only what a side holds; a pair that breaks that
        // is left alone rather than written under an empty id.
        if writes.iter().any(|w| matches!(w, Some(None))) {
            plan.skipped += 1;
            continue;
        }
        plan.conflicts += decision.conflicts.len() as u32;
        let mark_conflict = decision.read_only_conflict && conflict_is_new(pair);
        if mark_conflict {
            plan.conflicts += 1;
        }
        let [erp, outlook] = writes.map(Option::flatten);
        let mut first = PerSide::new(
            erp.map(|w| push(&mut plan.writes.erp, w)),
            outlook.map(|w| push(&mut plan.writes.outlook, w)),
        );
        if mark_conflict
            && first.outlook.is_none()
            && let Some(event) = pair.item(Side::Outlook)
        {
            let mark = RemoteWrite::MarkConflict {
                id: event.id.clone(),
            };
            first.outlook = Some(push(&mut plan.writes.outlook, mark));
        }
        plan.planned.push(Planned {
            pair_index,
            decision,
            first,
            follow_up: PerSide::default(),
            mark_conflict,
        });
    }
    plan
}

pub(super) fn push(writes: &mut Vec<RemoteWrite>, write: RemoteWrite) -> usize {
    writes.push(write);
    writes.len() - 1
}
