//! What the calendar job keeps in the store between runs, and under which keys.
//!
//! - `cal/{user}/a/{activity id}`: the [`Link`] of an activity and its event (the status table);
//! - `cal/{user}/e/{event id}`: the activity id linked to an event (index);
//! - `cal/{user}/checkpoint`: the [`Checkpoint`] of both sides;
//! - `cal/{user}/pending/{activity id}`: an Outlook create sent but not yet recorded, so a run
//!   that died in between finds the event instead of creating it again.
//! - `cal/{user}/unconfirmed/{event id}`: an event we created after the read whose delta link
//!   is the stored checkpoint, so that delta link may never mention it again (not even its
//!   deletion); such events are looked up by id until a committed checkpoint covers them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::{Expect, Store, StoreError, Versioned, WriteBatch};
use crate::model::{CalendarItem, ContentHash};

/// One activity linked to one event, with the content both had when last in step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub activity_id: String,
    pub event_id: String,
    /// The mapped fields as both sides held them after the last sync.
    pub snapshot: CalendarItem,
    pub activity_version: String,
    pub event_version: String,
    /// The activity is Released or Closed: ERP.net refuses changes to it.
    pub read_only: bool,
    /// The Outlook content whose conflict with the read-only activity was already marked and
    /// logged, so it is reported once, not on every run.
    pub conflict_marked: Option<ContentHash>,
}

/// Where each side's reading resumes, and what Home shows of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Graph's delta link for `window_start`.
    pub outlook: Option<String>,
    /// ERP.net's watermark.
    pub erp: Option<String>,
    /// The window the delta link belongs to; another window means a clean re-read.
    pub window_start: Option<DateTime<Utc>>,
    pub latest_sync: Option<DateTime<Utc>>,
    /// When Outlook's changes were last read completely up to its checkpoint.
    pub remote_checkpoint: Option<DateTime<Utc>>,
    /// When ERP.net's changes were last read completely up to its checkpoint.
    pub local_checkpoint: Option<DateTime<Utc>>,
}

pub(crate) struct Keys<'a> {
    user: &'a str,
}

impl<'a> Keys<'a> {
    pub fn new(user: &'a str) -> Self {
        Self { user }
    }

    pub fn link(&self, activity_id: &str) -> String {
        format!("cal/{}/a/{activity_id}", self.user)
    }

    pub fn links_prefix(&self) -> String {
        format!("cal/{}/a/", self.user)
    }

    pub fn event_index(&self, event_id: &str) -> String {
        format!("cal/{}/e/{event_id}", self.user)
    }

    pub fn checkpoint(&self) -> String {
        format!("cal/{}/checkpoint", self.user)
    }

    pub fn pending(&self, activity_id: &str) -> String {
        format!("cal/{}/pending/{activity_id}", self.user)
    }

    pub fn pending_prefix(&self) -> String {
        format!("cal/{}/pending/", self.user)
    }

    pub fn unconfirmed(&self, event_id: &str) -> String {
        format!("cal/{}/unconfirmed/{event_id}", self.user)
    }

    pub fn unconfirmed_prefix(&self) -> String {
        format!("cal/{}/unconfirmed/", self.user)
    }
}

/// A link as read, with the store version to write it back against.
#[derive(Debug, Clone)]
pub(crate) struct StoredLink {
    pub link: Link,
    pub version: u64,
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, v: &Versioned) -> Result<T, StoreError> {
    serde_json::from_slice(&v.value)
        .map_err(|_| StoreError::Backend(format!("unreadable record at {key}")))
}

pub(crate) async fn load_link(
    store: &dyn Store,
    keys: &Keys<'_>,
    activity_id: &str,
) -> Result<Option<StoredLink>, StoreError> {
    let key = keys.link(activity_id);
    match store.get(&key).await? {
        Some(v) => Ok(Some(StoredLink {
            link: decode(&key, &v)?,
            version: v.version,
        })),
        None => Ok(None),
    }
}

pub(crate) async fn activity_of_event(
    store: &dyn Store,
    keys: &Keys<'_>,
    event_id: &str,
) -> Result<Option<String>, StoreError> {
    let key = keys.event_index(event_id);
    match store.get(&key).await? {
        Some(v) => Ok(Some(decode(&key, &v)?)),
        None => Ok(None),
    }
}

pub(crate) async fn all_links(
    store: &dyn Store,
    keys: &Keys<'_>,
) -> Result<Vec<StoredLink>, StoreError> {
    store
        .scan(&keys.links_prefix())
        .await?
        .into_iter()
        .map(|(key, v)| {
            Ok(StoredLink {
                link: decode(&key, &v)?,
                version: v.version,
            })
        })
        .collect()
}

pub(crate) async fn load_checkpoint(
    store: &dyn Store,
    keys: &Keys<'_>,
) -> Result<(Checkpoint, Expect), StoreError> {
    let key = keys.checkpoint();
    match store.get(&key).await? {
        Some(v) => Ok((decode(&key, &v)?, Expect::Version(v.version))),
        None => Ok((Checkpoint::default(), Expect::Absent)),
    }
}

/// Reads a user's checkpoint for Home.
pub async fn checkpoint(store: &dyn Store, user: &str) -> Result<Checkpoint, StoreError> {
    Ok(load_checkpoint(store, &Keys::new(user)).await?.0)
}

pub(crate) fn put_link(
    batch: WriteBatch,
    keys: &Keys<'_>,
    link: &Link,
    expect: Expect,
) -> WriteBatch {
    let value = serde_json::to_vec(link).expect("a link serializes");
    let index = serde_json::to_vec(&link.activity_id).expect("an id serializes");
    batch.put(keys.link(&link.activity_id), value, expect).put(
        keys.event_index(&link.event_id),
        index,
        Expect::Any,
    )
}

pub(crate) fn delete_link(
    batch: WriteBatch,
    keys: &Keys<'_>,
    link: &Link,
    expect: Expect,
) -> WriteBatch {
    batch
        .delete(keys.link(&link.activity_id), expect)
        .delete(keys.event_index(&link.event_id), Expect::Any)
}
