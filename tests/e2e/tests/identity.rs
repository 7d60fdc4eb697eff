//! Identity against the Entra ID simulator, over real HTTP (reqwest on loopback): sign-in with
//! PKCE, id-token refusals (one error code each), key rotation, refresh rotation, client
//! credentials with a secret and a certificate, the sealed token cache, and the request shapes.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::ErrorCode;
use mssync_core::PublicError;
use mssync_core::host::{Clock, Host, HttpRequest, ManualClock, MemoryStore, Method, Store};
use mssync_core::identity::{
    AppTokenSource, ClientCertificate, ClientCredential, DelegatedTokenSource, EntraApp,
    EntraClient, IdentityError, Sealer, SignIn, SignInStore, TokenSource,
};
use mssync_sim::entra::{EntraSim, RecordedRequest, Signing, fixture, keys};
use serde_json::{Value, json};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const SIGN_IN_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "offline_access",
    "Calendars.ReadWrite",
];

struct Env {
    sim: EntraSim,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    host: Host,
}

async fn env() -> Env {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let sim_clock = clock.clone();
    let sim = EntraSim::start_with_fixture(Arc::new(move || sim_clock.now())).await;
    let store = Arc::new(MemoryStore::new());
    let host = Host {
        http: Arc::new(ReqwestHttp::new()),
        store: store.clone(),
        clock: clock.clone(),
    };
    Env {
        sim,
        clock,
        store,
        host,
    }
}

fn certificate() -> ClientCertificate {
    ClientCertificate::from_pem(
        keys::CLIENT_CERT_KEY_PEM.as_bytes(),
        keys::CLIENT_CERT_PEM.as_bytes(),
    )
    .expect("test certificate loads")
}

fn client(env: &Env, credential: ClientCredential) -> Arc<EntraClient> {
    let app = EntraApp::new(
        env.sim.authority(),
        fixture::TENANT,
        fixture::CLIENT_ID,
        credential,
    )
    .with_redirect_uri(fixture::REDIRECT_URI);
    Arc::new(EntraClient::new(app, &env.host).unwrap())
}

fn secret() -> ClientCredential {
    ClientCredential::Secret(fixture::CLIENT_SECRET.into())
}

fn code(error: IdentityError) -> ErrorCode {
    PublicError::from(error).code
}

