//! One run of the Mail job for one user, in phases: lease -> the default mailbox -> Outlook's
//! folder tree and its ERP.net twins (`folders`) -> each synced folder's message delta
//! (`outlook`) -> ERP.net's changed messages (`erp`) -> the plan (`plan`, with the rules of
//! [`super::decide`]) -> ERP.net's writes in `$batch` requests, then Outlook's (`apply`) -> one
//! fenced commit of links, checkpoint and log -> release.
//!
//! Crash safety, as in the Calendar job: a folder's delta link advances only when every write
//! its messages called for is done, ERP.net's watermark only when every Outlook write is, and
//! both only in the commit that records the links. A run that dies anywhere is replayed by the
//! next one; replays are harmless because a message is created with findOrCreate by its
//! Outlook id, and moves and read states are idempotent.

mod apply;
mod erp;
mod folders;
mod outlook;
mod plan;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::map;
use super::state::{Keys, MailCheckpoint, all_links, all_pending, load_checkpoint, put_link};
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::engine::{ConflictPolicy, Lease, LeaseError, acquire_lease, lease_key};
use crate::erp::{ErpClient, ErpError, Guid, MailBoxCheck};
use crate::graph::wire::mail::{INITIAL_DAYS, well_known};
use crate::graph::{GraphClient, GraphError};
use crate::host::{Expect, Host, StoreError, WriteBatch};
pub use crate::jobs::{Ran, RunOptions};
use crate::jobs::{RUN_INTERVAL, RunReport};

/// The job's name in leases, logs and Home.
pub const JOB_NAME: &str = "mail";

/// Who and how: what a run needs.
pub struct MailJob<'a> {
    pub host: &'a Host,
    /// The user's id in MsSync (store keys, lease, log).
    pub user: &'a str,
    /// The user's principal name: the default mailbox's address, and a draft's sender.
    pub address: &'a str,
    pub erp_user: Guid,
    pub policy: ConflictPolicy,
    pub erp: &'a ErpClient,
    pub graph: &'a GraphClient,
    /// Requests sent so far through both clients.
    pub requests: &'a (dyn Fn() -> u64 + Sync),
    pub runner: &'a str,
    pub process: Option<&'a crate::engine::LocalProcess>,
    pub lease_ttl: Duration,
}


/// Why a run stopped before its commit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Erp(#[from] ErpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// The user's default mailbox is missing or not one the job can use.
    #[error("the default mailbox is not usable: {0:?}")]
    MailBox(MailBoxCheck),
}

/// Runs the Mail job once for `job.user`.
pub async fn run(job: &MailJob<'_>, options: RunOptions) -> Result<Ran, RunError> {
    let store = job.host.store.as_ref();
    let key = lease_key(job.user, JOB_NAME);
    let mut lease = acquire_lease(
        store,
        job.host.clock.as_ref(),
        &key,
        job.runner,
        job.process,
        job.lease_ttl,
    )
    .await?;
    let result = Run::new(job, options).execute(&mut lease).await;
    // Releasing is best effort: an unreleased lease expires on its own.
    let _ = lease.release(store).await;
    result
}

struct Run<'j, 'a> {
    job: &'j MailJob<'a>,
    options: RunOptions,
    keys: Keys<'j>,
    log: Vec<LogLine>,
}

/// What a report says of a run's reads.
struct Reads {
    full: bool,
    pulled_from_erp: u32,
    pulled_from_outlook: u32,
}

