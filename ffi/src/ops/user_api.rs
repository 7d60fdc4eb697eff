//! The operations of the signed-in user, for a backend that serves browser panels: the host
//! names the user from its own authenticated session, the page only the operation and request.

use super::{answer, text, user};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// One operation of the panels (`home`, `setup`, `setup_options`, `set_company`,
/// `change_setup`, `set_job_enabled`, `request_full_refresh`, `sync_now`) for `user_id`, the user
/// the host's own session signed in, with `request_json` as the page sent it (an empty span is
/// `{}`). Writes the operation's view to `out`. Requests are closed objects: one naming a user or
/// an actor is `INVALID_JSON`; an unknown operation is `INVALID_ARGUMENT`. There is no Service
/// operation here: never pass a page's choice of user or actor to the other functions.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_user_api(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    operation: *const u8,
    operation_len: usize,
    request_json: *const u8,
    request_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the spans are NULL (length 0) or readable for their lengths, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: as above.
        let operation = unsafe { text(operation, operation_len, "operation") }?;
        // SAFETY: as above.
        let request = unsafe { text(request_json, request_json_len, "request_json") }?;
        let answer = e.run(e.app.user_api(user, operation, request))?;
        // The application answers JSON already; `answer` writes it back as it is.
        Ok(serde_json::from_str::<serde_json::Value>(&answer).expect("views are JSON"))
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
