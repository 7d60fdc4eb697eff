//! Jobs: one per kind of resource kept in step, each a folder here plus its line in
//! [`JobKind`]. What every job shares lives here: its identity, the report a run returns, the
//! default schedule and lease time. The application runs, schedules, shows and toggles jobs
//! through this boundary only.

pub mod calendar;
pub mod mail;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, PublicError};

/// The jobs MsSync knows: the registration. Adding a job is a folder under `jobs/` and a
/// variant here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Calendar,
    Mail,
}

impl JobKind {
    pub const ALL: [JobKind; 2] = [JobKind::Calendar, JobKind::Mail];

    /// The id hosts use (`mss_job_run(engine, user, "mail", ...)`, `setup job mail on`).
    pub fn id(self) -> &'static str {
        match self {
            JobKind::Calendar => calendar::JOB_NAME,
            JobKind::Mail => mail::JOB_NAME,
        }
    }

    /// As the original names it in messages: `SyncJob 'Calendar' ...`.
    pub fn title(self) -> &'static str {
        match self {
            JobKind::Calendar => "Calendar",
            JobKind::Mail => "Mail",
        }
    }

    /// Whether Graph change notifications keep the job current. Mail polls for now: its
    /// subscription (on the mailbox's messages) is not built yet.
    pub fn has_change_notifications(self) -> bool {
        match self {
            JobKind::Calendar => true,
            JobKind::Mail => false,
        }
    }

    pub fn parse(id: &str) -> Result<Self, PublicError> {
        Self::ALL
            .into_iter()
            .find(|j| j.id().eq_ignore_ascii_case(id))
            .ok_or_else(|| PublicError::new(ErrorCode::UnknownJob, "unknown job"))
    }
}

/// What MsSync writes in `ExternalSystem` next to an Outlook id in `ExternalId`, for
/// activities and mail messages alike (the entity tells them apart).
pub const EXTERNAL_SYSTEM: &str = "MsSync/Graph";

/// The default interval between a job's runs.
pub const RUN_INTERVAL: chrono::Duration = chrono::Duration::minutes(15);

/// How long a run's lease lasts past its latest commit unless the host sets another time.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// How a job's run reads and writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Read everything again (the Calendar's window, every synced mail folder from the first
    /// sync's start) and reconcile it against the links.
    pub full_refresh: bool,
    /// Plan only: report what would be written, write and store nothing.
    pub dry_run: bool,
}

/// A finished run: its report and the log lines it committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub report: RunReport,
    pub log: Vec<crate::engine::journal::Entry>,
}

/// Writes of one kind a run made on one side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    /// Events deleted in Outlook, activities voided or messages moved to Trash in ERP.net.
    pub removed: u32,
}

impl Counts {
    pub fn total(&self) -> u32 {
        self.created + self.updated + self.removed
    }
}

/// What a run did (or, for a dry run, would do); the app shows it as `app::RunView`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub dry_run: bool,
    pub full_read: bool,
    pub pulled_from_erp: u32,
    pub pulled_from_outlook: u32,
    pub to_outlook: Counts,
    pub to_erp: Counts,
    pub conflicts: u32,
    /// Writes that failed for now and will be retried by a later run.
    pub failed: u32,
    /// Items outside the window or otherwise not synced.
    pub skipped: u32,
    pub requests: u64,
    /// The checkpoints advanced (no write failed).
    pub checkpoints_advanced: bool,
    pub next_run: DateTime<Utc>,
}


/// How far a job has come, as Home shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub latest_sync: Option<DateTime<Utc>>,
    /// When Outlook's changes were last read completely.
    pub remote_checkpoint: Option<DateTime<Utc>>,
    /// When ERP.net's changes were last read completely.
    pub local_checkpoint: Option<DateTime<Utc>>,
}

impl JobKind {
    /// The job's progress for a user, from what its runs committed.
    pub async fn progress(
        self,
        store: &dyn crate::host::Store,
        user: &str,
    ) -> Result<Progress, crate::host::StoreError> {
        Ok(match self {
            JobKind::Calendar => {
                let c = calendar::checkpoint(store, user).await?;
                Progress {
                    latest_sync: c.latest_sync,
                    remote_checkpoint: c.remote_checkpoint,
                    local_checkpoint: c.local_checkpoint,
                }
            }
            JobKind::Mail => mail::progress(store, user).await?,
        })
    }
}
