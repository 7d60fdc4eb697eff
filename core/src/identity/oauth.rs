//! The OAuth 2.0 / OpenID Connect exchanges with Entra ID, made by the `oauth2` crate over the
//! host's [`HttpClient`].

use std::sync::Arc;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ErrorResponse, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::config::{ClientCredential, EntraApp};
use super::error::IdentityError;
use super::verify::{IdClaims, IdTokenVerifier};
use super::wire::{self, aadsts, oauth_error, param};
use crate::host::{
    Clock, Host, HttpClient, HttpRequest, HttpResponse, Method, RetryOutcome, RetryPolicy,
    TransportError, send_with_retry,
};

/// Tokens from one exchange. `Debug` hides them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<hidden>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<hidden>"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "<hidden>"))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What must survive between sending the user to Entra ID and the redirect back: keep it sealed
/// (see [`super::SignInStore`]) or in the host's session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The URL to send the browser to, and what to keep until it comes back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: String,
    pub pending: PendingSignIn,
}

/// A completed sign-in: verified claims and the tokens.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub claims: IdClaims,
    pub tokens: TokenSet,
}

/// `id_token` beside the standard fields of a token response.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EntraTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}
impl ExtraTokenFields for EntraTokenFields {}

/// Entra's error body: the standard fields plus its `AADSTS` numbers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EntraErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
}
impl ErrorResponse for EntraErrorResponse {}
impl std::fmt::Display for EntraErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.error, self.error_codes)
    }
}

type EntraTokenResponse = StandardTokenResponse<EntraTokenFields, BasicTokenType>;
type OAuthClient = oauth2::Client<
    EntraErrorResponse,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Why the host could not get a final answer from the token endpoint.
#[derive(Debug, thiserror::Error)]
enum ExchangeFailure {
    #[error("throttled until {0}")]
    Throttled(DateTime<Utc>),
    #[error("HTTP {0}")]
    Unavailable(u16),
    #[error(transparent)]
    Transport(TransportError),
    #[error("request could not be converted")]
    BadRequest,
}

/// Entra ID for one app registration: authorization URLs, token exchanges, id-token verification.
pub struct EntraClient {
    app: EntraApp,
    oauth: OAuthClient,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    verifier: IdTokenVerifier,
}

impl EntraClient {
    pub fn new(app: EntraApp, host: &Host) -> Result<Self, IdentityError> {
        let bad_url = |_| IdentityError::InvalidConfig("the authority is not a valid URL");
        let mut oauth = oauth2::Client::new(ClientId::new(app.client_id.clone()))
            .set_auth_uri(AuthUrl::new(app.authorize_endpoint()).map_err(bad_url)?)
            .set_token_uri(TokenUrl::new(app.token_endpoint()).map_err(bad_url)?)
            // Entra documents credentials in the form body; keeps them out of headers too.
            .set_auth_type(AuthType::RequestBody);
        if let ClientCredential::Secret(secret) = &app.credential {
            oauth = oauth.set_client_secret(ClientSecret::new(secret.clone()));
        }
        if let Some(redirect) = &app.redirect_uri {
            oauth = oauth.set_redirect_uri(RedirectUrl::new(redirect.clone()).map_err(|_| {
                IdentityError::InvalidConfig("the redirect URI is not a valid URL")
            })?);
        }
        let verifier = IdTokenVerifier::new(app.clone(), host.http.clone(), host.clock.clone());
        Ok(Self {
            app,
            oauth,
            http: host.http.clone(),
            clock: host.clock.clone(),
            retry: RetryPolicy {
                // A token request that got no answer may have been redeemed: never repeat it blind.
                retry_transport: false,
                max_attempts: 3,
                ..RetryPolicy::default()
            },
            verifier,
        })
    }

    pub fn app(&self) -> &EntraApp {
        &self.app
    }

    pub fn verifier(&self) -> &IdTokenVerifier {
        &self.verifier
    }

