//! Every Entra ID (identity platform v2.0) name MsSync sends or reads, in one place, each with
//! the page that documents it. `docs/wire/graph.md` ("Entra ID") lists them with their sources;
//! the Entra ID simulator (`tests/sim/src/entra`) answers from the same constants.
//!
//! Sources (MicrosoftDocs/entra-docs, `docs/identity-platform/`): E-code
//! `v2-oauth2-auth-code-flow.md`, E-cc `v2-oauth2-client-creds-grant-flow.md`, E-cert
//! `certificate-credentials.md` (current Learn page), E-ac `v2-admin-consent.md`, E-idt
//! `id-token-claims-reference.md`, E-oidc `v2-protocols-oidc.md`, E-err `reference-error-codes.md`.

/// Authorization endpoint below `{authority}/{tenant}/` (E-code).
pub const AUTHORIZE_PATH: &str = "oauth2/v2.0/authorize";
/// Token endpoint below `{authority}/{tenant}/` (E-code, E-cc).
pub const TOKEN_PATH: &str = "oauth2/v2.0/token";
/// Signing keys (`jwks_uri`) below `{authority}/{tenant}/` (E-oidc).
pub const JWKS_PATH: &str = "discovery/v2.0/keys";
/// The v2.0 admin-consent endpoint below `{authority}/{tenant}/` (E-ac); needs [`param::SCOPE`].
pub const ADMIN_CONSENT_PATH: &str = "v2.0/adminconsent";
/// The id-token issuer is `{authority}/{tid}/v2.0` (E-idt `iss`).
pub const ISSUER_SUFFIX: &str = "v2.0";
/// Tenant aliases of the v2.0 endpoints (E-code `tenant`).
pub const TENANT_ALIASES: &[&str] = &["common", "organizations", "consumers"];

/// Microsoft Graph's static scope: every application permission the app registration lists
/// (E-cc "`/.default`"; E-ac "to request app permissions, you must use the `/.default` value").
pub const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Query and form parameter names.
pub mod param {
    /// E-code, E-cc, E-ac.
    pub const CLIENT_ID: &str = "client_id";
    /// E-code, E-ac (must match a registered redirect URI).
    pub const REDIRECT_URI: &str = "redirect_uri";
    /// E-code, E-ac (Recommended), echoed on the redirect back.
    pub const STATE: &str = "state";
    /// E-code; E-ac (Required on the v2.0 admin-consent endpoint); E-cc.
    pub const SCOPE: &str = "scope";
    /// E-oidc, echoed as the id token's `nonce` claim (E-idt).
    pub const NONCE: &str = "nonce";
    /// E-code: `query`.
    pub const RESPONSE_MODE: &str = "response_mode";
    /// E-code.
    pub const LOGIN_HINT: &str = "login_hint";
    /// E-cc, E-cert.
    pub const CLIENT_ASSERTION_TYPE: &str = "client_assertion_type";
    /// E-cc, E-cert.
    pub const CLIENT_ASSERTION: &str = "client_assertion";
    /// E-ac redirect back: `True` when consent was given.
    pub const ADMIN_CONSENT: &str = "admin_consent";
    /// E-ac redirect back: the consenting tenant.
    pub const TENANT: &str = "tenant";
    /// E-code, E-ac error redirect and token error body.
    pub const ERROR: &str = "error";
    /// E-code, E-ac error redirect and token error body.
    pub const ERROR_DESCRIPTION: &str = "error_description";
    /// Token error body: the AADSTS numbers (E-err "Handling error codes").
    pub const ERROR_CODES: &str = "error_codes";
}

/// `response_mode` value (E-code).
pub const RESPONSE_MODE_QUERY: &str = "query";

/// `client_assertion_type` for a signed JWT (E-cc, E-cert).
pub const CLIENT_ASSERTION_TYPE_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Client assertion header and claims (E-cert, current page: `alg` PS256, `typ` JWT,
/// `x5t#S256`; claims `aud` = token endpoint, `iss` = `sub` = client id, `jti`, `nbf`, `iat`,
/// `exp`).
pub mod assertion {
    /// The header that names the certificate: base64url SHA-256 of its DER.
    pub const X5T_S256: &str = "x5t#S256";
    /// Lifetime MsSync gives an assertion ("5-10 minutes after nbf at most").
    pub const LIFETIME_SECONDS: i64 = 600;
}

/// OAuth error strings of the token endpoint (E-code token error table).
pub mod oauth_error {
    pub const INVALID_GRANT: &str = "invalid_grant";
    pub const INVALID_CLIENT: &str = "invalid_client";
    pub const UNAUTHORIZED_CLIENT: &str = "unauthorized_client";
    pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const ACCESS_DENIED: &str = "access_denied";
    pub const CONSENT_REQUIRED: &str = "consent_required";
}

/// AADSTS numbers MsSync tells apart (E-err table).
pub mod aadsts {
    /// DelegationDoesNotExist: the user or administrator has not consented to the app.
    pub const CONSENT_MISSING: u64 = 65001;
    /// The app needs access to a service the organization has not subscribed to or enabled.
    pub const SERVICE_NOT_SUBSCRIBED: u64 = 650052;
    /// UnauthorizedClient_DoesNotMatchRequest: the app was not found in the directory/tenant (not
    /// installed by an administrator or consented to by any user; or a wrong id or tenant).
    pub const APP_NOT_IN_TENANT: u64 = 700016;
    /// UserUnauthorized: the account is not in the tenant (sign-in of another tenant's user).
    pub const USER_NOT_IN_TENANT: u64 = 50020;
    /// ExpiredOrRevokedGrant.
    pub const EXPIRED_OR_REVOKED_GRANT: u64 = 70008;
    /// FreshTokenNeeded: the grant was revoked by an admin or the user.
    pub const FRESH_TOKEN_NEEDED: u64 = 50173;
    /// The request is missing a required parameter (`'{name}'`).
    pub const MISSING_PARAMETER: u64 = 900144;
}
