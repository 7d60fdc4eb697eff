//! Identity: Entra ID sign-in (authorization code + PKCE, verified id tokens), application and
//! delegated tokens cached sealed in the store, and the token source every connector takes its
//! bearer tokens from.

mod cache;
mod config;
mod error;
mod oauth;
mod rs256;
mod seal;
mod token_source;
mod verify;
pub mod wire;

pub use cache::{
    AppTokenSource, DelegatedTokenSource, REFRESH_MARGIN, SIGN_IN_LIFETIME, SignInStore,
};
pub use config::{
    ClientCertificate, ClientCredential, EntraApp, PERSONAL_ACCOUNT_TENANT, PUBLIC_CLOUD,
};
pub use error::IdentityError;
pub use oauth::{AuthorizationRequest, EntraClient, PendingSignIn, SignIn, TokenSet};
pub use seal::{SealError, Sealer};
pub use token_source::{StaticToken, TokenError, TokenSource};
pub use verify::{CLOCK_SKEW, IdClaims, IdTokenVerifier};
