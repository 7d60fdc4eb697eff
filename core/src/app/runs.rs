//! Running a job for a user against Graph and ERP.net: wiring its two sides, recording the
//! outcome on Home, and what the caller gets back (the report and the log lines the run wrote).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::App;
use super::config::{OperationMode, ServiceRecord, load_service};
use super::notify::{self, Notification};
use super::profile::{self, UserProfile};
use super::service::{GRAPH_APP_SCOPE, not_configured};
use super::status::{self, CountsView, JobKind, JobState, load_status};
use super::update_with_retry;
use crate::engine::journal;
use crate::erp::{ActivityDefaults, Guid};
use crate::error::{ErrorCode, PublicError};
use crate::graph::Mailbox;
use crate::host::{CountingHttp, WriteBatch};
use crate::identity::{AppTokenSource, TokenSource};
use crate::jobs::calendar::{CalendarSide, ErpSide, GraphSide};
use crate::jobs::{Ran, RunOptions, RunReport};

/// How long a user's being active in ERP.net is trusted for runs: an hour keeps a quiet run
/// at its two ERP.net reads while a deactivated user stops within the hour.
const RUN_RIGHTS_MAX_AGE: chrono::Duration = chrono::Duration::hours(1);

/// A job that is due, for the host's scheduler, which hands it back to [`App::run_due_job`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueJob {
    pub user_id: String,
    pub job: JobKind,
    pub due_since: DateTime<Utc>,
    /// A change notification made it due (such jobs come first: a person is waiting for them).
    #[serde(default)]
    pub notified: bool,
    /// The tenant's ERP.net feed routed a change to it (these come first too).
    #[serde(default)]
    pub routed: bool,
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    pub dry_run: bool,
    /// Both sides' whole windows were read (a first run, Full refresh, or a new window).
    pub full_read: bool,
    pub pulled_from_erp: u32,
    pub pulled_from_outlook: u32,
    pub to_outlook: CountsView,
    pub to_erp: CountsView,
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

impl From<&RunReport> for RunView {
    fn from(r: &RunReport) -> Self {
        Self {
            started: r.started,
            finished: r.finished,
            dry_run: r.dry_run,
            full_read: r.full_read,
            pulled_from_erp: r.pulled_from_erp,
            pulled_from_outlook: r.pulled_from_outlook,
            to_outlook: r.to_outlook.into(),
            to_erp: r.to_erp.into(),
            conflicts: r.conflicts,
            failed: r.failed,
            skipped: r.skipped,
            requests: r.requests,
            checkpoints_advanced: r.checkpoints_advanced,
            next_run: r.next_run,
        }
    }
}

/// One line of a user's log, with its sequence number in that log (sequence numbers only
/// grow, so a host that shows the log can ask for what came after the last one it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// `INF`, `WRN` or `ERR`.
    pub level: &'static str,
    pub text: String,
    /// As Home shows it: `[2024-02-16 07:35Z INF] ...`.
    pub line: String,
}

impl From<journal::Entry> for LogEntry {
    fn from(e: journal::Entry) -> Self {
        Self {
            seq: e.seq,
            at: e.line.at,
            level: e.line.level.tag(),
            line: e.line.to_string(),
            text: e.line.text,
        }
    }
}

/// A run as every binding gets it: its report (or why it failed) and exactly the log lines
/// this run wrote, whatever else was written to the log meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRun {
    pub result: Result<RunView, PublicError>,
    pub log: Vec<LogEntry>,
}

impl App {
    /// Runs a job for a user against Graph and ERP.net now and records the outcome: "Sync
    /// now", the user's explicit request. A scheduler runs what is due with
    /// [`App::run_due_job`] instead.
    pub async fn run_job(&self, user_id: &str, job: JobKind, dry_run: bool) -> JobRun {
        let mut log = Vec::new();
        let result = self.run_job_logged(user_id, job, dry_run, &mut log).await;
        JobRun {
            result: result.map(|r| RunView::from(&r)),
            log: log.into_iter().map(LogEntry::from).collect(),
        }
    }

