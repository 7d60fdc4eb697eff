//! Change-notification subscriptions as engine state, like checkpoints: one per (user, job),
//! with its `clientState` sealed, an index from Graph's subscription id back to the (user, job)
//! a notification names, and the "notified" marks that make a (user, job) due now.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::host::{Expect, Store, StoreError, Versioned, WriteBatch};

/// Where a subscription stands, as the lifecycle notifications tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    Live,
    /// `reauthorizationRequired`: notifications pause until it is renewed.
    ReauthorizationRequired,
    /// `subscriptionRemoved`: Graph dropped it; create a new one, then read the delta.
    Removed,
}

/// One (user, job)'s subscription in Graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub id: String,
    pub expires: DateTime<Utc>,
    /// The `clientState`, sealed with the host's key (context: the record's key).
    pub sealed_client_state: Vec<u8>,
    pub state: SubscriptionState,
    pub created: DateTime<Utc>,
    pub renewals: u32,
}

/// Why the last attempt to subscribe failed, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeFailure {
    pub at: DateTime<Utc>,
    pub reason: String,
    pub retry_at: DateTime<Utc>,
}

/// The stored slot of a (user, job).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSlot {
    pub current: Option<SubscriptionRecord>,
    pub failure: Option<SubscribeFailure>,
}

impl SubscriptionSlot {
    /// Live and not past its expiry: Graph notifies this (user, job)'s changes.
    pub fn live_at(&self, now: DateTime<Utc>) -> Option<&SubscriptionRecord> {
        self.current
            .as_ref()
            .filter(|r| r.state == SubscriptionState::Live && r.expires > now)
    }
}

/// A notification made this (user, job) due at `at`; a burst rewrites the same mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedMark {
    pub at: DateTime<Utc>,
}

pub fn slot_key(job: &str, user: &str) -> String {
    format!("subscription/{job}/{user}")
}

fn index_key(subscription_id: &str) -> String {
    format!("subscription-id/{subscription_id}")
}

const NOTIFIED_PREFIX: &str = "notified/";

fn notified_key(job: &str, user: &str) -> String {
    format!("{NOTIFIED_PREFIX}{job}/{user}")
}

fn unreadable() -> StoreError {
    StoreError::Backend("a stored subscription is unreadable".into())
}

pub async fn load_slot(
    store: &dyn Store,
    job: &str,
    user: &str,
) -> Result<(SubscriptionSlot, Expect), StoreError> {
    match store.get(&slot_key(job, user)).await? {
        Some(v) => Ok((
            serde_json::from_slice(&v.value).map_err(|_| unreadable())?,
            Expect::Version(v.version),
        )),
        None => Ok((SubscriptionSlot::default(), Expect::Absent)),
    }
}

/// Writes the slot and keeps the id index in step: `previous_id` (the id the slot named when
/// read) loses its index entry when the slot names another one now.
pub fn put_slot(
    mut batch: WriteBatch,
    job: &str,
    user: &str,
    slot: &SubscriptionSlot,
    expect: Expect,
    previous_id: Option<&str>,
) -> WriteBatch {
    let current_id = slot.current.as_ref().map(|r| r.id.as_str());
    if let Some(old) = previous_id
        && Some(old) != current_id
    {
        batch = batch.delete(index_key(old), Expect::Any);
    }
    if let Some(id) = current_id
        && Some(id) != previous_id
    {
        batch = batch.put(index_key(id), format!("{job}/{user}"), Expect::Any);
    }
    batch.put(
        slot_key(job, user),
        serde_json::to_vec(slot).expect("a subscription serializes"),
        expect,
    )
}

/// The (job, user) a subscription id belongs to.
pub async fn owner_of(
    store: &dyn Store,
    subscription_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let Some(v) = store.get(&index_key(subscription_id)).await? else {
        return Ok(None);
    };
    let text = String::from_utf8(v.value).map_err(|_| unreadable())?;
    Ok(text
        .split_once('/')
        .map(|(job, user)| (job.to_owned(), user.to_owned())))
}

pub fn put_notified(batch: WriteBatch, job: &str, user: &str, at: DateTime<Utc>) -> WriteBatch {
    batch.put(
        notified_key(job, user),
        serde_json::to_vec(&NotifiedMark { at }).expect("a mark serializes"),
        Expect::Any,
    )
}

/// The mark's version, read before a run, so the run clears only the notifications it saw.
pub async fn notified_version(
    store: &dyn Store,
    job: &str,
    user: &str,
) -> Result<Option<u64>, StoreError> {
    Ok(store
        .get(&notified_key(job, user))
        .await?
        .map(|v| v.version))
}

/// Clears the mark a run started with; one rewritten since (a notification during the run)
/// stays, so the (user, job) runs again.
pub async fn clear_notified(
    store: &dyn Store,
    job: &str,
    user: &str,
    version: u64,
) -> Result<(), StoreError> {
    match store
        .commit(WriteBatch::new().delete(notified_key(job, user), Expect::Version(version)))
        .await
    {
        Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every mark: `(job, user, at)`.
pub async fn all_notified(
    store: &dyn Store,
) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
    let mut out = Vec::new();
    for (key, Versioned { value, .. }) in store.scan(NOTIFIED_PREFIX).await? {
        let Some((job, user)) = key[NOTIFIED_PREFIX.len()..].split_once('/') else {
            continue;
        };
        if let Ok(mark) = serde_json::from_slice::<NotifiedMark>(&value) {
            out.push((job.to_owned(), user.to_owned(), mark.at));
        }
    }
    Ok(out)
}
