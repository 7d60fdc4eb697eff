//! The application layer: what the panels, the C ABI and the command line call. One API of
//! JSON-serializable requests and views, the same for every binding.

mod change_notifications;
mod config;
mod home;
mod notify;
mod profile;
mod runs;
mod service;
mod setup_options;
mod signin;
mod status;

pub use crate::engine::LocalProcess;
pub use change_notifications::{
    BACKSTOP_INTERVAL, NotificationAnswer, NotificationEndpoint, NotificationRequest, RENEW_BEFORE,
    SUBSCRIPTION_LIFETIME,
};
pub use config::{AppConfig, CredentialInput, ErpAccess, OperationMode, check_endpoint};
pub use service::{
    ADMIN_CONSENT_LIFETIME, Actor, AdminConsentRedirect, ConnectReport, LOCAL_PROVIDER,
    PermissionsReport, ServiceChange, ServiceView,
};
pub use setup_options::{CompanyOption, LocationOption, SetupOptions};
pub use signin::{Session, SignInStart};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use home::{HOME_LOG_LINES, HomeView, JobView, format_utc};
pub use notify::Notification;
pub use profile::UserProfile;
pub use status::{
    CountsView, JobKind, JobState, JobStatus, LastRun, error_backoff, fix_for, throttled_error,
    throttled_until,
};

use crate::engine::ConflictPolicy;
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, Host, StoreError, WriteBatch};
use crate::model::tz::{WindowsZone, Zone, windows_zones};

/// A job that is due, for the host's scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueJob {
    pub user_id: String,
    pub job: JobKind,
    pub due_since: DateTime<Utc>,
}

/// What Setup shows and edits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupView {
    pub company_id: Option<String>,
    pub location_id: Option<String>,
    /// The Windows display name of the user's zone, e.g.
    /// "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius".
    pub time_zone: String,
    pub time_zone_iana: String,
    pub policy: ConflictPolicy,
    pub jobs: Vec<JobSetup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobSetup {
    pub job: JobKind,
    pub title: &'static str,
    pub enabled: bool,
    pub full_refresh_requested: bool,
}

/// A time zone as Setup offers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeZoneOption {
    pub id: &'static str,
    pub display_name: &'static str,
    pub iana: &'static str,
}

impl From<WindowsZone> for TimeZoneOption {
    fn from(z: WindowsZone) -> Self {
        Self {
            id: z.id,
            display_name: z.display_name,
            iana: z.iana,
        }
    }
}

/// Every zone Setup offers, with Windows display names.
pub fn time_zone_options() -> Vec<TimeZoneOption> {
    windows_zones().map(TimeZoneOption::from).collect()
}