/// Follows an authorization or admin-consent URL like a browser would, returning the redirect's
/// query parameters.
async fn follow(env: &Env, url: &str) -> Vec<(String, String)> {
    let response = env
        .host
        .http
        .send(HttpRequest::new(Method::Get, url))
        .await
        .unwrap();
    assert_eq!(
        response.status,
        302,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let location = url::Url::parse(response.header("location").unwrap()).unwrap();
    assert!(location.as_str().starts_with(fixture::REDIRECT_URI));
    location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

async fn sign_in(
    env: &Env,
    client: &EntraClient,
    login_hint: &str,
) -> Result<SignIn, IdentityError> {
    let request = client.authorization_request(SIGN_IN_SCOPES, Some(login_hint))?;
    let back = follow(env, &request.url).await;
    client
        .complete_sign_in(
            &request.pending,
            param(&back, "state"),
            param(&back, "code"),
        )
        .await
}

#[tokio::test]
async fn auth_code_with_pkce_signs_the_user_in() {
    let env = env().await;
    let client = client(&env, secret());
    let request = client
        .authorization_request(SIGN_IN_SCOPES, Some(fixture::ALICE))
        .unwrap();
    // The pending sign-in survives in the store (sealed) until the redirect comes back, once.
    let pending_store =
        SignInStore::new(env.store.clone(), Sealer::new([3; 32]), env.clock.clone());
    pending_store
        .put(&request.pending, "browser")
        .await
        .unwrap();
    let back = follow(&env, &request.url).await;
    let pending = pending_store.take(param(&back, "state")).await.unwrap();
    assert_eq!(
        pending_store
            .take(param(&back, "state"))
            .await
            .unwrap_err()
            .code,
        ErrorCode::SignInStateUnknown
    );

    // A sign-in started and never finished is refused after 15 minutes and purged.
    let abandoned = client.authorization_request(SIGN_IN_SCOPES, None).unwrap();
    pending_store
        .put(&abandoned.pending, "browser")
        .await
        .unwrap();
    let stale = client.authorization_request(SIGN_IN_SCOPES, None).unwrap();
    pending_store.put(&stale.pending, "browser").await.unwrap();
    env.clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(
        pending_store
            .take(&stale.pending.state)
            .await
            .unwrap_err()
            .code,
        ErrorCode::SignInStateUnknown
    );
    assert_eq!(pending_store.purge_abandoned().await.unwrap(), 1);
    assert!(
        env.store
            .scan("identity/pending-sign-in/")
            .await
            .unwrap()
            .is_empty()
    );

    let signed_in = client
        .complete_sign_in(&pending, param(&back, "state"), param(&back, "code"))
        .await
        .unwrap();
    assert_eq!(signed_in.claims.oid, fixture::ALICE_OID);
    assert_eq!(signed_in.claims.tid, fixture::TENANT);
    assert_eq!(
        signed_in.claims.preferred_username.as_deref(),
        Some(fixture::ALICE)
    );
    assert_eq!(signed_in.claims.email.as_deref(), Some(fixture::ALICE));
    assert_eq!(signed_in.claims.name.as_deref(), Some("Alice Adams"));
    assert!(signed_in.tokens.refresh_token.is_some());
    let access = env
        .sim
        .verifier()
        .verify(&signed_in.tokens.access_token)
        .unwrap();
    assert_eq!(access.oid, fixture::ALICE_OID);
    assert_eq!(access.scopes, vec!["Calendars.ReadWrite".to_owned()]);

    // The code is single-use.
    let again = client
        .exchange_code(&pending, param(&back, "code"))
        .await
        .unwrap_err();
    assert_eq!(code(again), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn sign_in_refuses_a_wrong_state_a_wrong_verifier_and_personal_accounts() {
    let env = env().await;
    let client = client(&env, secret());

    let request = client
        .authorization_request(SIGN_IN_SCOPES, Some(fixture::ALICE))
        .unwrap();
    let back = follow(&env, &request.url).await;
    let err = client
        .complete_sign_in(&request.pending, "forged-state", param(&back, "code"))
        .await;
    assert_eq!(code(err.unwrap_err()), ErrorCode::SignInStateUnknown);

    let mut tampered = request.pending.clone();
    tampered.pkce_verifier = "a".repeat(43);
    let err = client
        .complete_sign_in(&tampered, param(&back, "state"), param(&back, "code"))
        .await;
    assert_eq!(code(err.unwrap_err()), ErrorCode::InvalidGrant);

    // A multi-tenant app: the personal account gets through Entra but not through MsSync.
    let app = EntraApp::new(env.sim.authority(), "common", fixture::CLIENT_ID, secret())
        .with_redirect_uri(fixture::REDIRECT_URI);
    let common = EntraClient::new(app, &env.host).unwrap();
    let err = sign_in(&env, &common, fixture::PERSONAL).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::PersonalAccount);
    // A multi-tenant app signs Bob in with his own tenant.
    let bob = sign_in(&env, &common, fixture::BOB).await.unwrap();
    assert_eq!(bob.claims.tid, fixture::OTHER_TENANT);
}

#[tokio::test]
async fn forged_or_unfit_id_tokens_are_refused_each_with_its_own_code() {
    let env = env().await;
    let client = client(&env, secret());
    let verifier = client.verifier();
    let nonce = "nonce-of-this-sign-in";
    let genuine = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::ALICE_OID, Some(nonce));
    let now = env.clock.now().timestamp();
    let authority = env.sim.authority();

    let ok = env.sim.sign(&genuine, Signing::Active);
    assert_eq!(
        verifier.verify(&ok, Some(nonce)).await.unwrap().oid,
        fixture::ALICE_OID
    );

    let altered = |changes: Value| {
        let mut claims = genuine.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.remove(k);
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
        claims
    };
    let bob = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::BOB_OID, Some(nonce));
    let personal = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::PERSONAL_OID, Some(nonce));
    let cases: Vec<(&str, String, ErrorCode)> = vec![
        ("wrong key", env.sim.sign(&genuine, Signing::RogueWithActiveKid), ErrorCode::TokenBadSignature),
        ("alg none", env.sim.sign(&genuine, Signing::AlgNone), ErrorCode::TokenAlgorithmNotAllowed),
        ("HS256", env.sim.sign(&genuine, Signing::Hs256("guess".into())), ErrorCode::TokenAlgorithmNotAllowed),
        ("wrong aud", env.sim.sign(&altered(json!({"aud": "another-app"})), Signing::Active), ErrorCode::TokenWrongAudience),
        (
            "iss of another tenant",
            env.sim.sign(&altered(json!({"iss": format!("{authority}/{}/v2.0", fixture::OTHER_TENANT)})), Signing::Active),
            ErrorCode::TokenWrongIssuer,
        ),
        (
            "iss of another authority",
            env.sim.sign(&altered(json!({"iss": format!("https://login.example.invalid/{}/v2.0", fixture::TENANT)})), Signing::Active),
            ErrorCode::TokenWrongIssuer,
        ),
        ("another tenant", env.sim.sign(&bob, Signing::Active), ErrorCode::WrongTenant),
        ("expired", env.sim.sign(&altered(json!({"exp": now - 6 * 60})), Signing::Active), ErrorCode::TokenExpired),
        ("not yet valid", env.sim.sign(&altered(json!({"nbf": now + 6 * 60})), Signing::Active), ErrorCode::TokenNotYetValid),
        ("wrong nonce", env.sim.sign(&altered(json!({"nonce": "replayed"})), Signing::Active), ErrorCode::TokenWrongNonce),
        ("no nonce", env.sim.sign(&altered(json!({"nonce": null})), Signing::Active), ErrorCode::TokenWrongNonce),
        ("personal account", env.sim.sign(&personal, Signing::Active), ErrorCode::PersonalAccount),
        ("not a JWT", "not.a-jwt".to_owned(), ErrorCode::TokenMalformed),
    ];
    for (name, token, expected) in cases {
        let err = PublicError::from(verifier.verify(&token, Some(nonce)).await.unwrap_err());
        assert_eq!(err.code, expected, "{name}");
        assert!(
            !err.to_string().contains(&token),
            "{name}: the error must not echo the token"
        );
    }

    // Within the 5-minute skew both ways is fine.
    let skewed = altered(json!({"exp": now - 4 * 60, "nbf": now + 4 * 60}));
    verifier
        .verify(&env.sim.sign(&skewed, Signing::Active), Some(nonce))
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_once_and_rotation_works() {
    let env = env().await;
    let client = client(&env, secret());
    let verifier = client.verifier();
    let claims = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::ALICE_OID, None);
    let jwks_fetches = || env.sim.requests_to("/discovery/v2.0/keys").len();

    verifier
        .verify(&env.sim.sign(&claims, Signing::Active), None)
        .await
        .unwrap();
    verifier
        .verify(&env.sim.sign(&claims, Signing::Active), None)
        .await
        .unwrap();
    assert_eq!(jwks_fetches(), 1, "keys are cached");

    // A kid nobody publishes: one refetch, then refused; no second refetch right after.
    env.clock.advance(Duration::from_secs(6 * 60));
    let claims = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::ALICE_OID, None);
    let forged = env.sim.sign(&claims, Signing::UnknownKid("nobody".into()));
    assert_eq!(
        code(verifier.verify(&forged, None).await.unwrap_err()),
        ErrorCode::TokenUnknownKey
    );
    assert_eq!(jwks_fetches(), 2);
    let early = env.sim.sign(&claims, Signing::NextKey);
    assert_eq!(
        code(verifier.verify(&early, None).await.unwrap_err()),
        ErrorCode::TokenUnknownKey
    );
    assert_eq!(jwks_fetches(), 2, "at most one refetch per 5 minutes");

    // Entra rotates; a token signed with the new key triggers exactly one refetch and passes.
    env.sim.rotate_keys();
    env.clock.advance(Duration::from_secs(6 * 60));
    let claims = env
        .sim
        .id_token_claims(fixture::CLIENT_ID, fixture::ALICE_OID, None);
    let rotated = env.sim.sign(&claims, Signing::Active);
    verifier.verify(&rotated, None).await.unwrap();
    assert_eq!(jwks_fetches(), 3);
    verifier.verify(&rotated, None).await.unwrap();
    assert_eq!(jwks_fetches(), 3);
}

