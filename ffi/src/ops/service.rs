//! Service (administrators): settings, admin consent, Connect, Give permissions, domains.
//! `actor_json` is `{"kind": "host"}` (the host's own operator) or
//! `{"kind": "user", "user_id": "..."}` (a signed-in ERP.net administrator).

use mssync_core::app::{AdminConsentRedirect, ServiceChange};
use serde_json::json;

use super::{actor, answer, json, text};
use crate::buffer::MssBuffer;
use crate::engine::{MssEngine, engine_arg};
use crate::status::{MssError, guard};

/// Service as it is now (administrators only), as JSON: `{"tenant_id", "client_id", "mode",
/// "credential" (its kind only, never the secret), "domains", "meeting_document_type",
/// "connected_at"}`.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_get(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        Ok(e.run(e.app.service(&actor))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Changes Service; fields left out stay as they are: `{"tenant_id", "client_id", "mode":
/// "application"|"delegated", "credential": {"kind": "secret", "secret": "..."} or
/// {"kind": "certificate", "private_key_pem", "certificate_pem"}}`. The credential is sealed
/// before it reaches the store. Writes the new Service view (as `mss_service_get`) to `out`.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_set(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    change_json: *const u8,
    change_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let change: ServiceChange = unsafe { json(change_json, change_json_len, "change_json") }?;
        Ok(e.run(e.app.set_service(&actor, change))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// The URL an administrator opens to consent to MsSync's permissions, as `{"url": "..."}`.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_consent_url(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        Ok(json!({ "url": e.run(e.app.consent_url(&actor))? }))
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// The admin-consent redirect came back to the host: pass what it carried (`state`,
/// `admin_consent`, `tenant`, or `error` and `error_description`; empty spans for what it did not
/// carry). Returns 0 when the `state` is one `mss_service_consent_url` issued (accepted once,
/// within 30 minutes) and consent was granted for the connected tenant; otherwise
/// `SIGN_IN_STATE_UNKNOWN`, `UNAUTHORIZED` or `WRONG_TENANT`. Then call `mss_service_connect`.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // one span per redirect parameter, as the header shows them
pub unsafe extern "C" fn mss_service_complete_consent(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    state: *const u8,
    state_len: usize,
    admin_consent: *const u8,
    admin_consent_len: usize,
    tenant: *const u8,
    tenant_len: usize,
    error: *const u8,
    error_len: usize,
    error_description: *const u8,
    error_description_len: usize,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let e = unsafe { engine_arg(engine) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        let redirect = AdminConsentRedirect {
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            state: unsafe { text(state, state_len, "state") }?,
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            admin_consent: unsafe { text(admin_consent, admin_consent_len, "admin_consent") }?,
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            tenant: unsafe { text(tenant, tenant_len, "tenant") }?,
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            error: unsafe { text(error, error_len, "error") }?,
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            error_description: unsafe {
                text(
                    error_description,
                    error_description_len,
                    "error_description",
                )
            }?,
        };
        Ok(e.run(e.app.complete_admin_consent(&actor, redirect))?)
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// "Connect to Microsoft Entra ID": gets an application token and reads the calendar of
/// `probe_mailbox` (a user's object id or e-mail) with it. Writes `{"token": bool, "graph": bool,
/// "missing": ["what to fix", ...]}`.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_connect(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    probe_mailbox: *const u8,
    probe_mailbox_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let mailbox = unsafe { text(probe_mailbox, probe_mailbox_len, "probe_mailbox") }?;
        Ok(e.run(e.app.connect(&actor, mailbox))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// "Give permissions": checks the ERP.net prerequisites and creates the `Meeting` document type
/// when it may. Writes `{"meeting_document_type": "existed"|"created"|"missing",
/// "can_read_activities": bool, "missing": [...]}`.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_give_permissions(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        Ok(e.run(e.app.give_permissions(&actor))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Lets users of an e-mail domain (e.g. `contoso.com`) sign in. Writes the Service view.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_grant_domain(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    domain: *const u8,
    domain_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let domain = unsafe { text(domain, domain_len, "domain") }?;
        Ok(e.run(e.app.grant_domain(&actor, domain))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Stops users of an e-mail domain from signing in. Writes the Service view.
///
/// # Safety
/// As `mss_service_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_service_revoke_domain(
    engine: *const MssEngine,
    actor_json: *const u8,
    actor_json_len: usize,
    domain: *const u8,
    domain_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let actor = unsafe { actor(actor_json, actor_json_len) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let domain = unsafe { text(domain, domain_len, "domain") }?;
        Ok(e.run(e.app.revoke_domain(&actor, domain))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}
