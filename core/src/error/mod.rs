//! The public error every binding shows: a stable numeric code and a short reason.
//!
//! Each module keeps its own detailed `thiserror` type; all of them convert into [`PublicError`]
//! here and nowhere else. A public error never carries event content, e-mail bodies, tokens or
//! secrets: reasons are written by us, not copied from remote payloads.

use serde::{Deserialize, Serialize};

mod from_erp;
mod from_graph;
mod from_host;
mod from_identity;
mod from_jobs;
mod from_model;

#[cfg(test)]
mod argument_error_tests;
#[cfg(test)]
mod tests;

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
    /// The user has no default ERP.net mailbox the Mail job can use: none, one at another
    /// address than the principal name, or an encrypted one.
    NoMailBox = 606,
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
        Self::NoMailBox,
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
