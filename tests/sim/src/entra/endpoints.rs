//! The HTTP face of the Entra ID simulator: one responder dispatching on path and method.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Value, json};
use sha2::Digest;
use wiremock::{Request, Respond, ResponseTemplate};

use mssync_core::wire::identity::{
    self as entra_wire, GRAPH_DEFAULT_SCOPE, aadsts, oauth_error, param,
};

use super::{
    CONSUMERS_TENANT, CodeGrant, GRAPH_AUDIENCE, RecordedRequest, RefreshGrant, Signing, State,
    TOKEN_LIFETIME_SECONDS, TokenRefusal,
};

const ASSERTION_TYPE: &str = entra_wire::CLIENT_ASSERTION_TYPE_JWT_BEARER;

pub(crate) struct Responder {
    pub state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let query: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        state.log.push(RecordedRequest {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: query.clone(),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: request.body.clone(),
        });
        let segments: Vec<&str> = request.url.path().trim_matches('/').split('/').collect();
        let query: HashMap<String, String> = query.into_iter().collect();
        let method = request.method.as_str();
        match (method, segments.as_slice()) {
            ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
                openid_configuration(&state, tenant)
            }
            ("GET", [tenant, "discovery", "v2.0", "keys"]) => jwks(&state, tenant),
            ("GET", [tenant, "oauth2", "v2.0", "authorize"]) => {
                authorize(&mut state, tenant, &query)
            }
            ("POST", [tenant, "oauth2", "v2.0", "token"]) => {
                let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                token(&mut state, tenant, &form)
            }
            ("GET", [tenant, "v2.0", "adminconsent"]) => admin_consent(&mut state, tenant, &query),
            _ => ResponseTemplate::new(404),
        }
    }
}

fn known_tenant(state: &State, tenant: &str) -> bool {
    matches!(tenant, "common" | "organizations" | "consumers") || state.tenants.contains(tenant)
}

fn error(status: u16, error: &str, aadsts: u64, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": error,
        "error_description": format!("AADSTS{aadsts}: {description}"),
        "error_codes": [aadsts],
    }))
}

fn openid_configuration(state: &State, tenant: &str) -> ResponseTemplate {
    if !known_tenant(state, tenant) {
        return error(400, "invalid_tenant", 90002, "Tenant not found.");
    }
    let base = &state.base_url;
    ResponseTemplate::new(200).set_body_json(json!({
        "issuer": format!("{base}/{tenant}/v2.0"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": state.token_endpoint(tenant),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }))
}

fn jwks(state: &State, tenant: &str) -> ResponseTemplate {
    if !known_tenant(state, tenant) {
        return error(400, "invalid_tenant", 90002, "Tenant not found.");
    }
    let keys: Vec<Value> = state
        .published
        .iter()
        .map(|&i| state.key_ring[i].jwk.clone())
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({ "keys": keys }))
}

fn redirect(to: &str, params: &[(&str, &str)]) -> ResponseTemplate {
    let mut url = url::Url::parse(to).expect("registered redirect URIs are URLs");
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in params {
            pairs.append_pair(k, v);
        }
    }
    ResponseTemplate::new(302).insert_header("Location", url.as_str())
}

/// Signs in the hinted (or the designated) user at once and redirects back with a code.
fn authorize(state: &mut State, tenant: &str, q: &HashMap<String, String>) -> ResponseTemplate {
    let get = |k: &str| q.get(k).map(String::as_str);
    let (app, redirect_uri) = match app_and_redirect(state, q) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let redirect_uri = redirect_uri.as_str();
    if !known_tenant(state, tenant) {
        return error(400, "invalid_tenant", 90002, "Tenant not found.");
    }
    let state_param = get("state").unwrap_or_default().to_owned();
    let fail = |code: &str, description: &str| {
        redirect(
            redirect_uri,
            &[
                ("error", code),
                ("error_description", description),
                ("state", &state_param),
            ],
        )
    };
    if get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "AADSTS700054: response_type must be code.",
        );
    }
    let (Some(challenge), Some("S256")) = (get("code_challenge"), get("code_challenge_method"))
    else {
        return fail(
            "invalid_request",
            "AADSTS9002325: PKCE with S256 is required.",
        );
    };
    let user = match get("login_hint") {
        Some(hint) => state
            .users
            .iter()
            .find(|u| u.preferred_username.eq_ignore_ascii_case(hint))
            .cloned(),
        None => state
            .signed_in
            .clone()
            .and_then(|oid| state.user(&oid).cloned()),
    };
    let Some(user) = user else {
        return fail(
            "access_denied",
            "AADSTS50034: The user account does not exist.",
        );
    };
    let allowed = match tenant {
        "common" => true,
        "organizations" => user.tid != CONSUMERS_TENANT,
        "consumers" => user.tid == CONSUMERS_TENANT,
        // A single-tenant app signs in its own users (guests are out of the simulator's scope).
        specific => user.tid == specific,
    };
    if !allowed {
        return fail(
            "access_denied",
            "AADSTS50020: The user is not in this tenant.",
        );
    }
    let code = State::random_handle("code");
    state.codes.insert(
        code.clone(),
        CodeGrant {
            client_id: app.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            nonce: get("nonce").map(str::to_owned),
            oid: user.oid.clone(),
            scopes: get("scope")
                .unwrap_or_default()
                .split(' ')
                .map(str::to_owned)
                .collect(),
        },
    );
    redirect(redirect_uri, &[("code", &code), ("state", &state_param)])
}

