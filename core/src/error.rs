//! The public error every binding shows: a stable numeric code and a short reason.
//!
//! Each module keeps its own detailed `thiserror` type; all of them convert into [`PublicError`]
//! here and nowhere else. A public error never carries event content, e-mail bodies, tokens or
//! secrets: reasons are written by us, not copied from remote payloads.

use serde::{Deserialize, Serialize};

/// Stable error codes. A code, once published, keeps its number and meaning forever; retired codes
/// are never reused. Ranges: 1xx general, 2xx host, 3xx identity and access, 4xx remote services,
/// 5xx sync, 6xx setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorCode {
    // 1xx general
    Internal = 100,
    InvalidArgument = 101,
    InvalidJson = 102,
    NotInitialized = 103,
    Panic = 104,
    Cancelled = 105,
    NotFound = 106,

    // 2xx host contracts
    StoreConflict = 200,
    StoreFailure = 201,
    TransportFailure = 202,
    Timeout = 203,
    SealFailure = 204,

    // 3xx identity and access
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

    // 4xx remote services
    Throttled = 400,
    RemoteUnavailable = 401,
    GraphError = 402,
    ResyncRequired = 403,
    ErpError = 404,
    MalformedResponse = 405,

    // 5xx sync
    EditConflict = 500,
    ReadOnlyActivity = 501,
    StaleVersion = 502,
    SafetyGuard = 503,
    LeaseHeld = 504,

    // 6xx setup
    UnknownTimeZone = 600,
    CompanyNotAllowed = 601,
    LocationNotAllowed = 602,
    NoEnterpriseCompany = 603,
    UnknownJob = 604,
    NotConfigured = 605,
}

impl ErrorCode {
    /// Every code, for documentation, the C header and tests that pin the numbers.
    pub const ALL: &'static [ErrorCode] = &[
        Self::Internal,
        Self::InvalidArgument,
        Self::InvalidJson,
        Self::NotInitialized,
        Self::Panic,
        Self::Cancelled,
        Self::NotFound,
        Self::StoreConflict,
        Self::StoreFailure,
        Self::TransportFailure,
        Self::Timeout,
        Self::SealFailure,
        Self::Unauthorized,
        Self::Forbidden,
        Self::TokenMalformed,
        Self::TokenBadSignature,
        Self::TokenAlgorithmNotAllowed,
        Self::TokenWrongAudience,
        Self::TokenWrongIssuer,
        Self::TokenExpired,
        Self::TokenNotYetValid,
        Self::TokenWrongNonce,
        Self::TokenUnknownKey,
        Self::PersonalAccount,
        Self::WrongTenant,
        Self::DomainNotGranted,
        Self::NoErpUser,
        Self::InactiveErpUser,
        Self::LocalCredentials,
        Self::SignInStateUnknown,
        Self::InvalidGrant,
        Self::Throttled,
        Self::RemoteUnavailable,
        Self::GraphError,
        Self::ResyncRequired,
        Self::ErpError,
        Self::MalformedResponse,
        Self::EditConflict,
        Self::ReadOnlyActivity,
        Self::StaleVersion,
        Self::SafetyGuard,
        Self::LeaseHeld,
        Self::UnknownTimeZone,
        Self::CompanyNotAllowed,
        Self::LocationNotAllowed,
        Self::NoEnterpriseCompany,
        Self::UnknownJob,
        Self::NotConfigured,
    ];

    /// The number bindings expose.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The code for a number, if it is one of ours.
    pub fn from_number(number: u32) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.number() == number)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The serde name doubles as the human-readable name: one spelling everywhere.
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        write!(f, "{name} ({})", self.number())
    }
}

/// What a host, a panel or a log line sees of a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct PublicError {
    pub code: ErrorCode,
    /// A short sentence written by MsSync, safe to show and to log.
    pub reason: String,
}

