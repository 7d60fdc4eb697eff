//! An in-memory [`CalendarSide`] with the behaviour the real services promise (creates
//! idempotent by key, partial updates, read-only items, a change feed, `@removed`), for tests of
//! the engine and the application layer without HTTP.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    CalendarSide, Pull, RemoteChange, RemoteItem, RemoteWrite, SideError, Window, WriteOutcome,
    twin_of_key,
};
use crate::engine::{Side, SideState};
use crate::erp::ErpError;
use crate::host::{Clock, ManualClock};
use crate::model::{CalendarItem, Field};

#[derive(Clone, Debug)]
pub struct Entry {
    pub item: CalendarItem,
    pub version: u64,
    pub modified: DateTime<Utc>,
    pub read_only: bool,
    pub twin: Option<String>,
    pub key: Option<String>,
    pub conflict_marked: bool,
}

#[derive(Default)]
pub struct FakeState {
    pub live: BTreeMap<String, Entry>,
    pub removed: Vec<String>,
    /// (sequence, id) of every change, for incremental pulls.
    pub feed: Vec<(u64, String)>,
    pub seq: u64,
    pub next_id: u64,
    pub requests: u64,
    pub fail_writes: u32,
    pub empty_full_reads: bool,
    /// Every pull fails with this error while set.
    pub fail_pulls: Option<SideError>,
    /// Items that reads and searches do not show yet, as a service whose indexes lag behind its
    /// writes would not; `get` and idempotent creates still find them.
    pub unindexed: std::collections::BTreeSet<String>,
}

/// One side in memory. Creates are idempotent by key, as Graph's transactionId and ERP.net's
/// find-or-create are.
pub struct MemorySide {
    side: Side,
    clock: Arc<ManualClock>,
    pub state: Mutex<FakeState>,
}

impl MemorySide {
    pub fn new(side: Side, clock: Arc<ManualClock>) -> Self {
        Self {
            side,
            clock,
            state: Mutex::new(FakeState::default()),
        }
    }

    fn touch(state: &mut FakeState, id: &str) {
        state.seq += 1;
        let seq = state.seq;
        state.feed.push((seq, id.to_owned()));
    }

    /// A user edit on this side.
    pub fn user_put(&self, id: &str, item: CalendarItem) {
        let mut s = self.state.lock().unwrap();
        let now = self.clock.now();
        let entry = s.live.entry(id.to_owned()).or_insert(Entry {
            item: item.clone(),
            version: 0,
            modified: now,
            read_only: false,
            twin: None,
            key: None,
            conflict_marked: false,
        });
        entry.item = item;
        entry.version += 1;
        entry.modified = now;
        Self::touch(&mut s, id);
    }

    pub fn user_remove(&self, id: &str) {
        let mut s = self.state.lock().unwrap();
        s.live.remove(id);
        s.removed.push(id.to_owned());
        Self::touch(&mut s, id);
    }

    pub fn set_read_only(&self, id: &str) {
        let mut s = self.state.lock().unwrap();
        s.live.get_mut(id).unwrap().read_only = true;
        s.live.get_mut(id).unwrap().version += 1;
        Self::touch(&mut s, id);
    }

    pub fn items(&self) -> Vec<(String, CalendarItem)> {
        let s = self.state.lock().unwrap();
        s.live
            .iter()
            .map(|(k, v)| (k.clone(), v.item.clone()))
            .collect()
    }

    pub fn subjects(&self) -> Vec<String> {
        let mut v: Vec<String> = self.items().into_iter().map(|(_, i)| i.subject).collect();
        v.sort();
        v
    }

    pub fn marked(&self) -> usize {
        self.state
            .lock()
            .unwrap()
            .live
            .values()
            .filter(|e| e.conflict_marked)
            .count()
    }

    /// The twin an item records (an activity's ExternalId, an event's activity-id property).
    pub fn twin_of(&self, id: &str) -> Option<String> {
        self.state.lock().unwrap().live[id].twin.clone()
    }

    pub fn request_count(&self) -> u64 {
        self.state.lock().unwrap().requests
    }

    /// Whether reads carry each item's twin: ERP.net's do (ExternalId); Graph's delta does not
    /// return the event's activity-id property, only a GET or a filtered listing does.
    fn twins_in_reads(&self) -> bool {
        self.side == Side::Erp
    }

    /// An item as a read (pull) returns it.
    fn read(&self, id: &str, e: &Entry) -> RemoteItem {
        let mut item = self.remote(id, e);
        if !self.twins_in_reads() {
            item.twin = None;
        }
        item
    }

    /// Forgets every key and twin, as items made by hand carry none.
    pub fn user_forget_twin(&self, id: &str) {
        let mut s = self.state.lock().unwrap();
        let e = s.live.get_mut(id).unwrap();
        e.twin = None;
        e.key = None;
    }

    fn remote(&self, id: &str, e: &Entry) -> RemoteItem {
        RemoteItem {
            id: id.to_owned(),
            twin: e.twin.clone(),
            version: e.version.to_string(),
            state: SideState {
                item: e.item.clone(),
                modified: e.modified,
                read_only: e.read_only,
            },
        }
    }
}

/// How a read-only (Released) item refuses a write, as ERP.net does.
fn read_only_refusal() -> WriteOutcome {
    WriteOutcome::Refused(SideError::Erp(ErpError::ReadOnlyActivity {
        state: "Released".into(),
    }))
}

fn copy_fields(into: &mut CalendarItem, from: &CalendarItem, fields: &[Field]) {
    for f in fields {
        match f {
            Field::Subject => into.subject = from.subject.clone(),
            Field::When => into.when = from.when.clone(),
            Field::Body => into.body = from.body.clone(),
            Field::Sensitivity => into.sensitivity = from.sensitivity,
            Field::Importance => into.importance = from.importance,
            Field::Reminder => {
                into.reminder_minutes_before_start = from.reminder_minutes_before_start
            }
            Field::Attendees => into.attendees = from.attendees.clone(),
        }
    }
}