fn admin_consent(state: &mut State, tenant: &str, q: &HashMap<String, String>) -> ResponseTemplate {
    let get = |k: &str| q.get(k).map(String::as_str);
    let (app, redirect_uri) = match app_and_redirect(state, q) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let redirect_uri = redirect_uri.as_str();
    let state_param = get(param::STATE).unwrap_or_default().to_owned();
    // `scope` is Required on the v2.0 endpoint (E-ac); Entra ID answers a request without it
    // with AADSTS900144 ("The request body must contain the following parameter: 'scope'"),
    // sent back to the registered redirect URI in the documented error form.
    let Some(scope) = get(param::SCOPE).filter(|s| !s.trim().is_empty()) else {
        return redirect(
            redirect_uri,
            &[
                (param::ADMIN_CONSENT, "True"),
                (param::ERROR, oauth_error::INVALID_REQUEST),
                (
                    param::ERROR_DESCRIPTION,
                    &format!(
                        "AADSTS{}: The request body must contain the following parameter: 'scope'.",
                        aadsts::MISSING_PARAMETER
                    ),
                ),
                (param::STATE, &state_param),
            ],
        );
    };
    // `organizations`/`common` consent for the signed-in admin's tenant.
    let tid = if state.tenants.contains(tenant) && tenant != CONSUMERS_TENANT {
        tenant.to_owned()
    } else if let Some(admin) = state
        .signed_in
        .clone()
        .and_then(|oid| state.user(&oid).cloned())
    {
        admin.tid
    } else {
        return error(400, "invalid_tenant", 90002, "Tenant not found.");
    };
    // Application permissions are consented only through `/.default` (E-ac); dynamic scopes
    // consent delegated permissions, which the simulator does not track.
    if scope.split(' ').any(|s| s == GRAPH_DEFAULT_SCOPE) {
        state.consents.insert((tid.clone(), app.client_id.clone()));
    }
    redirect(
        redirect_uri,
        &[
            (param::ADMIN_CONSENT, "True"),
            (param::TENANT, &tid),
            (param::SCOPE, scope),
            (param::STATE, &state_param),
        ],
    )
}

