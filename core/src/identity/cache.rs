//! Token sources backed by the store: access tokens reused until shortly before expiry, refresh
//! tokens rotated on use, pending sign-ins kept between the two legs — all sealed at rest.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};

use super::error::IdentityError;
use super::oauth::{EntraClient, PendingSignIn, TokenSet};
use super::seal::Sealer;
use super::token_source::{TokenError, TokenSource};
use crate::error::PublicError;
use crate::host::{Clock, Expect, Store, StoreError, WriteBatch};

/// A cached token is not handed out when it expires sooner than this.
pub const REFRESH_MARGIN: ChronoDuration = ChronoDuration::minutes(5);

#[derive(Serialize, Deserialize)]
struct CachedToken {
    access_token: String,
    expires_at: DateTime<Utc>,
}

/// Reads and writes sealed values, the store key bound in as context.
#[derive(Clone)]
struct SealedStore {
    store: Arc<dyn Store>,
    sealer: Sealer,
}

impl SealedStore {
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<Option<(T, u64)>, IdentityError> {
        let Some(stored) = self.store.get(key).await? else {
            return Ok(None);
        };
        let plain = self.sealer.open(key.as_bytes(), &stored.value)?;
        let value = serde_json::from_slice(&plain).map_err(|_| IdentityError::MalformedResponse)?;
        Ok(Some((value, stored.version)))
    }

    fn put<T: Serialize>(
        &self,
        batch: WriteBatch,
        key: &str,
        value: &T,
        expect: Expect,
    ) -> Result<WriteBatch, IdentityError> {
        let plain = serde_json::to_vec(value).expect("token records serialize");
        Ok(batch.put(key, self.sealer.seal(key.as_bytes(), &plain)?, expect))
    }
}

fn usable(cached: &CachedToken, now: DateTime<Utc>) -> bool {
    cached.expires_at - REFRESH_MARGIN > now
}

/// Application-mode tokens (client credentials) for one scope, cached in the store.
pub struct AppTokenSource {
    client: Arc<EntraClient>,
    sealed: SealedStore,
    clock: Arc<dyn Clock>,
    scope: String,
    key: String,
}

impl AppTokenSource {
    pub fn new(
        client: Arc<EntraClient>,
        store: Arc<dyn Store>,
        sealer: Sealer,
        clock: Arc<dyn Clock>,
        scope: impl Into<String>,
    ) -> Self {
        let scope = scope.into();
        let app = client.app();
        let key = format!(
            "identity/app-token/{}/{}/{}",
            app.tenant, app.client_id, scope
        );
        Self {
            client,
            sealed: SealedStore { store, sealer },
            clock,
            scope,
            key,
        }
    }

    async fn fetch(&self) -> Result<String, IdentityError> {
        if let Some((cached, _)) = self.sealed.get::<CachedToken>(&self.key).await?
            && usable(&cached, self.clock.now())
        {
            return Ok(cached.access_token);
        }
        let tokens = self.client.client_credentials(&self.scope).await?;
        let record = CachedToken {
            access_token: tokens.access_token,
            expires_at: tokens.expires_at,
        };
        let batch = self
            .sealed
            .put(WriteBatch::new(), &self.key, &record, Expect::Any)?;
        self.sealed.store.commit(batch).await?;
        Ok(record.access_token)
    }
}

#[async_trait(?Send)]
impl TokenSource for AppTokenSource {
    async fn token(&self) -> Result<String, TokenError> {
        Ok(self.fetch().await?)
    }

    async fn invalidate(&self, rejected: &str) {
        forget_if_same(&self.sealed, &self.key, rejected).await;
    }
}

/// Deletes the cached access token under `key` if it is `rejected` (a 401 answered it).
async fn forget_if_same(sealed: &SealedStore, key: &str, rejected: &str) {
    if let Ok(Some((cached, version))) = sealed.get::<CachedToken>(key).await
        && cached.access_token == rejected
    {
        // A conflict means someone already replaced it: nothing to do.
        let _ = sealed
            .store
            .commit(WriteBatch::new().delete(key, Expect::Version(version)))
            .await;
    }
}

