//! Each (user, job)'s state, its schedule, and the state changes Home and the log show.
//!
//! States as the original MsSync names them: `Operational`, `Error: <reason>` with the fix to
//! make, `Throttled until <time>`, `Disabled`. A job is due every 15 minutes when operational, at
//! once after a toggle or a Full refresh request, after `Retry-After` when throttled, and with
//! exponential backoff (up to 6 hours) after errors.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::LocalProcess;
use crate::engine::journal::{LogLevel, LogLine};
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, Store, StoreError, WriteBatch};
use crate::jobs::{Counts, RUN_INTERVAL, RunReport};

pub use crate::jobs::JobKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum JobState {
    Operational,
    Error {
        code: ErrorCode,
        reason: String,
        /// What the user or admin should do about it.
        fix: String,
    },
    Throttled {
        until: DateTime<Utc>,
    },
    Disabled,
}

impl JobState {
    /// The banner text, as the original shows it.
    pub fn label(&self) -> String {
        match self {
            JobState::Operational => "Operational".into(),
            JobState::Error { reason, .. } => format!("Error: {reason}"),
            JobState::Throttled { until } => {
                format!("Throttled until {}", until.format("%Y-%m-%d %H:%MZ"))
            }
            JobState::Disabled => "Disabled".into(),
        }
    }
}

/// The last run's figures, kept for Home.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub finished: Option<DateTime<Utc>>,
    pub to_outlook: CountsView,
    pub to_erp: CountsView,
    pub conflicts: u32,
    pub failed: u32,
    pub requests: u64,
    pub duration_ms: i64,
    /// The node that ran it (the node part of the runner id), when one did.
    #[serde(default)]
    pub node: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsView {
    pub created: u32,
    pub updated: u32,
    pub removed: u32,
}

impl CountsView {
    /// Items created, updated and removed together.
    pub fn total(&self) -> u32 {
        self.created + self.updated + self.removed
    }
}

impl From<Counts> for CountsView {
    fn from(c: Counts) -> Self {
        Self {
            created: c.created,
            updated: c.updated,
            removed: c.removed,
        }
    }
}

/// The stored status of one (user, job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job: JobKind,
    pub enabled: bool,
    pub state: JobState,
    pub next_run: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub full_refresh_requested: bool,
    pub last_run: LastRun,
    /// A node that took this due job to run it (see `App::claim_due_job`): no other node takes
    /// it until the claim ends with the run or expires with the lease time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// Who took a due job and until when the claim holds if that node dies mid-run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub by: String,
    pub until: DateTime<Utc>,
    /// The claimer's machine and process, for native hosts: as with leases, a runner of the
    /// same machine need not wait out a claim whose process died.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl JobStatus {
    /// A claim still holds at `now`, seen by a runner in `process`: it has not expired, and
    /// its process is not one of this machine's that died (the lease's takeover rule).
    pub(crate) fn claimed(&self, now: DateTime<Utc>, process: Option<&LocalProcess>) -> bool {
        self.claim.as_ref().is_some_and(|c| {
            c.until > now && !crate::engine::process_is_gone(c.machine.as_deref(), c.pid, process)
        })
    }
}

impl JobStatus {
    pub fn new(job: JobKind) -> Self {
        Self {
            job,
            enabled: false,
            state: JobState::Disabled,
            next_run: None,
            consecutive_failures: 0,
            full_refresh_requested: false,
            last_run: LastRun::default(),
            claim: None,
        }
    }
}

pub(crate) fn status_key(user: &str, job: JobKind) -> String {
    format!("status/{}/{user}", job.id())
}

/// Reads a status with the version to write it back against.
pub(crate) async fn load_status(
    store: &dyn Store,
    user: &str,
    job: JobKind,
) -> Result<(JobStatus, Expect), PublicError> {
    let key = status_key(user, job);
    match store.get(&key).await? {
        Some(v) => {
            let status = serde_json::from_slice(&v.value).map_err(|_| {
                PublicError::new(ErrorCode::StoreFailure, "a stored job status is unreadable")
            })?;
            Ok((status, Expect::Version(v.version)))
        }
        None => Ok((JobStatus::new(job), Expect::Absent)),
    }
}

pub(crate) fn put_status(
    batch: WriteBatch,
    user: &str,
    status: &JobStatus,
    expect: Expect,
) -> WriteBatch {
    batch.put(
        status_key(user, status.job),
        serde_json::to_vec(status).expect("a status serializes"),
        expect,
    )
}