impl<'j, 'a> Run<'j, 'a> {
    fn new(job: &'j MailJob<'a>, options: RunOptions) -> Self {
        Self {
            job,
            options,
            keys: Keys::new(job.user),
            log: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.job.host.clock.now()
    }

    fn note(&mut self, level: LogLevel, text: impl Into<String>) {
        let at = self.now();
        self.log.push(LogLine::new(at, level, text));
    }

    async fn execute(mut self, lease: &mut Lease) -> Result<Ran, RunError> {
        let store = self.job.host.store.as_ref();
        let started = self.now();
        if let Some(previous) = &lease.took_over_from {
            self.note(
                LogLevel::Warning,
                format!("The run of '{previous}' stopped half way; this run takes over."),
            );
        }
        let (mut cp, cp_expect) = load_checkpoint(store, &self.keys).await?;
        let mail_box = match self
            .job
            .erp
            .check_default_mail_box(&self.job.erp_user, self.job.address)
            .await?
        {
            MailBoxCheck::Ready(b) => b,
            problem => return Err(RunError::MailBox(problem)),
        };
        let box_id = mail_box.id.to_string();
        if cp.mail_box.as_deref() != Some(&box_id) {
            if cp.mail_box.is_some() {
                self.note(
                    LogLevel::Warning,
                    "The default mailbox changed; its folders are matched again.",
                );
            }
            cp = MailCheckpoint {
                mail_box: Some(box_id),
                since: cp.since,
                erp_since: cp.erp_since,
                ..MailCheckpoint::default()
            };
        }
        if self.options.full_refresh {
            cp.folder_delta = None;
            cp.folders.values_mut().for_each(|f| f.delta_link = None);
        }
        let since = *cp
            .since
            .get_or_insert(started - chrono::Duration::days(INITIAL_DAYS));
        let mut links = all_links(store, &self.keys).await?;
        let pending = all_pending(store, &self.keys).await?;

        // Outlook's folders and their twins in ERP.net.
        self.well_known(&mut cp).await?;
        let folders_whole = self.read_folders(&mut cp).await?;
        let erp_folders = self.job.erp.box_folders(&mail_box.id).await?;
        let mut folder_failures = 0;
        if !self.options.dry_run {
            folder_failures = self.place_folders(&mut cp, &erp_folders, &mail_box.id).await;
        }
        let trash = erp_folders
            .iter()
            .find(|f| f.system_purpose.as_deref() == map::system_purpose(well_known::DELETED_ITEMS))
            .map(|f| f.id.to_string());

        // Both sides' changes, then the plan.
        let mut outlook = self.read_outlook(&cp, since, &links).await?;
        let erp_ids: Vec<Guid> = erp_folders.iter().map(|f| f.id.clone()).collect();
        let erp = self
            .read_erp(
                &cp,
                &erp::ErpScope {
                    since,
                    folders: &erp_ids,
                    trash: trash.as_deref(),
                },
                &pending,
                &mut links,
                &mut outlook,
            )
            .await?;
        plan::learn_echoes(&pending, &mut links, &outlook, &erp);
        let plan = self.plan(&cp, trash.as_deref(), &mut links, &outlook, &erp).await?;
        let reads = Reads {
            full: folders_whole || !outlook.complete.is_empty(),
            pulled_from_erp: erp.pulled,
            pulled_from_outlook: outlook.arrived.len() as u32,
        };
        let (skipped, conflicts) = (plan.skipped, plan.conflicts);
        if self.options.dry_run {
            let (to_erp, to_outlook) = plan.counts();
            let applied = apply::Applied {
                to_erp,
                to_outlook,
                ..Default::default()
            };
            let report = self.report(started, &reads, &applied, skipped, conflicts, false);
            return Ok(Ran {
                report,
                log: Vec::new(),
            });
        }

        let intents = self.record_intents(lease, &plan).await?;
        let mut applied = self.apply(plan, &mut links, &outlook).await;
        applied.failed += folder_failures;

        // The checkpoint: each folder's delta link advances unless one of its writes failed.
        for (folder, link) in std::mem::take(&mut outlook.new_links) {
            if applied.stuck_folders.contains(&folder) {
                continue;
            }
            if let Some(state) = cp.folders.get_mut(&folder) {
                state.delta_link = Some(link);
            }
        }
        if !applied.outlook_failed {
            cp.erp_since = Some(started);
            cp.local_checkpoint = Some(started);
        }
        if applied.stuck_folders.is_empty() {
            cp.remote_checkpoint = Some(started);
        }
        cp.latest_sync = Some(self.now());
        self.summarize(&applied);
        let mut batch = WriteBatch::new();
        let recorded: BTreeSet<&String> = pending.keys().chain(intents.keys()).collect();
        for id in recorded
            .into_iter()
            .filter(|id| !applied.failed_messages.contains(*id))
        {
            batch = batch.delete(self.keys.pending(id), Expect::Any);
        }
        for link in links.values() {
            batch = put_link(batch, &self.keys, link);
        }
        batch = batch.put(
            self.keys.checkpoint(),
            serde_json::to_vec(&cp).expect("a checkpoint serializes"),
            cp_expect,
        );
        let lines = std::mem::take(&mut self.log);
        let log = self.commit(lease, batch, &lines).await?;
        let advanced = applied.failed == 0;
        let report = self.report(started, &reads, &applied, skipped, conflicts, advanced);
        Ok(Ran { report, log })
    }

    /// The run's log lines about its writes.
    fn summarize(&mut self, applied: &apply::Applied) {
        if applied.failed > 0 {
            self.note(
                LogLevel::Warning,
                format!(
                    "{} changes could not be written yet; they will be retried.",
                    applied.failed
                ),
            );
        }
        let (to_erp, to_outlook) = (applied.to_erp, applied.to_outlook);
        if to_erp.total() > 0 {
            self.note(
                LogLevel::Info,
                format!(
                    "Pushed {} to ERP.net ({} created, {} updated, {} moved to Trash).",
                    plural(to_erp.total(), "message"),
                    to_erp.created,
                    to_erp.updated,
                    to_erp.removed
                ),
            );
        }
        if to_outlook.total() > 0 {
            self.note(
                LogLevel::Info,
                format!(
                    "Pushed {} to Outlook ({} marked read or unread, {} moved to Deleted Items).",
                    plural(to_outlook.total(), "message"),
                    to_outlook.updated,
                    to_outlook.removed
                ),
            );
        }
    }

    fn report(
        &self,
        started: DateTime<Utc>,
        reads: &Reads,
        applied: &apply::Applied,
        skipped: u32,
        conflicts: u32,
        checkpoints_advanced: bool,
    ) -> RunReport {
        let finished = self.now();
        RunReport {
            started,
            finished,
            dry_run: self.options.dry_run,
            full_read: reads.full,
            pulled_from_erp: reads.pulled_from_erp,
            pulled_from_outlook: reads.pulled_from_outlook,
            to_outlook: applied.to_outlook,
            to_erp: applied.to_erp,
            conflicts,
            failed: applied.failed,
            skipped,
            requests: (self.job.requests)(),
            checkpoints_advanced,
            next_run: finished + RUN_INTERVAL,
        }
    }

    /// Commits `batch` with `lines` of log under the lease's fence ([`Lease::commit`]).
    async fn commit(
        &self,
        lease: &mut Lease,
        batch: WriteBatch,
        lines: &[LogLine],
    ) -> Result<Vec<journal::Entry>, RunError> {
        let until = self.now() + chrono::Duration::from_std(self.job.lease_ttl).unwrap_or_default();
        let store = self.job.host.store.as_ref();
        Ok(lease.commit(store, batch, self.job.user, lines, until).await?)
    }
}


fn plural(n: u32, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        _ => format!("{n} {noun}s"),
    }
}
