//! Status codes, the owned error object and the guard every `extern "C"` body runs under.

use std::any::Any;
use std::collections::HashMap;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::OnceLock;

use mssync_core::{ErrorCode, PublicError};

/// Every status a function may return: 0 is success, every other value is the number of a
/// `mssync_core::ErrorCode`, stable forever. Functions return a plain `int32_t` so that a newer
/// library may return a code an older header does not name yet; `mss_status_name` names it.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssStatus {
    Ok = 0,
    Internal = 100,
    InvalidArgument = 101,
    InvalidJson = 102,
    NotInitialized = 103,
    Panic = 104,
    Cancelled = 105,
    NotFound = 106,
    /// The operation is not available in this build.
    Unsupported = 107,
    StoreConflict = 200,
    StoreFailure = 201,
    TransportFailure = 202,
    Timeout = 203,
    SealFailure = 204,
    Unauthorized = 300,
    Forbidden = 301,
    TokenMalformed = 302,
    TokenBadSignature = 303,
    TokenAlgorithmNotAllowed = 304,
    TokenWrongAudience = 305,
    TokenWrongIssuer = 306,
    TokenExpired = 307,
    TokenNotYetValid = 308,
    TokenWrongNonce = 309,
    TokenUnknownKey = 310,
    PersonalAccount = 311,
    WrongTenant = 312,
    DomainNotGranted = 313,
    NoErpUser = 314,
    InactiveErpUser = 315,
    LocalCredentials = 316,
    SignInStateUnknown = 317,
    InvalidGrant = 318,
    ServiceNotSubscribed = 319,
    AppNotInTenant = 320,
    IdentityLinkedElsewhere = 321,
    SignInOtherSession = 322,
    Throttled = 400,
    RemoteUnavailable = 401,
    GraphError = 402,
    ResyncRequired = 403,
    ErpError = 404,
    MalformedResponse = 405,
    ErpVersionMismatch = 406,
    UntrustedLink = 407,
    EditConflict = 500,
    ReadOnlyActivity = 501,
    StaleVersion = 502,
    SafetyGuard = 503,
    LeaseHeld = 504,
    UnknownTimeZone = 600,
    CompanyNotAllowed = 601,
    LocationNotAllowed = 602,
    NoEnterpriseCompany = 603,
    UnknownJob = 604,
    NotConfigured = 605,
    NoMailBox = 606,
}

/// What went wrong in a call: a stable code, a UTF-8 message safe to log, and whether the library
/// panicked (a bug in MsSync, reported instead of aborting the host). Owned by the library; free it
/// with `mss_error_free`. `message` is NUL-terminated and `message_len` excludes the NUL.
#[repr(C)]
pub struct MssError {
    pub code: i32,
    pub message: *mut c_char,
    pub message_len: usize,
    /// 1 when the failure was a panic caught at the boundary, else 0.
    pub is_panic: u8,
}

/// A failure on its way out through the boundary.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: i32,
    pub message: String,
    pub is_panic: bool,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.number() as i32,
            message: message.into(),
            is_panic: false,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        // The payload may quote data the panicking code held; the default panic hook has already
        // printed it to stderr for the developer, so the host only gets a fixed sentence.
        drop(payload);
        Self {
            code: ErrorCode::Panic.number() as i32,
            message: "MsSync panicked (a bug in MsSync); the call had no effect it could report"
                .into(),
            is_panic: true,
        }
    }
}

impl From<PublicError> for Failure {
    fn from(error: PublicError) -> Self {
        Self::new(error.code, error.reason)
    }
}

/// Runs an `extern "C"` body: clears `*out_error`, catches panics, and turns the outcome into a
/// status plus, when asked for, an owned `MssError`.
///
/// # Safety
/// `out_error` is NULL or a writable `MssError*` slot.
pub(crate) unsafe fn guard(
    out_error: *mut *mut MssError,
    body: impl FnOnce() -> Result<(), Failure>,
) -> i32 {
    if !out_error.is_null() {
        // SAFETY: the caller passes either NULL or a writable `MssError*` slot.
        unsafe { *out_error = ptr::null_mut() };
    }
    let outcome =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(Failure::from_panic(p)));
    match outcome {
        Ok(()) => 0,
        Err(failure) => {
            let code = failure.code;
            if !out_error.is_null() {
                // SAFETY: as above.
                unsafe { *out_error = into_error(failure) };
            }
            code
        }
    }
}

/// Catches a panic in a body that cannot report one (destructors, `void` functions).
pub(crate) fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

fn into_error(failure: Failure) -> *mut MssError {
    let text = failure.message.replace('\0', " ");
    let message_len = text.len();
    let message = CString::new(text).expect("NULs were replaced").into_raw();
    Box::into_raw(Box::new(MssError {
        code: failure.code,
        message,
        message_len,
        is_panic: failure.is_panic as u8,
    }))
}

