//! How the connector authenticates to the Domain API.
//!
//! - Stand-alone: a Trusted Application's client credentials at `<instance>/id/connect/token`
//!   ([`ClientCredentials`]), or a personal access token (`identity::StaticToken`).
//! - Inside the ERP.net host: no token at all, the host's HTTP callback authenticates.

use std::sync::Arc;
use std::time::Duration;

use async_lock::Mutex;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::ErpError;
use super::wire;
use crate::host::{Clock, HttpClient, HttpRequest, Method, RetryPolicy, send_with_retry};
use crate::identity::{TokenError, TokenSource};

/// Where the connector's bearer token comes from.
#[derive(Clone)]
pub enum ErpAuth {
    /// `Authorization: Bearer <token>` from this source; a 401 invalidates it and retries once.
    Bearer(Arc<dyn TokenSource>),
    /// The host's HTTP callback authenticates (MsSync running inside ERP.net).
    Host,
}

/// A token is fetched again once less than this is left of its life, so a request never leaves
/// with a token about to expire on the way.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The scope MsSync asks for: reading and writing activities and reference data.
pub const SCOPE: &str = wire::SCOPE;

/// A Trusted Application's client credentials (`client_id` is its ApplicationUri).
pub struct ClientCredentials {
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    token_url: String,
    client_id: String,
    client_secret: String,
    retry: RetryPolicy,
    /// The current token and when it expires; the lock also makes concurrent callers share one
    /// fetch instead of each asking the identity server.
    cached: Mutex<Option<(String, DateTime<Utc>)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: String,
}

impl ClientCredentials {
    /// `identity_base` is the instance's identity server, e.g. `https://acme.my.erp.net/id/`.
    pub fn new(
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
        identity_base: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            http,
            clock,
            token_url: format!(
                "{}{}",
                identity_base.trim_end_matches('/'),
                wire::TOKEN_PATH
            ),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            retry: RetryPolicy::default(),
            cached: Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<(String, DateTime<Utc>), ErpError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair(wire::GRANT_TYPE, wire::CLIENT_CREDENTIALS)
            .append_pair(wire::CLIENT_ID, &self.client_id)
            .append_pair(wire::CLIENT_SECRET, &self.client_secret)
            .append_pair(wire::SCOPE_PARAM, SCOPE)
            .finish();
        let mut request = HttpRequest::new(Method::Post, &self.token_url)
            .header(wire::CONTENT_TYPE, wire::FORM)
            .header(wire::ACCEPT, wire::JSON);
        request.body = body.into_bytes();
        let response = send_with_retry(&*self.http, &*self.clock, &self.retry, request).await?;
        if !response.is_success() {
            return Err(
                match serde_json::from_slice::<TokenErrorResponse>(&response.body) {
                    // OAuth error names (invalid_client, unauthorized_client...) are fixed words, safe to keep.
                    Ok(e) if response.status == 400 || response.status == 401 => {
                        ErpError::InvalidClient {
                            error: e
                                .error
                                .chars()
                                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                                .collect(),
                        }
                    }
                    _ => ErpError::from_response(&response),
                },
            );
        }
        let token: TokenResponse = serde_json::from_slice(&response.body)
            .map_err(|_| ErpError::Malformed("token response".into()))?;
        // ERP.net's access tokens live one hour; assume so when the server does not say.
        // At most a day is believed: the number is the server's.
        let lifetime = std::time::Duration::from_secs(token.expires_in.unwrap_or(3600))
            .min(crate::host::MAX_TOKEN_LIFETIME);
        Ok((
            token.access_token,
            crate::host::later_by(self.clock.now(), lifetime),
        ))
    }
}

#[async_trait(?Send)]
impl TokenSource for ClientCredentials {
    async fn token(&self) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).expect("small duration");
        if let Some((token, expires)) = cached.as_ref()
            && self.clock.now() + margin < *expires
        {
            return Ok(token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.0.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn invalidate(&self, rejected: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|(t, _)| t == rejected) {
            *cached = None;
        }
    }
}
