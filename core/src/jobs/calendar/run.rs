//! One run of the calendar job for one user: lease -> checkpoints -> pull both sides -> pair
//! items with their links -> reconcile -> write -> commit links, checkpoints and log together ->
//! release.
//!
//! Crash safety: links and checkpoints are committed only after the writes they record, and a
//! checkpoint advances only when every write it covers is done, so a run that dies anywhere is
//! replayed by the next one. Replays are harmless: creates are idempotent on both sides (Graph
//! `transactionId` and the activity-id property, ERP.net find-or-create by ExternalId), items
//! found by their twin's id are linked instead of created, and content equal to the snapshot is
//! no change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use super::side::{
    CalendarSide, Pull, RemoteChange, RemoteItem, RemoteWrite, Window, WriteOutcome, twin_of_key,
};
use super::state::{
    Keys, Link, StoredLink, activity_of_event, all_links, delete_link, load_checkpoint, load_link,
    put_link,
};
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::engine::{
    ConflictPolicy, Decision, LeaseError, Observed, Side, SideWrite, acquire_lease, lease_key,
    reconcile_linked, reconcile_unlinked_pair,
};
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, Host, StoreError, WriteBatch};
use crate::model::CalendarItem;
use crate::model::tz::Zone;

/// A complete read that comes back empty while at least this many links exist is refused as a
/// fault rather than taken as that many deletions.
pub const BULK_DELETE_GUARD: usize = 3;
/// The job's name in leases, logs and Home.
pub const JOB_NAME: &str = "calendar";
const LEASE_TTL: Duration = Duration::from_secs(15 * 60);
/// How far back and ahead the job keeps calendars in step.
pub const WINDOW_BACK_DAYS: i64 = 14;
pub const WINDOW_AHEAD_DAYS: i64 = 365;
/// The default interval between runs.
pub const RUN_INTERVAL: chrono::Duration = chrono::Duration::minutes(15);

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
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Re-read the whole window on both sides and reconcile it against the links.
    pub full_refresh: bool,
    /// Plan only: report what would be written, write and store nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    /// Events deleted in Outlook, or activities voided in ERP.net.
    pub removed: u32,
}

impl Counts {
    fn add(&mut self, write: &RemoteWrite) {
        match write {
            RemoteWrite::Create { .. } => self.created += 1,
            RemoteWrite::Update { .. } => self.updated += 1,
            RemoteWrite::Remove { .. } => self.removed += 1,
            RemoteWrite::MarkConflict { .. } | RemoteWrite::Link { .. } => {}
        }
    }

    pub fn total(&self) -> u32 {
        self.created + self.updated + self.removed
    }
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

/// Runs the calendar job once for `job.user`.
pub async fn run(job: &CalendarJob<'_>, options: RunOptions) -> Result<RunReport, PublicError> {
    let store = job.host.store.as_ref();
    let clock = job.host.clock.as_ref();
    let key = lease_key(job.user, JOB_NAME);
    let mut lease = acquire_lease(store, clock, &key, job.runner, job.process, LEASE_TTL)
        .await
        .map_err(lease_error)?;
    let result = Run::new(job, options).execute(&mut lease).await;
    // Releasing is best effort: an unreleased lease expires on its own.
    let _ = lease.release(store).await;
    result
}

fn lease_error(error: LeaseError) -> PublicError {
    match error {
        LeaseError::Held { until } => PublicError::new(
            ErrorCode::LeaseHeld,
            format!(
                "another runner is syncing this calendar until {}",
                until.format("%Y-%m-%d %H:%MZ")
            ),
        ),
        LeaseError::Lost => PublicError::new(
            ErrorCode::LeaseHeld,
            "another runner took over this calendar; its run will finish the work",
        ),
        LeaseError::Store(e) => e.into(),
    }
}

/// One pair to decide: a link (if any) and what each side showed of it.
struct Pair {
    stored: Option<StoredLink>,
    erp: Option<Seen>,
    outlook: Option<Seen>,
}

#[derive(Clone)]
// Nearly every value is the large variant, so boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
enum Seen {
    Item(RemoteItem),
    Removed,
}

/// A decision with the writes it needs and where they land in each side's write list.
struct Planned {
    pair_index: usize,
    decision: Decision,
    erp_write: Option<usize>,
    outlook_write: Option<usize>,
    mark_conflict: bool,
    /// Writes that follow the first ones (see [`Run::plan_follow_ups`]), by index into the
    /// side's follow-up list.
    erp_follow_up: Option<usize>,
    outlook_follow_up: Option<usize>,
}

/// How the writes of one pair ended: its first writes and their follow-ups.
#[derive(Clone, Copy)]
struct PairOutcomes<'o> {
    erp: Option<(&'o RemoteWrite, &'o WriteOutcome)>,
    outlook: Option<(&'o RemoteWrite, &'o WriteOutcome)>,
    erp_follow_up: Option<(&'o RemoteWrite, &'o WriteOutcome)>,
    outlook_follow_up: Option<(&'o RemoteWrite, &'o WriteOutcome)>,
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