/// Delegated-mode tokens of one user: the refresh token from sign-in, rotated on every use.
pub struct DelegatedTokenSource {
    client: Arc<EntraClient>,
    sealed: SealedStore,
    clock: Arc<dyn Clock>,
    scopes: Vec<String>,
    refresh_key: String,
    access_key: String,
}

impl DelegatedTokenSource {
    /// `user` is the store's key for the user (for example the ERP.net user id).
    pub fn new(
        client: Arc<EntraClient>,
        store: Arc<dyn Store>,
        sealer: Sealer,
        clock: Arc<dyn Clock>,
        user: &str,
        scopes: Vec<String>,
    ) -> Self {
        Self {
            client,
            sealed: SealedStore { store, sealer },
            clock,
            scopes,
            refresh_key: format!("identity/users/{user}/refresh-token"),
            access_key: format!("identity/users/{user}/access-token"),
        }
    }

    /// Keeps the tokens of a completed sign-in (sealed).
    pub async fn save(&self, tokens: &TokenSet) -> Result<(), PublicError> {
        let refresh = tokens
            .refresh_token
            .as_ref()
            .ok_or(IdentityError::MalformedResponse)?;
        let batch = self.batch_for(tokens, refresh, Expect::Any)?;
        self.sealed
            .store
            .commit(batch)
            .await
            .map_err(IdentityError::from)?;
        Ok(())
    }

    fn batch_for(
        &self,
        tokens: &TokenSet,
        refresh: &str,
        refresh_expect: Expect,
    ) -> Result<WriteBatch, IdentityError> {
        let access = CachedToken {
            access_token: tokens.access_token.clone(),
            expires_at: tokens.expires_at,
        };
        let batch = self.sealed.put(
            WriteBatch::new(),
            &self.refresh_key,
            &refresh.to_owned(),
            refresh_expect,
        )?;
        self.sealed
            .put(batch, &self.access_key, &access, Expect::Any)
    }

