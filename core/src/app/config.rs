//! What the host tells the application when it creates it (endpoints, how to reach ERP.net, the
//! sealing key), and what admins set in Service (stored, secrets sealed).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, Store, WriteBatch};
use crate::identity::Sealer;

/// How MsSync reaches ERP.net.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ErpAccess {
    /// Inside ERP.net: the host's HTTP callback authenticates.
    Host,
    /// A Trusted Application's client credentials at `{identity_base}/connect/token`.
    TrustedApp {
        identity_base: String,
        client_id: String,
        client_secret: String,
    },
    /// A personal access token.
    PersonalAccessToken { token: String },
}

impl std::fmt::Debug for ErpAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host => f.write_str("Host"),
            Self::TrustedApp {
                identity_base,
                client_id,
                ..
            } => write!(f, "TrustedApp({identity_base}, {client_id}, <secret>)"),
            Self::PersonalAccessToken { .. } => f.write_str("PersonalAccessToken(<hidden>)"),
        }
    }
}

/// Set by the host when it creates the application; never by panels.
#[derive(Clone, Debug, Deserialize)]
pub struct AppConfig {
    /// The Entra ID login host, e.g. `https://login.microsoftonline.com`.
    pub authority: String,
    /// e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_base_url: String,
    /// The Domain API's OData root, e.g. `https://acme.my.erp.net/api/domain/odata/`.
    pub erp_base_url: String,
    pub erp_access: ErpAccess,
    /// Where Entra ID sends sign-ins and admin consents back to.
    pub redirect_uri: String,
    /// Names this engine instance in leases.
    #[serde(default = "default_runner")]
    pub runner_id: String,
    /// This runner's machine and process, for native hosts: a run may then take over at once
    /// from a run of this machine whose process died (see `engine::LocalProcess`).
    #[serde(skip)]
    pub local_process: Option<crate::engine::LocalProcess>,
    /// How long a run's lease outlives its latest commit ([`DEFAULT_LEASE_TTL`], 15 minutes,
    /// unless the host says): a node that dies mid-run keeps its jobs this long, on every store
    /// the nodes share. Tests shorten it to seconds.
    #[serde(skip, default = "default_lease_ttl")]
    pub lease_ttl: std::time::Duration,
}

pub use crate::jobs::calendar::DEFAULT_LEASE_TTL;

/// The longest lease time a host may set: a day. A dead node's users wait this long for
/// another node, so more is a mistake (most likely minutes written where seconds were meant).
pub const MAX_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// A lease time given in whole seconds (the `lease_ttl_seconds` of every host's settings):
/// from 1 second (tests) to [`MAX_LEASE_TTL`]. `Err` says what is wrong, for an error that
/// names the setting.
pub fn lease_ttl_from_seconds(seconds: u64) -> Result<std::time::Duration, &'static str> {
    match std::time::Duration::from_secs(seconds) {
        ttl if ttl.is_zero() => Err("must be at least 1 second"),
        ttl if ttl > MAX_LEASE_TTL => Err("must be at most 86400 seconds (a day)"),
        ttl => Ok(ttl),
    }
}

fn default_lease_ttl() -> std::time::Duration {
    DEFAULT_LEASE_TTL
}

fn default_runner() -> String {
    "mssync".into()
}

/// The rule for every address MsSync sends a credential to or has a code sent back to: https,
/// or plain http only to this machine (the simulators, a loopback sign-in), with no user name,
/// password, query or fragment. Over plain http anyone on the path could read the tokens, or
/// serve their own signing keys and sign in as anyone. `Err` says what is wrong.
pub fn check_endpoint(address: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(address).map_err(|_| "is not a URL")?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        _ => return Err("must be an https URL (http only for 127.0.0.1, [::1] or localhost)"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not carry a query or fragment");
    }
    Ok(url)
}

