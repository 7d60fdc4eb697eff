//! Id-token verification: RS256 against the tenant's published keys, then every claim Entra's
//! guidance asks for, each refusal with its own error.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use super::config::{EntraApp, PERSONAL_ACCOUNT_TENANT};
use super::error::IdentityError;
use super::oauth::constant_time_eq;
use crate::host::{Clock, HttpClient, HttpRequest, Method};

/// Allowed clock difference between Entra ID and the host for `exp` and `nbf`.
pub const CLOCK_SKEW: ChronoDuration = ChronoDuration::minutes(5);
/// Keys are re-read at least this often even when every `kid` is known.
const JWKS_MAX_AGE: ChronoDuration = ChronoDuration::hours(24);
/// An unknown `kid` re-reads the keys at most this often, so forged tokens cannot make us hammer
/// the key endpoint.
const JWKS_MIN_REFETCH: ChronoDuration = ChronoDuration::minutes(5);

/// What a verified id token says about the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// The user's stable object id in the tenant.
    pub oid: String,
    pub tid: String,
    /// Display only: it may change and is not unique across tenants.
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<serde_json::Value>,
    exp: Option<i64>,
    nbf: Option<i64>,
    nonce: Option<String>,
    oid: Option<String>,
    tid: Option<String>,
    preferred_username: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    kid: Option<String>,
}

struct CachedKeys {
    keys: JwkSet,
    fetched_at: DateTime<Utc>,
}

/// Verifies id tokens of one app registration; keeps the tenant's keys between calls.
pub struct IdTokenVerifier {
    app: EntraApp,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    keys: Mutex<Option<CachedKeys>>,
}

impl IdTokenVerifier {
    pub fn new(app: EntraApp, http: Arc<dyn HttpClient>, clock: Arc<dyn Clock>) -> Self {
        Self {
            app,
            http,
            clock,
            keys: Mutex::new(None),
        }
    }

    /// Verifies `id_token`; `expected_nonce` is the nonce of the sign-in it answers.
    pub async fn verify(
        &self,
        id_token: &str,
        expected_nonce: Option<&str>,
    ) -> Result<IdClaims, IdentityError> {
        let header = read_header(id_token)?;
        let alg = header.alg.unwrap_or_default();
        if alg != "RS256" {
            return Err(IdentityError::TokenAlgorithmNotAllowed(alg));
        }
        let kid = header.kid.ok_or(IdentityError::TokenUnknownKey)?;
        let key = self.key_for(&kid).await?;

        let mut validation = Validation::new(Algorithm::RS256);
        // Time, audience and issuer are checked below against the host clock, each with its own
        // error; the library checks the signature and the algorithm.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        super::rs256::ensure_provider();
        let raw = jsonwebtoken::decode::<RawClaims>(id_token, &key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => IdentityError::TokenBadSignature,
                ErrorKind::InvalidAlgorithm => IdentityError::TokenAlgorithmNotAllowed(alg.clone()),
                _ => IdentityError::TokenMalformed,
            })?
            .claims;

        let tid = raw.tid.ok_or(IdentityError::TokenMalformed)?;
        if tid == PERSONAL_ACCOUNT_TENANT {
            return Err(IdentityError::PersonalAccount);
        }
        if raw.iss.as_deref() != Some(self.app.issuer_for(&tid).as_str()) {
            return Err(IdentityError::TokenWrongIssuer);
        }
        if self.app.is_single_tenant() && !tid.eq_ignore_ascii_case(&self.app.tenant) {
            return Err(IdentityError::WrongTenant);
        }
        let audience_ok = match &raw.aud {
            Some(serde_json::Value::String(aud)) => *aud == self.app.client_id,
            Some(serde_json::Value::Array(auds)) => {
                auds.len() == 1 && auds[0].as_str() == Some(self.app.client_id.as_str())
            }
            _ => false,
        };
        if !audience_ok {
            return Err(IdentityError::TokenWrongAudience);
        }
        let now = self.clock.now();
        let exp = raw.exp.ok_or(IdentityError::TokenMalformed)?;
        if now - CLOCK_SKEW >= timestamp(exp)? {
            return Err(IdentityError::TokenExpired);
        }
        if let Some(nbf) = raw.nbf
            && now + CLOCK_SKEW < timestamp(nbf)?
        {
            return Err(IdentityError::TokenNotYetValid);
        }
        if let Some(expected) = expected_nonce {
            let got = raw.nonce.as_deref().unwrap_or_default();
            if !constant_time_eq(got.as_bytes(), expected.as_bytes()) {
                return Err(IdentityError::TokenWrongNonce);
            }
        }
        Ok(IdClaims {
            oid: raw.oid.ok_or(IdentityError::TokenMalformed)?,
            tid,
            preferred_username: raw.preferred_username,
            email: raw.email,
            name: raw.name,
        })
    }

    /// The key for `kid`: from the cache, or after one re-read of the key set.
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, IdentityError> {
        let now = self.clock.now();
        let may_refetch = {
            let cached = self.keys.lock().unwrap();
            match cached.as_ref() {
                Some(c) if now - c.fetched_at < JWKS_MAX_AGE => {
                    if let Some(jwk) = c.keys.find(kid) {
                        return DecodingKey::from_jwk(jwk)
                            .map_err(|_| IdentityError::TokenUnknownKey);
                    }
                    now - c.fetched_at >= JWKS_MIN_REFETCH
                }
                _ => true,
            }
        };
        if !may_refetch {
            return Err(IdentityError::TokenUnknownKey);
        }
        let keys = self.fetch_keys().await?;
        let key = keys.find(kid).map(DecodingKey::from_jwk);
        *self.keys.lock().unwrap() = Some(CachedKeys {
            keys,
            fetched_at: now,
        });
        match key {
            Some(Ok(key)) => Ok(key),
            _ => Err(IdentityError::TokenUnknownKey),
        }
    }

    async fn fetch_keys(&self) -> Result<JwkSet, IdentityError> {
        let request = HttpRequest::new(Method::Get, self.app.jwks_endpoint())
            .header("Accept", "application/json");
        let response = self.http.send(request).await?;
        if response.status == 429 {
            return Err(IdentityError::Throttled {
                until: self.clock.now() + ChronoDuration::seconds(60),
            });
        }
        if !response.is_success() {
            return Err(IdentityError::Unavailable {
                status: response.status,
            });
        }
        // Keys of other types (EC, unknown ones) are skipped, not fatal.
        let raw: serde_json::Value =
            serde_json::from_slice(&response.body).map_err(|_| IdentityError::MalformedResponse)?;
        let keys = raw
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or(IdentityError::MalformedResponse)?
            .iter()
            .filter_map(|k| serde_json::from_value(k.clone()).ok())
            .collect();
        Ok(JwkSet { keys })
    }
}

fn read_header(token: &str) -> Result<RawHeader, IdentityError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdentityError::TokenMalformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| IdentityError::TokenMalformed)?;
    serde_json::from_slice(&bytes).map_err(|_| IdentityError::TokenMalformed)
}

fn timestamp(seconds: i64) -> Result<DateTime<Utc>, IdentityError> {
    DateTime::from_timestamp(seconds, 0).ok_or(IdentityError::TokenMalformed)
}