impl PublicError {
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

impl From<crate::host::StoreError> for PublicError {
    fn from(error: crate::host::StoreError) -> Self {
        use crate::host::StoreError;
        match error {
            StoreError::Conflict { .. } => Self::new(
                ErrorCode::StoreConflict,
                "another writer changed the same record; retry",
            ),
            StoreError::Backend(_) => Self::new(ErrorCode::StoreFailure, "the host store failed"),
        }
    }
}

impl From<crate::host::TransportError> for PublicError {
    fn from(error: crate::host::TransportError) -> Self {
        use crate::host::TransportErrorKind;
        match error.kind {
            TransportErrorKind::Timeout => Self::new(ErrorCode::Timeout, "the request timed out"),
            _ => Self::new(
                ErrorCode::TransportFailure,
                "the host could not deliver the request",
            ),
        }
    }
}

impl From<crate::model::tz::TimeZoneError> for PublicError {
    fn from(error: crate::model::tz::TimeZoneError) -> Self {
        use crate::model::tz::TimeZoneError;
        match error {
            TimeZoneError::UnknownZone(_) => {
                Self::new(ErrorCode::UnknownTimeZone, "unknown time zone")
            }
            TimeZoneError::BadDateTime(_) => Self::new(
                ErrorCode::MalformedResponse,
                "a date-time could not be read",
            ),
        }
    }
}

impl From<crate::identity::SealError> for PublicError {
    fn from(error: crate::identity::SealError) -> Self {
        use crate::identity::SealError;
        match error {
            SealError::BadKey => {
                Self::new(ErrorCode::SealFailure, "the sealing key must be 32 bytes")
            }
            SealError::CannotOpen => Self::new(
                ErrorCode::SealFailure,
                "a sealed record cannot be opened with the host's key",
            ),
            SealError::CannotSeal => Self::new(ErrorCode::SealFailure, "sealing a record failed"),
        }
    }
}

impl From<crate::identity::IdentityError> for PublicError {
    fn from(error: crate::identity::IdentityError) -> Self {
        use crate::identity::IdentityError as E;
        let (code, reason) = match error {
            E::TokenMalformed => (
                ErrorCode::TokenMalformed,
                "the token is not a well-formed JWT",
            ),
            E::TokenBadSignature => (
                ErrorCode::TokenBadSignature,
                "the token's signature does not verify",
            ),
            E::TokenAlgorithmNotAllowed(_) => (
                ErrorCode::TokenAlgorithmNotAllowed,
                "the token is not signed with RS256",
            ),
            E::TokenWrongAudience => (
                ErrorCode::TokenWrongAudience,
                "the token is meant for another application",
            ),
            E::TokenWrongIssuer => (
                ErrorCode::TokenWrongIssuer,
                "the token's issuer does not match its tenant",
            ),
            E::TokenExpired => (ErrorCode::TokenExpired, "the token has expired"),
            E::TokenNotYetValid => (ErrorCode::TokenNotYetValid, "the token is not valid yet"),
            E::TokenWrongNonce => (
                ErrorCode::TokenWrongNonce,
                "the token does not answer this sign-in",
            ),
            E::TokenUnknownKey => (
                ErrorCode::TokenUnknownKey,
                "the token is signed with an unknown key",
            ),
            E::PersonalAccount => (
                ErrorCode::PersonalAccount,
                "personal Microsoft accounts cannot use MsSync",
            ),
            E::WrongTenant => (
                ErrorCode::WrongTenant,
                "the account belongs to another tenant",
            ),
            E::SignInStateUnknown => (
                ErrorCode::SignInStateUnknown,
                "the sign-in is unknown or was already completed; start again",
            ),
            E::InvalidGrant => (
                ErrorCode::InvalidGrant,
                "the sign-in has expired or was revoked; sign in again",
            ),
            E::ConsentRequired => (
                ErrorCode::Forbidden,
                "an administrator must grant consent to the app in this tenant",
            ),
            E::ClientRefused => (
                ErrorCode::Unauthorized,
                "Entra ID refused the app's credentials",
            ),
            E::Throttled { .. } => (
                ErrorCode::Throttled,
                "Entra ID is throttling requests; try later",
            ),
            E::Unavailable { .. } => (
                ErrorCode::RemoteUnavailable,
                "Entra ID is unavailable; try later",
            ),
            E::MalformedResponse => (
                ErrorCode::MalformedResponse,
                "Entra ID sent an unexpected answer",
            ),
            E::InvalidConfig(what) => return Self::new(ErrorCode::NotConfigured, what),
            E::Transport(e) => return e.into(),
            E::Store(e) => return e.into(),
            E::Seal(e) => return e.into(),
        };
        Self::new(code, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(
                seen.insert(code.number()),
                "duplicate number {}",
                code.number()
            );
            assert_eq!(ErrorCode::from_number(code.number()), Some(*code));
        }
        assert_eq!(ErrorCode::from_number(0), None);
    }

    #[test]
    fn published_numbers_never_move() {
        // Bindings and hosts hard-code these; a change here is a breaking change.
        let pinned: Vec<(String, u32)> = ErrorCode::ALL
            .iter()
            .map(|c| {
                (
                    serde_json::to_value(c)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    c.number(),
                )
            })
            .collect();
        insta::assert_json_snapshot!(pinned);
    }

    #[test]
    fn store_errors_do_not_leak_backend_text() {
        let err: PublicError =
            crate::host::StoreError::Backend("password=hunter2 at /var/db".into()).into();
        assert_eq!(err.code, ErrorCode::StoreFailure);
        assert!(!err.reason.contains("hunter2"));
        assert_eq!(
            err.to_string(),
            "store_failure (201): the host store failed"
        );
    }
}
