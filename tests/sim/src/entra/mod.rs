//! A stateful Entra ID (identity platform v2.0) on wiremock: tenants, users, app registrations,
//! authorization codes with PKCE, rotating refresh tokens, client credentials (secret or
//! certificate assertion, admin consent required), JWKS with key rotation, admin consent, faults on
//! demand and a request log. Tokens are RS256 JWTs signed with the TEST-ONLY keys in
//! `tests/sim/keys/`.

mod endpoints;
pub mod keys;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use keys::{RegisteredCertificate, SigningKey};

/// The tenant of personal Microsoft accounts.
pub const CONSUMERS_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The audience of the Graph access tokens the simulator issues.
pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
/// Application permissions granted by admin consent.
pub const APP_ROLES: &[&str] = &["Calendars.ReadWrite", "Mail.ReadWrite", "User.Read.All"];
/// Lifetime of issued access and id tokens.
pub const TOKEN_LIFETIME_SECONDS: i64 = 3600;

/// A ready-made tenant, users and app for tests and the demo.
pub mod fixture {
    pub const TENANT: &str = "8a1b4c2d-0000-4000-8000-00000000c0de";
    pub const OTHER_TENANT: &str = "5e6f7a8b-0000-4000-8000-00000000beef";
    pub const CLIENT_ID: &str = "4d5e6f70-0000-4000-8000-0000000a9901";
    pub const CLIENT_SECRET: &str = "sim-secret-value-not-for-production";
    pub const REDIRECT_URI: &str = "https://erp.example.test/mssync/signin";
    pub const ALICE_OID: &str = "a11ce000-0000-4000-8000-000000000001";
    pub const ALICE: &str = "alice@contoso.example";
    pub const BOB_OID: &str = "b0b00000-0000-4000-8000-000000000002";
    pub const BOB: &str = "bob@fabrikam.example";
    pub const PERSONAL_OID: &str = "00000000-0000-0000-1234-000000000003";
    pub const PERSONAL: &str = "carol@outlook.example";
}

/// A user of some tenant.
#[derive(Debug, Clone)]
pub struct SimUser {
    pub oid: String,
    pub tid: String,
    pub preferred_username: String,
    pub email: Option<String>,
    pub name: String,
}

/// An app registration.
#[derive(Clone)]
pub struct SimApp {
    pub client_id: String,
    pub secret: Option<String>,
    pub certificate: Option<RegisteredCertificate>,
    pub redirect_uris: Vec<String>,
    /// Public clients may redeem codes and refresh tokens without a credential.
    pub public_client: bool,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The body as form fields (token requests).
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// How a test-minted token is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// The current published key.
    Active,
    /// A key that is not published, under the active key's `kid` (a forgery).
    RogueWithActiveKid,
    /// The unpublished rogue key under a `kid` nobody publishes.
    UnknownKid(String),
    /// The next key of the rotation, before it is published.
    NextKey,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 with the given secret (an algorithm-confusion attempt).
    Hs256(String),
}

/// A refusal every token request gets, whatever it asks (see [`EntraSim::refuse_tokens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// AADSTS650052: the tenant has not subscribed to or enabled a service the app needs.
    ServiceNotSubscribed,
    /// AADSTS700016 (`unauthorized_client`): the app is not in the tenant's directory.
    AppNotInTenant,
}

/// Claims of a verified access token, for the Graph simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub tid: String,
    pub oid: String,
    pub app_id: String,
    /// Application permissions (client credentials).
    pub roles: Vec<String>,
    /// Delegated scopes.
    pub scopes: Vec<String>,
}

pub(crate) type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub(crate) struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub oid: String,
    pub scopes: Vec<String>,
}

pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub oid: String,
    pub scopes: Vec<String>,
}