/// A change to the user's choices; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SetupChange {
    pub time_zone: Option<String>,
    pub policy: Option<ConflictPolicy>,
}

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
        sealing_key: [u8; 32],
    ) -> Result<Self, PublicError> {
        config.validate()?;
        let erp_tokens = service::erp_token_source(&host, &config.erp_access);
        Ok(Self {
            host,
            config: Some(std::sync::Arc::new(config)),
            sealer: Some(crate::identity::Sealer::new(sealing_key)),
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

    /// The id of the signed-in user with this e-mail address, for hosts that name users by
    /// address (the command line's `sync --user`).
    pub async fn user_by_email(&self, email: &str) -> Result<String, PublicError> {
        profile::find_by_email(self.host.store.as_ref(), email).await
    }

    /// Home for a signed-in user.
    pub async fn home(&self, user_id: &str) -> Result<HomeView, PublicError> {
        let (profile, _) = profile::require(self.host.store.as_ref(), user_id).await?;
        home::view(self.host.store.as_ref(), &profile, self.now()).await
    }

    /// Setup for a signed-in user.
    pub async fn setup(&self, user_id: &str) -> Result<SetupView, PublicError> {
        let store = self.host.store.as_ref();
        let (profile, _) = profile::require(store, user_id).await?;
        let mut jobs = Vec::new();
        for job in JobKind::ALL {
            let (status, _) = status::load_status(store, user_id, job).await?;
            jobs.push(JobSetup {
                job,
                title: job.title(),
                enabled: status.enabled,
                full_refresh_requested: status.full_refresh_requested,
            });
        }
        Ok(SetupView {
            company_id: profile.company_id.clone(),
            location_id: profile.location_id.clone(),
            time_zone: profile
                .zone
                .windows()
                .map(|w| w.display_name.to_owned())
                .unwrap_or_else(|| profile.zone.iana_name().to_owned()),
            time_zone_iana: profile.zone.iana_name().to_owned(),
            policy: profile.policy,
            jobs,
        })
    }

    /// Changes the user's time zone or conflict policy. An unknown zone is refused.
    pub async fn change_setup(
        &self,
        user_id: &str,
        change: SetupChange,
    ) -> Result<SetupView, PublicError> {
        let zone = match &change.time_zone {
            Some(name) => Some(Zone::parse(name).map_err(|_| {
                PublicError::new(
                    ErrorCode::UnknownTimeZone,
                    "unknown time zone; pick one from the list",
                )
            })?),
            None => None,
        };
        let store = self.host.store.as_ref();
        let zone = &zone;
        update_with_retry(store, user_id, move || async move {
            let (mut profile, version) = profile::require(store, user_id).await?;
            let mut lines = Vec::new();
            if let Some(zone) = zone
                && *zone != profile.zone
            {
                profile.zone = zone.clone();
                lines.push(format!(
                    "Time zone set to '{}'.",
                    zone.windows().map_or(zone.iana_name(), |w| w.display_name)
                ));
            }
            if let Some(policy) = change.policy
                && policy != profile.policy
            {
                profile.policy = policy;
                lines.push(format!("Conflict policy set to '{policy:?}'."));
            }
            let mut batch = profile::put(WriteBatch::new(), &profile, Expect::Version(version));
            self.log(&mut batch, user_id, LogLevel::Info, &lines)
                .await?;
            Ok(Some((batch, ())))
        })
        .await?;
        self.setup(user_id).await
    }

    /// Turns a job on or off. Turning it on makes it due at once.
    pub async fn set_job_enabled(
        &self,
        user_id: &str,
        job: JobKind,
        enabled: bool,
    ) -> Result<SetupView, PublicError> {
        self.update_status(user_id, job, |status, now| {
            if status.enabled == enabled {
                return None;
            }
            status.enabled = enabled;
            if enabled {
                status.state = JobState::Operational;
                status.next_run = Some(now);
                status.consecutive_failures = 0;
                Some(format!("SyncJob '{}' turned on.", job.title()))
            } else {
                status.state = JobState::Disabled;
                status.next_run = None;
                Some(format!("SyncJob '{}' turned off.", job.title()))
            }
        })
        .await?;
        if !enabled {
            self.drop_subscription(user_id, job).await;
        }
        self.setup(user_id).await
    }

    /// Asks for a full re-read of the job's window, due at once.
    pub async fn request_full_refresh(
        &self,
        user_id: &str,
        job: JobKind,
    ) -> Result<SetupView, PublicError> {
        self.update_status(user_id, job, |status, now| {
            status.full_refresh_requested = true;
            status.next_run = Some(now);
            Some(format!(
                "Full refresh of SyncJob '{}' requested.",
                job.title()
            ))
        })
        .await?;
        self.setup(user_id).await
    }

    async fn update_status(
        &self,
        user_id: &str,
        job: JobKind,
        change: impl Fn(&mut JobStatus, DateTime<Utc>) -> Option<String>,
    ) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        profile::require(store, user_id).await?;
        let change = &change;
        update_with_retry(store, user_id, move || async move {
            let (mut status, expect) = status::load_status(store, user_id, job).await?;
            let Some(line) = change(&mut status, self.now()) else {
                return Ok(None);
            };
            let mut batch = status::put_status(WriteBatch::new(), user_id, &status, expect);
            self.log(&mut batch, user_id, LogLevel::Info, &[line])
                .await?;
            Ok(Some((batch, ())))
        })
        .await?;
        Ok(())
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

    /// Jobs due at `now`, earliest first: the host's scheduler runs these.
    /// A notification makes its job due now, whatever its schedule said.
    pub async fn due_jobs(&self, now: DateTime<Utc>) -> Result<Vec<DueJob>, PublicError> {
        let store = self.host.store.as_ref();
        let mut due = status::due(store, now).await?;
        for notified in change_notifications::notified_due(store).await? {
            match due
                .iter_mut()
                .find(|d| d.0 == notified.0 && d.1 == notified.1)
            {
                Some(d) => d.2 = d.2.min(notified.2),
                None => due.push(notified),
            }
        }
        due.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
        Ok(due
            .into_iter()
            .map(|(user_id, job, due_since)| DueJob {
                user_id,
                job,
                due_since,
            })
            .collect())
    }

    /// Runs the calendar job for a user with the given sides, records the outcome in the job's
    /// status (state, schedule, last run), logs state changes and queues a notification when
    /// the job enters an error.
    pub async fn run_calendar_with(
        &self,
        user_id: &str,
        erp: &dyn crate::jobs::calendar::CalendarSide,
        outlook: &dyn crate::jobs::calendar::CalendarSide,
        runner: &str,
        dry_run: bool,
    ) -> Result<crate::jobs::calendar::RunReport, PublicError> {
        let store = self.host.store.as_ref();
        let (profile, _) = profile::require(store, user_id).await?;
        let (status, _) = status::load_status(store, user_id, JobKind::Calendar).await?;
        let outcome = if profile.company_id.is_none() || profile.location_id.is_none() {
            Err(PublicError::new(
                ErrorCode::NoEnterpriseCompany,
                "There's no enterprise company defined.",
            ))
        } else {
            let job = crate::jobs::calendar::CalendarJob {
                host: &self.host,
                user: user_id,
                zone: profile.zone.clone(),
                policy: profile.policy,
                erp,
                outlook,
                runner,
                process: self.config.as_ref().and_then(|c| c.local_process.as_ref()),
            };
            let options = crate::jobs::calendar::RunOptions {
                full_refresh: status.full_refresh_requested,
                dry_run,
            };
            crate::jobs::calendar::run(&job, options).await
        };
        if dry_run {
            return outcome;
        }
        self.record_outcome(user_id, JobKind::Calendar, &outcome)
            .await?;
        outcome
    }

    async fn record_outcome(
        &self,
        user_id: &str,
        job: JobKind,
        outcome: &Result<crate::jobs::calendar::RunReport, PublicError>,
    ) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        update_with_retry(store, user_id, move || async move {
            let (mut status, expect) = status::load_status(store, user_id, job).await?;
            let was_error = matches!(status.state, JobState::Error { .. });
            let now = self.now();
            let lines = status::record_outcome(&mut status, now, outcome);
            let mut batch = status::put_status(WriteBatch::new(), user_id, &status, expect);
            journal::append(store, &mut batch, user_id, &lines).await?;
            if let (false, JobState::Error { reason, fix, .. }) = (was_error, &status.state) {
                batch = notify::queue(
                    batch,
                    &Notification {
                        at: now,
                        user_id: user_id.to_owned(),
                        title: "MS Sync experienced an error".into(),
                        text: format!("{reason} {fix}"),
                    },
                );
            }
            Ok(Some((batch, ())))
        })
        .await?;
        Ok(())
    }

    /// Notifications waiting for the host to deliver, oldest first; taken ones are removed.
    pub async fn take_notifications(&self, max: usize) -> Result<Vec<Notification>, PublicError> {
        notify::take(self.host.store.as_ref(), max).await
    }
}

#[cfg(test)]
mod tests;
