//! Home: who the user is, the state banner, each job's checkpoints and last run, the log.

use super::{answer, user};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Home for a signed-in user: `{"name", "email", "state" ("Operational", "Error: ...",
/// "Throttled until ...", "Disabled"), "fix", "jobs": [{"job", "title", "enabled", "state",
/// "latest_sync", "remote_checkpoint", "local_checkpoint", "next_run", "kept_current" ("Live
/// (change notifications, renews ...)" or "Polling every 15 min"), "last_run": {...}}],
/// "log": ["[2024-02-16 07:35Z INF] ...", ...]}` (log newest last).
///
/// # Safety
/// `engine` is NULL or live; `user_id` is NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_home_get(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        Ok(e.run(e.app.home(user))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