/// Frees an error returned through `out_error`. Accepts NULL.
///
/// # Safety
/// `error` is NULL or a pointer this library returned, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_error_free(error: *mut MssError) {
    guard_void(|| {
        if error.is_null() {
            return;
        }
        // SAFETY: per the contract above, `error` came from `into_error`.
        let error = unsafe { Box::from_raw(error) };
        if !error.message.is_null() {
            // SAFETY: `message` came from `CString::into_raw` in `into_error`, freed only here.
            drop(unsafe { CString::from_raw(error.message) });
        }
    })
}

/// The stable name of a status ("ok", "invalid_argument", "store_conflict", ...), or "unknown" for
/// a number this library does not know. The string is static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mss_status_name(status: i32) -> *const c_char {
    static NAMES: OnceLock<HashMap<i32, CString>> = OnceLock::new();
    const UNKNOWN: &std::ffi::CStr = c"unknown";
    catch_unwind(|| {
        let names = NAMES.get_or_init(|| {
            let mut names: HashMap<i32, CString> = ErrorCode::ALL
                .iter()
                .map(|code| {
                    (
                        code.number() as i32,
                        CString::new(code_name(*code)).expect("no NUL"),
                    )
                })
                .collect();
            names.insert(0, CString::new("ok").expect("no NUL"));
            names
        });
        names
            .get(&status)
            .map_or(UNKNOWN.as_ptr(), |name| name.as_ptr())
    })
    .unwrap_or(UNKNOWN.as_ptr())
}

/// The snake_case name of a code, the same spelling as everywhere else (its serde name).
pub(crate) fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's enum must list exactly the core's codes, with the same numbers and names.
    #[test]
    fn status_enum_mirrors_error_codes() {
        let statuses = all_statuses();
        assert_eq!(
            statuses.len(),
            ErrorCode::ALL.len() + 1,
            "one status per code, plus Ok"
        );
        for (code, status) in ErrorCode::ALL.iter().zip(&statuses[1..]) {
            assert_eq!(format!("{code:?}"), format!("{status:?}"));
            assert_eq!(code.number() as i32, *status as i32);
        }
    }

    #[test]
    fn status_names_are_the_code_names() {
        let name = |s| {
            // SAFETY: `mss_status_name` returns a static NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(mss_status_name(s)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(name(0), "ok");
        assert_eq!(name(101), "invalid_argument");
        assert_eq!(name(200), "store_conflict");
        assert_eq!(name(-1), "unknown");
        assert_eq!(name(99999), "unknown");
    }

    #[test]
    fn a_panic_becomes_a_status_and_an_error() {
        let mut error = ptr::null_mut();
        // SAFETY: `error` is a writable slot on this stack frame.
        let status = unsafe { guard(&mut error, || panic!("secret=hunter2")) };
        assert_eq!(status, 104);
        // SAFETY: a failed guard left an error it allocated in the slot.
        let e = unsafe { &*error };
        assert_eq!((e.code, e.is_panic), (104, 1));
        // SAFETY: the error's message is a NUL-terminated string it owns.
        let message = unsafe { std::ffi::CStr::from_ptr(e.message) }
            .to_str()
            .unwrap();
        assert!(
            !message.contains("hunter2"),
            "panic payloads stay out of errors"
        );
        assert_eq!(message.len(), e.message_len);
        // SAFETY: the error came from `guard` and is freed once; NULL is accepted.
        unsafe { mss_error_free(error) };
        // SAFETY: NULL is accepted.
        unsafe { mss_error_free(ptr::null_mut()) };
    }

    fn all_statuses() -> Vec<MssStatus> {
        use MssStatus::*;
        vec![
            Ok,
            Internal,
            InvalidArgument,
            InvalidJson,
            NotInitialized,
            Panic,
            Cancelled,
            NotFound,
            Unsupported,
            StoreConflict,
            StoreFailure,
            TransportFailure,
            Timeout,
            SealFailure,
            Unauthorized,
            Forbidden,
            TokenMalformed,
            TokenBadSignature,
            TokenAlgorithmNotAllowed,
            TokenWrongAudience,
            TokenWrongIssuer,
            TokenExpired,
            TokenNotYetValid,
            TokenWrongNonce,
            TokenUnknownKey,
            PersonalAccount,
            WrongTenant,
            DomainNotGranted,
            NoErpUser,
            InactiveErpUser,
            LocalCredentials,
            SignInStateUnknown,
            InvalidGrant,
            ServiceNotSubscribed,
            AppNotInTenant,
            IdentityLinkedElsewhere,
            SignInOtherSession,
            Throttled,
            RemoteUnavailable,
            GraphError,
            ResyncRequired,
            ErpError,
            MalformedResponse,
            ErpVersionMismatch,
            UntrustedLink,
            EditConflict,
            ReadOnlyActivity,
            StaleVersion,
            SafetyGuard,
            LeaseHeld,
            UnknownTimeZone,
            CompanyNotAllowed,
            LocationNotAllowed,
            NoEnterpriseCompany,
            UnknownJob,
            NotConfigured,
            NoMailBox,
        ]
    }
}
