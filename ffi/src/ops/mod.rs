//! The application layer through the ABI, one module per object (`mss_<object>_<verb>`): JSON
//! in and out, the rules stay in `mssync_core::app`. This file holds the shared argument readers
//! and the engine-free operations.

mod events;
mod home;
mod jobs;
mod notifications;
mod service;
mod setup;
mod signin;
mod user_api;

pub(crate) use events::EventQueue;
pub use events::mss_events_poll;
pub use home::mss_home_get;
pub use jobs::{mss_job_run, mss_job_run_due, mss_jobs_due};
pub use notifications::mss_notification_receive;
pub use service::{
    mss_service_complete_consent, mss_service_connect, mss_service_consent_url, mss_service_get,
    mss_service_give_permissions, mss_service_grant_domain, mss_service_revoke_domain,
    mss_service_set,
};
pub use setup::{
    mss_setup_change, mss_setup_full_refresh, mss_setup_get, mss_setup_options,
    mss_setup_set_company, mss_setup_set_job,
};
pub use signin::{mss_session_check, mss_signin_begin, mss_signin_complete, mss_signin_fail};
pub use user_api::mss_user_api;

use mssync_core::ErrorCode;
use mssync_core::app::{Actor, JobKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::buffer::{MssBuffer, fill, out_buffer, str_arg};
use crate::engine::{MssEngine, engine_arg};
use crate::status::{Failure, MssError, guard};

/// The time zones Setup offers, as a UTF-8 JSON array in Windows' display order:
/// `[{"id": "FLE Standard Time", "display_name": "(UTC+02:00) Helsinki, ...", "iana": "Europe/Kiev"}, ...]`.
///
/// # Safety
/// `out` is NULL or a writable `MssBuffer`; free the result with `mss_buffer_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_time_zones(out: *mut MssBuffer, out_error: *mut *mut MssError) -> i32 {
    let body = || {
        // SAFETY: `out` is NULL or a writable `MssBuffer`, per this function's contract.
        let out = unsafe { out_buffer(out) }?;
        let zones = mssync_core::app::time_zone_options();
        fill(out, serde_json::to_vec(&zones).expect("zones serialize"));
        Ok(())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// Runs one engine operation under the guard: empties `out`, checks the engine, and writes the
/// operation's result to `out` as JSON.
///
/// # Safety
/// `engine` is NULL or live; `out` is NULL or a writable `MssBuffer`; `out_error` is NULL or a
/// writable `MssError*` slot.
pub(crate) unsafe fn answer<T: Serialize>(
    engine: *const MssEngine,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
    body: impl FnOnce(&MssEngine) -> Result<T, Failure>,
) -> i32 {
    let body = || {
        // SAFETY: `out` is NULL or a writable `MssBuffer`, per this function's contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let engine = unsafe { engine_arg(engine) }?;
        let value = body(engine)?;
        fill(out, serde_json::to_vec(&value).expect("views serialize"));
        Ok(())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// A UTF-8 span argument.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes during the call.
pub(crate) unsafe fn text<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    unsafe { str_arg(ptr, len, what) }
}

/// A UTF-8 JSON span argument; text that is not JSON of the expected shape is `InvalidJson`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn json<T: DeserializeOwned>(
    ptr: *const u8,
    len: usize,
    what: &str,
) -> Result<T, Failure> {
    // SAFETY: forwarded contract.
    let text = unsafe { text(ptr, len, what) }?;
    serde_json::from_str(text).map_err(|e| {
        Failure::new(
            ErrorCode::InvalidJson,
            format!(
                "{what} is not valid: {}",
                mssync_core::error::argument_error_without_values(&e.to_string())
            ),
        )
    })
}

/// Who asks, as JSON: `{"kind": "host"}` or `{"kind": "user", "user_id": "..."}`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn actor(ptr: *const u8, len: usize) -> Result<Actor, Failure> {
    // SAFETY: forwarded contract.
    unsafe { json(ptr, len, "actor_json") }
}

/// A user id (non-empty UTF-8).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn user<'a>(ptr: *const u8, len: usize) -> Result<&'a str, Failure> {
    // SAFETY: forwarded contract.
    let user = unsafe { text(ptr, len, "user_id") }?;
    if user.is_empty() {
        return Err(Failure::invalid("user_id is empty"));
    }
    Ok(user)
}

/// A job id such as `"calendar"`; an unknown one is `UnknownJob`.
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn job(ptr: *const u8, len: usize) -> Result<JobKind, Failure> {
    // SAFETY: forwarded contract.
    Ok(JobKind::parse(unsafe { text(ptr, len, "job") }?)?)
}

/// A `uint8_t` flag: 0 or 1, anything else is refused.
pub(crate) fn flag(value: u8, what: &str) -> Result<bool, Failure> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Failure::invalid(format!("{what} must be 0 or 1"))),
    }
}
