use async_trait::async_trait;

use super::IdentityError;
use crate::erp::ErpError;
use crate::host::MaybeSendSync;

/// Why a token source has no token, typed by the service that refused or failed: Entra ID, or
/// ERP.net's identity server for a Trusted Application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Erp(#[from] ErpError),
}

/// Where a connector gets the bearer token for its next request. Implementations cache tokens
/// (in the store, sealed) and refresh them shortly before they expire.
#[async_trait(?Send)]
pub trait TokenSource: MaybeSendSync {
    /// A token valid for at least a little while longer.
    async fn token(&self) -> Result<String, TokenError>;
    /// The service answered 401 to `rejected`: the next [`TokenSource::token`] must not return it.
    async fn invalidate(&self, rejected: &str);
}

/// A fixed token: an ERP.net personal access token, or a test's.
pub struct StaticToken(pub String);

#[async_trait(?Send)]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }

    async fn invalidate(&self, _rejected: &str) {}
}