/// The fix to show for an error, in the words the original uses where it has them.
pub fn fix_for(job: JobKind, error: &PublicError) -> (String, String) {
    use ErrorCode::*;
    let title = job.title();
    match error.code {
        InvalidGrant => (
            "Your Microsoft sign-in has expired or was revoked".into(),
            "Sign in again.".into(),
        ),
        Unauthorized | Forbidden => (
            "Unauthorized or insufficient permissions".into(),
            "Go to Service and click 'Connect to Microsoft Entra ID'.".into(),
        ),
        ServiceNotSubscribed => (
            error.reason.clone(),
            "Ask a Microsoft 365 administrator to enable Exchange Online for the tenant, then go to Service and click 'Connect to Microsoft Entra ID'.".into(),
        ),
        IdentityLinkedElsewhere => (
            error.reason.clone(),
            "Ask an ERP.net administrator: each ERP.net user may be linked to one Microsoft account only.".into(),
        ),
        InactiveErpUser => (
            error.reason.clone(),
            "Ask an ERP.net administrator to activate your ERP.net user.".into(),
        ),
        AppNotInTenant => (
            error.reason.clone(),
            "Go to Service: check the tenant id and client id, then open the consent URL as a tenant administrator.".into(),
        ),
        NoEnterpriseCompany => (
            format!("SyncJob '{title}' processing error. There's no enterprise company defined."),
            "Go to Setup and choose an enterprise company and location.".into(),
        ),
        NoMailBox => (
            format!("SyncJob '{title}' processing error. {}", error.reason),
            "Ask an ERP.net administrator to give you a default mailbox (Applications > Mail > Boxes) whose e-mail address is your Microsoft 365 sign-in name and which is not encrypted; then turn the job on again.".into(),
        ),
        NotConfigured => (
            "MsSync is not connected to Microsoft Entra ID".into(),
            "Ask an administrator to complete Service.".into(),
        ),
        SafetyGuard => (
            error.reason.clone(),
            "Check the connection, then use Full refresh in Setup.".into(),
        ),
        ErpVersionMismatch => (
            error.reason.clone(),
            "Ask an administrator to bring ERP.net and MsSync to versions that work together; retrying does not help."
                .into(),
        ),
        _ => (
            format!("SyncJob '{title}' processing error. {}", error.reason),
            "MsSync retries automatically; if it persists, contact your administrator.".into(),
        ),
    }
}

/// Backoff after `failures` consecutive errors: 15 min, 30, 60, ... capped at 6 hours.
pub fn error_backoff(failures: u32) -> chrono::Duration {
    let minutes = 15i64 << failures.saturating_sub(1).min(5);
    chrono::Duration::minutes(minutes.min(6 * 60))
}

/// Applies the outcome of a run to a status; returns the log lines for state changes.
pub(crate) fn record_outcome(
    status: &mut JobStatus,
    now: DateTime<Utc>,
    outcome: &Result<RunReport, PublicError>,
    node: &str,
) -> Vec<LogLine> {
    let before = status.state.clone();
    let mut lines = Vec::new();
    match outcome {
        Ok(report) => {
            status.state = JobState::Operational;
            status.consecutive_failures = 0;
            status.full_refresh_requested = false;
            status.next_run = Some(report.next_run);
            status.last_run = LastRun {
                finished: Some(report.finished),
                to_outlook: report.to_outlook.into(),
                to_erp: report.to_erp.into(),
                conflicts: report.conflicts,
                failed: report.failed,
                requests: report.requests,
                duration_ms: (report.finished - report.started).num_milliseconds(),
                node: Some(node.to_owned()),
            };
        }
        Err(error) if error.code == ErrorCode::Throttled => {
            let until = throttled_until(error).unwrap_or(now + RUN_INTERVAL);
            status.state = JobState::Throttled { until };
            status.next_run = Some(until);
        }
        Err(error) if error.code == ErrorCode::LeaseHeld => {
            // Another node is running it: not this node's error; look again soon.
            status.next_run = Some(now + chrono::Duration::minutes(1));
            return lines;
        }
        Err(error) => {
            status.consecutive_failures += 1;
            let (reason, fix) = fix_for(status.job, error);
            status.state = JobState::Error {
                code: error.code,
                reason: reason.clone(),
                fix: fix.clone(),
            };
            status.next_run = Some(now + error_backoff(status.consecutive_failures));
            lines.push(LogLine::new(
                now,
                LogLevel::Error,
                // The reason is a state label ("Unauthorized or insufficient permissions"); end
                // it as a sentence before the fix.
                format!("{}. {fix}", reason.trim_end_matches('.')),
            ));
        }
    }
    if status.state != before && !matches!(status.state, JobState::Error { .. }) {
        lines.push(LogLine::new(
            now,
            if status.state == JobState::Operational {
                LogLevel::Info
            } else {
                LogLevel::Warning
            },
            format!(
                "State {} to '{}'.",
                if status.state == JobState::Operational {
                    "restored"
                } else {
                    "changed"
                },
                status.state.label()
            ),
        ));
    }
    lines
}

/// When a throttled run may resume.
pub fn throttled_until(error: &PublicError) -> Option<DateTime<Utc>> {
    error.retry_at
}

/// A throttling error for a wait until `until`.
pub fn throttled_error(until: DateTime<Utc>) -> PublicError {
    PublicError::throttled(
        format!(
            "the service asked MsSync to wait until {}",
            until.format("%Y-%m-%d %H:%MZ")
        ),
        until,
    )
}

