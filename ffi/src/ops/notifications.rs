//! Graph change notifications: the host's HTTP server receives, the engine decides the answer.

use mssync_core::app::NotificationRequest;

use super::{answer, json};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Decides the answer to an HTTP request Graph sent to the host's notification endpoint (the
/// `notification_endpoint` URLs of the engine config). `request_json` is the request as
/// received: `{"query": "<raw query string, no ?>", "content_type": "...", "body": "<UTF-8
/// body>"}`. Writes the exact answer to send: `{"status", "content_type" (null: send none),
/// "body", "log"}`; `log` is a line for the host's own log (never the payload) or null.
///
/// A validation request (`?validationToken=...`) is answered 200 `text/plain` with the token.
/// A notification is recorded and answered 202 at once: it only makes its (user, job) due in
/// `mss_jobs_due`; the sync never runs inside this call, so answer Graph before running jobs.
/// Unknown subscriptions and a wrong `clientState` are answered 202 too and change nothing.
/// Status 503 means the notification could not be recorded (Graph delivers it again).
///
/// # Safety
/// `engine` is NULL or live; `request_json` is NULL (length 0) or readable; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_notification_receive(
    engine: *const MssEngine,
    request_json: *const u8,
    request_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        let request: NotificationRequest =
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            unsafe { json(request_json, request_json_len, "request_json") }?;
        Ok(e.run(e.app.receive_notification(&request)))
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