pub(crate) struct State {
    pub base_url: String,
    pub now: Now,
    pub tenants: HashSet<String>,
    pub users: Vec<SimUser>,
    pub apps: Vec<SimApp>,
    pub consents: HashSet<(String, String)>,
    pub signed_in: Option<String>,
    pub codes: HashMap<String, CodeGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// Refresh tokens an admin or the user revoked (answered AADSTS50173).
    pub revoked_refresh_tokens: HashSet<String>,
    pub used_assertions: HashSet<String>,
    /// The application permissions admin consent granted, as app tokens carry them in `roles`.
    pub app_roles: Vec<String>,
    /// Every key, in rotation order; `published` of them are in the JWKS, `active` signs.
    pub key_ring: Vec<SigningKey>,
    pub published: Vec<usize>,
    pub active: usize,
    pub rogue: SigningKey,
    pub token_faults: VecDeque<u16>,
    pub token_refusal: Option<TokenRefusal>,
    pub log: Vec<RecordedRequest>,
}

impl State {
    pub fn now(&self) -> DateTime<Utc> {
        (self.now)()
    }

    pub fn issuer(&self, tid: &str) -> String {
        format!("{}/{}/v2.0", self.base_url, tid)
    }

    pub fn token_endpoint(&self, tenant: &str) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.base_url, tenant)
    }

    pub fn user(&self, oid: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.oid == oid)
    }

    pub fn app(&self, client_id: &str) -> Option<&SimApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn sign(&self, claims: &Value, signing: &Signing) -> String {
        let active = &self.key_ring[self.active];
        let (key, kid) = match signing {
            Signing::Active => (&active.encoding, active.kid.clone()),
            Signing::RogueWithActiveKid => (&self.rogue.encoding, active.kid.clone()),
            Signing::UnknownKid(kid) => (&self.rogue.encoding, kid.clone()),
            Signing::NextKey => {
                let next = &self.key_ring[(self.active + 1) % self.key_ring.len()];
                (&next.encoding, next.kid.clone())
            }
            Signing::AlgNone => {
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
                let body = URL_SAFE_NO_PAD.encode(claims.to_string());
                return format!("{header}.{body}.");
            }
            Signing::Hs256(secret) => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(active.kid.clone());
                let key =
                    jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).expect("HMAC key");
                return jsonwebtoken::encode(&header, claims, &key).expect("HS256 signs");
            }
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        jsonwebtoken::encode(&header, claims, key).expect("test key signs")
    }

    pub fn id_token_claims(&self, client_id: &str, oid: &str, nonce: Option<&str>) -> Value {
        let user = self.user(oid).expect("known user");
        let now = self.now().timestamp();
        let mut claims = json!({
            "ver": "2.0",
            "iss": self.issuer(&user.tid),
            "aud": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "sub": format!("sub-{}-{}", user.oid, client_id),
            "oid": user.oid,
            "tid": user.tid,
            "preferred_username": user.preferred_username,
            "name": user.name,
        });
        if let Some(email) = &user.email {
            claims["email"] = email.clone().into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        claims
    }

    pub fn random_handle(prefix: &str) -> String {
        let mut bytes = [0u8; 24];
        getrandom::getrandom(&mut bytes).expect("OS randomness");
        format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(bytes))
    }
}