/// Every (user, job) whose run is due at `now`, earliest first.
pub(crate) async fn due(
    store: &dyn Store,
    now: DateTime<Utc>,
    process: Option<&LocalProcess>,
) -> Result<Vec<(String, JobKind, DateTime<Utc>)>, StoreError> {
    let mut due = Vec::new();
    for job in JobKind::ALL {
        let prefix = format!("status/{}/", job.id());
        for (key, v) in store.scan(&prefix).await? {
            let Ok(status) = serde_json::from_slice::<JobStatus>(&v.value) else {
                continue;
            };
            if !status.enabled || status.claimed(now, process) {
                continue;
            }
            let at = status.next_run.unwrap_or(now);
            if at <= now {
                due.push((key[prefix.len()..].to_owned(), job, at));
            }
        }
    }
    due.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
    Ok(due)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 2, 16, 7, 35, 0).unwrap()
    }

    fn report() -> RunReport {
        RunReport {
            started: now(),
            finished: now() + chrono::Duration::milliseconds(154),
            dry_run: false,
            full_read: false,
            pulled_from_erp: 2,
            pulled_from_outlook: 0,
            to_outlook: Counts {
                created: 2,
                updated: 0,
                removed: 0,
            },
            to_erp: Counts::default(),
            conflicts: 0,
            failed: 0,
            skipped: 0,
            requests: 3,
            checkpoints_advanced: true,
            next_run: now() + RUN_INTERVAL,
        }
    }

    #[test]
    fn states_read_as_the_original_shows_them() {
        let mut status = JobStatus::new(JobKind::Calendar);
        status.enabled = true;
        let error = PublicError::new(ErrorCode::Forbidden, "Graph refused access");
        let lines = record_outcome(&mut status, now(), &Err(error), "sync-1");
        assert_eq!(
            status.state.label(),
            "Error: Unauthorized or insufficient permissions"
        );
        assert_eq!(
            lines[0].to_string(),
            "[2024-02-16 07:35Z ERR] Unauthorized or insufficient permissions. Go to Service and click 'Connect to Microsoft Entra ID'."
        );
        assert_eq!(status.next_run, Some(now() + chrono::Duration::minutes(15)));

        let lines = record_outcome(&mut status, now(), &Ok(report()), "sync-1");
        assert_eq!(status.state, JobState::Operational);
        assert_eq!(
            lines[0].to_string(),
            "[2024-02-16 07:35Z INF] State restored to 'Operational'."
        );
        assert_eq!(status.last_run.to_outlook.created, 2);
        assert_eq!(status.last_run.node.as_deref(), Some("sync-1"));

        let until = now() + chrono::Duration::hours(1);
        let lines = record_outcome(&mut status, now(), &Err(throttled_error(until)), "sync-1");
        assert_eq!(status.state.label(), "Throttled until 2024-02-16 08:35Z");
        assert_eq!(status.next_run, Some(until));
        assert_eq!(
            lines[0].text,
            "State changed to 'Throttled until 2024-02-16 08:35Z'."
        );

        let company = PublicError::new(ErrorCode::NoEnterpriseCompany, "none");
        record_outcome(&mut status, now(), &Err(company), "sync-1");
        assert_eq!(
            status.state.label(),
            "Error: SyncJob 'Calendar' processing error. There's no enterprise company defined."
        );
    }

    #[test]
    fn a_version_mismatch_names_the_entity_set_and_the_fix() {
        let mut status = JobStatus::new(JobKind::Calendar);
        status.enabled = true;
        let error = PublicError::from(crate::erp::ErpError::VersionMismatch {
            name: Some(crate::erp::wire::DOCUMENT_TYPES.into()),
            renamed: false,
        });
        let lines = record_outcome(&mut status, now(), &Err(error), "sync-1");
        assert_eq!(
            status.state.label(),
            "Error: ERP.net does not know the entity set Systems_Documents_DocumentTypes (introduced in 24.1.5.35): upgrade ERP.net to a version MsSync supports"
        );
        assert!(
            lines[0].text.contains("retrying does not help"),
            "{}",
            lines[0].text
        );
    }

    #[test]
    fn errors_back_off_up_to_six_hours() {
        let steps: Vec<i64> = (1..=8).map(|n| error_backoff(n).num_minutes()).collect();
        assert_eq!(steps, [15, 30, 60, 120, 240, 360, 360, 360]);
    }

    #[test]
    fn a_claim_holds_until_it_expires_unless_its_process_on_this_machine_died() {
        let mut status = JobStatus::new(JobKind::Calendar);
        status.claim = Some(Claim {
            by: "sync-1/7/ab".into(),
            until: now() + chrono::Duration::minutes(15),
            machine: Some("m1".into()),
            pid: Some(7),
        });
        let on = |machine: &str, alive: bool| LocalProcess {
            node: machine.into(),
            pid: 8,
            is_running: std::sync::Arc::new(move |_| alive),
        };
        assert!(status.claimed(now(), None), "no process known: waited out");
        assert!(
            status.claimed(now(), Some(&on("m1", true))),
            "still running"
        );
        assert!(
            status.claimed(now(), Some(&on("m2", false))),
            "another machine"
        );
        assert!(!status.claimed(now(), Some(&on("m1", false))), "died here");
        let later = now() + chrono::Duration::minutes(15);
        assert!(!status.claimed(later, None), "expired");
    }
}
