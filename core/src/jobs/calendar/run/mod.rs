//! One run of the calendar job for one user, in phases: lease -> `pull` (both reads, pairing
//! items with their links) -> `plan` (pure: pairs -> writes) -> `apply` -> `settle` (pure:
//! outcomes -> link writes and log lines) -> one fenced commit of links, checkpoints and log
//! -> release.
//!
//! Crash safety: links and checkpoints are committed only after the writes they record, and a
//! checkpoint advances only when every write it covers is done, so a run that dies anywhere is
//! replayed by the next one. Replays are harmless: creates are idempotent on both sides (Graph
//! `transactionId` and the activity-id property, ERP.net find-or-create by ExternalId), items
//! found by their twin's id are linked instead of created, and content equal to the snapshot is
//! no change.

mod decide;
mod pairs;
mod plan;
mod pull;
mod report;
mod settle;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};

use super::side::{
    CalendarSide, RemoteChange, RemoteWrite, SideError, Window, WriteOutcome, twin_of_key,
};
use super::state::{Keys, load_checkpoint};
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::engine::{ConflictPolicy, Lease, LeaseError, acquire_lease, lease_key};
use crate::host::{Expect, Host, StoreError, WriteBatch};
use crate::model::tz::Zone;
use decide::{Context, follow_ups, void_wins_over_found_twin};
use pairs::{Ended, Pair, PerSide, SIDES};
use plan::{Plan, push};
use report::Tally;
pub use crate::jobs::{Counts, DEFAULT_LEASE_TTL, RUN_INTERVAL, Ran, RunOptions, RunReport};
use settle::{Ledger, side_name};

/// A complete read that comes back empty while at least this many links exist is refused as a
/// fault rather than taken as that many deletions.
pub const BULK_DELETE_GUARD: usize = 3;
/// The job's name in leases, logs and Home.
pub const JOB_NAME: &str = "calendar";
/// How far back and ahead the job keeps calendars in step.
pub const WINDOW_BACK_DAYS: i64 = 14;
pub const WINDOW_AHEAD_DAYS: i64 = 365;

/// The rolling window for `now`. Its start moves a week at a time (to the Monday on or before
/// `now - 14 days`), so the delta token tied to it stays valid for a week instead of a day.
pub fn window_for(now: DateTime<Utc>) -> Window {
    let back = (now - chrono::Duration::days(WINDOW_BACK_DAYS)).date_naive();
    let monday = back - chrono::Duration::days(back.weekday().num_days_from_monday() as i64);
    let start = monday
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    Window {
        start,
        end: now + chrono::Duration::days(WINDOW_AHEAD_DAYS),
    }
}

/// Who and how: what a run needs besides the two sides.
pub struct CalendarJob<'a> {
    pub host: &'a Host,
    /// The user's id in MsSync (store keys, lease, log).
    pub user: &'a str,
    pub zone: Zone,
    pub policy: ConflictPolicy,
    pub erp: &'a dyn CalendarSide,
    pub outlook: &'a dyn CalendarSide,
    /// Identifies this engine instance in leases.
    pub runner: &'a str,
    /// Where the runner runs, if the host says: lets it take over from a gone process.
    pub process: Option<&'a crate::engine::LocalProcess>,
    /// How long the lease outlives the run's latest commit: a node that dies mid-run keeps
    /// the job this long before another takes it over.
    pub lease_ttl: Duration,
}

impl CalendarJob<'_> {
    fn side(&self, side: crate::engine::Side) -> &dyn CalendarSide {
        match side {
            crate::engine::Side::Erp => self.erp,
            crate::engine::Side::Outlook => self.outlook,
        }
    }
}


/// Why a run stopped before its commit. Typed, so callers decide on kinds; the application
/// makes the public error from it at its edge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Side(#[from] SideError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// A complete read came back empty while links exist: far more likely a fault (a wrong
    /// mailbox, a permissions change, a broken response) than a user deleting everything.
    #[error("{side} returned no items while {links} linked items are known")]
    EmptyRead { side: &'static str, links: usize },
}

/// Runs the calendar job once for `job.user`.
pub async fn run(job: &CalendarJob<'_>, options: RunOptions) -> Result<Ran, RunError> {
    let store = job.host.store.as_ref();
    let clock = job.host.clock.as_ref();
    let key = lease_key(job.user, JOB_NAME);
    let mut lease = acquire_lease(store, clock, &key, job.runner, job.process, job.lease_ttl).await?;
    let result = Run::new(job, options).execute(&mut lease).await;
    // Releasing is best effort: an unreleased lease expires on its own.
    let _ = lease.release(store).await;
    result
}

/// The writes of a run and how each ended, in the order they were applied.
#[derive(Default)]
struct Applied {
    writes: PerSide<Vec<RemoteWrite>>,
    outcomes: PerSide<Vec<WriteOutcome>>,
}

