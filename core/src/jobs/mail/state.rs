//! What the Mail job keeps in the store between runs, and under which keys.
//!
//! - `mail/{user}/checkpoint`: the [`MailCheckpoint`]: the mailbox, the folder tree as last
//!   read with each folder's ERP.net twin and Graph delta link, and where ERP.net's reading
//!   resumes;
//! - `mail/{user}/m/{message id}`: the [`MessageLink`] of an Outlook message (immutable id) and
//!   its ERP.net message;
//! - `mail/{user}/e/{ERP.net message id}`: the Outlook id linked to an ERP.net message (index);
//! - `mail/{user}/pending/{message id}`: a [`Pending`] write, recorded before it is sent, so that a
//!   run that dies before its commit leaves the next one able to tell the echo of its own write
//!   from a person's change.
//!
//! The delta links live here rather than in `BoxFolders.SyncState`: they advance in the same
//! fenced commit as the links they cover, which a second service cannot give.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::{Expect, Store, StoreError, Versioned, WriteBatch};

/// An Outlook folder as the job last read it, and its ERP.net twin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderState {
    pub name: String,
    pub parent: Option<String>,
    /// The BoxFolder it is kept in; none for folders out of scope (Junk Email, Archive, ...).
    pub erp_folder: Option<String>,
    /// The name and parent the ERP.net folder was last given (to notice renames and moves).
    pub erp_name: Option<String>,
    pub erp_parent: Option<String>,
    /// The folder's message delta link; none until its first round completes.
    pub delta_link: Option<String>,
}

/// Where each side's reading resumes, and what Home shows of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailCheckpoint {
    /// The default mailbox the folders belong to; another box means a fresh start.
    pub mail_box: Option<String>,
    /// Outlook's well-known folders by name (`inbox`, `deleteditems`, ...) to their ids.
    pub well_known: BTreeMap<String, String>,
    /// The folder tree's delta link.
    pub folder_delta: Option<String>,
    /// Every Outlook folder the folder delta reported, by id.
    pub folders: BTreeMap<String, FolderState>,
    /// The first sync's start: messages received before it are not copied.
    pub since: Option<DateTime<Utc>>,
    /// ERP.net messages changed at or after this were not read yet.
    pub erp_since: Option<DateTime<Utc>>,
    pub latest_sync: Option<DateTime<Utc>>,
    pub remote_checkpoint: Option<DateTime<Utc>>,
    pub local_checkpoint: Option<DateTime<Utc>>,
}

/// One Outlook message linked to one ERP.net message, with the state both had when last in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLink {
    pub message_id: String,
    pub erp_id: String,
    /// The Outlook folder the message was last seen in.
    pub folder: String,
    pub is_read: bool,
    /// The message left Outlook (deleted for good, or moved out of the synced folders) and its
    /// ERP.net twin was moved to Trash.
    #[serde(default)]
    pub gone: bool,
    /// The fingerprint ([`super::map::content_hash`]) of the content last written to ERP.net;
    /// none when unknown (a row adopted after a lost store).
    #[serde(default)]
    pub content: Option<String>,
}

/// What a run creates in ERP.net for an Outlook message: the state both sides then share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    pub folder: String,
    pub is_read: bool,
    #[serde(default)]
    pub content: Option<String>,
}

/// A create, read states and a move a run is about to write, by side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The ERP.net row being created: the base a later run adopts it with.
    #[serde(default)]
    pub created: Option<Created>,
    pub erp_read: Option<bool>,
    pub outlook_read: Option<bool>,
    /// The Outlook folder the message is being moved to (Deleted Items).
    pub outlook_folder: Option<String>,
}

pub(crate) struct Keys<'a> {
    user: &'a str,
}

impl<'a> Keys<'a> {
    pub fn new(user: &'a str) -> Self {
        Self { user }
    }

    pub fn checkpoint(&self) -> String {
        format!("mail/{}/checkpoint", self.user)
    }

    pub fn link(&self, message_id: &str) -> String {
        format!("mail/{}/m/{message_id}", self.user)
    }

    pub fn links_prefix(&self) -> String {
        format!("mail/{}/m/", self.user)
    }

    pub fn erp_index(&self, erp_id: &str) -> String {
        format!("mail/{}/e/{erp_id}", self.user)
    }

    pub fn pending(&self, message_id: &str) -> String {
        format!("mail/{}/pending/{message_id}", self.user)
    }

    pub fn pending_prefix(&self) -> String {
        format!("mail/{}/pending/", self.user)
    }
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, v: &Versioned) -> Result<T, StoreError> {
    serde_json::from_slice(&v.value)
        .map_err(|_| StoreError::Backend(format!("unreadable record at {key}")))
}

pub(crate) async fn load_checkpoint(
    store: &dyn Store,
    keys: &Keys<'_>,
) -> Result<(MailCheckpoint, Expect), StoreError> {
    let key = keys.checkpoint();
    match store.get(&key).await? {
        Some(v) => Ok((decode(&key, &v)?, Expect::Version(v.version))),
        None => Ok((MailCheckpoint::default(), Expect::Absent)),
    }
}

/// Every link of the user, by Outlook id.
pub(crate) async fn all_links(
    store: &dyn Store,
    keys: &Keys<'_>,
) -> Result<BTreeMap<String, MessageLink>, StoreError> {
    store
        .scan(&keys.links_prefix())
        .await?
        .into_iter()
        .map(|(key, v)| {
            let link: MessageLink = decode(&key, &v)?;
            Ok((link.message_id.clone(), link))
        })
        .collect()
}

/// The writes runs recorded and never committed, by Outlook id.
pub(crate) async fn all_pending(
    store: &dyn Store,
    keys: &Keys<'_>,
) -> Result<BTreeMap<String, Pending>, StoreError> {
    let prefix = keys.pending_prefix();
    store
        .scan(&prefix)
        .await?
        .into_iter()
        .map(|(key, v)| Ok((key[prefix.len()..].to_owned(), decode(&key, &v)?)))
        .collect()
}

pub(crate) fn put_link(batch: WriteBatch, keys: &Keys<'_>, link: &MessageLink) -> WriteBatch {
    let value = serde_json::to_vec(link).expect("a link serializes");
    let index = serde_json::to_vec(&link.message_id).expect("an id serializes");
    batch
        .put(keys.link(&link.message_id), value, Expect::Any)
        .put(keys.erp_index(&link.erp_id), index, Expect::Any)
}

/// Home's view of the job's progress for a user.
pub async fn progress(store: &dyn Store, user: &str) -> Result<crate::jobs::Progress, StoreError> {
    let (c, _) = load_checkpoint(store, &Keys::new(user)).await?;
    Ok(crate::jobs::Progress {
        latest_sync: c.latest_sync,
        remote_checkpoint: c.remote_checkpoint,
        local_checkpoint: c.local_checkpoint,
    })
}