    async fn execute(mut self, lease: &mut crate::engine::Lease) -> Result<RunReport, PublicError> {
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
        let moved = checkpoint.window_start != Some(window.start);
        let full = self.options.full_refresh || moved;

        // Read both sides. A failed read stops the run before anything is written.
        let outlook_from = if full {
            None
        } else {
            checkpoint.outlook.as_deref()
        };
        let erp_from = if full {
            None
        } else {
            checkpoint.erp.as_deref()
        };
        let pull_started = self.now();
        let mut outlook_pull = self.job.outlook.pull(&window, outlook_from).await?;
        self.confirm_outlook_read(&mut outlook_pull).await?;
        let erp_pull = self.job.erp.pull(&window, erp_from).await?;
        let pull_ms = (self.now() - pull_started).num_milliseconds().max(0);
        let pulled_outlook = upserts(&outlook_pull);
        let pulled_erp = upserts(&erp_pull);
        self.note(
            LogLevel::Info,
            format!(
                "Pulled {} and {} for {pull_ms}ms.",
                plural(pulled_erp, "activity"),
                plural(pulled_outlook, "event")
            ),
        );

        let mut pairs = self.pair_up(&outlook_pull, &erp_pull).await?;
        self.guard_against_empty_reads(&pairs, &outlook_pull, &erp_pull)?;
        self.resolve_pending_creates(&mut pairs).await?;
        self.pair_by_recorded_twins(&mut pairs, checkpoint.outlook.is_none())
            .await?;

        let mut skipped = 0;
        let mut erp_writes = Vec::new();
        let mut outlook_writes = Vec::new();
        let mut planned = Vec::new();
        let mut conflicts = 0;
        for (index, pair) in pairs.iter().enumerate() {
            let Some(decision) = self.decide(pair, &window, &outlook_pull, &erp_pull) else {
                skipped += 1;
                continue;
            };
            conflicts += decision.conflicts.len() as u32;
            let mark_conflict = decision.read_only_conflict && self.conflict_is_new(pair);
            if decision.read_only_conflict && mark_conflict {
                conflicts += 1;
            }
            let erp_write = decision
                .to_erp
                .as_ref()
                .map(|w| push(&mut erp_writes, self.erp_write(pair, w)));
            let mut outlook_write = decision
                .to_outlook
                .as_ref()
                .map(|w| push(&mut outlook_writes, self.outlook_write(pair, w)));
            if mark_conflict
                && outlook_write.is_none()
                && let Some(Seen::Item(event)) = &pair.outlook
            {
                outlook_write = Some(push(
                    &mut outlook_writes,
                    RemoteWrite::MarkConflict {
                        id: event.id.clone(),
                    },
                ));
            }
            planned.push(Planned {
                pair_index: index,
                decision,
                erp_write,
                outlook_write,
                mark_conflict,
                erp_follow_up: None,
                outlook_follow_up: None,
            });
        }

        let mut to_erp = Counts::default();
        let mut to_outlook = Counts::default();
        erp_writes.iter().for_each(|w| to_erp.add(w));
        outlook_writes.iter().for_each(|w| to_outlook.add(w));

        if self.options.dry_run {
            let finished = self.now();
            return Ok(RunReport {
                started,
                finished,
                dry_run: true,
                full_read: outlook_pull.complete || erp_pull.complete,
                pulled_from_erp: pulled_erp,
                pulled_from_outlook: pulled_outlook,
                to_outlook,
                to_erp,
                conflicts,
                failed: 0,
                skipped,
                requests: self.job.erp.requests() + self.job.outlook.requests(),
                checkpoints_advanced: false,
                next_run: finished + RUN_INTERVAL,
            });
        }

        // Outlook creates are recorded as pending first: if the run dies after Graph made the
        // event, the next run finds it by the activity id instead of making a second one.
        self.record_pending_creates(lease, &outlook_writes).await?;

        let erp_outcomes = if erp_writes.is_empty() {
            Vec::new()
        } else {
            self.job.erp.apply(erp_writes.clone()).await
        };
        self.follow_voided_twins(
            &pairs,
            &mut planned,
            &erp_writes,
            &erp_outcomes,
            &mut outlook_writes,
        );
        let outlook_outcomes = if outlook_writes.is_empty() {
            Vec::new()
        } else {
            self.job.outlook.apply(outlook_writes.clone()).await
        };
        let (erp_follow_ups, outlook_follow_ups) = self.plan_follow_ups(
            &pairs,
            &mut planned,
            (&erp_writes, &erp_outcomes),
            (&outlook_writes, &outlook_outcomes),
        );
        let erp_follow_up_outcomes = if erp_follow_ups.is_empty() {
            Vec::new()
        } else {
            self.job.erp.apply(erp_follow_ups.clone()).await
        };
        let outlook_follow_up_outcomes = if outlook_follow_ups.is_empty() {
            Vec::new()
        } else {
            self.job.outlook.apply(outlook_follow_ups.clone()).await
        };

        let mut batch = WriteBatch::new();
        let mut failed = 0;
        let mut written_erp = Counts::default();
        let mut written_outlook = Counts::default();
        for plan in &planned {
            let pair = &pairs[plan.pair_index];
            let outcomes = PairOutcomes {
                erp: plan.erp_write.map(|i| (&erp_writes[i], &erp_outcomes[i])),
                outlook: plan
                    .outlook_write
                    .map(|i| (&outlook_writes[i], &outlook_outcomes[i])),
                erp_follow_up: plan
                    .erp_follow_up
                    .map(|i| (&erp_follow_ups[i], &erp_follow_up_outcomes[i])),
                outlook_follow_up: plan
                    .outlook_follow_up
                    .map(|i| (&outlook_follow_ups[i], &outlook_follow_up_outcomes[i])),
            };
            let settled = self.settle(
                &mut batch,
                pair,
                plan,
                outcomes,
                &mut written_erp,
                &mut written_outlook,
            );
            if !settled {
                failed += 1;
            }
        }

        let advance = failed == 0;
        let finished = self.now();
        let mut next = checkpoint.clone();
        next.latest_sync = Some(finished);
        if advance {
            next.outlook = Some(outlook_pull.checkpoint.clone());
            next.erp = Some(erp_pull.checkpoint.clone());
            next.window_start = Some(window.start);
            next.remote_checkpoint = Some(started);
            next.local_checkpoint = Some(started);
        } else {
            self.note(
                LogLevel::Warning,
                format!("{failed} changes could not be written yet; they will be retried."),
            );
        }
        for (counts, noun, removed, side) in [
            (written_erp, "activity", "voided", "ERP.net"),
            (written_outlook, "event", "deleted", "Outlook"),
        ] {
            if counts.total() > 0 {
                self.note(
                    LogLevel::Info,
                    format!(
                        "Pushed {} to {side} ({} created, {} updated, {} {removed}).",
                        plural(counts.total(), noun),
                        counts.created,
                        counts.updated,
                        counts.removed,
                    ),
                );
            }
        }
        for activity_id in std::mem::take(&mut self.stale_pending) {
            batch = batch.delete(self.keys.pending(&activity_id), Expect::Any);
        }
        // A run that keeps the old delta link may still link events that link never saw
        // (created since it was issued): they stay unconfirmed until a run advances.
        if !advance {
            let known: HashSet<String> = self.unconfirmed.iter().map(|(k, _)| k.clone()).collect();
            for change in &outlook_pull.changes {
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
        for (key, stored) in std::mem::take(&mut self.unconfirmed) {
            batch = match (stored, advance) {
                (true, true) => batch.delete(key, Expect::Any),
                (false, _) => batch.put(key, Vec::new(), Expect::Any),
                (true, false) => batch,
            };
        }
        batch = batch.put(
            self.keys.checkpoint(),
            serde_json::to_vec(&next).expect("a checkpoint serializes"),
            checkpoint_expect,
        );
        self.commit(lease, batch).await?;

        Ok(RunReport {
            started,
            finished,
            dry_run: false,
            full_read: outlook_pull.complete || erp_pull.complete,
            pulled_from_erp: pulled_erp,
            pulled_from_outlook: pulled_outlook,
            to_outlook: written_outlook,
            to_erp: written_erp,
            conflicts,
            failed,
            skipped,
            requests: self.job.erp.requests() + self.job.outlook.requests(),
            checkpoints_advanced: advance,
            next_run: finished + RUN_INTERVAL,
        })
    }

    /// Commits `batch` with the log and the lease fence; a lost lease refuses the whole batch.
    async fn commit(
        &mut self,
        lease: &mut crate::engine::Lease,
        mut batch: WriteBatch,
    ) -> Result<(), PublicError> {
        let store = self.job.host.store.as_ref();
        let lines = std::mem::take(&mut self.log);
        journal::append(store, &mut batch, self.job.user, &lines).await?;
        let until = self.now() + chrono::Duration::from_std(LEASE_TTL).unwrap_or_default();
        batch.push(lease.fence(until));
        match store.commit(batch).await {
            Ok(()) => {}
            Err(StoreError::Conflict { .. }) => return Err(lease_error(LeaseError::Lost)),
            Err(e) => return Err(e.into()),
        }
        lease
            .refresh_version(store, until)
            .await
            .map_err(lease_error)
    }

    /// An event not linked yet whose activity create found the activity an earlier run made for
    /// it (before it died unrecorded), voided since by the user: the void wins, and the event
    /// is deleted in this same run instead of being linked to a void activity.
    fn follow_voided_twins(
        &self,
        pairs: &[Pair],
        planned: &mut [Planned],
        erp_writes: &[RemoteWrite],
        erp_outcomes: &[WriteOutcome],
        outlook_writes: &mut Vec<RemoteWrite>,
    ) {
        for plan in planned.iter_mut() {
            let Some(i) = plan.erp_write else { continue };
            let pair = &pairs[plan.pair_index];
            let voided_twin = matches!(erp_writes[i], RemoteWrite::Create { .. })
                && matches!(erp_outcomes[i], WriteOutcome::Missing)
                && plan.outlook_write.is_none()
                && pair.stored.is_none();
            let Some(Seen::Item(event)) = &pair.outlook else {
                continue;
            };
            if !voided_twin {
                continue;
            }
            plan.erp_write = None;
            plan.decision = Decision {
                to_outlook: Some(SideWrite::Remove),
                ..Decision::default()
            };
            plan.outlook_write = Some(push(
                outlook_writes,
                RemoteWrite::Remove {
                    id: event.id.clone(),
                },
            ));
        }
    }

    /// An unlinked event may be one MsSync made for an activity whose link the store lost (or
    /// never had: a Released activity refuses its ExternalId). Such events carry the activity's
    /// id, which delta does not return, so a run that might meet one (an unlinked event beside
    /// an unlinked activity that names no event, or any unlinked event on a store that holds
    /// no checkpoint) lists them once and pairs them, never creating twins of twins.
    async fn pair_by_recorded_twins(
        &mut self,
        pairs: &mut Vec<Pair>,
        fresh_store: bool,
    ) -> Result<(), PublicError> {
        fn lone_activity(p: &Pair) -> Option<&str> {
            match (&p.stored, &p.erp, &p.outlook) {
                (None, Some(Seen::Item(a)), None) if a.twin.is_none() => Some(a.id.as_str()),
                _ => None,
            }
        }
        fn lone_event(p: &Pair) -> Option<&str> {
            match (&p.stored, &p.erp, &p.outlook) {
                (None, None, Some(Seen::Item(e))) => Some(e.id.as_str()),
                _ => None,
            }
        }
        let any_event = pairs.iter().any(|p| lone_event(p).is_some());
        let any_activity = pairs.iter().any(|p| lone_activity(p).is_some());
        if !any_event || !(fresh_store || any_activity) {
            return Ok(());
        }
        let Some(recorded) = self.job.outlook.recorded_twins().await? else {
            return Ok(());
        };
        let store = self.job.host.store.as_ref();
        let index = |lone: fn(&Pair) -> Option<&str>| -> HashMap<String, usize> {
            pairs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((lone(p)?.to_owned(), i)))
                .collect()
        };
        let lone_events = index(lone_event);
        let lone_activities = index(lone_activity);
        let mut paired_activities: HashSet<String> =
            pairs.iter().filter_map(|p| pair_id(p, Side::Erp)).collect();
        for (event_id, activity_id) in recorded {
            // Each event and each activity is paired once, whatever the listing repeats.
            let Some(&e) = lone_events.get(&event_id) else {
                continue;
            };
            if lone_event(&pairs[e]).is_none() {
                continue;
            }
            if let Some(&a) = lone_activities.get(&activity_id) {
                if lone_activity(&pairs[a]).is_some() {
                    pairs[a].outlook = pairs[e].outlook.take();
                }
                continue;
            }
            let known = paired_activities.contains(&activity_id)
                || load_link(store, &self.keys, &activity_id).await?.is_some();
            if known {
                continue; // the activity is linked to another event: leave this one alone
            }
            // Its activity is not among this read's changes: read it; a void one takes the
            // event with it.
            paired_activities.insert(activity_id.clone());
            pairs[e].erp = Some(match self.job.erp.get(&activity_id).await? {
                Some(activity) => Seen::Item(activity),
                None => Seen::Removed,
            });
        }
        pairs.retain(|p| p.stored.is_some() || p.erp.is_some() || p.outlook.is_some());
        Ok(())
    }

    /// Writes that depend on what the first writes returned:
    /// - a create that found the item an earlier run made (Graph's `transactionId`, ERP.net's
    ///   findOrCreate) got that item back as it was then: the difference from what this run
    ///   meant is written now, so the link's snapshot is true of both sides;
    /// - an activity that does not record its event yet gets ExternalId and ExternalSystem, so
    ///   the link lives in ERP.net too and survives the loss of the host's store. A Released or
    ///   Closed activity refuses it; its event's activity-id property keeps the link instead.
    fn plan_follow_ups(
        &self,
        pairs: &[Pair],
        planned: &mut [Planned],
        erp: (&[RemoteWrite], &[WriteOutcome]),
        outlook: (&[RemoteWrite], &[WriteOutcome]),
    ) -> (Vec<RemoteWrite>, Vec<RemoteWrite>) {
        let mut erp_follow_ups = Vec::new();
        let mut outlook_follow_ups = Vec::new();
        for plan in planned.iter_mut() {
            let first_erp = plan.erp_write.map(|i| (&erp.0[i], &erp.1[i]));
            let first_outlook = plan.outlook_write.map(|i| (&outlook.0[i], &outlook.1[i]));
            let landed = |o: Option<(&RemoteWrite, &WriteOutcome)>| {
                !matches!(
                    o,
                    Some((_, WriteOutcome::Failed(_) | WriteOutcome::Refused(_)))
                )
            };
            if plan.decision.snapshot.is_none() || !landed(first_erp) || !landed(first_outlook) {
                continue;
            }
            if let Some(correction) = correction_of(first_outlook) {
                plan.outlook_follow_up = Some(push(&mut outlook_follow_ups, correction));
            }
            let follow_up = correction_of(first_erp)
                .or_else(|| link_to_record(&pairs[plan.pair_index], first_erp, first_outlook));
            if let Some(write) = follow_up {
                plan.erp_follow_up = Some(push(&mut erp_follow_ups, write));
            }
        }
        (erp_follow_ups, outlook_follow_ups)
    }

    /// Makes an incremental Outlook read tell the truth about linked events:
    /// - the stored delta link predates events we created after it was issued, and may never
    ///   report them, not even their deletion: such events are looked up by id;
    /// - delta reports `@removed` also for events that only left the window (moved far ahead,
    ///   or the window rolled past them): a removal of a linked event is looked up by id, and
    ///   an event that still exists is read as it is, never taken as a deletion.
    async fn confirm_outlook_read(&mut self, pull: &mut Pull) -> Result<(), PublicError> {
        let store = self.job.host.store.as_ref();
        let prefix = self.keys.unconfirmed_prefix();
        let unconfirmed = store.scan(&prefix).await?;
        if pull.complete {
            self.unconfirmed
                .extend(unconfirmed.into_iter().map(|(key, _)| (key, true)));
            return Ok(());
        }
        let mut reported: HashSet<String> = HashSet::new();
        for change in pull.changes.iter_mut() {
            match change {
                RemoteChange::Upsert(item) => {
                    reported.insert(item.id.clone());
                }
                RemoteChange::Removed { id } => {
                    reported.insert(id.clone());
                    if activity_of_event(store, &self.keys, id).await?.is_some()
                        && let Some(event) = self.job.outlook.get(id).await?
                    {
                        *change = RemoteChange::Upsert(event);
                    }
                }
            }
        }
        for (key, _) in unconfirmed {
            let event_id = key[prefix.len()..].to_owned();
            if !reported.contains(&event_id) {
                pull.changes
                    .push(match self.job.outlook.get(&event_id).await? {
                        Some(event) => RemoteChange::Upsert(event),
                        None => RemoteChange::Removed { id: event_id },
                    });
            }
            self.unconfirmed.push((key, true));
        }
        Ok(())
    }

    /// Groups the changes of both sides with the links they belong to.
    async fn pair_up(&self, outlook: &Pull, erp: &Pull) -> Result<Vec<Pair>, PublicError> {
        let store = self.job.host.store.as_ref();
        let mut by_activity: BTreeMap<String, Pair> = BTreeMap::new();
        let mut unlinked_events: BTreeMap<String, Seen> = BTreeMap::new();
        let mut unlinked_activities: BTreeMap<String, Seen> = BTreeMap::new();

        if outlook.complete || erp.complete {
            for stored in all_links(store, &self.keys).await? {
                by_activity.insert(
                    stored.link.activity_id.clone(),
                    Pair {
                        stored: Some(stored),
                        erp: None,
                        outlook: None,
                    },
                );
            }
        }

        for (id, seen) in last_per_id(erp) {
            if let Some(pair) = by_activity.get_mut(&id) {
                pair.erp = Some(seen);
                continue;
            }
            match load_link(store, &self.keys, &id).await? {
                Some(stored) => {
                    by_activity.insert(
                        id,
                        Pair {
                            stored: Some(stored),
                            erp: Some(seen),
                            outlook: None,
                        },
                    );
                }
                None => {
                    unlinked_activities.insert(id, seen);
                }
            }
        }

        let linked_events: HashMap<String, String> = by_activity
            .values()
            .filter_map(|p| p.stored.as_ref())
            .map(|s| (s.link.event_id.clone(), s.link.activity_id.clone()))
            .collect();
        for (id, seen) in last_per_id(outlook) {
            let activity = match linked_events.get(&id) {
                Some(a) => Some(a.clone()),
                None => activity_of_event(store, &self.keys, &id).await?,
            };
            match activity {
                Some(activity_id) => {
                    if !by_activity.contains_key(&activity_id)
                        && let Some(stored) = load_link(store, &self.keys, &activity_id).await?
                    {
                        by_activity.insert(
                            activity_id.clone(),
                            Pair {
                                stored: Some(stored),
                                erp: None,
                                outlook: None,
                            },
                        );
                    }
                    match by_activity.get_mut(&activity_id) {
                        Some(pair) => pair.outlook = Some(seen),
                        None => {
                            unlinked_events.insert(id, seen);
                        }
                    }
                }
                None => {
                    unlinked_events.insert(id, seen);
                }
            }
        }

        let mut pairs: Vec<Pair> = by_activity.into_values().collect();
        // New items: pair them by the twin ids they carry, else each stands alone.
        for (_, seen) in unlinked_activities {
            let twin = match &seen {
                Seen::Item(item) => item.twin.clone(),
                Seen::Removed => None,
            };
            let mut outlook = twin
                .as_deref()
                .and_then(|event_id| unlinked_events.remove(event_id));
            if outlook.is_none()
                && matches!(seen, Seen::Item(_))
                && let Some(event_id) = twin.as_deref()
            {
                // Made from an event (by us before a crash, or by the original MsSync): pair
                // them, or follow the event's deletion; never copy it back.
                outlook = Some(match self.job.outlook.get(event_id).await? {
                    Some(event) => Seen::Item(event),
                    None => Seen::Removed,
                });
            }
            if matches!(seen, Seen::Removed) && outlook.is_none() {
                continue; // voided before we ever linked it: nothing to do
            }
            pairs.push(Pair {
                stored: None,
                erp: Some(seen),
                outlook,
            });
        }
        for (_, seen) in unlinked_events {
            if matches!(seen, Seen::Removed) {
                continue;
            }
            pairs.push(Pair {
                stored: None,
                erp: None,
                outlook: Some(seen),
            });
        }
        Ok(pairs)
    }

    /// A complete read that comes back empty while links exist is far more likely a fault (a
    /// wrong mailbox, a permissions change, a broken response) than a user deleting everything:
    /// stop before it deletes the other side in bulk.
    fn guard_against_empty_reads(
        &self,
        pairs: &[Pair],
        outlook: &Pull,
        erp: &Pull,
    ) -> Result<(), PublicError> {
        let links = pairs.iter().filter(|p| p.stored.is_some()).count();
        if links < BULK_DELETE_GUARD {
            // A user may well delete their last one or two items.
            return Ok(());
        }
        for (pull, side) in [(outlook, "Outlook"), (erp, "ERP.net")] {
            if pull.complete && upserts(pull) == 0 {
                return Err(PublicError::new(
                    ErrorCode::SafetyGuard,
                    format!(
                        "{side} returned no items while {links} linked items are known; nothing was deleted. Check the connection and run Full refresh."
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Outlook creates a previous run sent but did not record: link the events they made.
    async fn resolve_pending_creates(&mut self, pairs: &mut Vec<Pair>) -> Result<(), PublicError> {
        let store = self.job.host.store.as_ref();
        let prefix = self.keys.pending_prefix();
        for (key, value) in store.scan(&prefix).await? {
            let activity_id = key[prefix.len()..].to_owned();
            let creation_key =
                String::from_utf8(value.value).unwrap_or_else(|_| activity_id.clone());
            if load_link(store, &self.keys, &activity_id).await?.is_some() {
                // A re-creation (a change won over an Outlook deletion) sent before a crash:
                // the linked pair creates it again under the same key and gets this event
                // back; it must not also stand alone as a new event to copy into ERP.net.
                match self.job.outlook.find_by_twin(&creation_key).await? {
                    Some(event) => pairs.retain(|p| {
                        !(p.stored.is_none()
                            && p.erp.is_none()
                            && matches!(&p.outlook, Some(Seen::Item(e)) if e.id == event.id))
                    }),
                    None => self.stale_pending.push(activity_id),
                }
                continue;
            }
            let Some(event) = self.job.outlook.find_by_twin(&creation_key).await? else {
                // The create never reached Outlook; the activity is created as usual.
                self.stale_pending.push(activity_id);
                continue;
            };
            // The event exists: pair it with its activity instead of copying either.
            let event_id = event.id.clone();
            pairs.retain(|p| {
                !(p.stored.is_none()
                    && p.erp.is_none()
                    && matches!(&p.outlook, Some(Seen::Item(e)) if e.id == event_id))
            });
            let unlinked_activity = |p: &&mut Pair| {
                p.stored.is_none()
                    && match &p.erp {
                        Some(Seen::Item(a)) => a.id == activity_id,
                        _ => false,
                    }
            };
            if let Some(pair) = pairs.iter_mut().find(unlinked_activity) {
                pair.outlook = Some(Seen::Item(event));
                continue;
            }
            let activity = match self.job.erp.get(&activity_id).await? {
                Some(a) => Seen::Item(a),
                // Voided since: the event made for it goes too.
                None => Seen::Removed,
            };
            pairs.push(Pair {
                stored: None,
                erp: Some(activity),
                outlook: Some(Seen::Item(event)),
            });
        }
        Ok(())
    }

    fn decide(&self, pair: &Pair, window: &Window, outlook: &Pull, erp: &Pull) -> Option<Decision> {
        let policy = self.job.policy;
        let zone = &self.job.zone;
        match &pair.stored {
            Some(stored) => {
                let link = &stored.link;
                let in_window = window.touches(&link.snapshot, zone);
                fn observe(seen: &Option<Seen>, complete: bool, in_window: bool) -> Observed<'_> {
                    match seen {
                        Some(Seen::Item(item)) => Observed::Present(&item.state),
                        // Graph also reports items that left the window as removed: only a
                        // removal inside the window is a deletion.
                        Some(Seen::Removed) if in_window => Observed::Gone,
                        Some(Seen::Removed) => Observed::Unchanged,
                        None if complete && in_window => Observed::Gone,
                        None => Observed::Unchanged,
                    }
                }
                let erp_seen = observe(&pair.erp, erp.complete, in_window);
                let outlook_seen = observe(&pair.outlook, outlook.complete, in_window);
                let read_only = match &pair.erp {
                    Some(Seen::Item(a)) => a.state.read_only,
                    _ => link.read_only,
                };
                Some(reconcile_linked(
                    &link.snapshot,
                    erp_seen,
                    outlook_seen,
                    read_only,
                    policy,
                ))
            }
            None => match (&pair.erp, &pair.outlook) {
                (Some(Seen::Item(a)), Some(Seen::Item(e))) => {
                    Some(reconcile_unlinked_pair(&a.state, &e.state, policy))
                }
                // Made from its twin, whose deletion we never recorded: it goes too.
                (Some(Seen::Item(_)), Some(Seen::Removed)) => Some(Decision {
                    to_erp: Some(SideWrite::Remove),
                    ..Decision::default()
                }),
                (Some(Seen::Removed), Some(Seen::Item(_))) => Some(Decision {
                    to_outlook: Some(SideWrite::Remove),
                    ..Decision::default()
                }),
                (Some(Seen::Item(a)), _) => {
                    if !window.touches(&a.state.item, zone) {
                        return None;
                    }
                    Some(Decision {
                        to_outlook: Some(SideWrite::Create(a.state.item.clone())),
                        snapshot: Some(a.state.item.clone()),
                        ..Decision::default()
                    })
                }
                (_, Some(Seen::Item(e))) => {
                    if !window.touches(&e.state.item, zone) {
                        return None;
                    }
                    Some(Decision {
                        to_erp: Some(SideWrite::Create(e.state.item.clone())),
                        snapshot: Some(e.state.item.clone()),
                        ..Decision::default()
                    })
                }
                _ => None,
            },
        }
    }

    fn conflict_is_new(&self, pair: &Pair) -> bool {
        let Some(Seen::Item(event)) = &pair.outlook else {
            return false;
        };
        let marked = pair
            .stored
            .as_ref()
            .and_then(|s| s.link.conflict_marked.as_ref());
        marked != Some(&event.state.item.content_hash())
    }

    fn erp_write(&self, pair: &Pair, write: &SideWrite) -> RemoteWrite {
        let activity = pair_id(pair, Side::Erp);
        let event = pair_id(pair, Side::Outlook);
        match write {
            SideWrite::Create(item) => RemoteWrite::Create {
                idempotency_key: creation_key(event, pair, Side::Erp),
                item: item.clone(),
            },
            SideWrite::Update { fields, item } => RemoteWrite::Update {
                id: activity.unwrap_or_default(),
                version: pair_version(pair, Side::Erp),
                fields: fields.clone(),
                item: item.clone(),
            },
            SideWrite::Remove => RemoteWrite::Remove {
                id: activity.unwrap_or_default(),
            },
        }
    }

    fn outlook_write(&self, pair: &Pair, write: &SideWrite) -> RemoteWrite {
        let activity = pair_id(pair, Side::Erp);
        let event = pair_id(pair, Side::Outlook);
        match write {
            SideWrite::Create(item) => RemoteWrite::Create {
                idempotency_key: creation_key(activity, pair, Side::Outlook),
                item: item.clone(),
            },
            SideWrite::Update { fields, item } => RemoteWrite::Update {
                id: event.unwrap_or_default(),
                version: pair_version(pair, Side::Outlook),
                fields: fields.clone(),
                item: item.clone(),
            },
            SideWrite::Remove => RemoteWrite::Remove {
                id: event.unwrap_or_default(),
            },
        }
    }

    async fn record_pending_creates(
        &mut self,
        lease: &mut crate::engine::Lease,
        outlook_writes: &[RemoteWrite],
    ) -> Result<(), PublicError> {
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
        let store = self.job.host.store.as_ref();
        let until = self.now() + chrono::Duration::from_std(LEASE_TTL).unwrap_or_default();
        batch.push(lease.fence(until));
        match store.commit(batch).await {
            Ok(()) => lease
                .refresh_version(store, until)
                .await
                .map_err(lease_error),
            Err(StoreError::Conflict { .. }) => Err(lease_error(LeaseError::Lost)),
            Err(e) => Err(e.into()),
        }
    }

    /// Records what the writes of one pair achieved. Returns false when a write failed for now
    /// (the pair is left as it was, to be replayed).
    fn settle(
        &mut self,
        batch: &mut WriteBatch,
        pair: &Pair,
        plan: &Planned,
        outcomes: PairOutcomes<'_>,
        written_erp: &mut Counts,
        written_outlook: &mut Counts,
    ) -> bool {
        let PairOutcomes { erp, outlook, .. } = outcomes;
        let mut retry_later = false;
        let mut refused = None;
        for (side, outcome) in [(Side::Erp, erp), (Side::Outlook, outlook)] {
            let Some((write, outcome)) = outcome else {
                continue;
            };
            match outcome {
                WriteOutcome::Done(_) | WriteOutcome::Missing => match side {
                    Side::Erp => written_erp.add(write),
                    Side::Outlook => written_outlook.add(write),
                },
                WriteOutcome::Refused(error) => refused = Some((side, error.clone())),
                WriteOutcome::Failed(_) => retry_later = true,
            }
        }
        if retry_later {
            return false;
        }
        let decision = &plan.decision;
        if pair.stored.is_none()
            && let Some(activity_id) = pair_id(pair, Side::Erp)
        {
            *batch = std::mem::take(batch).delete(self.keys.pending(&activity_id), Expect::Any);
        }
        if let Some((side, error)) = refused {
            let what = match side {
                Side::Erp => "activity",
                Side::Outlook => "event",
            };
            self.note(
                LogLevel::Warning,
                format!(
                    "Synchronization conflict: an {what} refused the change ({}).",
                    error.code
                ),
            );
            // An activity that became read-only is remembered, so Outlook's edit is marked
            // next run instead of retried; other refusals are re-read and decided again.
            if error.code == ErrorCode::ReadOnlyActivity
                && let Some(stored) = &pair.stored
            {
                let mut link = stored.link.clone();
                link.read_only = true;
                *batch = put_link(
                    std::mem::take(batch),
                    &self.keys,
                    &link,
                    Expect::Version(stored.version),
                );
            }
            return true;
        }
        let keys = &self.keys;

        let created_erp = match erp {
            Some((_, WriteOutcome::Done(Some(item)))) => Some(item.clone()),
            _ => None,
        };
        let created_outlook = match outlook {
            Some((_, WriteOutcome::Done(Some(item)))) => Some(item.clone()),
            _ => None,
        };
        let activity_id = created_erp
            .as_ref()
            .filter(|_| matches!(decision.to_erp, Some(SideWrite::Create(_))))
            .map(|i| i.id.clone())
            .or_else(|| pair_id(pair, Side::Erp));
        let event_id = created_outlook
            .as_ref()
            .filter(|_| matches!(decision.to_outlook, Some(SideWrite::Create(_))))
            .map(|i| i.id.clone())
            .or_else(|| pair_id(pair, Side::Outlook));

        let expect = pair
            .stored
            .as_ref()
            .map_or(Expect::Absent, |s| Expect::Version(s.version));
        let resurrected_elsewhere = pair.stored.as_ref().is_some_and(|s| {
            Some(&s.link.activity_id) != activity_id.as_ref()
                || Some(&s.link.event_id) != event_id.as_ref()
        });
        if let Some(stored) = &pair.stored
            && (decision.snapshot.is_none() || resurrected_elsewhere)
        {
            *batch = delete_link(std::mem::take(batch), keys, &stored.link, expect);
        }
        let (snapshot, follow_ups_landed) = follow_up_result(decision, outcomes);
        if let (Some(snapshot), Some(activity_id), Some(event_id)) =
            (&snapshot, activity_id, event_id)
        {
            let version_of = |side: Side, fresh: &Option<RemoteItem>| {
                fresh
                    .as_ref()
                    .map(|i| i.version.clone())
                    .unwrap_or_else(|| pair_version(pair, side))
            };
            let latest =
                |first: Option<(&RemoteWrite, &WriteOutcome)>,
                 follow_up: Option<(&RemoteWrite, &WriteOutcome)>| {
                    match (follow_up, first) {
                        (Some((RemoteWrite::Update { .. }, WriteOutcome::Done(Some(item)))), _) => {
                            Some(item.clone())
                        }
                        (_, Some((_, WriteOutcome::Done(item)))) => item.clone(),
                        _ => None,
                    }
                };
            let updated_erp = latest(erp, outcomes.erp_follow_up);
            let updated_outlook = latest(outlook, outcomes.outlook_follow_up);
            let read_only = match &pair.erp {
                Some(Seen::Item(a)) => a.state.read_only,
                _ => pair.stored.as_ref().is_some_and(|s| s.link.read_only),
            };
            let conflict_marked = if plan.mark_conflict {
                match &pair.outlook {
                    Some(Seen::Item(e)) => Some(e.state.item.content_hash()),
                    _ => None,
                }
            } else if decision.read_only_conflict {
                pair.stored
                    .as_ref()
                    .and_then(|s| s.link.conflict_marked.clone())
            } else {
                None
            };
            let link = Link {
                activity_id: activity_id.clone(),
                event_id: event_id.clone(),
                snapshot: snapshot.clone(),
                activity_version: version_of(Side::Erp, &updated_erp),
                event_version: version_of(Side::Outlook, &updated_outlook),
                read_only,
                conflict_marked,
            };
            let link_expect = if resurrected_elsewhere {
                Expect::Any
            } else {
                expect
            };
            *batch = put_link(std::mem::take(batch), keys, &link, link_expect);
            if created_outlook.is_some()
                && matches!(decision.to_outlook, Some(SideWrite::Create(_)))
            {
                self.unconfirmed.push((keys.unconfirmed(&event_id), false));
            }
            *batch = std::mem::take(batch).delete(keys.pending(&activity_id), Expect::Any);
        }
        for conflict in &decision.conflicts {
            let winner = match conflict.winner {
                Side::Erp => "ERP.net",
                Side::Outlook => "Outlook",
            };
            self.note(
                LogLevel::Warning,
                format!(
                    "Both sides changed {:?} of the same item; kept the {winner} version.",
                    conflict.field
                ),
            );
        }
        if plan.mark_conflict {
            self.note(
                LogLevel::Warning,
                "Synchronization conflict: an Outlook change to a released or closed activity was not applied; the event is marked in Outlook.",
            );
        }
        follow_ups_landed
    }
}

/// The snapshot a pair's link records once its follow-ups ended, and whether they all landed
/// (a follow-up that failed for now keeps the checkpoints where they are, so it is retried).
/// A correction that did not land leaves the created item as it came back: the link records
/// that content, so the next run sees the other side's difference and writes it again.
fn follow_up_result(
    decision: &Decision,
    outcomes: PairOutcomes<'_>,
) -> (Option<CalendarItem>, bool) {
    let mut snapshot = decision.snapshot.clone();
    let mut landed = true;
    for (first, follow_up) in [
        (outcomes.erp, outcomes.erp_follow_up),
        (outcomes.outlook, outcomes.outlook_follow_up),
    ] {
        let Some((write, outcome)) = follow_up else {
            continue;
        };
        if matches!(outcome, WriteOutcome::Failed(_)) {
            landed = false;
        }
        let corrected = matches!(outcome, WriteOutcome::Done(_));
        if let (RemoteWrite::Update { .. }, false, Some((_, WriteOutcome::Done(Some(got))))) =
            (write, corrected, first)
        {
            snapshot = Some(got.state.item.clone());
        }
    }
    (snapshot, landed)
}

/// The idempotency key of a create on `side`: the twin's id, plus the replaced item's id when a
/// change re-creates what that side deleted (so it is not found as the deleted one).
fn creation_key(twin: Option<String>, pair: &Pair, side: Side) -> String {
    let twin = twin.unwrap_or_default();
    match &pair.stored {
        Some(stored) => {
            let replaced = match side {
                Side::Erp => &stored.link.activity_id,
                Side::Outlook => &stored.link.event_id,
            };
            format!("{twin}#{replaced}")
        }
        None => twin,
    }
}

/// The update that brings an item a create got back to what the create meant, if they differ
/// (the create found an item an earlier run made, with the content it had then).
fn correction_of(first: Option<(&RemoteWrite, &WriteOutcome)>) -> Option<RemoteWrite> {
    let (RemoteWrite::Create { item: meant, .. }, WriteOutcome::Done(Some(got))) = first? else {
        return None;
    };
    let fields = meant.changed_fields(&got.state.item);
    if fields.is_empty() {
        return None;
    }
    Some(RemoteWrite::Update {
        id: got.id.clone(),
        version: got.version.clone(),
        fields,
        item: meant.clone(),
    })
}

/// ExternalId for an activity that does not name its event yet: one read this run that names
/// another (or none), or one whose event this run created. Activities this run created name
/// their event from birth.
fn link_to_record(
    pair: &Pair,
    first_erp: Option<(&RemoteWrite, &WriteOutcome)>,
    first_outlook: Option<(&RemoteWrite, &WriteOutcome)>,
) -> Option<RemoteWrite> {
    if matches!(first_erp, Some((RemoteWrite::Create { .. }, _))) {
        return None;
    }
    let created_event = match first_outlook {
        Some((RemoteWrite::Create { .. }, WriteOutcome::Done(Some(event)))) => {
            Some(event.id.clone())
        }
        _ => None,
    };
    let recorded = match &pair.erp {
        Some(Seen::Item(activity)) if activity.state.read_only => return None,
        Some(Seen::Item(activity)) => activity.twin.clone(),
        // Not read this run: only a new event changes what it should name.
        _ if created_event.is_none() => return None,
        _ if pair.stored.as_ref().is_some_and(|s| s.link.read_only) => return None,
        _ => None,
    };
    let activity_id = pair_id(pair, Side::Erp)?;
    let event_id = created_event.or_else(|| pair_id(pair, Side::Outlook))?;
    if recorded.as_deref() == Some(event_id.as_str()) {
        return None;
    }
    Some(RemoteWrite::Link {
        id: activity_id,
        twin: event_id,
    })
}

fn plural(n: u32, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "activity") => format!("{n} activities"),
        _ => format!("{n} {noun}s"),
    }
}

fn push(writes: &mut Vec<RemoteWrite>, write: RemoteWrite) -> usize {
    writes.push(write);
    writes.len() - 1
}

fn upserts(pull: &Pull) -> u32 {
    let ids: HashSet<&str> = pull
        .changes
        .iter()
        .filter_map(|c| match c {
            RemoteChange::Upsert(item) => Some(item.id.as_str()),
            RemoteChange::Removed { .. } => None,
        })
        .collect();
    ids.len() as u32
}

/// The last word on each id: replays and duplicates in a feed collapse to the final state.
fn last_per_id(pull: &Pull) -> Vec<(String, Seen)> {
    let mut order = Vec::new();
    let mut last: HashMap<String, Seen> = HashMap::new();
    for change in &pull.changes {
        let (id, seen) = match change {
            RemoteChange::Upsert(item) => (item.id.clone(), Seen::Item(item.clone())),
            RemoteChange::Removed { id } => (id.clone(), Seen::Removed),
        };
        if last.insert(id.clone(), seen).is_none() {
            order.push(id);
        }
    }
    order
        .into_iter()
        .map(|id| {
            let seen = last.remove(&id).expect("every id was inserted");
            (id, seen)
        })
        .collect()
}

fn pair_id(pair: &Pair, side: Side) -> Option<String> {
    let seen = match side {
        Side::Erp => &pair.erp,
        Side::Outlook => &pair.outlook,
    };
    if let Some(Seen::Item(item)) = seen {
        return Some(item.id.clone());
    }
    pair.stored.as_ref().map(|s| match side {
        Side::Erp => s.link.activity_id.clone(),
        Side::Outlook => s.link.event_id.clone(),
    })
}

fn pair_version(pair: &Pair, side: Side) -> String {
    let seen = match side {
        Side::Erp => &pair.erp,
        Side::Outlook => &pair.outlook,
    };
    if let Some(Seen::Item(item)) = seen {
        return item.version.clone();
    }
    pair.stored
        .as_ref()
        .map(|s| match side {
            Side::Erp => s.link.activity_version.clone(),
            Side::Outlook => s.link.event_version.clone(),
        })
        .unwrap_or_default()
}