impl Applied {
    fn ended(&self, side: crate::engine::Side, index: Option<usize>) -> Option<Ended<'_>> {
        let i = index?;
        Some((&self.writes.get(side)[i], &self.outcomes.get(side)[i]))
    }

    fn of(&self, indexes: &PerSide<Option<usize>>) -> PerSide<Option<Ended<'_>>> {
        PerSide::new(
            self.ended(crate::engine::Side::Erp, indexes.erp),
            self.ended(crate::engine::Side::Outlook, indexes.outlook),
        )
    }
}

struct Run<'j, 'a> {
    job: &'j CalendarJob<'a>,
    options: RunOptions,
    keys: Keys<'j>,
    log: Vec<LogLine>,
    /// Pending Outlook creates that need no more looking after.
    stale_pending: Vec<String>,
    /// Events we created that no committed delta checkpoint covers yet: (key, already stored).
    unconfirmed: Vec<(String, bool)>,
}

impl<'j, 'a> Run<'j, 'a> {
    fn new(job: &'j CalendarJob<'a>, options: RunOptions) -> Self {
        Self {
            job,
            options,
            keys: Keys::new(job.user),
            log: Vec::new(),
            stale_pending: Vec::new(),
            unconfirmed: Vec::new(),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.job.host.clock.now()
    }

    fn note(&mut self, level: LogLevel, text: impl Into<String>) {
        let at = self.now();
        self.log.push(LogLine::new(at, level, text));
    }

    fn requests(&self) -> u64 {
        self.job.erp.requests() + self.job.outlook.requests()
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
        let (checkpoint, checkpoint_expect) = load_checkpoint(store, &self.keys).await?;
        let window = window_for(started);
        let full = self.options.full_refresh || checkpoint.window_start != Some(window.start);
        let from = PerSide::new(checkpoint.erp.as_deref(), checkpoint.outlook.as_deref())
            .map(|_, from| from.filter(|_| !full));
        let pulled = self
            .pull(&window, from, checkpoint.outlook.is_none())
            .await?;
        let (reads, pairs) = (pulled.reads, pulled.pairs);

        let zone = &self.job.zone;
        let in_window = |item: &crate::model::CalendarItem| window.touches(item, zone);
        let cx = Context {
            policy: self.job.policy,
            in_window: &in_window,
            complete: reads.as_ref().map(|_, r| r.complete),
        };
        let mut plan = plan::plan(&pairs, &cx);
        let mut tally = Tally {
            full_read: reads.outlook.complete || reads.erp.complete,
            pulled: reads.as_ref().map(|_, r| pairs::upserts(r)),
            conflicts: plan.conflicts,
            skipped: plan.skipped,
            dry_run: self.options.dry_run,
            ..Tally::default()
        };
        if self.options.dry_run {
            tally.written = plan.counts();
            let report = tally.report(started, self.now(), self.requests());
            return Ok(Ran {
                report,
                log: Vec::new(),
            });
        }

        // Outlook creates are recorded as pending first: if the run dies after Graph made the
        // event, the next run finds it by the activity id instead of making a second one.
        self.record_pending_creates(lease, &plan.writes.outlook)
            .await?;
        let (first, follow_up) = self.apply(&pairs, &mut plan).await;

        let mut ledger = Ledger::new(&self.keys);
        for planned in &plan.planned {
            let pair = &pairs[planned.pair_index];
            ledger.settle(
                pair,
                planned,
                first.of(&planned.first),
                follow_up.of(&planned.follow_up),
            );
        }
        let Ledger {
            batch,
            notes,
            written,
            failed,
            created_events,
            ..
        } = ledger;
        for (level, text) in notes {
            self.note(level, text);
        }
        self.unconfirmed.extend(
            created_events
                .into_iter()
                .map(|id| (self.keys.unconfirmed(&id), false)),
        );

        let advance = failed == 0;
        let finished = self.now();
        let mut next = checkpoint.clone();
        next.latest_sync = Some(finished);
        if advance {
            next.outlook = Some(reads.outlook.checkpoint.clone());
            next.erp = Some(reads.erp.checkpoint.clone());
            next.window_start = Some(window.start);
            next.remote_checkpoint = Some(started);
            next.local_checkpoint = Some(started);
        } else {
            self.note(
                LogLevel::Warning,
                format!("{failed} changes could not be written yet; they will be retried."),
            );
        }
        for side in SIDES {
            let counts = written.get(side);
            if counts.total() > 0 {
                let (noun, removed) = match side {
                    crate::engine::Side::Erp => ("activity", "voided"),
                    crate::engine::Side::Outlook => ("event", "deleted"),
                };
                self.note(
                    LogLevel::Info,
                    format!(
                        "Pushed {} to {} ({} created, {} updated, {} {removed}).",
                        plural(counts.total(), noun),
                        side_name(side),
                        counts.created,
                        counts.updated,
                        counts.removed,
                    ),
                );
            }
        }
        let batch = self.bookkeeping(batch, &reads.outlook.changes, advance);
        let batch = batch.put(
            self.keys.checkpoint(),
            serde_json::to_vec(&next).expect("a checkpoint serializes"),
            checkpoint_expect,
        );
        let lines = std::mem::take(&mut self.log);
        let log = self.commit(lease, batch, &lines).await?;

        tally.written = written;
        tally.failed = failed;
        tally.checkpoints_advanced = advance;
        let report = tally.report(started, finished, self.requests());
        Ok(Ran { report, log })
    }

    /// Applies the plan: ERP.net's writes, then Outlook's (a void activity found by a create
    /// takes its event with it), then the follow-ups both sides' results call for.
    async fn apply(&self, pairs: &[Pair], plan: &mut Plan) -> (Applied, Applied) {
        let mut first = Applied {
            writes: std::mem::take(&mut plan.writes),
            outcomes: PerSide::default(),
        };
        first.outcomes.erp = apply_on(self.job.erp, &first.writes.erp).await;
        for planned in plan.planned.iter_mut() {
            let pair = &pairs[planned.pair_index];
            let first_erp = first.ended(crate::engine::Side::Erp, planned.first.erp);
            if let Some((decision, remove)) =
                void_wins_over_found_twin(pair, first_erp, planned.first.outlook.is_some())
            {
                planned.first.erp = None;
                planned.decision = decision;
                planned.first.outlook = Some(push(&mut first.writes.outlook, remove));
            }
        }
        first.outcomes.outlook = apply_on(self.job.outlook, &first.writes.outlook).await;

        let mut then = Applied::default();
        for planned in plan.planned.iter_mut() {
            let pair = &pairs[planned.pair_index];
            let writes = follow_ups(pair, &planned.decision, first.of(&planned.first));
            planned.follow_up = writes.map(|side, w| w.map(|w| push(then.writes.get_mut(side), w)));
        }
        for side in SIDES {
            *then.outcomes.get_mut(side) =
                apply_on(self.job.side(side), then.writes.get(side)).await;
        }
        (first, then)
    }

    /// The store's bookkeeping of pending creates and unconfirmed events, added to `batch`.
    fn bookkeeping(
        &mut self,
        mut batch: WriteBatch,
        outlook_changes: &[RemoteChange],
        advance: bool,
    ) -> WriteBatch {
        for activity_id in std::mem::take(&mut self.stale_pending) {
            batch = batch.delete(self.keys.pending(&activity_id), Expect::Any);
        }
        // A run that keeps the old delta link may still link events that link never saw
        // (created since it was issued): they stay unconfirmed until a run advances.
        if !advance {
            let known: HashSet<String> = self.unconfirmed.iter().map(|(k, _)| k.clone()).collect();
            for change in outlook_changes {
                if let RemoteChange::Upsert(item) = change {
                    let key = self.keys.unconfirmed(&item.id);
                    if !known.contains(&key) {
                        self.unconfirmed.push((key, false));
                    }
                }
            }
        }
        // The new delta link was issued at this run's read, so it covers every event that
        // existed then; only events created since stay unconfirmed.
        if advance {
            for key in self.job.erp.consumed_records() {
                batch = batch.delete(key, Expect::Any);
            }
        }
        for (key, stored) in std::mem::take(&mut self.unconfirmed) {
            batch = match (stored, advance) {
                (true, true) => batch.delete(key, Expect::Any),
                (false, _) => batch.put(key, Vec::new(), Expect::Any),
                (true, false) => batch,
            };
        }
        batch
    }

    /// Records the pending Outlook creates before they are sent.
    async fn record_pending_creates(
        &mut self,
        lease: &mut Lease,
        outlook_writes: &[RemoteWrite],
    ) -> Result<(), RunError> {
        let mut batch = WriteBatch::new();
        for write in outlook_writes {
            if let RemoteWrite::Create {
                idempotency_key, ..
            } = write
            {
                // Keyed by the activity, holding the key the event is created (and found) by.
                batch = batch.put(
                    self.keys.pending(twin_of_key(idempotency_key)),
                    idempotency_key.as_bytes().to_vec(),
                    Expect::Any,
                );
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.commit(lease, batch, &[]).await.map(|_| ())
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

/// Applies `writes` on `side` (nothing to send: no request).
async fn apply_on(side: &dyn CalendarSide, writes: &[RemoteWrite]) -> Vec<WriteOutcome> {
    if writes.is_empty() {
        return Vec::new();
    }
    side.apply(writes.to_vec()).await
}

fn plural(n: u32, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "activity") => format!("{n} activities"),
        _ => format!("{n} {noun}s"),
    }
}
