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
    /// The operation exists but is not available in this build or on this host.
    Unsupported = 107,

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
    /// The tenant has not subscribed to or enabled a service MsSync needs (AADSTS650052).
    ServiceNotSubscribed = 319,
    /// The app registration is not in the tenant: never consented there, or a wrong client id
    /// or tenant (AADSTS700016).
    AppNotInTenant = 320,
    /// The ERP.net user is linked to another Microsoft account (tenant and object id), or this
    /// account to another ERP.net user: links are pinned at the first sign-in.
    IdentityLinkedElsewhere = 321,
    /// A sign-in's redirect came back to another browser session than the one that began it
    /// (login CSRF): refused.
    SignInOtherSession = 322,

    // 4xx remote services
    Throttled = 400,
    RemoteUnavailable = 401,
    GraphError = 402,
    ResyncRequired = 403,
    ErpError = 404,
    MalformedResponse = 405,
    /// ERP.net does not know an entity set or name MsSync uses: its version is older (or newer)
    /// than the versions MsSync supports.
    ErpVersionMismatch = 406,
    /// A service sent a link (a next page, a delta link) outside its own origin and base path,
    /// or kept sending pages past the cap: it was not followed, and no credential went with it.
    UntrustedLink = 407,

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
        Self::Unsupported,
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
        Self::ServiceNotSubscribed,
        Self::AppNotInTenant,
        Self::IdentityLinkedElsewhere,
        Self::SignInOtherSession,
        Self::Throttled,
        Self::RemoteUnavailable,
        Self::GraphError,
        Self::ResyncRequired,
        Self::ErpError,
        Self::MalformedResponse,
        Self::ErpVersionMismatch,
        Self::UntrustedLink,
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
    /// For throttling: when the service allows MsSync to try again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PublicError {
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            retry_at: None,
        }
    }

    /// A throttling error that says when to try again.
    pub fn throttled(reason: impl Into<String>, until: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            code: ErrorCode::Throttled,
            reason: reason.into(),
            retry_at: Some(until),
        }
    }
}