impl AppConfig {
    /// Every endpoint against [`check_endpoint`]; the error names the setting.
    pub fn validate(&self) -> Result<(), PublicError> {
        let mut endpoints = vec![
            ("authority", self.authority.as_str()),
            ("graph_base_url", self.graph_base_url.as_str()),
            ("erp_base_url", self.erp_base_url.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
        ];
        if let ErpAccess::TrustedApp { identity_base, .. } = &self.erp_access {
            endpoints.push(("erp_access.identity_base", identity_base.as_str()));
        }
        for (setting, address) in endpoints {
            check_endpoint(address).map_err(|reason| {
                PublicError::new(ErrorCode::InvalidArgument, format!("`{setting}` {reason}"))
            })?;
        }
        if self.lease_ttl.is_zero() || self.lease_ttl > MAX_LEASE_TTL {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "`lease_ttl_seconds` must be from 1 second to 86400 seconds (a day)",
            ));
        }
        Ok(())
    }
}

/// Operation mode, as Service offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationMode {
    /// Client credentials with admin-consented application permissions (the original's mode).
    #[default]
    Application,
    /// Each user's own tokens from sign-in.
    Delegated,
}

/// The client credential an admin gives. Stored sealed, never shown back.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CredentialInput {
    Secret {
        secret: String,
    },
    Certificate {
        private_key_pem: String,
        certificate_pem: String,
    },
}

impl std::fmt::Debug for CredentialInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret { .. } => f.write_str("Secret(<hidden>)"),
            Self::Certificate { .. } => f.write_str("Certificate(<hidden>)"),
        }
    }
}

/// Service settings as stored (the credential sealed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceRecord {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub mode: OperationMode,
    /// Sealed JSON of a [`CredentialInput`].
    pub credential: Option<Vec<u8>>,
    pub credential_kind: Option<String>,
    /// E-mail domains whose users may sign in, lower-case.
    pub domains: Vec<String>,
    /// The ERP.net `Meeting` document type for activities, found or created by Give permissions.
    pub meeting_document_type: Option<String>,
    pub connected_at: Option<chrono::DateTime<chrono::Utc>>,
}

const SERVICE_KEY: &str = "service/settings";
const CREDENTIAL_CONTEXT: &[u8] = b"service/credential";

pub(crate) async fn load_service(
    store: &dyn Store,
) -> Result<(ServiceRecord, Expect), PublicError> {
    match store.get(SERVICE_KEY).await? {
        Some(v) => Ok((
            serde_json::from_slice(&v.value).map_err(|_| {
                PublicError::new(
                    ErrorCode::StoreFailure,
                    "the stored Service settings are unreadable",
                )
            })?,
            Expect::Version(v.version),
        )),
        None => Ok((ServiceRecord::default(), Expect::Absent)),
    }
}

pub(crate) fn put_service(batch: WriteBatch, record: &ServiceRecord, expect: Expect) -> WriteBatch {
    batch.put(
        SERVICE_KEY,
        serde_json::to_vec(record).expect("settings serialize"),
        expect,
    )
}

pub(crate) fn seal_credential(
    sealer: &Sealer,
    credential: &CredentialInput,
) -> Result<Vec<u8>, PublicError> {
    let plain = serde_json::to_vec(credential).expect("a credential serializes");
    Ok(sealer.seal(CREDENTIAL_CONTEXT, &plain)?)
}

pub(crate) fn open_credential(
    sealer: &Sealer,
    sealed: &[u8],
) -> Result<CredentialInput, PublicError> {
    let plain = sealer.open(CREDENTIAL_CONTEXT, sealed)?;
    serde_json::from_slice(&plain).map_err(|_| {
        PublicError::new(
            ErrorCode::SealFailure,
            "the stored credential is unreadable",
        )
    })
}

#[cfg(test)]
mod endpoint_tests {
    use super::check_endpoint;

    #[test]
    fn credentials_go_only_over_tls_or_to_this_machine() {
        for good in [
            "https://login.microsoftonline.com",
            "https://graph.microsoft.com/v1.0",
            "http://127.0.0.1:4321/v1.0",
            "http://localhost:8080/signin",
            "http://[::1]:9000/",
        ] {
            assert!(check_endpoint(good).is_ok(), "{good}");
        }
        for bad in [
            "http://graph.microsoft.com/v1.0",
            "http://10.0.0.5/api/domain/odata/",
            "ftp://example.com/",
            "https://user:pass@example.my.erp.net/api/domain/odata/",
            "https://token@example.my.erp.net/",
            "https://example.my.erp.net/api?x=1",
            "https://example.my.erp.net/api#frag",
            "//graph.microsoft.com/v1.0",
            "not a url",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }
}