fn token(state: &mut State, tenant: &str, form: &HashMap<String, String>) -> ResponseTemplate {
    if let Some(status) = state.token_faults.pop_front() {
        let mut response = ResponseTemplate::new(status).set_body_json(json!({
            "error": "temporarily_unavailable",
            "error_description": "AADSTS90100: simulated fault",
        }));
        if status == 429 || status == 503 {
            response = response.insert_header("Retry-After", "1");
        }
        return response;
    }
    if !known_tenant(state, tenant) {
        return error(400, "invalid_tenant", 90002, "Tenant not found.");
    }
    let get = |k: &str| form.get(k).map(String::as_str);
    let Some(app) = get("client_id").and_then(|id| state.app(id)).cloned() else {
        return error(
            400,
            "unauthorized_client",
            700016,
            "Application not found in the directory.",
        );
    };
    match state.token_refusal {
        Some(TokenRefusal::ServiceNotSubscribed) => {
            return error(
                400,
                oauth_error::INVALID_REQUEST,
                aadsts::SERVICE_NOT_SUBSCRIBED,
                "The app needs access to a service (\"Microsoft Exchange Online\") that your organization has not subscribed to or enabled.",
            );
        }
        Some(TokenRefusal::AppNotInTenant) => {
            return error(
                400,
                oauth_error::UNAUTHORIZED_CLIENT,
                aadsts::APP_NOT_IN_TENANT,
                "Application was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
            );
        }
        None => {}
    }
    // Client authentication: a secret, a certificate assertion, or nothing for public clients.
    let authenticated = if let Some(secret) = get("client_secret") {
        if app.secret.as_deref() != Some(secret) {
            return error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided.",
            );
        }
        true
    } else if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(ASSERTION_TYPE) {
            return error(
                400,
                "invalid_request",
                70002,
                "Unsupported client_assertion_type.",
            );
        }
        if let Err(why) = check_assertion(state, tenant, &app, assertion) {
            return error(401, "invalid_client", 700027, &why);
        }
        true
    } else {
        false
    };
    if !authenticated && !app.public_client {
        return error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain client_secret or client_assertion.",
        );
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let Some(grant) = get("code").and_then(|c| state.codes.remove(c)) else {
                return error(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed or is unknown.",
                );
            };
            if grant.client_id != app.client_id {
                return error(
                    400,
                    "invalid_grant",
                    70000,
                    "The code was issued to another client.",
                );
            }
            if get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
                return error(
                    400,
                    "invalid_grant",
                    50148,
                    "The redirect_uri does not match the one of the authorization request.",
                );
            }
            let verifier = get("code_verifier").unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
            if computed != grant.code_challenge {
                return error(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge.",
                );
            }
            issue_user_tokens(
                state,
                &app.client_id,
                &grant.oid,
                grant.scopes,
                grant.nonce.as_deref(),
            )
        }
        Some("refresh_token") => {
            if get("refresh_token").is_some_and(|t| state.revoked_refresh_tokens.contains(t)) {
                return error(
                    400,
                    oauth_error::INVALID_GRANT,
                    aadsts::FRESH_TOKEN_NEEDED,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
                );
            }
            // Rotation: the redeemed refresh token is dead from here on.
            let Some(grant) = get("refresh_token").and_then(|t| state.refresh_tokens.remove(t))
            else {
                return error(
                    400,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired or was already used.",
                );
            };
            if grant.client_id != app.client_id {
                return error(
                    400,
                    "invalid_grant",
                    700003,
                    "The refresh token was issued to another client.",
                );
            }
            let scopes = match get("scope") {
                Some(s) if !s.is_empty() => s.split(' ').map(str::to_owned).collect(),
                _ => grant.scopes,
            };
            issue_user_tokens(state, &app.client_id, &grant.oid, scopes, None)
        }
        Some("client_credentials") => {
            if !authenticated {
                return error(
                    401,
                    "invalid_client",
                    7000218,
                    "Client credentials need a secret or an assertion.",
                );
            }
            if !state.tenants.contains(tenant) || tenant == CONSUMERS_TENANT {
                return error(
                    400,
                    "invalid_request",
                    90009,
                    "Client credentials need a specific tenant.",
                );
            }
            let Some(resource) = get("scope").and_then(|s| s.strip_suffix("/.default")) else {
                return error(
                    400,
                    "invalid_scope",
                    1002012,
                    "The scope must be a resource's /.default.",
                );
            };
            if resource != GRAPH_AUDIENCE {
                return error(
                    400,
                    "invalid_resource",
                    500011,
                    "The resource principal was not found.",
                );
            }
            if !state
                .consents
                .contains(&(tenant.to_owned(), app.client_id.clone()))
            {
                return error(
                    400,
                    "invalid_grant",
                    65001,
                    "The user or administrator has not consented to use the application.",
                );
            }
            let now = state.now().timestamp();
            let claims = json!({
                "aud": GRAPH_AUDIENCE,
                "iss": format!("https://sts.windows.net/{tenant}/"),
                "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
                "tid": tenant,
                "oid": format!("sp-{}", app.client_id),
                "sub": format!("sp-{}", app.client_id),
                "azp": app.client_id,
                "appid": app.client_id,
                "idtyp": "app",
                "roles": state.app_roles,
            });
            let access_token = state.sign(&claims, &Signing::Active);
            ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": access_token,
            }))
        }
        _ => error(
            400,
            "unsupported_grant_type",
            70003,
            "The grant type is not supported.",
        ),
    }
}

