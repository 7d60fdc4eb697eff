//! The host's scheduler: which jobs are due, and running one.

use super::events::Event;
use mssync_core::app::{DueJob, JobRun};

use super::{answer, flag, job, json, user};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Jobs due now (by the engine's clock) in the order to run them (those a change notification
/// made due first, then earliest first), as JSON: `[{"user_id", "job", "due_since",
/// "notified"}]`. The host's scheduler hands each back to `mss_job_run_due`, on any node.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_jobs_due(
    engine: *const MssEngine,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, |e| Ok(e.run(e.app.due_jobs_now())?)) }
}

/// Runs a job (`"calendar"`) for a user against Graph and ERP.net and records the outcome on
/// Home. Writes the run report: `{"started", "finished", "dry_run", "full_read",
/// "pulled_from_erp", "pulled_from_outlook", "to_outlook": {"created", "updated", "removed"},
/// "to_erp": {...}, "conflicts", "failed", "skipped", "requests", "checkpoints_advanced",
/// "next_run"}`. `dry_run` 1 decides without writing. The run's log lines and its report (or
/// failure) are also queued for `mss_events_poll`.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_job_run(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    job_id: *const u8,
    job_id_len: usize,
    dry_run: u8,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let job = unsafe { job(job_id, job_id_len) }?;
        let dry_run = flag(dry_run, "dry_run")?;
        let run = e.run(e.app.run_job(user, job, dry_run));
        queue_run_events(e, user, job, &run);
        Ok(run.result?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Runs a due job (one element of `mss_jobs_due`'s array, as JSON) if it is still this
/// engine's to run: it is claimed in the store, run as `mss_job_run` runs it, and the claim
/// ended. Writes the run report, or `null` when the job is not to run here (another node ran it
/// since the list was made, or is running it). Every node of a host's cluster over one store
/// runs its scheduler with this call, so each due time of a (user, job) runs once; a node that
/// dies mid-run keeps its job until `lease_ttl_seconds` pass. A run's log lines and report are
/// queued for `mss_events_poll` as with `mss_job_run`.
///
/// # Safety
/// `engine` is NULL or live; the span is NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_job_run_due(
    engine: *const MssEngine,
    due_job_json: *const u8,
    due_job_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let due: DueJob = unsafe { json(due_job_json, due_job_json_len, "due_job_json") }?;
        let Some(run) = e.run(e.app.run_due_job(&due))? else {
            return Ok(None);
        };
        queue_run_events(e, &due.user_id, due.job, &run);
        Ok(Some(run.result?))
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// A run's log lines and its report (or failure), for `mss_events_poll`.
fn queue_run_events(e: &MssEngine, user: &str, job: mssync_core::app::JobKind, run: &JobRun) {
    e.events
        .push(run.log.iter().map(|entry| Event::log(user, entry)));
    let (report, code, message) = match &run.result {
        Ok(report) => (Some(report.clone()), None, None),
        Err(error) => (
            None,
            Some(error.code.number() as i32),
            Some(error.reason.clone()),
        ),
    };
    e.events.push([Event::Run {
        user_id: user.to_owned(),
        job,
        report,
        code,
        message,
    }]);
}
