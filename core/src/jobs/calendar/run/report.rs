//! What a run tells its caller: one builder for dry runs and real runs.

use chrono::{DateTime, Utc};

use super::super::side::RemoteWrite;
use super::RUN_INTERVAL;
use super::pairs::PerSide;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: u32,
    pub updated: u32,
    /// Events deleted in Outlook, or activities voided in ERP.net.
    pub removed: u32,
}

impl Counts {
    pub(super) fn add(&mut self, write: &RemoteWrite) {
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

/// The figures of a run as its phases find them.
#[derive(Default)]
pub(super) struct Tally {
    pub full_read: bool,
    pub pulled: PerSide<u32>,
    /// Planned writes for a dry run, writes done for a real one.
    pub written: PerSide<Counts>,
    pub conflicts: u32,
    pub failed: u32,
    pub skipped: u32,
    pub dry_run: bool,
    pub checkpoints_advanced: bool,
}

impl Tally {
    pub fn report(
        self,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        requests: u64,
    ) -> RunReport {
        RunReport {
            started,
            finished,
            dry_run: self.dry_run,
            full_read: self.full_read,
            pulled_from_erp: self.pulled.erp,
            pulled_from_outlook: self.pulled.outlook,
            to_outlook: self.written.outlook,
            to_erp: self.written.erp,
            conflicts: self.conflicts,
            failed: self.failed,
            skipped: self.skipped,
            requests,
            checkpoints_advanced: self.checkpoints_advanced,
            next_run: finished + RUN_INTERVAL,
        }
    }
}
