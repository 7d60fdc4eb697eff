//! What a failure of sealing, sign-in or token validation shows publicly.

use super::{ErrorCode, PublicError};

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

impl From<crate::identity::TokenError> for PublicError {
    fn from(error: crate::identity::TokenError) -> Self {
        use crate::identity::TokenError;
        match error {
            TokenError::Identity(e) => e.into(),
            TokenError::Erp(e) => e.into(),
        }
    }
}
