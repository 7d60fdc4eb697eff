use chrono::{DateTime, Utc};

use super::seal::SealError;
use crate::host::{StoreError, TransportError};

/// Every way sign-in, token exchange or token verification can fail. Converted to a
/// [`crate::PublicError`] in `crate::error`; no variant carries a token, secret or remote text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the token is not a well-formed JWT")]
    TokenMalformed,
    #[error("the token's signature does not verify")]
    TokenBadSignature,
    #[error("the token's algorithm {0:?} is not allowed")]
    TokenAlgorithmNotAllowed(String),
    #[error("the token is meant for another application")]
    TokenWrongAudience,
    #[error("the token's issuer does not match its tenant")]
    TokenWrongIssuer,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the token is not valid yet")]
    TokenNotYetValid,
    #[error("the token's nonce does not match the sign-in")]
    TokenWrongNonce,
    #[error("the token is signed with a key the tenant does not publish")]
    TokenUnknownKey,
    #[error("personal Microsoft accounts cannot sign in")]
    PersonalAccount,
    #[error("the account belongs to another tenant")]
    WrongTenant,
    #[error("the sign-in state is unknown or was already used")]
    SignInStateUnknown,
    #[error("the sign-in was begun in another browser session")]
    SignInOtherSession,
    #[error("the grant was refused (expired, used or revoked); sign in again")]
    InvalidGrant,
    #[error("the application has no admin consent in this tenant")]
    ConsentRequired,
    #[error("the organization has not subscribed to or enabled a service the application needs")]
    ServiceNotSubscribed,
    #[error("the application is not registered or consented in this tenant")]
    AppNotInTenant,
    #[error("the application's credentials were refused")]
    ClientRefused,
    #[error("the identity platform throttles requests until {until}")]
    Throttled { until: DateTime<Utc> },
    #[error("the identity platform is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    #[error("the identity platform sent an unexpected answer")]
    MalformedResponse,
    #[error("invalid identity configuration: {0}")]
    InvalidConfig(&'static str),
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] SealError),
}