/// The simulator. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct EntraSim {
    server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl EntraSim {
    /// Starts on a loopback port with wall-clock time and no tenants.
    pub async fn start() -> Self {
        Self::start_with_clock(Arc::new(Utc::now)).await
    }

    /// Starts with the given notion of "now" (share a test's `ManualClock` with it).
    pub async fn start_with_clock(now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        let server = MockServer::start().await;
        let key_ring = vec![
            SigningKey::from_pem("sim-key-1", keys::SIGNING_KEY_1_PEM),
            SigningKey::from_pem("sim-key-2", keys::SIGNING_KEY_2_PEM),
        ];
        let mut tenants = HashSet::new();
        tenants.insert(CONSUMERS_TENANT.to_owned());
        let state = Arc::new(Mutex::new(State {
            base_url: server.uri(),
            now,
            tenants,
            users: Vec::new(),
            apps: Vec::new(),
            consents: HashSet::new(),
            signed_in: None,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            revoked_refresh_tokens: HashSet::new(),
            used_assertions: HashSet::new(),
            app_roles: APP_ROLES.iter().map(|r| (*r).to_owned()).collect(),
            key_ring,
            published: vec![0],
            active: 0,
            rogue: SigningKey::from_pem("rogue", keys::ROGUE_KEY_PEM),
            token_faults: VecDeque::new(),
            token_refusal: None,
            log: Vec::new(),
        }));
        Mock::given(any())
            .respond_with(crate::cors::Cors(endpoints::Responder {
                state: state.clone(),
            }))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    /// Starts with the [`fixture`]: two tenants, Alice (first tenant), Bob (other tenant), a
    /// personal account, and one confidential app with a secret, the test certificate and the
    /// fixture redirect URI. No admin consent yet.
    pub async fn start_with_fixture(now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) -> Self {
        use fixture::*;
        let sim = Self::start_with_clock(now).await;
        sim.add_tenant(TENANT);
        sim.add_tenant(OTHER_TENANT);
        for (oid, tid, upn, name) in [
            (ALICE_OID, TENANT, ALICE, "Alice Adams"),
            (BOB_OID, OTHER_TENANT, BOB, "Bob Brown"),
            (PERSONAL_OID, CONSUMERS_TENANT, PERSONAL, "Carol Personal"),
        ] {
            sim.add_user(SimUser {
                oid: oid.into(),
                tid: tid.into(),
                preferred_username: upn.into(),
                email: Some(upn.into()),
                name: name.into(),
            });
        }
        sim.register_app(SimApp {
            client_id: CLIENT_ID.into(),
            secret: Some(CLIENT_SECRET.into()),
            certificate: Some(RegisteredCertificate::from_pem(keys::CLIENT_CERT_PEM)),
            redirect_uris: vec![REDIRECT_URI.into()],
            public_client: false,
        });
        sim
    }

    /// The login host base URL (what MsSync calls the authority).
    pub fn authority(&self) -> String {
        self.server.uri()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub fn add_tenant(&self, tid: &str) {
        self.with(|s| s.tenants.insert(tid.to_owned()));
    }

    pub fn add_user(&self, user: SimUser) {
        self.with(|s| s.users.push(user));
    }

    /// A tenant admin renames a user: a new user principal name (and e-mail) for the same
    /// account (object id).
    pub fn rename_user(&self, oid: &str, upn: &str) {
        self.with(|s| {
            if let Some(user) = s.users.iter_mut().find(|u| u.oid == oid) {
                user.preferred_username = upn.to_owned();
                user.email = Some(upn.to_owned());
            }
        });
    }

    /// Registers an app; registering a client id again replaces its registration.
    pub fn register_app(&self, app: SimApp) {
        self.with(|s| {
            s.apps.retain(|a| a.client_id != app.client_id);
            s.apps.push(app)
        });
    }

    /// Records admin consent as if an admin had completed the consent page.
    /// The application permissions app tokens carry from now on (what the admin consented to;
    /// [`APP_ROLES`] unless changed), e.g. with `Mail.ReadWrite` for the Mail job.
    pub fn set_app_roles(&self, roles: &[&str]) {
        self.with(|s| s.app_roles = roles.iter().map(|r| (*r).to_owned()).collect());
    }

    pub fn grant_admin_consent(&self, tenant: &str, client_id: &str) {
        self.with(|s| s.consents.insert((tenant.to_owned(), client_id.to_owned())));
    }

    pub fn has_admin_consent(&self, tenant: &str, client_id: &str) -> bool {
        self.with(|s| {
            s.consents
                .contains(&(tenant.to_owned(), client_id.to_owned()))
        })
    }

    /// The user the authorize endpoint signs in when the request has no `login_hint`.
    pub fn sign_in_as(&self, oid: &str) {
        self.with(|s| s.signed_in = Some(oid.to_owned()));
    }

    /// Every refresh token issued so far stops working (revocation, expiry, password reset).
    pub fn expire_refresh_tokens(&self) {
        self.with(|s| s.refresh_tokens.clear());
    }

    /// Revokes every refresh token issued so far, as an admin's "revoke sessions" or a password
    /// reset does: redeeming one answers `invalid_grant` AADSTS50173 (FreshTokenNeeded).
    pub fn revoke_refresh_tokens(&self) {
        self.with(|s| {
            let revoked: Vec<String> = s.refresh_tokens.drain().map(|(token, _)| token).collect();
            s.revoked_refresh_tokens.extend(revoked);
        });
    }

    /// The next token requests answer these statuses (500, 429 with `Retry-After: 1`, ...).
    pub fn fail_token_requests(&self, statuses: &[u16]) {
        self.with(|s| s.token_faults.extend(statuses));
    }

    /// While set, every token request of a known app is refused this way (the tenant lacks a
    /// service, or does not have the app); `None` answers normally again.
    pub fn refuse_tokens(&self, refusal: Option<TokenRefusal>) {
        self.with(|s| s.token_refusal = refusal);
    }

    /// Publishes the next key and signs with it from now on; the old key stays published.
    pub fn rotate_keys(&self) {
        self.with(|s| {
            s.active = (s.active + 1) % s.key_ring.len();
            if !s.published.contains(&s.active) {
                s.published.push(s.active);
            }
        });
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|s| s.log.clone())
    }

    pub fn clear_requests(&self) {
        self.with(|s| s.log.clear());
    }

    /// Requests whose path ends with `suffix` (e.g. `/oauth2/v2.0/token`, `/discovery/v2.0/keys`).
    pub fn requests_to(&self, suffix: &str) -> Vec<RecordedRequest> {
        self.with(|s| {
            s.log
                .iter()
                .filter(|r| r.path.ends_with(suffix))
                .cloned()
                .collect()
        })
    }

    /// The claims of a genuine id token for a user and app, for tests to alter and [`Self::sign`].
    pub fn id_token_claims(
        &self,
        client_id: &str,
        oid: &str,
        nonce: Option<&str>,
    ) -> Map<String, Value> {
        match self.with(|s| s.id_token_claims(client_id, oid, nonce)) {
            Value::Object(map) => map,
            _ => unreachable!("claims are an object"),
        }
    }

    pub fn sign(&self, claims: &Map<String, Value>, signing: Signing) -> String {
        self.with(|s| s.sign(&Value::Object(claims.clone()), &signing))
    }

    /// Checks Graph bearer tokens against this simulator's keys, audience and clock.
    pub fn verifier(&self) -> AccessTokenVerifier {
        AccessTokenVerifier {
            state: self.state.clone(),
        }
    }
}

/// Verifies access tokens issued by an [`EntraSim`]; for the Graph simulator's authorizer.
#[derive(Clone)]
pub struct AccessTokenVerifier {
    state: Arc<Mutex<State>>,
}

impl AccessTokenVerifier {
    /// `bearer` is the token (a leading `Bearer ` is accepted too).
    pub fn verify(&self, bearer: &str) -> Result<AccessClaims, String> {
        let token = bearer.strip_prefix("Bearer ").unwrap_or(bearer).trim();
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| "malformed token".to_owned())?;
        let kid = header.kid.ok_or("token without kid")?;
        let (key, now) = {
            let s = self.state.lock().unwrap();
            let key = s
                .published
                .iter()
                .map(|&i| &s.key_ring[i])
                .find(|k| k.kid == kid)
                .map(|k| k.decoding.clone())
                .ok_or("unknown signing key")?;
            (key, s.now())
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[GRAPH_AUDIENCE]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| format!("token refused: {:?}", e.kind()))?
            .claims;
        let exp = claims["exp"].as_i64().ok_or("token without exp")?;
        if now.timestamp() >= exp {
            return Err("token expired".into());
        }
        let strings = |v: &Value| -> Vec<String> {
            match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                Value::String(s) => s.split(' ').map(str::to_owned).collect(),
                _ => Vec::new(),
            }
        };
        Ok(AccessClaims {
            tid: claims["tid"].as_str().unwrap_or_default().to_owned(),
            oid: claims["oid"].as_str().unwrap_or_default().to_owned(),
            app_id: claims["azp"].as_str().unwrap_or_default().to_owned(),
            roles: strings(&claims["roles"]),
            scopes: strings(&claims["scp"]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn the_verifier_can_be_shared_with_the_graph_simulator() {
        assert_shareable::<AccessTokenVerifier>();
        assert_shareable::<EntraSim>();
    }

    #[tokio::test]
    async fn discovery_names_the_endpoints_and_the_keys_rotate() {
        let sim = EntraSim::start_with_fixture(Arc::new(Utc::now)).await;
        let base = sim.authority();
        let http = |path: String| {
            let url = format!("{base}{path}");
            async move {
                let response = wiremock_get(&url).await;
                serde_json::from_str::<Value>(&response).unwrap()
            }
        };
        let config = http(format!(
            "/{}/v2.0/.well-known/openid-configuration",
            fixture::TENANT
        ))
        .await;
        assert_eq!(config["issuer"], format!("{base}/{}/v2.0", fixture::TENANT));
        assert_eq!(
            config["jwks_uri"],
            format!("{base}/{}/discovery/v2.0/keys", fixture::TENANT)
        );
        let keys = http(format!("/{}/discovery/v2.0/keys", fixture::TENANT)).await;
        assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
        assert_eq!(keys["keys"][0]["kid"], "sim-key-1");
        assert_eq!(keys["keys"][0]["kty"], "RSA");
        sim.rotate_keys();
        let keys = http(format!("/{}/discovery/v2.0/keys", fixture::TENANT)).await;
        assert_eq!(keys["keys"].as_array().unwrap().len(), 2);
        assert_eq!(sim.requests_to("/discovery/v2.0/keys").len(), 2);
    }

    /// Entra's certificate-credentials page: PS256 with `x5t#S256`, verified against the
    /// registered certificate's public key; RS256 (its earlier form) and foreign keys refused.
    #[tokio::test]
    async fn client_assertions_must_be_ps256_signed_by_the_registered_certificate() {
        use fixture::*;
        let sim = EntraSim::start_with_fixture(Arc::new(Utc::now)).await;
        sim.grant_admin_consent(TENANT, CLIENT_ID);
        let cert = RegisteredCertificate::from_pem(keys::CLIENT_CERT_PEM);
        let token_endpoint = format!("{}/{TENANT}/oauth2/v2.0/token", sim.authority());
        let assertion = |alg: Algorithm, key_pem: &str, jti: &str| {
            let mut header = Header::new(alg);
            header.x5t_s256 = Some(cert.x5t_s256.clone());
            let now = Utc::now().timestamp();
            let claims = json!({
                "aud": token_endpoint, "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": jti,
                "nbf": now, "iat": now, "exp": now + 600,
            });
            let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        };
        let post = |assertion: String| {
            let url = token_endpoint.clone();
            async move {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("scope", "https://graph.microsoft.com/.default"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ];
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                let response = reqwest::Client::new()
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
                (status, body)
            }
        };
        let (status, body) =
            post(assertion(Algorithm::PS256, keys::CLIENT_CERT_KEY_PEM, "1")).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) =
            post(assertion(Algorithm::RS256, keys::CLIENT_CERT_KEY_PEM, "2")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        assert_eq!(body["error_codes"][0], 700027);
        // The right thumbprint, the wrong key: the signature does not verify.
        let (status, body) = post(assertion(Algorithm::PS256, keys::ROGUE_KEY_PEM, "3")).await;
        assert_eq!(
            (status, body["error_codes"][0].as_u64()),
            (401, Some(700027))
        );
    }

    async fn wiremock_get(url: &str) -> String {
        reqwest::get(url).await.unwrap().text().await.unwrap()
    }
}