#[async_trait(?Send)]
impl CalendarSide for MemorySide {
    fn side(&self) -> Side {
        self.side
    }

    async fn pull(&self, _window: &Window, checkpoint: Option<&str>) -> Result<Pull, SideError> {
        let mut s = self.state.lock().unwrap();
        s.requests += 1;
        if let Some(error) = &s.fail_pulls {
            return Err(error.clone());
        }
        let from: Option<u64> = checkpoint.and_then(|c| c.parse().ok());
        let changes = match from {
            None if s.empty_full_reads => Vec::new(),
            None => s
                .live
                .iter()
                .filter(|(id, _)| !s.unindexed.contains(*id))
                .map(|(id, e)| RemoteChange::Upsert(self.read(id, e)))
                .collect(),
            Some(from) => s
                .feed
                .iter()
                .filter(|(seq, id)| *seq > from && !s.unindexed.contains(id))
                .map(|(_, id)| match s.live.get(id) {
                    Some(e) => RemoteChange::Upsert(self.read(id, e)),
                    None => RemoteChange::Removed { id: id.clone() },
                })
                .collect(),
        };
        Ok(Pull {
            changes,
            checkpoint: s.seq.to_string(),
            complete: from.is_none(),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<RemoteItem>, SideError> {
        let mut s = self.state.lock().unwrap();
        s.requests += 1;
        Ok(s.live.get(id).map(|e| self.remote(id, e)))
    }

    async fn find_by_twin(&self, twin_id: &str) -> Result<Option<RemoteItem>, SideError> {
        let mut s = self.state.lock().unwrap();
        s.requests += 1;
        Ok(s.live
            .iter()
            .filter(|(id, _)| !s.unindexed.contains(*id))
            .find(|(_, e)| e.key.as_deref() == Some(twin_id) || e.twin.as_deref() == Some(twin_id))
            .map(|(id, e)| self.remote(id, e)))
    }

    async fn recorded_twins(&self) -> Result<Option<Vec<(String, String)>>, SideError> {
        if self.twins_in_reads() {
            return Ok(None);
        }
        let mut s = self.state.lock().unwrap();
        s.requests += 1;
        Ok(Some(
            s.live
                .iter()
                .filter(|(id, _)| !s.unindexed.contains(*id))
                .filter_map(|(id, e)| {
                    Some((id.clone(), twin_of_key(e.twin.as_deref()?).to_owned()))
                })
                .collect(),
        ))
    }

    async fn apply(&self, writes: Vec<RemoteWrite>) -> Vec<WriteOutcome> {
        let mut s = self.state.lock().unwrap();
        let now = self.clock.now();
        writes
            .into_iter()
            .map(|write| {
                s.requests += 1;
                if s.fail_writes > 0 {
                    s.fail_writes -= 1;
                    return WriteOutcome::Failed(SideError::Erp(ErpError::Throttled {
                        status: 429,
                        until: now + chrono::Duration::minutes(1),
                    }));
                }
                match write {
                    RemoteWrite::Create {
                        idempotency_key,
                        item,
                    } => {
                        if let Some((id, e)) = s
                            .live
                            .iter()
                            .find(|(_, e)| e.key.as_deref() == Some(&idempotency_key))
                        {
                            return WriteOutcome::Done(Some(self.remote(id, e)));
                        }
                        s.next_id += 1;
                        let id = format!("{:?}-{}", self.side, s.next_id);
                        let entry = Entry {
                            item,
                            version: 1,
                            modified: now,
                            read_only: false,
                            twin: Some(twin_of_key(&idempotency_key).to_owned()),
                            key: Some(idempotency_key),
                            conflict_marked: false,
                        };
                        let remote = self.remote(&id, &entry);
                        s.live.insert(id.clone(), entry);
                        Self::touch(&mut s, &id);
                        WriteOutcome::Done(Some(remote))
                    }
                    RemoteWrite::Update {
                        id, fields, item, ..
                    } => {
                        let Some(e) = s.live.get_mut(&id) else {
                            return WriteOutcome::Missing;
                        };
                        if e.read_only {
                            return read_only_refusal();
                        }
                        copy_fields(&mut e.item, &item, &fields);
                        e.version += 1;
                        e.modified = now;
                        let remote = self.remote(&id, &s.live[&id].clone());
                        Self::touch(&mut s, &id);
                        WriteOutcome::Done(Some(remote))
                    }
                    RemoteWrite::Remove { id } => {
                        if s.live.remove(&id).is_none() {
                            return WriteOutcome::Missing;
                        }
                        s.removed.push(id.clone());
                        Self::touch(&mut s, &id);
                        WriteOutcome::Done(None)
                    }
                    RemoteWrite::Link { id, twin } => {
                        let Some(e) = s.live.get_mut(&id) else {
                            return WriteOutcome::Missing;
                        };
                        if e.read_only {
                            return read_only_refusal();
                        }
                        e.twin = Some(twin);
                        e.version += 1;
                        Self::touch(&mut s, &id);
                        WriteOutcome::Done(None)
                    }
                    RemoteWrite::MarkConflict { id } => {
                        let Some(e) = s.live.get_mut(&id) else {
                            return WriteOutcome::Missing;
                        };
                        e.conflict_marked = true;
                        e.version += 1;
                        Self::touch(&mut s, &id);
                        WriteOutcome::Done(None)
                    }
                }
            })
            .collect()
    }

    fn requests(&self) -> u64 {
        self.state.lock().unwrap().requests
    }
}
