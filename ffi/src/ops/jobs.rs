//! The host's scheduler: which jobs are due, and running one.

use super::events::Event;
use super::{answer, flag, job, user};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Jobs due now (by the engine's clock), earliest first, as JSON:
/// `[{"user_id", "job", "due_since"}]`. The host runs each with `mss_job_run`.
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
        Ok(run.result?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