fn issue_user_tokens(
    state: &mut State,
    client_id: &str,
    oid: &str,
    scopes: Vec<String>,
    nonce: Option<&str>,
) -> ResponseTemplate {
    let Some(user) = state.user(oid).cloned() else {
        return error(
            400,
            "invalid_grant",
            50034,
            "The user account does not exist.",
        );
    };
    let now = state.now().timestamp();
    // Graph scopes go into the access token; OpenID scopes only shape the response.
    let graph_scopes: Vec<String> = scopes
        .iter()
        .filter(|s| {
            !matches!(
                s.as_str(),
                "openid" | "profile" | "email" | "offline_access" | ""
            )
        })
        .map(|s| {
            s.trim_start_matches("https://graph.microsoft.com/")
                .to_owned()
        })
        .collect();
    let access = json!({
        "aud": GRAPH_AUDIENCE,
        "iss": format!("https://sts.windows.net/{}/", user.tid),
        "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_SECONDS,
        "tid": user.tid,
        "oid": user.oid,
        "sub": user.oid,
        "azp": client_id,
        "appid": client_id,
        "upn": user.preferred_username,
        "scp": graph_scopes.join(" "),
    });
    let mut body = json!({
        "token_type": "Bearer",
        "scope": graph_scopes.join(" "),
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": state.sign(&access, &Signing::Active),
    });
    if scopes.iter().any(|s| s == "offline_access") {
        let refresh = State::random_handle("refresh");
        state.refresh_tokens.insert(
            refresh.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                oid: oid.to_owned(),
                scopes: scopes.clone(),
            },
        );
        body["refresh_token"] = refresh.into();
    }
    if scopes.iter().any(|s| s == "openid") {
        let claims = state.id_token_claims(client_id, oid, nonce);
        body["id_token"] = state.sign(&claims, &Signing::Active).into();
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// A client assertion as Entra's certificate-credentials page describes it: `alg` PS256 (PSS
/// padding), `typ` JWT, signed by the registered certificate's key (found by `x5t#S256`; the
/// signature is verified with the certificate's public key), for this token endpoint, from and
/// about the client, unexpired, used once. RS256 (the page's earlier form, which Entra ID
/// accepted) is refused here, so a connector that falls back to it is caught.
fn check_assertion(
    state: &mut State,
    tenant: &str,
    app: &super::SimApp,
    assertion: &str,
) -> Result<(), String> {
    let cert = app
        .certificate
        .as_ref()
        .ok_or("No certificate is registered.")?;
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| "Malformed assertion.")?;
    if header.x5t_s256.as_deref() != Some(cert.x5t_s256.as_str()) {
        return Err("The assertion's certificate thumbprint is not registered.".into());
    }
    if header.alg != Algorithm::PS256 {
        return Err(format!(
            "The assertion's algorithm {:?} is not PS256.",
            header.alg
        ));
    }
    if header.typ.as_deref() != Some("JWT") {
        return Err("The assertion's typ is not JWT.".into());
    }
    let mut validation = Validation::new(Algorithm::PS256);
    validation.set_audience(&[state.token_endpoint(tenant)]);
    validation.set_issuer(&[app.client_id.as_str()]);
    validation.sub = Some(app.client_id.clone());
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(assertion, &cert.key, &validation)
        .map_err(|e| format!("The assertion was refused: {:?}.", e.kind()))?
        .claims;
    let now = state.now().timestamp();
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now) {
        return Err("The assertion has expired.".into());
    }
    let jti = claims["jti"].as_str().ok_or("The assertion has no jti.")?;
    if !state.used_assertions.insert(jti.to_owned()) {
        return Err("The assertion was already used.".into());
    }
    Ok(())
}

/// The registered app a browser request names, and its redirect URI if the app registered it;
/// Entra ID answers either failure with an error page, not a redirect. (The refusal is the
/// response itself, answered at once: its size does not matter.)
#[allow(clippy::result_large_err)]
fn app_and_redirect(
    state: &State,
    q: &HashMap<String, String>,
) -> Result<(super::SimApp, String), ResponseTemplate> {
    let get = |k: &str| q.get(k).map(String::as_str);
    let Some(app) = get("client_id").and_then(|id| state.app(id)).cloned() else {
        return Err(error(
            400,
            "unauthorized_client",
            700016,
            "Application not found in the directory.",
        ));
    };
    let Some(redirect_uri) =
        get("redirect_uri").filter(|r| app.redirect_uris.iter().any(|u| redirect_allowed(u, r)))
    else {
        return Err(error(
            400,
            "invalid_request",
            50011,
            "The redirect URI does not match.",
        ));
    };
    let redirect_uri = redirect_uri.to_owned();
    Ok((app, redirect_uri))
}

/// A registered redirect URI admits the requested one when they are equal, or, for loopback
/// addresses registered without a port, on any port with the same path, as Entra ID does for
/// native apps (RFC 8252, section 7.3).
fn redirect_allowed(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback = |u: &url::Url| u.scheme() == "http" && u.host_str() == Some("127.0.0.1");
    loopback(&reg) && loopback(&req) && reg.port().is_none() && reg.path() == req.path()
}