    /// Step one of sign-in: an authorization URL with PKCE (S256), `state` and `nonce`.
    pub fn authorization_request(
        &self,
        scopes: &[&str],
        login_hint: Option<&str>,
    ) -> Result<AuthorizationRequest, IdentityError> {
        let redirect_uri = self
            .app
            .redirect_uri
            .clone()
            .ok_or(IdentityError::InvalidConfig("no redirect URI configured"))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random();
        let mut request = self
            .oauth
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .add_scopes(scopes.iter().map(|s| Scope::new((*s).to_owned())))
            .add_extra_param(param::NONCE, nonce.secret().clone())
            .add_extra_param(param::RESPONSE_MODE, wire::RESPONSE_MODE_QUERY);
        if let Some(hint) = login_hint {
            request = request.add_extra_param(param::LOGIN_HINT, hint.to_owned());
        }
        let (url, state) = request.url();
        Ok(AuthorizationRequest {
            url: url.to_string(),
            pending: PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                redirect_uri,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            },
        })
    }

    /// The URL an admin opens to consent to the app's application permissions for the tenant:
    /// the v2.0 endpoint with `scope=https://graph.microsoft.com/.default` (Required there, and
    /// the only form that requests application permissions).
    pub fn admin_consent_url(&self, state: &str) -> Result<String, IdentityError> {
        let redirect_uri = self
            .app
            .redirect_uri
            .as_deref()
            .ok_or(IdentityError::InvalidConfig("no redirect URI configured"))?;
        let mut url = url::Url::parse(&self.app.admin_consent_endpoint())
            .map_err(|_| IdentityError::InvalidConfig("the authority is not a valid URL"))?;
        url.query_pairs_mut()
            .append_pair(param::CLIENT_ID, &self.app.client_id)
            .append_pair(param::SCOPE, wire::GRAPH_DEFAULT_SCOPE)
            .append_pair(param::REDIRECT_URI, redirect_uri)
            .append_pair(param::STATE, state);
        Ok(url.to_string())
    }

    /// Step two of sign-in: checks `state`, redeems the code with the PKCE verifier and verifies
    /// the id token (signature, issuer, tenant, audience, lifetime, nonce).
    pub async fn complete_sign_in(
        &self,
        pending: &PendingSignIn,
        returned_state: &str,
        code: &str,
    ) -> Result<SignIn, IdentityError> {
        if !constant_time_eq(pending.state.as_bytes(), returned_state.as_bytes()) {
            return Err(IdentityError::SignInStateUnknown);
        }
        let tokens = self.exchange_code(pending, code).await?;
        let id_token = tokens
            .id_token
            .as_deref()
            .ok_or(IdentityError::MalformedResponse)?;
        let claims = self.verifier.verify(id_token, Some(&pending.nonce)).await?;
        Ok(SignIn { claims, tokens })
    }

    /// Redeems an authorization code (with the PKCE verifier).
    pub async fn exchange_code(
        &self,
        pending: &PendingSignIn,
        code: &str,
    ) -> Result<TokenSet, IdentityError> {
        let mut request = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .set_redirect_uri(std::borrow::Cow::Owned(
                RedirectUrl::new(pending.redirect_uri.clone()).map_err(|_| {
                    IdentityError::InvalidConfig("the redirect URI is not a valid URL")
                })?,
            ));
        if !pending.scopes.is_empty() {
            request = request.add_extra_param(param::SCOPE, pending.scopes.join(" "));
        }
        for (name, value) in self.client_assertion_params()? {
            request = request.add_extra_param(name, value);
        }
        let now = self.clock.now();
        let http = |r| self.send(r);
        let response = request.request_async(&http).await.map_err(token_error)?;
        Ok(token_set(response, now))
    }

    /// Redeems a refresh token. Entra rotates it: the answer's refresh token replaces the old one.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        scopes: &[String],
    ) -> Result<TokenSet, IdentityError> {
        let refresh = RefreshToken::new(refresh_token.to_owned());
        let mut request = self
            .oauth
            .exchange_refresh_token(&refresh)
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        for (name, value) in self.client_assertion_params()? {
            request = request.add_extra_param(name, value);
        }
        let now = self.clock.now();
        let http = |r| self.send(r);
        let response = request.request_async(&http).await.map_err(token_error)?;
        Ok(token_set(response, now))
    }

    /// An application token (client credentials) for `scope`, e.g.
    /// `https://graph.microsoft.com/.default`.
    pub async fn client_credentials(&self, scope: &str) -> Result<TokenSet, IdentityError> {
        if matches!(self.app.credential, ClientCredential::None) {
            return Err(IdentityError::InvalidConfig(
                "application mode needs a client secret or certificate",
            ));
        }
        let mut request = self
            .oauth
            .exchange_client_credentials()
            .add_scope(Scope::new(scope.to_owned()));
        for (name, value) in self.client_assertion_params()? {
            request = request.add_extra_param(name, value);
        }
        let now = self.clock.now();
        let http = |r| self.send(r);
        let response = request.request_async(&http).await.map_err(token_error)?;
        Ok(token_set(response, now))
    }

    /// With a certificate credential: a fresh client assertion for the token endpoint, as the
    /// current certificate-credentials page asks: `alg` PS256 (PSS padding), `typ` JWT and the
    /// certificate's `x5t#S256` (no SHA-1 `x5t`). Entra ID also accepted RS256 with `x5t`, the
    /// page's earlier form (docs/decisions.md).
    fn client_assertion_params(&self) -> Result<Vec<(&'static str, String)>, IdentityError> {
        let ClientCredential::Certificate(cert) = &self.app.credential else {
            return Ok(Vec::new());
        };
        let now = self.clock.now().timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.x5t_s256 = Some(cert.x5t_s256.clone());
        let claims = serde_json::json!({
            "aud": self.app.token_endpoint(),
            "iss": self.app.client_id,
            "sub": self.app.client_id,
            "jti": CsrfToken::new_random().secret(),
            "nbf": now,
            "iat": now,
            "exp": now + wire::assertion::LIFETIME_SECONDS,
        });
        super::rs256::ensure_provider();
        let assertion = jsonwebtoken::encode(&header, &claims, &cert.key)
            .map_err(|_| IdentityError::InvalidConfig("the certificate key cannot sign"))?;
        Ok(vec![
            (
                param::CLIENT_ASSERTION_TYPE,
                wire::CLIENT_ASSERTION_TYPE_JWT_BEARER.to_owned(),
            ),
            (param::CLIENT_ASSERTION, assertion),
        ])
    }

    /// The `oauth2` crate's HTTP function: converts to the host contract and back, retrying 429
    /// and 5xx answers the way the host's retry policy does.
    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, ExchangeFailure> {
        let method = match *request.method() {
            oauth2::http::Method::GET => Method::Get,
            oauth2::http::Method::POST => Method::Post,
            _ => return Err(ExchangeFailure::BadRequest),
        };
        let mut host_request = HttpRequest::new(method, request.uri().to_string());
        for (name, value) in request.headers() {
            let value = value.to_str().map_err(|_| ExchangeFailure::BadRequest)?;
            host_request = host_request.header(name.as_str(), value);
        }
        host_request.body = request.into_body();
        let response: HttpResponse =
            send_with_retry(&*self.http, &*self.clock, &self.retry, host_request)
                .await
                .map_err(|outcome| match outcome {
                    RetryOutcome::Throttled { until, .. } => ExchangeFailure::Throttled(until),
                    RetryOutcome::Transport(error) => ExchangeFailure::Transport(error),
                })?;
        if response.status == 429 {
            return Err(ExchangeFailure::Throttled(
                self.clock.now() + ChronoDuration::seconds(60),
            ));
        }
        if response.status >= 500 {
            return Err(ExchangeFailure::Unavailable(response.status));
        }
        let mut builder = oauth2::http::Response::builder().status(response.status);
        for (name, value) in &response.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(response.body)
            .map_err(|_| ExchangeFailure::BadRequest)
    }
}

