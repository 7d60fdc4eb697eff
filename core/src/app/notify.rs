//! Notifications for the host to deliver, like the original's "MS Sync experienced an error".
//! Queued in the store (so any node may deliver them) and taken once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::App;
use crate::error::PublicError;
use crate::host::{Expect, Store, StoreError, WriteBatch};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub at: DateTime<Utc>,
    pub user_id: String,
    pub title: String,
    pub text: String,
}

const PREFIX: &str = "notify/";

/// Adds `notification` to `batch` under a key that sorts by time.
pub(crate) fn queue(batch: WriteBatch, notification: &Notification) -> WriteBatch {
    let key = format!(
        "{PREFIX}{:015}/{}",
        notification.at.timestamp_millis().max(0),
        notification.user_id
    );
    batch.put(
        key,
        serde_json::to_vec(notification).expect("a notification serializes"),
        Expect::Any,
    )
}

pub(crate) async fn take(store: &dyn Store, max: usize) -> Result<Vec<Notification>, PublicError> {
    let mut taken = Vec::new();
    for (key, v) in store.scan(PREFIX).await?.into_iter().take(max) {
        // Deleting against the version read makes each notification delivered once, even with
        // several nodes taking at the same time.
        match store
            .commit(WriteBatch::new().delete(&key, Expect::Version(v.version)))
            .await
        {
            Ok(()) => {
                if let Ok(n) = serde_json::from_slice(&v.value) {
                    taken.push(n);
                }
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(taken)
}

impl App {
    /// Notifications waiting for the host to deliver, oldest first; taken ones are removed.
    pub async fn take_notifications(&self, max: usize) -> Result<Vec<Notification>, PublicError> {
        take(self.host.store.as_ref(), max).await
    }
}