#[tokio::test]
async fn refresh_tokens_rotate_and_the_old_one_is_refused() {
    let env = env().await;
    let client = client(&env, secret());
    let signed_in = sign_in(&env, &client, fixture::ALICE).await.unwrap();
    let scopes: Vec<String> = SIGN_IN_SCOPES.iter().map(|s| s.to_string()).collect();
    let first = signed_in.tokens.refresh_token.unwrap();

    let next = client.refresh(&first, &scopes).await.unwrap();
    let second = next.refresh_token.clone().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        code(client.refresh(&first, &scopes).await.unwrap_err()),
        ErrorCode::InvalidGrant
    );
    let third = client
        .refresh(&second, &scopes)
        .await
        .unwrap()
        .refresh_token
        .unwrap();

    env.sim.expire_refresh_tokens();
    assert_eq!(
        code(client.refresh(&third, &scopes).await.unwrap_err()),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn client_credentials_need_admin_consent_then_work_with_a_secret_and_a_certificate() {
    let env = env().await;
    for credential in [secret(), ClientCredential::Certificate(certificate())] {
        let client = client(&env, credential);
        let err = client.client_credentials(GRAPH_DEFAULT).await.unwrap_err();
        assert_eq!(code(err), ErrorCode::Forbidden);
    }

    // The admin follows the consent URL; Entra records consent and redirects back.
    let admin = client(&env, secret());
    let back = follow(&env, &admin.admin_consent_url("consent-state").unwrap()).await;
    assert_eq!(param(&back, "admin_consent"), "True");
    assert_eq!(param(&back, "tenant"), fixture::TENANT);
    assert_eq!(param(&back, "state"), "consent-state");

    for credential in [secret(), ClientCredential::Certificate(certificate())] {
        let client = client(&env, credential);
        let tokens = client.client_credentials(GRAPH_DEFAULT).await.unwrap();
        let access = env.sim.verifier().verify(&tokens.access_token).unwrap();
        assert_eq!(access.tid, fixture::TENANT);
        assert_eq!(access.app_id, fixture::CLIENT_ID);
        assert!(access.roles.contains(&"Calendars.ReadWrite".to_owned()));
        assert_eq!(
            tokens.expires_at,
            env.clock.now() + chrono::Duration::hours(1)
        );
    }

    // A wrong secret is the app's problem, not the user's.
    let wrong = client(&env, ClientCredential::Secret("wrong".into()));
    assert_eq!(
        code(wrong.client_credentials(GRAPH_DEFAULT).await.unwrap_err()),
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn the_v2_admin_consent_url_without_scope_is_refused() {
    let env = env().await;
    let admin = client(&env, secret());
    let url = admin.admin_consent_url("consent-state").unwrap();
    let parsed = url::Url::parse(&url).unwrap();
    let scope: Vec<String> = parsed
        .query_pairs()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(
        scope,
        [GRAPH_DEFAULT],
        "scope is Required on the v2.0 endpoint"
    );

    // The URL MsSync used to build (no `scope`) is refused with AADSTS900144 and records nothing.
    let mut old = parsed.clone();
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "scope")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    old.query_pairs_mut().clear().extend_pairs(kept);
    let back = follow(&env, old.as_str()).await;
    assert_eq!(param(&back, "error"), "invalid_request");
    assert!(
        param(&back, "error_description").starts_with("AADSTS900144:"),
        "{back:?}"
    );
    assert_eq!(param(&back, "state"), "consent-state");
    assert_eq!(param(&back, "tenant"), "");
    assert!(
        !env.sim
            .has_admin_consent(fixture::TENANT, fixture::CLIENT_ID)
    );

    let back = follow(&env, &url).await;
    assert_eq!(param(&back, "admin_consent"), "True");
    assert_eq!(param(&back, "scope"), GRAPH_DEFAULT);
    assert_eq!(param(&back, "error"), "");
    assert!(
        env.sim
            .has_admin_consent(fixture::TENANT, fixture::CLIENT_ID)
    );
}

#[tokio::test]
async fn a_tenant_without_the_service_or_without_the_app_gets_its_own_code() {
    use mssync_sim::entra::TokenRefusal;
    let env = env().await;
    env.sim
        .grant_admin_consent(fixture::TENANT, fixture::CLIENT_ID);
    let client = client(&env, secret());

    env.sim
        .refuse_tokens(Some(TokenRefusal::ServiceNotSubscribed));
    let err = client.client_credentials(GRAPH_DEFAULT).await.unwrap_err();
    assert_eq!(err, IdentityError::ServiceNotSubscribed);
    let public = PublicError::from(err);
    assert_eq!(public.code, ErrorCode::ServiceNotSubscribed);
    assert_eq!(public.code.number(), 319);
    assert!(public.reason.contains("administrator"), "{}", public.reason);

    env.sim.refuse_tokens(Some(TokenRefusal::AppNotInTenant));
    let err = client.client_credentials(GRAPH_DEFAULT).await.unwrap_err();
    assert_eq!(err, IdentityError::AppNotInTenant, "not bad credentials");
    let public = PublicError::from(err);
    assert_eq!(public.code, ErrorCode::AppNotInTenant);
    assert_eq!(public.code.number(), 320);
    assert!(public.reason.contains("consent URL"), "{}", public.reason);

    // Through the token source a host uses, the same codes.
    let source = AppTokenSource::new(
        client.clone(),
        env.store.clone(),
        Sealer::new([7; 32]),
        env.clock.clone(),
        GRAPH_DEFAULT,
    );
    assert_eq!(
        mssync_core::PublicError::from(source.token().await.unwrap_err()).code,
        ErrorCode::AppNotInTenant
    );
    env.sim.refuse_tokens(None);
    source.token().await.unwrap();
}

#[tokio::test]
async fn app_tokens_are_reused_until_shortly_before_expiry() {
    let env = env().await;
    env.sim
        .grant_admin_consent(fixture::TENANT, fixture::CLIENT_ID);
    let source = AppTokenSource::new(
        client(&env, ClientCredential::Certificate(certificate())),
        env.store.clone(),
        Sealer::new([9; 32]),
        env.clock.clone(),
        GRAPH_DEFAULT,
    );
    let token_requests = || env.sim.requests_to("/oauth2/v2.0/token").len();

    let first = source.token().await.unwrap();
    assert_eq!(source.token().await.unwrap(), first);
    assert_eq!(token_requests(), 1);

    env.clock.advance(Duration::from_secs(54 * 60)); // 6 minutes left: still reused
    assert_eq!(source.token().await.unwrap(), first);
    assert_eq!(token_requests(), 1);

    env.clock.advance(Duration::from_secs(2 * 60)); // 4 minutes left: renewed
    let second = source.token().await.unwrap();
    assert_ne!(second, first);
    assert_eq!(token_requests(), 2);

    // A 401 on the token makes the next call fetch a new one.
    source.invalidate(&second).await;
    env.clock.advance(Duration::from_secs(1));
    assert_ne!(source.token().await.unwrap(), second);
    assert_eq!(token_requests(), 3);

    for (key, value) in env.store.scan("").await.unwrap() {
        for token in [&first, &second] {
            assert!(
                !value
                    .value
                    .windows(token.len())
                    .any(|w| w == token.as_bytes()),
                "{key} holds a token in the clear"
            );
        }
    }
}

#[tokio::test]
async fn delegated_tokens_are_cached_refreshed_with_rotation_and_sealed() {
    let env = env().await;
    let client = client(&env, secret());
    let signed_in = sign_in(&env, &client, fixture::ALICE).await.unwrap();
    let scopes: Vec<String> = SIGN_IN_SCOPES.iter().map(|s| s.to_string()).collect();
    let source = DelegatedTokenSource::new(
        client.clone(),
        env.store.clone(),
        Sealer::new([5; 32]),
        env.clock.clone(),
        "erp-user-42",
        scopes,
    );
    source.save(&signed_in.tokens).await.unwrap();
    let token_requests = || env.sim.requests_to("/oauth2/v2.0/token").len();
    let after_sign_in = token_requests();

    assert_eq!(source.token().await.unwrap(), signed_in.tokens.access_token);
    assert_eq!(token_requests(), after_sign_in);

    env.clock.advance(Duration::from_secs(56 * 60));
    let renewed = source.token().await.unwrap();
    assert_ne!(renewed, signed_in.tokens.access_token);
    assert_eq!(token_requests(), after_sign_in + 1);
    // The first refresh token was rotated away: redeeming it again fails.
    let old = signed_in.tokens.refresh_token.as_deref().unwrap();
    assert_eq!(
        code(client.refresh(old, &[]).await.unwrap_err()),
        ErrorCode::InvalidGrant
    );

    // Nothing readable at rest.
    let stored = env.store.scan("").await.unwrap();
    assert!(!stored.is_empty());
    for secret in [
        signed_in.tokens.access_token.as_str(),
        old,
        renewed.as_str(),
    ] {
        for (key, value) in &stored {
            assert!(
                !value
                    .value
                    .windows(secret.len())
                    .any(|w| w == secret.as_bytes()),
                "{key} holds a token in the clear"
            );
        }
    }
    for (key, value) in &stored {
        assert!(
            !value.value.windows(3).any(|w| w == b"eyJ"),
            "{key} holds a JWT in the clear"
        );
    }

    // The wrong host key opens nothing, and says so with a stable code.
    let wrong_key = DelegatedTokenSource::new(
        client.clone(),
        env.store.clone(),
        Sealer::new([6; 32]),
        env.clock.clone(),
        "erp-user-42",
        Vec::new(),
    );
    assert_eq!(
        mssync_core::PublicError::from(wrong_key.token().await.unwrap_err()).code,
        ErrorCode::SealFailure
    );

    // Expired refresh tokens mean "sign in again".
    env.sim.expire_refresh_tokens();
    env.clock.advance(Duration::from_secs(60 * 60));
    assert_eq!(
        mssync_core::PublicError::from(source.token().await.unwrap_err()).code,
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn token_endpoint_faults_are_retried_or_reported() {
    let env = env().await;
    env.sim
        .grant_admin_consent(fixture::TENANT, fixture::CLIENT_ID);
    let client = client(&env, secret());

    env.sim.fail_token_requests(&[429]);
    client.client_credentials(GRAPH_DEFAULT).await.unwrap();
    assert_eq!(
        env.clock.sleeps(),
        vec![Duration::from_secs(1)],
        "Retry-After honoured"
    );

    env.sim.fail_token_requests(&[500]);
    let err = client.client_credentials(GRAPH_DEFAULT).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::RemoteUnavailable);
    client.client_credentials(GRAPH_DEFAULT).await.unwrap();
}

/// What a request looked like, without anything secret, random or port-specific.
fn shape(
    method: &str,
    path: &str,
    query: Vec<(String, String)>,
    headers: &[(String, String)],
    form: Vec<(String, String)>,
    authority: &str,
) -> Value {
    const SECRET: &[&str] = &[
        "code",
        "code_verifier",
        "client_secret",
        "refresh_token",
        "state",
        "nonce",
        "code_challenge",
    ];
    let redact = |pairs: Vec<(String, String)>| -> Vec<Value> {
        pairs
            .into_iter()
            .map(|(k, v)| {
                let v = if SECRET.contains(&k.as_str()) {
                    "[redacted]".to_owned()
                } else if k == "client_assertion" {
                    assertion_shape(&v, authority)
                } else {
                    v.replace(authority, "{authority}")
                };
                json!([k, v])
            })
            .collect()
    };
    let mut headers: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| matches!(n.as_str(), "content-type" | "accept" | "authorization"))
        .cloned()
        .collect();
    headers.sort();
    json!({
        "method": method,
        "path": path,
        "query": redact(query),
        "headers": headers,
        "form": redact(form),
    })
}

fn request_shape(request: &RecordedRequest, authority: &str) -> Value {
    shape(
        &request.method,
        &request.path,
        request.query.clone(),
        &request.headers,
        request.form(),
        authority,
    )
}

/// An assertion's header and claims, with the random `jti` and the port redacted.
fn assertion_shape(assertion: &str, authority: &str) -> String {
    let mut parts = assertion.split('.');
    let mut decode = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    let header = decode();
    let mut claims = decode();
    claims["jti"] = "[redacted]".into();
    format!(
        "[signed JWT] header={header} claims={}",
        claims.to_string().replace(authority, "{authority}")
    )
}

#[tokio::test]
async fn request_shapes() {
    let env = env().await;
    let authority = env.sim.authority();
    let secret_client = client(&env, secret());
    let cert_client = client(&env, ClientCredential::Certificate(certificate()));

    let request = secret_client
        .authorization_request(SIGN_IN_SCOPES, Some(fixture::ALICE))
        .unwrap();
    let url = url::Url::parse(&request.url).unwrap();
    let auth_query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let consent = secret_client.admin_consent_url("consent-state").unwrap();
    insta::assert_json_snapshot!(
        "urls",
        json!({
            "authorize": shape("GET", url.path(), auth_query, &[], Vec::new(), &authority),
            "admin_consent": consent.replace(&authority, "{authority}"),
        })
    );

    let back = follow(&env, &request.url).await;
    env.sim.clear_requests();
    let signed_in = secret_client
        .complete_sign_in(
            &request.pending,
            param(&back, "state"),
            param(&back, "code"),
        )
        .await
        .unwrap();
    secret_client
        .refresh(
            signed_in.tokens.refresh_token.as_deref().unwrap(),
            &["offline_access".into()],
        )
        .await
        .unwrap();
    env.sim
        .grant_admin_consent(fixture::TENANT, fixture::CLIENT_ID);
    secret_client
        .client_credentials(GRAPH_DEFAULT)
        .await
        .unwrap();
    cert_client.client_credentials(GRAPH_DEFAULT).await.unwrap();

    let shapes: Vec<Value> = env
        .sim
        .requests()
        .iter()
        .map(|r| request_shape(r, &authority))
        .collect();
    insta::assert_json_snapshot!("requests", shapes);
}

/// A certificate file that holds the key and the certificate together (as the command line's
/// `certificate_pem_file` does) reads the same as the two files apart.
#[test]
fn a_combined_key_and_certificate_pem_is_read_like_two_files() {
    use mssync_core::identity::ClientCertificate;
    use mssync_sim::entra::keys::{CLIENT_CERT_KEY_PEM, CLIENT_CERT_PEM};
    let apart =
        ClientCertificate::from_pem(CLIENT_CERT_KEY_PEM.as_bytes(), CLIENT_CERT_PEM.as_bytes())
            .unwrap();
    let combined = format!("{CLIENT_CERT_KEY_PEM}\n{CLIENT_CERT_PEM}");
    let together = ClientCertificate::from_pem(combined.as_bytes(), combined.as_bytes()).unwrap();
    assert_eq!(together.x5t_s256, apart.x5t_s256);
    assert_eq!(together.x5t, apart.x5t);
    assert!(
        ClientCertificate::from_pem(
            CLIENT_CERT_KEY_PEM.as_bytes(),
            CLIENT_CERT_KEY_PEM.as_bytes()
        )
        .is_err()
    );
}