fn token_set(response: EntraTokenResponse, issued_at: DateTime<Utc>) -> TokenSet {
    // Entra always sends expires_in; without it assume the shortest lifetime it issues (1 h).
    // A lifetime is the server's number: at most a day is believed (tokens live about one hour).
    let lifetime = response
        .expires_in()
        .unwrap_or(std::time::Duration::from_secs(3600))
        .min(crate::host::MAX_TOKEN_LIFETIME);
    TokenSet {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        id_token: response.extra_fields().id_token.clone(),
        expires_at: crate::host::later_by(issued_at, lifetime),
    }
}

fn token_error(error: RequestTokenError<ExchangeFailure, EntraErrorResponse>) -> IdentityError {
    match error {
        RequestTokenError::ServerResponse(body) => {
            let has = |code: u64| body.error_codes.contains(&code);
            if has(aadsts::CONSENT_MISSING) {
                IdentityError::ConsentRequired
            } else if has(aadsts::SERVICE_NOT_SUBSCRIBED) {
                IdentityError::ServiceNotSubscribed
            } else if has(aadsts::APP_NOT_IN_TENANT) {
                // Arrives as `unauthorized_client`: not a bad credential but an app the tenant
                // does not have (never consented, or a wrong client id or tenant).
                IdentityError::AppNotInTenant
            } else {
                match body.error.as_str() {
                    oauth_error::INVALID_GRANT => IdentityError::InvalidGrant,
                    oauth_error::INVALID_CLIENT | oauth_error::UNAUTHORIZED_CLIENT => {
                        IdentityError::ClientRefused
                    }
                    oauth_error::TEMPORARILY_UNAVAILABLE => {
                        IdentityError::Unavailable { status: 503 }
                    }
                    _ => IdentityError::MalformedResponse,
                }
            }
        }
        RequestTokenError::Request(ExchangeFailure::Throttled(until)) => {
            IdentityError::Throttled { until }
        }
        RequestTokenError::Request(ExchangeFailure::Unavailable(status)) => {
            IdentityError::Unavailable { status }
        }
        RequestTokenError::Request(ExchangeFailure::Transport(error)) => {
            IdentityError::Transport(error)
        }
        RequestTokenError::Request(ExchangeFailure::BadRequest)
        | RequestTokenError::Parse(..)
        | RequestTokenError::Other(_) => IdentityError::MalformedResponse,
    }
}

/// Compares secrets without an early exit that would leak how much matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
