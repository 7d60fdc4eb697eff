//! Sign-in with Microsoft (authorization code with PKCE, state and nonce kept sealed in the
//! store) and the check of a session the host authenticated itself.

use crate::buffer::MssBuffer;
use crate::engine::{MssEngine, engine_arg};
use crate::status::{Failure, MssError, guard};

use super::{answer, text};

/// Step one of sign-in: writes `{"authorize_url": "...", "state": "..."}`. Send the browser to
/// `authorize_url`; Entra ID redirects back to the configured `redirect_uri` with `code` and
/// `state` (then call `mss_signin_complete`) or `error` and `error_description` (then call
/// `mss_signin_fail`). `login_hint` may be empty. `binding` (not empty) is the host's value for
/// the browser session that signs in, such as a hash of its session cookie: only the same
/// `binding` completes the sign-in (`SIGN_IN_OTHER_SESSION` otherwise), so an attacker's
/// sign-in cannot be finished in a victim's browser.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_signin_begin(
    engine: *const MssEngine,
    login_hint: *const u8,
    login_hint_len: usize,
    binding: *const u8,
    binding_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let hint = unsafe { text(login_hint, login_hint_len, "login_hint") }?;
        let hint = (!hint.is_empty()).then_some(hint);
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let binding = unsafe { text(binding, binding_len, "binding") }?;
        Ok(e.run(e.app.begin_sign_in(hint, binding))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Step two of sign-in, with the `state` and `code` of the redirect and the `binding` of the
/// browser session it came back to (as given to `mss_signin_begin`). Links the Microsoft
/// identity to the ERP.net user with the same user principal name within a granted domain, and
/// writes the session: `{"user_id", "email", "name", "is_admin", "first_sign_in"}`. A refusal
/// (`DOMAIN_NOT_GRANTED`, `NO_ERP_USER`, `INACTIVE_ERP_USER`, `SIGN_IN_STATE_UNKNOWN`,
/// `SIGN_IN_OTHER_SESSION`, `IDENTITY_LINKED_ELSEWHERE`, ...) stores nothing.
///
/// # Safety
/// As `mss_signin_begin`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_signin_complete(
    engine: *const MssEngine,
    state: *const u8,
    state_len: usize,
    code: *const u8,
    code_len: usize,
    binding: *const u8,
    binding_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = |e: &MssEngine| {
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let state = unsafe { text(state, state_len, "state") }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let code = unsafe { text(code, code_len, "code") }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let binding = unsafe { text(binding, binding_len, "binding") }?;
        Ok(e.run(e.app.complete_sign_in(state, code, binding))?)
    };
    // SAFETY: `engine` is NULL or live, `out` NULL or writable and `out_error` NULL or a
    // writable slot, per this function's contract (# Safety above).
    unsafe { answer(engine, out, out_error, body) }
}

/// Step two when Entra ID redirected back with `error` and `error_description` instead of a
/// code: drops the pending sign-in and always returns a non-zero status explaining the refusal
/// (`PERSONAL_ACCOUNT`, `WRONG_TENANT`, `FORBIDDEN`, ...), with the words for the user in
/// `out_error`.
///
/// # Safety
/// `engine` is NULL or live; spans are NULL (length 0) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_signin_fail(
    engine: *const MssEngine,
    state: *const u8,
    state_len: usize,
    error: *const u8,
    error_len: usize,
    description: *const u8,
    description_len: usize,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let e = unsafe { engine_arg(engine) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let state = unsafe { text(state, state_len, "state") }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let error = unsafe { text(error, error_len, "error") }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let description = unsafe { text(description, description_len, "description") }?;
        Err(Failure::from(e.run(e.app.fail_sign_in(
            state,
            error,
            description,
        ))))
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// Checks a session the host authenticated itself: `provider` is its sign-in provider
/// (`"local"` for ERP.net's own passwords, anything else for a Microsoft identity). Returns 0,
/// or `LOCAL_CREDENTIALS` when MsSync needs a Microsoft sign-in instead.
///
/// # Safety
/// `engine` is NULL or live; `provider` is NULL (length 0) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_session_check(
    engine: *const MssEngine,
    provider: *const u8,
    provider_len: usize,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let e = unsafe { engine_arg(engine) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let provider = unsafe { text(provider, provider_len, "provider") }?;
        Ok(e.app.check_host_session(provider)?)
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}