    /// Runs a job from [`App::due_jobs`] if it is still this runner's to run, the way every
    /// host's scheduler runs due jobs: claims it ([`App::claim_due_job`]), runs it and ends
    /// the claim. `None` when it is not to run here: another node ran it since the list was
    /// made, or is running it. So on any number of nodes over one store, each due time of a
    /// (user, job) runs once; a node that dies mid-run keeps it until the lease time passes.
    pub async fn run_due_job(&self, due: &DueJob) -> Result<Option<JobRun>, PublicError> {
        if !self.claim_due_job(due).await? {
            return Ok(None);
        }
        let run = self.run_job(&due.user_id, due.job, false).await;
        // When the claim cannot be ended now, it expires with the lease time.
        let _ = self.release_claim(&due.user_id, due.job).await;
        Ok(Some(run))
    }

    /// Takes a job from [`App::due_jobs`] for this runner, or says it is not to run here: it
    /// is no longer due (another node ran it since the list was made) or another runner has
    /// taken it. [`App::run_due_job`] claims before it runs; the claim ends with the run, or
    /// with the lease time when the node dies.
    pub async fn claim_due_job(&self, due: &DueJob) -> Result<bool, PublicError> {
        let store = self.host.store.as_ref();
        let (user_id, job) = (due.user_id.as_str(), due.job);
        let (runner, ttl) = match self.config.as_ref() {
            Some(c) => (c.runner_id.as_str(), c.lease_ttl),
            None => ("mssync", crate::jobs::DEFAULT_LEASE_TTL),
        };
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(15));
        let process = self.local_process();
        let key = status::status_key(user_id, job);
        let claimed = update_with_retry(store, &key, move || async move {
            let now = self.now();
            let (mut status, expect) = load_status(store, user_id, job).await?;
            if expect == crate::host::Expect::Absent
                || !status.enabled
                || status.claimed(now, process)
            {
                return Ok(None);
            }
            let scheduled = status.next_run.is_none_or(|at| at <= now);
            let notified = !scheduled
                && super::change_notifications::notified_due(store, now, process)
                    .await?
                    .iter()
                    .chain(
                        super::erp_feed::routed_due(store, now, process)
                            .await?
                            .iter(),
                    )
                    .any(|(u, j, _)| u == user_id && *j == job);
            if !scheduled && !notified {
                return Ok(None);
            }
            status.claim = Some(status::Claim {
                by: runner.to_owned(),
                until: now + ttl,
                machine: process.map(|p| p.node.clone()),
                pid: process.map(|p| p.pid),
            });
            Ok(Some((
                status::put_status(WriteBatch::new(), user_id, &status, expect),
                (),
            )))
        })
        .await?;
        Ok(claimed.is_some())
    }

    /// Ends this runner's claim on a job after its run (see [`App::claim_due_job`]).
    async fn release_claim(&self, user_id: &str, job: JobKind) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        let runner = self
            .config
            .as_ref()
            .map_or("mssync", |c| c.runner_id.as_str());
        let key = status::status_key(user_id, job);
        update_with_retry(store, &key, move || async move {
            let (mut status, expect) = load_status(store, user_id, job).await?;
            if status.claim.as_ref().is_none_or(|c| c.by != runner) {
                return Ok(None);
            }
            status.claim = None;
            Ok(Some((
                status::put_status(WriteBatch::new(), user_id, &status, expect),
                (),
            )))
        })
        .await?;
        Ok(())
    }

    async fn run_job_logged(
        &self,
        user_id: &str,
        job: JobKind,
        dry_run: bool,
        log: &mut Vec<journal::Entry>,
    ) -> Result<RunReport, PublicError> {
        let store = self.host.store.as_ref();
        profile::require(store, user_id).await?;
        let (status, _) = load_status(store, user_id, job).await?;
        if !status.enabled && !dry_run {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "the job is turned off; turn it on in Setup",
            ));
        }
        // A deactivated ERP.net user stops syncing: the job shows the error and its fix.
        let p = match self.fresh_rights(user_id, RUN_RIGHTS_MAX_AGE).await {
            Ok(p) => p,
            Err(e) => {
                if !dry_run {
                    log.extend(self.record_outcome(user_id, job, &Err(e.clone())).await?);
                }
                return Err(e);
            }
        };
        let (record, _) = load_service(store).await?;
        let options = RunOptions {
            full_refresh: status.full_refresh_requested,
            dry_run,
        };
        // Set by the job once its setup holds (see `App::subscribe_before_run`).
        let mut mark = None;
        let outcome = match job {
            JobKind::Calendar => self.run_calendar(&record, &p, options, &mut mark).await,
            JobKind::Mail => self.run_mail(&record, &p, options, &mut mark).await,
        };
        let outcome = outcome.map(|ran| {
            log.extend(ran.log);
            ran.report
        });
        if !dry_run {
            // A setup problem is the job's error state too, shown on Home with its fix.
            log.extend(self.record_outcome(user_id, job, &outcome).await?);
            self.after_subscribed_run(user_id, job, mark, outcome.is_ok())
                .await?;
        }
        outcome
    }

    /// One run of the Calendar job with its two sides over Graph and ERP.net.
    async fn run_calendar(
        &self,
        record: &ServiceRecord,
        p: &UserProfile,
        options: RunOptions,
        mark: &mut Option<u64>,
    ) -> Result<Ran, PublicError> {
        let (erp, outlook) = self.calendar_sides(record, p).await?;
        *mark = self
            .subscribe_before_run(&p.user_id, JobKind::Calendar, options)
            .await;
        let runner = self.config()?.runner_id.clone();
        self.run_calendar_on(&p.user_id, &erp, &outlook, &runner, options)
            .await
    }

    /// One run of the Mail job over Graph and ERP.net.
    async fn run_mail(
        &self,
        record: &ServiceRecord,
        p: &UserProfile,
        options: RunOptions,
        mark: &mut Option<u64>,
    ) -> Result<Ran, PublicError> {
        let erp_user = Guid::parse(&p.erp_user_id).ok_or_else(|| {
            PublicError::new(ErrorCode::NoErpUser, "the ERP.net user id is not valid")
        })?;
        let erp_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let erp = self.erp_client(erp_http.clone(), None, None)?;
        let (tokens, mailbox) = self.mailbox_access(record, &p.user_id)?;
        let graph_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let graph = self.graph_client(tokens, mailbox, p.zone.clone(), graph_http.clone())?;
        *mark = self
            .subscribe_before_run(&p.user_id, JobKind::Mail, options)
            .await;
        let requests = || erp_http.count() + graph_http.count();
        let config = self.config()?;
        let job = crate::jobs::mail::MailJob {
            host: &self.host,
            user: &p.user_id,
            address: &p.email,
            erp_user,
            policy: p.policy,
            erp: &erp,
            graph: &graph,
            requests: &requests,
            runner: &config.runner_id,
            process: config.local_process.as_ref(),
            lease_ttl: config.lease_ttl,
        };
        // The run's typed error becomes public here, at the application's edge.
        crate::jobs::mail::run(&job, options)
            .await
            .map_err(PublicError::from)
    }

    /// Keeps the job's subscription once its setup holds and before it reads: changes from
    /// here on are notified, earlier ones are in the delta. Returns the "notified" mark the run
    /// clears (none for a dry run, which subscribes to nothing).
    async fn subscribe_before_run(
        &self,
        user_id: &str,
        job: JobKind,
        options: RunOptions,
    ) -> Option<u64> {
        match options.dry_run {
            true => None,
            false => self.keep_subscription(user_id, job).await,
        }
    }

    async fn calendar_sides(
        &self,
        record: &ServiceRecord,
        p: &UserProfile,
    ) -> Result<(ErpSide, GraphSide), PublicError> {
        let (Some(company), Some(location)) = (
            p.company_id.as_deref().and_then(Guid::parse),
            p.location_id.as_deref().and_then(Guid::parse),
        ) else {
            return Err(PublicError::new(
                ErrorCode::NoEnterpriseCompany,
                "There's no enterprise company defined.",
            ));
        };
        let document_type = record
            .meeting_document_type
            .as_deref()
            .and_then(Guid::parse)
            .ok_or_else(|| {
                not_configured("an administrator must run 'Give permissions' in Service")
            })?;
        let erp_user = Guid::parse(&p.erp_user_id).ok_or_else(|| {
            PublicError::new(ErrorCode::NoErpUser, "the ERP.net user id is not valid")
        })?;
        let erp_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let erp = self.erp_client(
            erp_http.clone(),
            Some(company.clone()),
            Some(location.clone()),
        )?;
        // Profiles stored before the login was kept: ask ERP.net once per run.
        let login = match &p.erp_login {
            Some(login) => Some(login.clone()),
            None => erp.user_login(&erp_user).await?,
        };
        let erp_side = ErpSide::new(
            erp,
            erp_http,
            erp_user.clone(),
            login,
            p.zone.clone(),
            ActivityDefaults {
                enterprise_company: company,
                enterprise_company_location: location,
                document_type,
                assigned_to_user: Some(erp_user),
                from_party: None,
            },
        );
        // Changes the tenant's feed routed to the user: the run reads them instead of ERP.net
        // while the feed is current, and deletes them once its checkpoints advance.
        let store = self.host.store.as_ref();
        let (routed, records) =
            crate::jobs::calendar::routes::load_routes(store, &p.user_id).await?;
        let current = super::erp_feed::feed_is_current(store, self.now()).await?;
        let erp_side = erp_side.with_routes(
            routed.into_iter().map(|r| r.activity).collect(),
            records,
            current,
        );
        let (tokens, mailbox) = self.mailbox_access(record, &p.user_id)?;
        let graph_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let graph = self.graph_client(tokens, mailbox, p.zone.clone(), graph_http.clone())?;
        Ok((erp_side, GraphSide::new(graph, graph_http, p.zone.clone())))
    }

    /// The tokens and mailbox Graph is called with for a user: the application's token on the
    /// user's mailbox, or in Delegated mode the user's own token on `/me`.
    pub(super) fn mailbox_access(
        &self,
        record: &ServiceRecord,
        user_id: &str,
    ) -> Result<(Arc<dyn TokenSource>, Mailbox), PublicError> {
        Ok(match record.mode {
            OperationMode::Application => (
                Arc::new(AppTokenSource::new(
                    self.entra_client(record)?,
                    self.host.store.clone(),
                    self.sealer()?.clone(),
                    self.host.clock.clone(),
                    GRAPH_APP_SCOPE,
                )),
                Mailbox::User(user_id.to_owned()),
            ),
            OperationMode::Delegated => (
                Arc::new(self.delegated_tokens(record, user_id)?),
                Mailbox::Me,
            ),
        })
    }

    /// Jobs due now by the host's clock, in the order to run them (see [`App::due_jobs`]):
    /// the host's scheduler runs each with [`App::run_due_job`].
    pub async fn due_jobs_now(&self) -> Result<Vec<DueJob>, PublicError> {
        self.due_jobs(self.now()).await
    }

    /// Jobs due at `now`: those a change notification made due, or the tenant's ERP.net feed
    /// routed a change to, first (someone just changed something and waits to see it on the
    /// other side), then the scheduled ones, each group earliest first. A notification or a
    /// routed change makes its job due now, whatever its schedule said.
    pub async fn due_jobs(&self, now: DateTime<Utc>) -> Result<Vec<DueJob>, PublicError> {
        let store = self.host.store.as_ref();
        let process = self.local_process();
        let mut due: Vec<DueJob> = status::due(store, now, process)
            .await?
            .into_iter()
            .map(|(user_id, job, due_since)| DueJob {
                user_id,
                job,
                due_since,
                notified: false,
                routed: false,
            })
            .collect();
        let notified = super::change_notifications::notified_due(store, now, process).await?;
        let routed = super::erp_feed::routed_due(store, now, process).await?;
        let pushed = notified
            .into_iter()
            .map(|n| (n, true))
            .chain(routed.into_iter().map(|r| (r, false)));
        for ((user_id, job, since), by_notification) in pushed {
            let entry = match due
                .iter_mut()
                .position(|d| d.user_id == user_id && d.job == job)
            {
                Some(at) => &mut due[at],
                None => {
                    due.push(DueJob {
                        user_id,
                        job,
                        due_since: since,
                        notified: false,
                        routed: false,
                    });
                    due.last_mut().expect("just pushed")
                }
            };
            entry.due_since = entry.due_since.min(since);
            if by_notification {
                entry.notified = true;
            } else {
                entry.routed = true;
            }
        }
        due.sort_by(|a, b| {
            let waiting = |d: &DueJob| !(d.notified || d.routed);
            (waiting(a), a.due_since, &a.user_id).cmp(&(waiting(b), b.due_since, &b.user_id))
        });
        Ok(due)
    }

    /// Runs the calendar job for a user with the given sides and records the outcome in the
    /// job's status, as [`App::run_job`] does.
    #[cfg(test)]
    pub(crate) async fn run_calendar_with(
        &self,
        user_id: &str,
        erp: &dyn CalendarSide,
        outlook: &dyn CalendarSide,
        runner: &str,
        dry_run: bool,
    ) -> Result<RunReport, PublicError> {
        let options = RunOptions {
            full_refresh: status::load_status(self.host.store.as_ref(), user_id, JobKind::Calendar)
                .await?
                .0
                .full_refresh_requested,
            dry_run,
        };
        let outcome = self
            .run_calendar_on(user_id, erp, outlook, runner, options)
            .await
            .map(|ran| ran.report);
        if !dry_run {
            self.record_outcome(user_id, JobKind::Calendar, &outcome)
                .await?;
        }
        outcome
    }

    async fn run_calendar_on(
        &self,
        user_id: &str,
        erp: &dyn CalendarSide,
        outlook: &dyn CalendarSide,
        runner: &str,
        options: RunOptions,
    ) -> Result<Ran, PublicError> {
        let store = self.host.store.as_ref();
        let (profile, _) = profile::require(store, user_id).await?;
        if profile.company_id.is_none() || profile.location_id.is_none() {
            return Err(PublicError::new(
                ErrorCode::NoEnterpriseCompany,
                "There's no enterprise company defined.",
            ));
        }
        let job = crate::jobs::calendar::CalendarJob {
            host: &self.host,
            user: user_id,
            zone: profile.zone.clone(),
            policy: profile.policy,
            erp,
            outlook,
            runner,
            process: self.local_process(),
            lease_ttl: self
                .config
                .as_ref()
                .map_or(crate::jobs::DEFAULT_LEASE_TTL, |c| c.lease_ttl),
        };
        // The run's typed error becomes public here, at the application's edge.
        crate::jobs::calendar::run(&job, options)
            .await
            .map_err(PublicError::from)
    }

    /// This runner's machine and process, when the host said (see [`AppConfig::local_process`]).
    fn local_process(&self) -> Option<&crate::engine::LocalProcess> {
        self.config.as_ref().and_then(|c| c.local_process.as_ref())
    }

    /// This node's name: the runner id's node part (`sync-1` of `sync-1/4242/9f3a`).
    fn node(&self) -> &str {
        let runner = self
            .config
            .as_ref()
            .map_or("mssync", |c| c.runner_id.as_str());
        runner.split('/').next().unwrap_or(runner)
    }

    async fn record_outcome(
        &self,
        user_id: &str,
        job: JobKind,
        outcome: &Result<RunReport, PublicError>,
    ) -> Result<Vec<journal::Entry>, PublicError> {
        let store = self.host.store.as_ref();
        update_with_retry(store, user_id, move || async move {
            let (mut status, expect) = status::load_status(store, user_id, job).await?;
            let was_error = matches!(status.state, JobState::Error { .. });
            let now = self.now();
            let node = self.node();
            let mut lines = status::record_outcome(&mut status, now, outcome, node);
            // A run that happened (not one another node was running) says where it ran.
            if !matches!(outcome, Err(e) if e.code == crate::error::ErrorCode::LeaseHeld) {
                lines.push(journal::LogLine::new(
                    now,
                    journal::LogLevel::Info,
                    format!("Run on node '{node}'."),
                ));
            }
            let mut batch = status::put_status(WriteBatch::new(), user_id, &status, expect);
            let entries = journal::append(store, &mut batch, user_id, &lines).await?;
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
            Ok(Some((batch, entries)))
        })
        .await
        .map(Option::unwrap_or_default)
    }
}
