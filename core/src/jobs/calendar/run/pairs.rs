//! What a run decides about: each link (if any) with what each side showed of it, and the
//! per-side bookkeeping every phase shares.

use std::collections::{HashMap, HashSet};

use super::super::side::{Pull, RemoteChange, RemoteItem, RemoteWrite, WriteOutcome};
use super::super::state::StoredLink;
use crate::engine::Side;

/// Both sides' values of one thing, so a phase is written once for both sides instead of twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PerSide<T> {
    pub erp: T,
    pub outlook: T,
}

/// Both sides, ERP.net first: the order writes are applied and reports are written in.
pub(super) const SIDES: [Side; 2] = [Side::Erp, Side::Outlook];

impl<T> PerSide<T> {
    pub fn new(erp: T, outlook: T) -> Self {
        Self { erp, outlook }
    }

    pub fn get(&self, side: Side) -> &T {
        match side {
            Side::Erp => &self.erp,
            Side::Outlook => &self.outlook,
        }
    }

    pub fn get_mut(&mut self, side: Side) -> &mut T {
        match side {
            Side::Erp => &mut self.erp,
            Side::Outlook => &mut self.outlook,
        }
    }

    pub fn as_ref(&self) -> PerSide<&T> {
        PerSide::new(&self.erp, &self.outlook)
    }

    pub fn map<U>(self, mut f: impl FnMut(Side, T) -> U) -> PerSide<U> {
        PerSide::new(f(Side::Erp, self.erp), f(Side::Outlook, self.outlook))
    }
}

/// What a side showed of an item this run.
#[derive(Clone)]
// Nearly every value is the large variant, so boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub(super) enum Seen {
    Item(RemoteItem),
    Removed,
}

impl Seen {
    pub fn item(&self) -> Option<&RemoteItem> {
        match self {
            Seen::Item(item) => Some(item),
            Seen::Removed => None,
        }
    }
}

/// One pair to decide: a link (if any) and what each side showed of it.
pub(super) struct Pair {
    pub stored: Option<StoredLink>,
    pub seen: PerSide<Option<Seen>>,
}

impl Pair {
    pub fn new(stored: Option<StoredLink>, erp: Option<Seen>, outlook: Option<Seen>) -> Self {
        Self {
            stored,
            seen: PerSide::new(erp, outlook),
        }
    }

    /// The item `side` showed this run, if it showed one.
    pub fn item(&self, side: Side) -> Option<&RemoteItem> {
        self.seen.get(side).as_ref().and_then(Seen::item)
    }

    /// The item's id on `side`: as read this run, else as linked.
    pub fn id(&self, side: Side) -> Option<String> {
        if let Some(item) = self.item(side) {
            return Some(item.id.clone());
        }
        self.stored.as_ref().map(|s| match side {
            Side::Erp => s.link.activity_id.clone(),
            Side::Outlook => s.link.event_id.clone(),
        })
    }

    /// The item's version on `side`: as read this run, else as linked; empty when neither.
    pub fn version(&self, side: Side) -> String {
        if let Some(item) = self.item(side) {
            return item.version.clone();
        }
        self.stored
            .as_ref()
            .map(|s| match side {
                Side::Erp => s.link.activity_version.clone(),
                Side::Outlook => s.link.event_version.clone(),
            })
            .unwrap_or_default()
    }

    /// Whether the activity refuses changes: as read this run, else as the link remembers.
    pub fn read_only(&self) -> bool {
        match self.item(Side::Erp) {
            Some(activity) => activity.state.read_only,
            None => self.stored.as_ref().is_some_and(|s| s.link.read_only),
        }
    }

    /// An unlinked event nothing else was found for.
    pub fn is_lone_event(&self) -> bool {
        self.stored.is_none() && self.seen.erp.is_none() && self.item(Side::Outlook).is_some()
    }

    pub fn is_lone_event_with_id(&self, event_id: &str) -> bool {
        self.is_lone_event() && self.item(Side::Outlook).is_some_and(|e| e.id == event_id)
    }
}

/// A write and how it ended.
pub(super) type Ended<'o> = (&'o RemoteWrite, &'o WriteOutcome);

/// The last word on each id: replays and duplicates in a feed collapse to the final state.
pub(super) fn last_per_id(pull: &Pull) -> Vec<(String, Seen)> {
    let mut order = Vec::new();
    let mut last: HashMap<String, Seen> = HashMap::new();
    for change in &pull.changes {
        let (id, seen) = match change {
            RemoteChange::Upsert(item) => (item.id.clone(), Seen::Item(item.clone())),
            RemoteChange::Removed { id } => (id.clone(), Seen::Removed),
        };
        if last.insert(id.clone(), seen).is_none() {
            order.push(id);
        }
    }
    order
        .into_iter()
        .map(|id| {
            let seen = last.remove(&id).expect("every id was inserted");
            (id, seen)
        })
        .collect()
}

/// How many distinct items a read returned (removals not counted).
pub(super) fn upserts(pull: &Pull) -> u32 {
    let ids: HashSet<&str> = pull
        .changes
        .iter()
        .filter_map(|c| match c {
            RemoteChange::Upsert(item) => Some(item.id.as_str()),
            RemoteChange::Removed { .. } => None,
        })
        .collect();
    ids.len() as u32
}