/// What a deserializer said of a caller's argument, without the caller's values: serde's
/// messages quote what they refused (`invalid type: string "…"`, ``unknown variant `…` ``), and a
/// secret typed into the wrong field must not come back in an error a host may log. Field names
/// (`missing field`) and the expected shape are kept.
pub fn argument_error_without_values(message: &str) -> String {
    let message = message.trim();
    // serde_json appends " at line L column C"; keep the position, it quotes nothing.
    let (text, position) = match message.rfind(" at line ") {
        Some(at) => (&message[..at], &message[at..]),
        None => (message, ""),
    };
    let shape = if text.starts_with("missing field `") && text.matches('`').count() == 2 {
        text.to_owned()
    } else if text.starts_with("EOF while parsing") {
        "the JSON ends too early".to_owned()
    } else if text.starts_with("trailing") || text.starts_with("expected value") {
        "not JSON".to_owned()
    } else if let Some(at) = text.rfind("expected ") {
        format!("wrong value; {}", &text[at..])
    } else {
        "not of the expected shape".to_owned()
    };
    format!("{shape}{position}")
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

impl From<crate::erp::ErpError> for PublicError {
    fn from(error: crate::erp::ErpError) -> Self {
        use crate::erp::ErpError;
        // Reasons are ours: ERP.net's own messages may quote activity data.
        match error {
            ErpError::Unauthorized => Self::new(
                ErrorCode::Unauthorized,
                "ERP.net refused the credentials; check the trusted application or access token",
            ),
            ErpError::InvalidClient { .. } => Self::new(
                ErrorCode::Unauthorized,
                "the ERP.net identity server refused the client id or secret",
            ),
            ErpError::Forbidden => Self::new(
                ErrorCode::Forbidden,
                "ERP.net denied access; use Give permissions",
            ),
            ErpError::NotFound => {
                Self::new(ErrorCode::NotFound, "the ERP.net object no longer exists")
            }
            ErpError::VersionMismatch { name, renamed } => {
                let what = name.as_deref().map_or_else(
                    || "a name MsSync uses".to_owned(),
                    |n| format!("the entity set {n}"),
                );
                let reason = if renamed {
                    format!(
                        "ERP.net no longer supports {what} (it was renamed): upgrade MsSync to a version that supports this ERP.net"
                    )
                } else {
                    let since = name
                        .as_deref()
                        .and_then(crate::erp::wire::introduced_in)
                        .map(|v| format!(" (introduced in {v})"))
                        .unwrap_or_default();
                    format!(
                        "ERP.net does not know {what}{since}: upgrade ERP.net to a version MsSync supports"
                    )
                };
                Self::new(ErrorCode::ErpVersionMismatch, reason)
            }
            ErpError::ReadOnlyActivity { .. } => Self::new(
                ErrorCode::ReadOnlyActivity,
                "the activity is released or closed in ERP.net and cannot be changed",
            ),
            ErpError::StaleVersion => Self::new(
                ErrorCode::StaleVersion,
                "the activity changed in ERP.net since it was read",
            ),
            ErpError::Throttled { until, .. } => Self::throttled(
                format!(
                    "ERP.net is throttling requests until {}",
                    until.format("%Y-%m-%d %H:%MZ")
                ),
                until,
            ),
            ErpError::Transport(e) => e.into(),
            ErpError::Remote { status: 429, .. } => {
                Self::new(ErrorCode::Throttled, "ERP.net is throttling requests")
            }
            ErpError::Remote { status, .. } if status > 500 => Self::new(
                ErrorCode::RemoteUnavailable,
                format!("ERP.net is unavailable (HTTP {status})"),
            ),
            ErpError::Remote { status, code, .. } => {
                // ERP.net codes are short identifiers; anything else might be data, so it is dropped.
                let code = code.filter(|c| {
                    c.len() <= 40
                        && c.chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'))
                });
                Self::new(
                    ErrorCode::ErpError,
                    match code {
                        Some(code) => {
                            format!("ERP.net reported an error (HTTP {status}, code {code})")
                        }
                        None => format!("ERP.net reported an error (HTTP {status})"),
                    },
                )
            }
            ErpError::BadConfig(reason) => Self::new(ErrorCode::InvalidArgument, reason),
            ErpError::Malformed(_) => Self::new(
                ErrorCode::MalformedResponse,
                "ERP.net sent a response MsSync could not read",
            ),
            ErpError::UntrustedLink(what) => Self::new(
                ErrorCode::UntrustedLink,
                format!("ERP.net sent {what}; it was not followed"),
            ),
        }
    }
}

impl From<crate::graph::GraphError> for PublicError {
    fn from(error: crate::graph::GraphError) -> Self {
        use crate::graph::GraphError;
        match error {
            GraphError::Throttled { until, .. } => Self::throttled(
                format!(
                    "Microsoft Graph is throttling this mailbox; retry after {}",
                    until.format("%Y-%m-%d %H:%M:%SZ")
                ),
                until,
            ),
            GraphError::ResyncRequired => Self::new(
                ErrorCode::ResyncRequired,
                "the calendar change token expired; the window is read again in full",
            ),
            GraphError::Unauthorized => Self::new(
                ErrorCode::Unauthorized,
                "Microsoft Graph rejected the token",
            ),
            GraphError::Forbidden { .. } => Self::new(
                ErrorCode::Forbidden,
                "Microsoft Graph denied access to the calendar",
            ),
            GraphError::NotFound { .. } => {
                Self::new(ErrorCode::NotFound, "the event or mailbox was not found")
            }
            GraphError::Service { status, .. } if status >= 500 => Self::new(
                ErrorCode::RemoteUnavailable,
                format!("Microsoft Graph failed (HTTP {status})"),
            ),
            GraphError::Service { status, code } => Self::new(
                ErrorCode::GraphError,
                // Graph's error codes are fixed identifiers, never content.
                format!("Microsoft Graph refused the request (HTTP {status} {code})"),
            ),
            GraphError::InvalidRequest(reason) => Self::new(ErrorCode::InvalidArgument, reason),
            GraphError::Malformed(_) => Self::new(
                ErrorCode::MalformedResponse,
                "Microsoft Graph answered something unreadable",
            ),
            GraphError::UntrustedLink(what) => Self::new(
                ErrorCode::UntrustedLink,
                format!("Microsoft Graph sent {what}; it was not followed"),
            ),
            GraphError::Transport(error) => error.into(),
            GraphError::Token(error) => error,
        }
    }
}

impl From<crate::jobs::calendar::map_graph::MapError> for PublicError {
    fn from(error: crate::jobs::calendar::map_graph::MapError) -> Self {
        use crate::jobs::calendar::map_graph::MapError;
        match error {
            MapError::Missing(field) => Self::new(
                ErrorCode::MalformedResponse,
                format!("an Outlook event has no {field}"),
            ),
            MapError::Time(error) => error.into(),
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
            E::SignInOtherSession => (
                ErrorCode::SignInOtherSession,
                "this sign-in was begun in another browser; sign in again from this one",
            ),
            E::InvalidGrant => (
                ErrorCode::InvalidGrant,
                "the sign-in has expired or was revoked; sign in again",
            ),
            E::ConsentRequired => (
                ErrorCode::Forbidden,
                "an administrator must grant consent to the app in this tenant",
            ),
            E::ServiceNotSubscribed => (
                ErrorCode::ServiceNotSubscribed,
                "the organization has not subscribed to or enabled a service MsSync needs (Exchange Online mailboxes for Microsoft Graph calendars); an administrator must enable it for the tenant",
            ),
            E::AppNotInTenant => (
                ErrorCode::AppNotInTenant,
                "Entra ID does not know the app in this tenant; check the tenant id and client id, then open the consent URL as a tenant administrator",
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
mod argument_error_tests {
    use super::argument_error_without_values;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Args {
        enabled: bool,
        kind: Kind,
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Host,
    }

    fn error_of(json: &str) -> String {
        let e = serde_json::from_str::<Args>(json).unwrap_err();
        argument_error_without_values(&e.to_string())
    }

    #[test]
    fn argument_errors_keep_the_shape_and_drop_the_values() {
        for (json, secret) in [
            (
                r#"{"enabled": "hunter2", "kind": "host", "name": "x"}"#,
                "hunter2",
            ),
            (
                r#"{"enabled": true, "kind": "hunter2", "name": "x"}"#,
                "hunter2",
            ),
            (
                r#"{"enabled": true, "kind": "host", "name": 4242424242}"#,
                "4242424242",
            ),
            (
                r#"{"enabled": true, "kind": "host", "name": "x", "hunter2"#,
                "hunter2",
            ),
            (r#"hunter2"#, "hunter2"),
        ] {
            let text = error_of(json);
            assert!(!text.contains(secret), "{text}");
        }
        let text = error_of(r#"{"enabled": "hunter2", "kind": "host", "name": "x"}"#);
        assert!(
            text.contains("expected a boolean") && text.contains("line 1"),
            "{text}"
        );
        assert_eq!(
            error_of(r#"{"kind": "host", "name": "x"}"#),
            "missing field `enabled` at line 1 column 29"
        );
        assert_eq!(error_of("hunter2"), "not JSON at line 1 column 1");
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
    fn erp_errors_map_to_stable_codes_and_our_own_words() {
        use crate::erp::ErpError;
        let cases = [
            (ErpError::StaleVersion, ErrorCode::StaleVersion),
            (
                ErpError::ReadOnlyActivity {
                    state: "Closed".into(),
                },
                ErrorCode::ReadOnlyActivity,
            ),
            (ErpError::Unauthorized, ErrorCode::Unauthorized),
            (ErpError::Forbidden, ErrorCode::Forbidden),
            (
                ErpError::Remote {
                    status: 503,
                    code: None,
                    kind: None,
                },
                ErrorCode::RemoteUnavailable,
            ),
            (
                ErpError::Remote {
                    status: 429,
                    code: None,
                    kind: None,
                },
                ErrorCode::Throttled,
            ),
            (
                ErpError::Malformed("activity Subject 'secret'".into()),
                ErrorCode::MalformedResponse,
            ),
        ];
        for (error, code) in cases {
            let public = PublicError::from(error);
            assert_eq!(public.code, code);
            assert!(!public.reason.contains("secret"), "{}", public.reason);
        }
        let public = PublicError::from(ErpError::Remote {
            status: 500,
            code: Some("E42 'Secret merger'".into()),
            kind: Some("ArgumentException".into()),
        });
        assert_eq!(public.code, ErrorCode::ErpError);
        assert_eq!(public.reason, "ERP.net reported an error (HTTP 500)");
        let public = PublicError::from(ErpError::Remote {
            status: 500,
            code: Some("1042".into()),
            kind: None,
        });
        assert_eq!(
            public.reason,
            "ERP.net reported an error (HTTP 500, code 1042)"
        );
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