    async fn fetch(&self) -> Result<String, IdentityError> {
        if let Some((cached, _)) = self.sealed.get::<CachedToken>(&self.access_key).await?
            && usable(&cached, self.clock.now())
        {
            return Ok(cached.access_token);
        }
        let (refresh, version) = self
            .sealed
            .get::<String>(&self.refresh_key)
            .await?
            .ok_or(IdentityError::InvalidGrant)?;
        let tokens = self.client.refresh(&refresh, &self.scopes).await?;
        // Entra rotates refresh tokens; one that comes back without a new one keeps the old.
        let next_refresh = tokens.refresh_token.clone().unwrap_or(refresh);
        let batch = self.batch_for(&tokens, &next_refresh, Expect::Version(version))?;
        match self.sealed.store.commit(batch).await {
            Ok(()) => Ok(tokens.access_token),
            // Another node rotated the same refresh token first; its result is in the store, and
            // our access token is valid anyway.
            Err(StoreError::Conflict { .. }) => Ok(tokens.access_token),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait(?Send)]
impl TokenSource for DelegatedTokenSource {
    async fn token(&self) -> Result<String, TokenError> {
        Ok(self.fetch().await?)
    }

    async fn invalidate(&self, rejected: &str) {
        forget_if_same(&self.sealed, &self.access_key, rejected).await;
    }
}

/// How long a started sign-in may take before its redirect back is refused.
pub const SIGN_IN_LIFETIME: ChronoDuration = ChronoDuration::minutes(15);
const PENDING_PREFIX: &str = "identity/pending-sign-in/";

#[derive(Serialize, Deserialize)]
struct PendingRecord {
    pending: PendingSignIn,
    started_at: DateTime<Utc>,
    /// SHA-256 of the host's binding of the browser session that began the sign-in; the
    /// sign-in completes only in that session.
    #[serde(default)]
    binding: String,
}

/// What a pending sign-in keeps of the host's session binding.
fn binding_digest(binding: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(binding.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Keeps [`PendingSignIn`]s sealed in the store between the redirect out and the redirect back,
/// so any host node can finish a sign-in another one started. Each is taken once, within
/// [`SIGN_IN_LIFETIME`].
pub struct SignInStore {
    sealed: SealedStore,
    clock: Arc<dyn Clock>,
}

impl SignInStore {
    pub fn new(store: Arc<dyn Store>, sealer: Sealer, clock: Arc<dyn Clock>) -> Self {
        Self {
            sealed: SealedStore { store, sealer },
            clock,
        }
    }

    fn key(state: &str) -> String {
        // The state is random and URL-safe; it names the record.
        format!("{PENDING_PREFIX}{state}")
    }

    /// Keeps `pending`, bound to the host's `binding` of the browser session that began it.
    pub async fn put(&self, pending: &PendingSignIn, binding: &str) -> Result<(), PublicError> {
        let record = PendingRecord {
            pending: pending.clone(),
            started_at: self.clock.now(),
            binding: binding_digest(binding),
        };
        let batch = self.sealed.put(
            WriteBatch::new(),
            &Self::key(&pending.state),
            &record,
            Expect::Absent,
        )?;
        self.sealed
            .store
            .commit(batch)
            .await
            .map_err(IdentityError::from)?;
        Ok(())
    }

    /// The pending sign-in for a returned `state`, removed so it cannot be replayed, if the
    /// session that returns it is the one that began it (`binding`); another session (a
    /// sign-in an attacker began, its redirect opened in a victim's browser) is refused.
    pub async fn take_bound(
        &self,
        state: &str,
        binding: &str,
    ) -> Result<PendingSignIn, PublicError> {
        let (pending, bound_to) = self.take_record(state).await?;
        if bound_to != binding_digest(binding) {
            return Err(IdentityError::SignInOtherSession.into());
        }
        Ok(pending)
    }

    /// The pending sign-in for a returned `state`, removed so it cannot be replayed.
    pub async fn take(&self, state: &str) -> Result<PendingSignIn, PublicError> {
        Ok(self.take_record(state).await?.0)
    }

    async fn take_record(&self, state: &str) -> Result<(PendingSignIn, String), PublicError> {
        let key = Self::key(state);
        let (record, version) = self
            .sealed
            .get::<PendingRecord>(&key)
            .await?
            .ok_or(IdentityError::SignInStateUnknown)?;
        self.sealed
            .store
            .commit(WriteBatch::new().delete(&key, Expect::Version(version)))
            .await
            .map_err(|_| IdentityError::SignInStateUnknown)?;
        if self.clock.now() - record.started_at > SIGN_IN_LIFETIME {
            return Err(IdentityError::SignInStateUnknown.into());
        }
        Ok((record.pending, record.binding))
    }

    /// Deletes sign-ins that were started and never finished; returns how many.
    pub async fn purge_abandoned(&self) -> Result<usize, PublicError> {
        let now = self.clock.now();
        let mut batch = WriteBatch::new();
        for (key, stored) in self
            .sealed
            .store
            .scan(PENDING_PREFIX)
            .await
            .map_err(IdentityError::from)?
        {
            // Records that no longer open (another host key) are abandoned too.
            let abandoned = match self.sealed.sealer.open(key.as_bytes(), &stored.value) {
                Ok(plain) => serde_json::from_slice::<PendingRecord>(&plain)
                    .map(|r| now - r.started_at > SIGN_IN_LIFETIME)
                    .unwrap_or(true),
                Err(_) => true,
            };
            if abandoned {
                batch = batch.delete(key, Expect::Version(stored.version));
            }
        }
        let purged = batch.writes.len();
        if purged > 0 {
            self.sealed
                .store
                .commit(batch)
                .await
                .map_err(IdentityError::from)?;
        }
        Ok(purged)
    }
}
