//! Setup: what a user chooses (enterprise company and location, time zone, conflict policy,
//! which jobs run) and the choices ERP.net and MsSync offer. Every rule of these choices lives
//! here, so each binding offers the same ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile;
use super::status::{self, JobKind, JobState, JobStatus};
use super::{App, update_with_retry};
pub use crate::engine::ConflictPolicy;
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::erp::{ErpClient, Guid, MailBoxCheck};
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, WriteBatch};
use crate::model::tz::{WindowsZone, Zone, windows_zones};

/// A conflict policy as Setup offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PolicyOption {
    pub id: &'static str,
    pub label: &'static str,
}

impl ConflictPolicy {
    pub const ALL: [ConflictPolicy; 3] = [
        ConflictPolicy::Newest,
        ConflictPolicy::ErpWins,
        ConflictPolicy::OutlookWins,
    ];

    /// The id in views, requests and settings (`newest`, `erp_wins`, `outlook_wins`).
    pub fn id(self) -> &'static str {
        match self {
            ConflictPolicy::Newest => "newest",
            ConflictPolicy::ErpWins => "erp_wins",
            ConflictPolicy::OutlookWins => "outlook_wins",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConflictPolicy::Newest => "The newest change wins",
            ConflictPolicy::ErpWins => "ERP.net wins",
            ConflictPolicy::OutlookWins => "Outlook wins",
        }
    }

    /// A policy by its id; an unknown one is `InvalidArgument`.
    pub fn parse(id: &str) -> Result<Self, PublicError> {
        Self::ALL
            .into_iter()
            .find(|p| p.id() == id)
            .ok_or_else(|| PublicError::new(ErrorCode::InvalidArgument, "unknown conflict policy"))
    }
}

/// Every conflict policy, with the label Setup shows.
pub fn policy_options() -> Vec<PolicyOption> {
    ConflictPolicy::ALL
        .into_iter()
        .map(|p| PolicyOption {
            id: p.id(),
            label: p.label(),
        })
        .collect()
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

/// An enterprise company and its locations, as Setup offers them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyOption {
    pub id: String,
    pub name: String,
    pub locations: Vec<LocationOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationOption {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupOptions {
    pub companies: Vec<CompanyOption>,
    pub time_zones: Vec<TimeZoneOption>,
    pub policies: Vec<ConflictPolicy>,
}

impl App {
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
        if enabled {
            self.job_prerequisites(user_id, job).await?;
        }
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

    /// Refuses to turn a job on when what it needs is missing, with the fix: the Mail job needs
    /// the user's default mailbox (T sync-jobs/mail.md). Only a definite answer refuses; when
    /// ERP.net cannot be asked now, the job's first run reports it instead.
    async fn job_prerequisites(&self, user_id: &str, job: JobKind) -> Result<(), PublicError> {
        match job {
            JobKind::Calendar => Ok(()),
            JobKind::Mail => {
                let (p, _) = profile::require(self.host.store.as_ref(), user_id).await?;
                let Some(erp_user) = Guid::parse(&p.erp_user_id) else {
                    return Ok(());
                };
                let erp = self.erp_client(self.host.http.clone(), None, None)?;
                let Ok(check) = erp.check_default_mail_box(&erp_user, &p.email).await else {
                    return Ok(());
                };
                if matches!(check, MailBoxCheck::Ready(_)) {
                    return Ok(());
                }
                let error = PublicError::from(crate::jobs::mail::RunError::MailBox(check));
                let (reason, fix) = status::fix_for(job, &error);
                Err(PublicError::new(error.code, format!("{reason} {fix}")))
            }
        }
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

    pub(super) async fn company_options(
        &self,
        erp: &ErpClient,
    ) -> Result<Vec<CompanyOption>, PublicError> {
        let mut options = Vec::new();
        for company in erp.enterprise_companies().await? {
            if !company.is_active {
                continue;
            }
            let locations = match &company.company {
                Some(c) => erp
                    .company_locations(c)
                    .await?
                    .into_iter()
                    .filter(|l| l.is_active)
                    .map(|l| LocationOption {
                        id: l.id.as_str().to_owned(),
                        name: l.name,
                    })
                    .collect(),
                None => Vec::new(),
            };
            options.push(CompanyOption {
                id: company.id.as_str().to_owned(),
                name: company.name,
                locations,
            });
        }
        Ok(options)
    }

    /// The choices Setup offers this user: active enterprise companies and their locations
    /// from ERP.net, every time zone, the conflict policies.
    pub async fn setup_options(&self, user_id: &str) -> Result<SetupOptions, PublicError> {
        profile::require(self.host.store.as_ref(), user_id).await?;
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        Ok(SetupOptions {
            companies: self.company_options(&erp).await?,
            time_zones: time_zone_options(),
            policies: ConflictPolicy::ALL.to_vec(),
        })
    }

    /// Sets the user's enterprise company and location; a choice ERP.net does not offer the
    /// user is refused.
    pub async fn set_company(
        &self,
        user_id: &str,
        company_id: &str,
        location_id: &str,
    ) -> Result<SetupView, PublicError> {
        let options = self.setup_options(user_id).await?;
        let company = options
            .companies
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(company_id))
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::CompanyNotAllowed,
                    "that enterprise company is not one you may use",
                )
            })?;
        let location = company
            .locations
            .iter()
            .find(|l| l.id.eq_ignore_ascii_case(location_id))
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::LocationNotAllowed,
                    "that location does not belong to the company or is inactive",
                )
            })?;
        let store = self.host.store.as_ref();
        update_with_retry(store, user_id, move || async move {
            let (mut p, version) = profile::require(store, user_id).await?;
            p.company_id = Some(company.id.clone());
            p.location_id = Some(location.id.clone());
            let mut batch = profile::put(WriteBatch::new(), &p, Expect::Version(version));
            let line = LogLine::new(
                self.host.clock.now(),
                LogLevel::Info,
                format!(
                    "Enterprise company set to '{}', location '{}'.",
                    company.name, location.name
                ),
            );
            journal::append(store, &mut batch, user_id, &[line]).await?;
            Ok(Some((batch, ())))
        })
        .await?;
        self.setup(user_id).await
    }

    /// Sets the user's enterprise company, keeping the current location when the company has
    /// it, else taking the company's first (the user may pick another next).
    pub async fn choose_company(
        &self,
        user_id: &str,
        company_id: &str,
    ) -> Result<SetupView, PublicError> {
        let current = self.setup(user_id).await?.location_id;
        let options = self.setup_options(user_id).await?;
        let locations = options
            .companies
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(company_id))
            .map(|c| c.locations.as_slice())
            .unwrap_or_default();
        let location = locations
            .iter()
            .find(|l| {
                current
                    .as_deref()
                    .is_some_and(|c| l.id.eq_ignore_ascii_case(c))
            })
            .or(locations.first())
            .map(|l| l.id.clone())
            .unwrap_or_default();
        self.set_company(user_id, company_id, &location).await
    }

    /// Sets the user's location within the company already chosen.
    pub async fn choose_location(
        &self,
        user_id: &str,
        location_id: &str,
    ) -> Result<SetupView, PublicError> {
        let company = self.setup(user_id).await?.company_id.ok_or_else(|| {
            PublicError::new(
                ErrorCode::InvalidArgument,
                "choose an enterprise company first",
            )
        })?;
        self.set_company(user_id, &company, location_id).await
    }
}
