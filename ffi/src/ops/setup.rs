//! Setup (each signed-in user): company and location, time zone and policy, jobs on and off.
//! Every function writes the Setup view to `out`: `{"company_id", "location_id", "time_zone",
//! "time_zone_iana", "policy", "jobs": [{"job", "title", "enabled", "full_refresh_requested"}]}`.

use mssync_core::app::SetupChange;

use super::{answer, flag, job, json, text, user};
use crate::buffer::MssBuffer;
use crate::engine::MssEngine;
use crate::status::MssError;

/// Setup as it is for a signed-in user (`user_id` from the session).
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_get(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        Ok(e.run(e.app.setup(user))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// The choices Setup offers the user (read from ERP.net): `{"companies": [{"id", "name",
/// "locations": [{"id", "name"}]}], "time_zones": [{"id", "display_name", "iana"}],
/// "policies": [...]}`.
///
/// # Safety
/// As `mss_setup_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_options(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        Ok(e.run(e.app.setup_options(user))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Sets the user's enterprise company and location (ids from `mss_setup_options`); a choice
/// ERP.net does not offer is `COMPANY_NOT_ALLOWED` or `LOCATION_NOT_ALLOWED`.
///
/// # Safety
/// As `mss_setup_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_set_company(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    company_id: *const u8,
    company_id_len: usize,
    location_id: *const u8,
    location_id_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let company = unsafe { text(company_id, company_id_len, "company_id") }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let location = unsafe { text(location_id, location_id_len, "location_id") }?;
        Ok(e.run(e.app.set_company(user, company, location))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Changes the time zone or conflict policy; fields left out stay: `{"time_zone": "FLE Standard
/// Time", "policy": "newest"|"erp_wins"|"outlook_wins"}`. An unknown zone is
/// `UNKNOWN_TIME_ZONE`.
///
/// # Safety
/// As `mss_setup_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_change(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    change_json: *const u8,
    change_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let change: SetupChange = unsafe { json(change_json, change_json_len, "change_json") }?;
        Ok(e.run(e.app.change_setup(user, change))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Turns a job (`"calendar"`) on (`enabled` 1, due at once) or off (0).
///
/// # Safety
/// As `mss_setup_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_set_job(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    job_id: *const u8,
    job_id_len: usize,
    enabled: u8,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let job = unsafe { job(job_id, job_id_len) }?;
        let enabled = flag(enabled, "enabled")?;
        Ok(e.run(e.app.set_job_enabled(user, job, enabled))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Asks for a full re-read of the job's window on its next run (due at once).
///
/// # Safety
/// As `mss_setup_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_setup_full_refresh(
    engine: *const MssEngine,
    user_id: *const u8,
    user_id_len: usize,
    job_id: *const u8,
    job_id_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let user = unsafe { user(user_id, user_id_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let job = unsafe { job(job_id, job_id_len) }?;
        Ok(e.run(e.app.request_full_refresh(user, job))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
