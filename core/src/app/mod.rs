//! The application layer: what the panels, the C ABI and the command line call. One API of
//! JSON-serializable requests and views, the same for every binding.

mod change_notifications;
mod config;
mod erp_feed;
mod home;
mod notify;
mod profile;
mod runs;
mod service;
mod settings;
mod setup;
mod signin;
mod status;
mod user_api;

pub use crate::engine::LocalProcess;
pub use change_notifications::{
    BACKSTOP_INTERVAL, NotificationAnswer, NotificationEndpoint, NotificationRequest, RENEW_BEFORE,
    SUBSCRIPTION_LIFETIME,
};
pub use config::{
    AppConfig, CredentialInput, DEFAULT_LEASE_TTL, ErpAccess, MAX_LEASE_TTL, OperationMode,
    check_endpoint, lease_ttl_from_seconds,
};
pub use erp_feed::{FEED_CURRENT_FOR, FeedRound};
pub use runs::{DueJob, JobRun, LogEntry, RunView};
pub use service::{
    ADMIN_CONSENT_LIFETIME, Actor, AdminConsentRedirect, ConnectReport, LOCAL_PROVIDER,
    PermissionsReport, ServiceChange, ServiceView,
};
pub use settings::{EngineSettings, SealingKey};
pub use setup::{
    CompanyOption, ConflictPolicy, JobSetup, LocationOption, PolicyOption, SetupChange,
    SetupOptions, SetupView, TimeZoneOption, policy_options, time_zone_options,
};
pub use signin::{Session, SignInStart};
pub use user_api::{SyncNowView, UserOperation};

use chrono::{DateTime, Utc};

pub use home::{HOME_LOG_LINES, HomeView, JobView, format_utc};
pub use notify::Notification;
pub use profile::UserProfile;
pub use status::{
    CountsView, JobKind, JobState, JobStatus, LastRun, error_backoff, fix_for, throttled_error,
    throttled_until,
};

use crate::engine::journal::{self, LogLevel, LogLine};
use crate::error::PublicError;
use crate::host::{Host, StoreError, WriteBatch};

/// The application. Cheap to clone; every method reads and writes through the host.
#[derive(Clone)]
pub struct App {
    host: Host,
    config: Option<std::sync::Arc<AppConfig>>,
    sealer: Option<crate::identity::Sealer>,
    /// ERP.net tokens of a Trusted Application, shared by every run.
    erp_tokens: Option<std::sync::Arc<dyn crate::identity::TokenSource>>,
    /// Where Graph sends change notifications, once the host listens there.
    notifications: Option<std::sync::Arc<NotificationEndpoint>>,
}

/// Retries a read-modify-write a few times when another writer got there first.
const WRITE_ATTEMPTS: usize = 5;

/// One read-modify-write of the store, again on a fresh read when another writer got there
/// first (a few times, then `StoreConflict` naming `key`). Each `attempt` reads what it needs
/// and returns the batch to commit (with the expectations of that read) and the value to give
/// back, or `None` when there is nothing to write.
async fn update_with_retry<T, F, Fut>(
    store: &dyn crate::host::Store,
    key: &str,
    mut attempt: F,
) -> Result<Option<T>, PublicError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<(WriteBatch, T)>, PublicError>>,
{
    for _ in 0..WRITE_ATTEMPTS {
        let Some((batch, value)) = attempt().await? else {
            return Ok(None);
        };
        match store.commit(batch).await {
            Ok(()) => return Ok(Some(value)),
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict { key: key.into() }.into())
}

impl App {
    /// An application with no connection to the services: Setup, Home and the schedule work;
    /// Service, sign-in and runs answer `NotConfigured`.
    pub fn new(host: Host) -> Self {
        Self {
            host,
            config: None,
            sealer: None,
            erp_tokens: None,
            notifications: None,
        }
    }

    /// The full application. `sealing_key` seals secrets and tokens before they reach the store.
    /// Every endpoint must pass [`check_endpoint`] (https, or http to this machine
    /// only); otherwise this is `InvalidArgument` naming the setting, and nothing is created.
    pub fn with_config(
        host: Host,
        config: AppConfig,
        sealing_key: impl Into<SealingKey>,
    ) -> Result<Self, PublicError> {
        config.validate()?;
        let erp_tokens = service::erp_token_source(&host, &config.erp_access);
        Ok(Self {
            host,
            config: Some(std::sync::Arc::new(config)),
            sealer: Some(crate::identity::Sealer::new(*sealing_key.into().expose())),
            erp_tokens,
            notifications: None,
        })
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    fn now(&self) -> DateTime<Utc> {
        self.host.clock.now()
    }

    async fn log(
        &self,
        batch: &mut WriteBatch,
        user_id: &str,
        level: LogLevel,
        texts: &[String],
    ) -> Result<(), PublicError> {
        let now = self.now();
        let lines: Vec<LogLine> = texts
            .iter()
            .map(|t| LogLine::new(now, level, t.clone()))
            .collect();
        journal::append(self.host.store.as_ref(), batch, user_id, &lines).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
