//! What a run tells its caller: one builder for dry runs and real runs.

use chrono::{DateTime, Utc};

use super::super::side::RemoteWrite;
use crate::jobs::{Counts, RUN_INTERVAL, RunReport};
use super::pairs::PerSide;

impl Counts {
    pub(super) fn add(&mut self, write: &RemoteWrite) {
        match write {
            RemoteWrite::Create { .. } => self.created += 1,
            RemoteWrite::Update { .. } => self.updated += 1,
            RemoteWrite::Remove { .. } => self.removed += 1,
            RemoteWrite::MarkConflict { .. } | RemoteWrite::Link { .. } => {}
        }
    }
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
