//! Change-notification subscriptions on the mailbox's events: create, renew, reauthorize,
//! delete (N-post, N-upd, N-del, N-life in `wire`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;

use super::client::{GraphClient, Prefer};
use super::error::GraphError;
use super::wire::{change_type, path, subscription};
use crate::host::Method;

/// What a new subscription asks for.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub notification_url: &'a str,
    pub lifecycle_notification_url: &'a str,
    pub expiration: DateTime<Utc>,
    /// At most [`subscription::MAX_CLIENT_STATE_CHARS`] characters.
    pub client_state: &'a str,
}

/// A subscription as Graph answered its create or renewal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscriptionInfo {
    #[serde(rename = "id")]
    pub id: String,
    #[serde(rename = "expirationDateTime")]
    pub expiration: DateTime<Utc>,
}

/// Graph's date-time form for `expirationDateTime` (N-post sample: seven fractional digits are
/// accepted; whole seconds with `Z` are RFC 3339 too).
fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl GraphClient {
    /// `POST /subscriptions` on this mailbox's events for created, updated and deleted. Graph
    /// first runs the validation handshake against both URLs; a failed one is a 400.
    pub async fn create_subscription(
        &self,
        new: &NewSubscription<'_>,
    ) -> Result<SubscriptionInfo, GraphError> {
        if new.client_state.chars().count() > subscription::MAX_CLIENT_STATE_CHARS {
            return Err(GraphError::InvalidRequest("clientState too long".into()));
        }
        let body = json!({
            subscription::CHANGE_TYPE: change_type::ALL.join(","),
            subscription::NOTIFICATION_URL: new.notification_url,
            subscription::LIFECYCLE_NOTIFICATION_URL: new.lifecycle_notification_url,
            subscription::RESOURCE: format!("{}/{}", self.mailbox_path(), path::EVENTS),
            subscription::EXPIRATION_DATE_TIME: graph_time(new.expiration),
            subscription::CLIENT_STATE: new.client_state,
        });
        let url = self.service_url(&[subscription::PATH]);
        self.execute_json(self.request(Method::Post, url, Some(&body), Prefer::IdsOnly))
            .await
    }

    /// `PATCH /subscriptions/{id}` with a new expiry; this also reauthorizes it (N-life).
    pub async fn renew_subscription(
        &self,
        id: &str,
        expiration: DateTime<Utc>,
    ) -> Result<SubscriptionInfo, GraphError> {
        let body = json!({ subscription::EXPIRATION_DATE_TIME: graph_time(expiration) });
        let url = self.service_url(&[subscription::PATH, id]);
        self.execute_json(self.request(Method::Patch, url, Some(&body), Prefer::IdsOnly))
            .await
    }

    /// `DELETE /subscriptions/{id}`; one Graph no longer has is gone already.
    pub async fn delete_subscription(&self, id: &str) -> Result<(), GraphError> {
        let url = self.service_url(&[subscription::PATH, id]);
        match self
            .execute(self.request(Method::Delete, url, None, Prefer::IdsOnly))
            .await
        {
            Ok(_) | Err(GraphError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
