//! The host's scheduler: which jobs are due, and running one.

use mssync_core::PublicError;
use mssync_core::engine::LogLine;
use mssync_core::engine::journal::{self, MAX_LINES};

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
    answer(engine, out, out_error, |e| {
        let now = e.host.clock.now();
        Ok(e.run(e.app.due_jobs(now))?)
    })
}

/// Runs a job (`"calendar"`) for a user against Graph and ERP.net and records the outcome on
/// Home. Writes the run report: `{"started", "finished", "dry_run", "full_read",
/// "pulled_from_erp", "pulled_from_outlook", "to_outlook": {"created", "updated", "deleted"},
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
    answer(engine, out, out_error, |e| {
        let user = unsafe { user(user_id, user_id_len) }?;
        let job = unsafe { job(job_id, job_id_len) }?;
        let dry_run = flag(dry_run, "dry_run")?;
        let store = e.host.store.as_ref();
        let before = e
            .run(journal::latest(store, user, MAX_LINES))
            .map_err(PublicError::from)?;
        let outcome = e.run(e.app.run_job(user, job, dry_run));
        // The log is best effort here: the run's outcome is what the caller gets.
        if let Ok(after) = e.run(journal::latest(store, user, MAX_LINES)) {
            e.events.push(
                new_lines(&before, &after)
                    .iter()
                    .map(|l| Event::log(user, l)),
            );
        }
        let (report, code, message) = match &outcome {
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
        Ok(outcome?)
    })
}

/// The lines `after` has beyond `before`: the log only grows at its end and drops its oldest
/// lines past its cap, so `after` is a tail of `before` followed by the new lines.
fn new_lines<'a>(before: &[LogLine], after: &'a [LogLine]) -> &'a [LogLine] {
    (0..=before.len())
        .find(|&dropped| after.starts_with(&before[dropped..]))
        .map_or(after, |dropped| &after[before.len() - dropped..])
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use mssync_core::engine::LogLevel;

    use super::*;

    fn line(n: u32) -> LogLine {
        LogLine::new(
            Utc.with_ymd_and_hms(2026, 6, 1, 8, n, 0).unwrap(),
            LogLevel::Info,
            format!("line {n}"),
        )
    }

    #[test]
    fn new_lines_are_the_tail_past_what_was_there() {
        let before: Vec<_> = (0..3).map(line).collect();
        let grown: Vec<_> = (0..5).map(line).collect();
        assert_eq!(new_lines(&before, &grown), &grown[3..]);
        let capped: Vec<_> = (1..5).map(line).collect();
        assert_eq!(new_lines(&before, &capped), &capped[2..]);
        assert!(new_lines(&before, &before).is_empty());
        assert_eq!(new_lines(&[], &grown), &grown[..]);
    }
}
