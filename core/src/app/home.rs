//! Home: who the user is, the state, each job's checkpoints and last run, and the latest log.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::App;
use super::profile::UserProfile;
use super::status::{JobKind, JobState, JobStatus, LastRun, load_status};
use crate::engine::journal;
use crate::error::PublicError;
use crate::host::Store;

/// Log lines Home shows.
pub const HOME_LOG_LINES: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HomeView {
    pub name: String,
    pub email: String,
    /// The banner: `Operational`, `Error: ...`, `Throttled until ...`, `Disabled`.
    pub state: String,
    /// The fix to make when the state is an error.
    pub fix: Option<String>,
    pub jobs: Vec<JobView>,
    /// Newest last, as `[2024-02-16 07:35Z INF] ...`.
    pub log: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobView {
    pub job: JobKind,
    pub title: &'static str,
    pub enabled: bool,
    pub state: String,
    pub latest_sync: Option<String>,
    pub remote_checkpoint: Option<String>,
    pub local_checkpoint: Option<String>,
    pub next_run: Option<String>,
    /// How the job is kept current: `Live (change notifications, renews <time>)` or
    /// `Polling every 15 min`.
    pub kept_current: String,
    pub last_run: LastRun,
}

/// Times as the original shows them: `2024-02-16 07:35Z`.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

/// The most urgent state across jobs: an error, then throttling, then operational; disabled
/// only when every job is.
fn overall(statuses: &[JobStatus]) -> (String, Option<String>) {
    if let Some(JobState::Error { fix, .. }) = statuses
        .iter()
        .map(|s| &s.state)
        .find(|s| matches!(s, JobState::Error { .. }))
    {
        let label = statuses
            .iter()
            .find(|s| matches!(s.state, JobState::Error { .. }))
            .map(|s| s.state.label())
            .unwrap_or_default();
        return (label, Some(fix.clone()));
    }
    if let Some(s) = statuses
        .iter()
        .find(|s| matches!(s.state, JobState::Throttled { .. }))
    {
        return (s.state.label(), None);
    }
    if statuses.iter().any(|s| s.enabled) {
        return (JobState::Operational.label(), None);
    }
    (JobState::Disabled.label(), None)
}

pub(crate) async fn view(
    store: &dyn Store,
    profile: &UserProfile,
    now: DateTime<Utc>,
) -> Result<HomeView, PublicError> {
    let mut statuses = Vec::new();
    let mut jobs = Vec::new();
    for job in JobKind::ALL {
        let (status, _) = load_status(store, &profile.user_id, job).await?;
        let checkpoint = job.progress(store, &profile.user_id).await?;
        jobs.push(JobView {
            job,
            title: job.title(),
            enabled: status.enabled,
            state: if status.enabled {
                status.state.label()
            } else {
                JobState::Disabled.label()
            },
            latest_sync: checkpoint.latest_sync.map(format_utc),
            remote_checkpoint: checkpoint.remote_checkpoint.map(format_utc),
            local_checkpoint: checkpoint.local_checkpoint.map(format_utc),
            next_run: status.next_run.filter(|_| status.enabled).map(format_utc),
            kept_current: if status.enabled {
                super::change_notifications::kept_current(store, &profile.user_id, job, now).await?
            } else {
                JobState::Disabled.label()
            },
            last_run: status.last_run.clone(),
        });
        statuses.push(status);
    }
    let (state, fix) = overall(&statuses);
    let log = journal::latest(store, &profile.user_id, HOME_LOG_LINES)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(HomeView {
        name: profile.name.clone(),
        email: profile.email.clone(),
        state,
        fix,
        jobs,
        log,
    })
}

impl App {
    /// Home for a signed-in user.
    pub async fn home(&self, user_id: &str) -> Result<HomeView, PublicError> {
        let (profile, _) = super::profile::require(self.host.store.as_ref(), user_id).await?;
        view(self.host.store.as_ref(), &profile, self.now()).await
    }
}
