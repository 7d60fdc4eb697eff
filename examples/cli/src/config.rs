//! The `mssync` configuration: one TOML file naming every endpoint, and credentials read only from
//! files it points to or from `MSSYNC_*` environment variables.
//!
//! Secrets never come from the command line (other users can read a process's arguments) and never
//! from the TOML itself (config files get copied and pasted into tickets). [`Config`] holds no
//! secret at all, only paths; [`Credentials`] holds them in `secrecy` wrappers whose `Debug` prints
//! `[REDACTED]` and whose memory is wiped on drop.
//!
//! ```toml
//! mode = "application"               # or "delegated"
//! store = "mssync.db"                # a SQLite file (relative to this file), or
//!                                    # "postgres://mssync@db.example.com/mssync?sslmode=require"
//! # store_password_file = "pg.secret"  # or MSSYNC_STORE_PASSWORD, for PostgreSQL
//! node = "sync-1"                    # names this process in leases; absent: the host name
//! lease_ttl_seconds = 900            # how long a dead node keeps its jobs (absent: 15 minutes)
//! concurrent_jobs = 4                # jobs `mssync serve` runs at once on this node (absent: 4)
//! redirect_port = 0                  # signin's loopback port; 0 or absent: any free port
//! max_response_bytes = 33554432      # longest response body read (absent: 32 MiB, the most)
//! sealing_key_file = "sealing.key"   # or MSSYNC_SEALING_KEY (32 bytes: base64 or hex)
//! listen = "127.0.0.1:8787"          # `mssync serve`'s listener for Graph change notifications
//! public_url = "https://mssync.example.com"  # what Graph calls (a proxy to `listen`); absent:
//!                                    # no notifications, polling every 15 minutes
//!
//! [web]                              # `mssync serve` also serves the panels to browsers
//! root = "web"                       # the page's files, served at /
//! package = "pkg"                    # the browser package (wasm/build.sh), served at /pkg/
//! url = "https://mssync.example.com" # where browsers reach `listen` (https, or http on this
//!                                    # machine only); absent: public_url, else http://listen
//!
//! [entra]
//! authority = "https://login.microsoftonline.com"
//! tenant_id = "..."                  # a GUID
//! client_id = "..."                  # a GUID
//! client_secret_file = "entra.secret"     # or MSSYNC_ENTRA_CLIENT_SECRET
//! # certificate_pem_file = "entra.pem"    # or MSSYNC_ENTRA_CERTIFICATE_PEM
//!
//! [graph]
//! base_url = "https://graph.microsoft.com/v1.0"
//!
//! [erp]
//! domain_api_url = "https://example.my.erp.net/api/domain/odata"
//! token_endpoint = "https://example.my.erp.net/id/connect/token"
//! auth = "trusted_app"               # or "personal_access_token" or "none"
//! trusted_app_client_id = "https://mssync.example.com"
//! client_secret_file = "erp.secret"  # or MSSYNC_ERP_CLIENT_SECRET
//! # pat_file = "erp.pat"             # or MSSYNC_ERP_PAT
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use mssync_core::{ErrorCode, PublicError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::store::{PostgresUrl, StoreLocation};

/// Environment variables that may carry credentials. They win over the files named in the config.
pub mod env {
    pub const CONFIG: &str = "MSSYNC_CONFIG";
    pub const ENTRA_CLIENT_SECRET: &str = "MSSYNC_ENTRA_CLIENT_SECRET";
    pub const ENTRA_CERTIFICATE_PEM: &str = "MSSYNC_ENTRA_CERTIFICATE_PEM";
    pub const ERP_CLIENT_SECRET: &str = "MSSYNC_ERP_CLIENT_SECRET";
    pub const ERP_PAT: &str = "MSSYNC_ERP_PAT";
    pub const SEALING_KEY: &str = "MSSYNC_SEALING_KEY";
    pub const STORE_PASSWORD: &str = "MSSYNC_STORE_PASSWORD";
}

/// Why the configuration or a credential could not be loaded. Messages name the field or the
/// environment variable to fix and never carry a secret or a line of the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no configuration file at {0}")]
    NotFound(PathBuf),
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("`{field}` is missing from the configuration{hint}")]
    Missing { field: &'static str, hint: String },
    #[error("`{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(
        "`{field}` looks like a secret written into the configuration; secrets are read only from \
         the files the configuration names or from MSSYNC_* environment variables"
    )]
    SecretInConfig { field: String },
    #[error("cannot read {what} from {path}: {source}")]
    UnreadableCredential {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is missing: set {how}")]
    MissingCredential { what: &'static str, how: String },
    #[error("{what} is invalid ({source_name}): {reason}")]
    InvalidCredential {
        what: &'static str,
        source_name: String,
        reason: String,
    },
}

impl ConfigError {
    /// The stable code a user or a script sees.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) | Self::Missing { .. } | Self::MissingCredential { .. } => {
                ErrorCode::NotConfigured
            }
            Self::Unreadable { .. } | Self::UnreadableCredential { .. } => ErrorCode::NotConfigured,
            Self::Syntax { .. }
            | Self::Invalid { .. }
            | Self::SecretInConfig { .. }
            | Self::InvalidCredential { .. } => ErrorCode::InvalidArgument,
        }
    }
}

impl From<ConfigError> for PublicError {
    fn from(error: ConfigError) -> Self {
        // The text is ours: field names, variable names and paths, never a value read.
        PublicError::new(error.code(), error.to_string())
    }
}

/// How MsSync reaches Microsoft Graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationMode {
    /// Client credentials with admin-consented application permissions.
    Application,
    /// Each user's own tokens from sign-in.
    Delegated,
}

/// How MsSync authenticates to the ERP.net Domain API when it runs outside the ERP.net host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErpAuth {
    /// A Trusted Application's client credentials at the token endpoint (scope `read update`).
    TrustedApp {
        client_id: String,
        client_secret_file: Option<PathBuf>,
    },
    /// A personal access token (`enrt_...`) sent as a bearer token.
    PersonalAccessToken { pat_file: Option<PathBuf> },
    /// No credential: something in front of the Domain API authenticates (a test simulator).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraConfig {
    /// The login host, such as `https://login.microsoftonline.com`.
    pub authority: Url,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret_file: Option<PathBuf>,
    pub certificate_pem_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphConfig {
    /// Such as `https://graph.microsoft.com/v1.0`.
    pub base_url: Url,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErpConfig {
    pub domain_api_url: Url,
    pub token_endpoint: Url,
    pub auth: ErpAuth,
}

/// A loaded configuration: endpoints, identifiers and paths, no secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this was read from.
    pub source: PathBuf,
    pub mode: OperationMode,
    pub entra: EntraConfig,
    pub graph: GraphConfig,
    pub erp: ErpConfig,
    /// Where the state lives: `store` (a SQLite path or a PostgreSQL URL) or `store_path`.
    pub store: StoreLocation,
    /// The file holding the PostgreSQL password (unless `MSSYNC_STORE_PASSWORD` is set).
    pub store_password_file: Option<PathBuf>,
    /// Names this process in the leases it holds (see `commands::runner_id`).
    pub node: String,
    /// How long a run's lease outlives its latest commit: a node that dies mid-run keeps its
    /// jobs this long before another node takes them over.
    pub lease_ttl: Duration,
    /// How many due jobs `mssync serve` runs at once on this node (never two of one user's job).
    pub concurrent_jobs: usize,
    /// The loopback port for sign-in redirects; 0 means any free port.
    pub redirect_port: u16,
    pub sealing_key_file: Option<PathBuf>,
    /// Response bodies longer than this are not read (at most the engine's own limit).
    pub max_response_bytes: usize,
    /// Where `mssync serve` listens for Graph's change notifications.
    pub listen: std::net::SocketAddr,
    /// The address Graph calls to reach `listen`; without it, jobs poll every 15 minutes.
    pub public_url: Option<Url>,
    /// The browsers' site of `mssync serve`: the panels and their API.
    pub web: Option<crate::web::WebSite>,
}

/// Jobs `mssync serve` runs at once when `concurrent_jobs` is absent: runs mostly wait on the
/// services, so a few at once keep a node busy without crowding one tenant's throttling limits.
pub const DEFAULT_CONCURRENT_JOBS: usize = 4;
/// The most `concurrent_jobs` may be: Graph throttles an application per tenant well before.
pub const MAX_CONCURRENT_JOBS: usize = 64;

/// `mssync serve`'s listener when `listen` is absent.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    mode: Option<OperationMode>,
    store: Option<String>,
    store_path: Option<PathBuf>,
    store_password_file: Option<PathBuf>,
    node: Option<String>,
    lease_ttl_seconds: Option<u64>,
    concurrent_jobs: Option<usize>,
    redirect_port: Option<u16>,
    sealing_key_file: Option<PathBuf>,
    max_response_bytes: Option<usize>,
    listen: Option<String>,
    public_url: Option<String>,
    web: Option<RawWeb>,
    entra: Option<RawEntra>,
    graph: Option<RawGraph>,
    erp: Option<RawErp>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawEntra {
    authority: Option<String>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    certificate_pem_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    root: PathBuf,
    package: PathBuf,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGraph {
    base_url: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RawErpAuthKind {
    TrustedApp,
    PersonalAccessToken,
    None,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawErp {
    domain_api_url: Option<String>,
    token_endpoint: Option<String>,
    auth: Option<RawErpAuthKind>,
    trusted_app_client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    pat_file: Option<PathBuf>,
}

/// Keys that would hold a secret's value rather than the path of a file holding it.
const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "secret",
    "certificate_pem",
    "certificate",
    "pat",
    "personal_access_token",
    "sealing_key",
    "password",
    "token",
];

impl Config {
    /// Reads and checks the file at `path`. Relative paths in it are relative to its folder.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound(path.to_owned())
            } else {
                ConfigError::Unreadable {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        Self::from_toml(&text, path)
    }

    /// Checks `text` as if read from `source` (which only serves relative paths and messages).
    pub fn from_toml(text: &str, source: &Path) -> Result<Self, ConfigError> {
        let syntax = |error: toml::de::Error| ConfigError::Syntax {
            path: source.to_owned(),
            line: error.span().map_or(1, |span| line_of(text, span.start)),
            // The message alone: toml's full rendering quotes the offending line, which could hold
            // a secret pasted in by mistake.
            message: error.message().to_owned(),
        };
        let table: toml::Table = toml::from_str(text).map_err(syntax)?;
        refuse_secret_values(&table, "")?;
        let raw: RawConfig = toml::from_str(text).map_err(syntax)?;
        let base = source.parent().unwrap_or(Path::new(""));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };

        let entra = raw.entra.unwrap_or_default();
        let graph = raw.graph.unwrap_or_default();
        let erp = raw.erp.unwrap_or_default();

        let mode = raw
            .mode
            .ok_or_else(|| missing("mode", "application or delegated"))?;
        let entra = EntraConfig {
            authority: endpoint(
                "entra.authority",
                entra.authority,
                "the login host, such as https://login.microsoftonline.com",
            )?,
            tenant_id: guid(
                "entra.tenant_id",
                entra.tenant_id,
                "the directory (tenant) id",
            )?,
            client_id: guid(
                "entra.client_id",
                entra.client_id,
                "the application (client) id",
            )?,
            client_secret_file: entra.client_secret_file.map(resolve),
            certificate_pem_file: entra.certificate_pem_file.map(resolve),
        };
        let graph = GraphConfig {
            base_url: endpoint(
                "graph.base_url",
                graph.base_url,
                "such as https://graph.microsoft.com/v1.0",
            )?,
        };
        let auth = match erp
            .auth
            .ok_or_else(|| missing("erp.auth", "trusted_app, personal_access_token or none"))?
        {
            RawErpAuthKind::TrustedApp => ErpAuth::TrustedApp {
                client_id: non_empty(
                    "erp.trusted_app_client_id",
                    erp.trusted_app_client_id,
                    "the Trusted Application's ApplicationUri, needed when erp.auth = \"trusted_app\"",
                )?,
                client_secret_file: erp.client_secret_file.map(resolve),
            },
            RawErpAuthKind::PersonalAccessToken => ErpAuth::PersonalAccessToken {
                pat_file: erp.pat_file.map(resolve),
            },
            RawErpAuthKind::None => ErpAuth::None,
        };
        let erp = ErpConfig {
            domain_api_url: endpoint(
                "erp.domain_api_url",
                erp.domain_api_url,
                "such as https://example.my.erp.net/api/domain/odata",
            )?,
            token_endpoint: endpoint(
                "erp.token_endpoint",
                erp.token_endpoint,
                "such as https://example.my.erp.net/id/connect/token",
            )?,
            auth,
        };
        let store = match (raw.store, raw.store_path) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    field: "store",
                    reason: "give `store` or `store_path`, not both".into(),
                });
            }
            (Some(text), None) if PostgresUrl::is_postgres(&text) => {
                let url = PostgresUrl::parse(&text).map_err(|e| ConfigError::Invalid {
                    field: "store",
                    reason: format!("the PostgreSQL URL {e}"),
                })?;
                if url.has_password() {
                    // Refused without echoing it; the password has a file or variable of its own.
                    return Err(ConfigError::SecretInConfig {
                        field: format!(
                            "store (its password; use store_password_file or {})",
                            env::STORE_PASSWORD
                        ),
                    });
                }
                StoreLocation::Postgres(url)
            }
            (text, path) => StoreLocation::Sqlite(
                text.map(PathBuf::from)
                    .or(path)
                    .filter(|p| !p.as_os_str().is_empty())
                    .map(resolve)
                    .ok_or_else(|| {
                        missing(
                            "store",
                            "a SQLite file such as mssync.db, or postgres://user@host/database",
                        )
                    })?,
            ),
        };
        let node = match raw.node {
            Some(node) => check_node(node.trim()).map_err(|reason| ConfigError::Invalid {
                field: "node",
                reason: reason.into(),
            })?,
            None => default_node(),
        };
        let lease_ttl = match raw.lease_ttl_seconds {
            None => mssync_core::app::DEFAULT_LEASE_TTL,
            Some(seconds) => {
                mssync_core::app::lease_ttl_from_seconds(seconds).map_err(|reason| {
                    ConfigError::Invalid {
                        field: "lease_ttl_seconds",
                        reason: reason.into(),
                    }
                })?
            }
        };
        let concurrent_jobs = match raw.concurrent_jobs {
            None => DEFAULT_CONCURRENT_JOBS,
            Some(n @ 1..=MAX_CONCURRENT_JOBS) => n,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    field: "concurrent_jobs",
                    reason: format!("must be from 1 to {MAX_CONCURRENT_JOBS}"),
                });
            }
        };
        let listen = raw
            .listen
            .as_deref()
            .unwrap_or(DEFAULT_LISTEN)
            .parse()
            .map_err(|_| ConfigError::Invalid {
                field: "listen",
                reason: "must be an address and port, such as 127.0.0.1:8787".into(),
            })?;
        let public_url = match raw.public_url.filter(|u| !u.is_empty()) {
            Some(url) => Some(endpoint(
                "public_url",
                Some(url),
                "the https address Graph calls to reach `listen`",
            )?),
            None => None,
        };
        let web = match raw.web {
            Some(web) => {
                let url = match web.url.filter(|u| !u.is_empty()) {
                    Some(url) => endpoint(
                        "web.url",
                        Some(url),
                        "where browsers reach `listen`: https, or http on this machine",
                    )?,
                    None => match &public_url {
                        Some(url) => url.clone(),
                        None => endpoint(
                            "web.url",
                            Some(format!("http://{listen}")),
                            "where browsers reach `listen`: https, or http on this machine",
                        )?,
                    },
                };
                Some(crate::web::WebSite {
                    root: resolve(web.root),
                    package: resolve(web.package),
                    url,
                })
            }
            None => None,
        };
        Ok(Self {
            listen,
            public_url,
            web,
            source: source.to_owned(),
            mode,
            entra,
            graph,
            erp,
            store,
            store_password_file: raw.store_password_file.map(resolve),
            node,
            lease_ttl,
            concurrent_jobs,
            redirect_port: raw.redirect_port.unwrap_or(0),
            sealing_key_file: raw.sealing_key_file.map(resolve),
            max_response_bytes: raw
                .max_response_bytes
                .unwrap_or(mssync_core::host::MAX_RESPONSE_BYTES)
                .min(mssync_core::host::MAX_RESPONSE_BYTES),
        })
    }
}

/// A node name: 1 to 64 letters, digits, `.`, `_` or `-` (it goes into lease records).
fn check_node(node: &str) -> Result<String, &'static str> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if node.is_empty() || node.len() > 64 || !node.chars().all(allowed) {
        return Err("use 1 to 64 letters, digits, '.', '_' or '-'");
    }
    Ok(node.to_owned())
}

/// This machine's host name, or `node-<pid>` when it has none usable (then set `node`).
pub fn default_node() -> String {
    #[cfg(unix)]
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    #[cfg(not(unix))]
    let host = std::env::var("COMPUTERNAME").unwrap_or_default();
    check_node(host.trim()).unwrap_or_else(|_| format!("node-{}", std::process::id()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn refuse_secret_values(table: &toml::Table, path: &str) -> Result<(), ConfigError> {
    for (key, value) in table {
        let field = format!("{path}{key}");
        if SECRET_KEYS.contains(&key.as_str()) {
            return Err(ConfigError::SecretInConfig { field });
        }
        if let toml::Value::Table(inner) = value {
            refuse_secret_values(inner, &format!("{field}."))?;
        }
    }
    Ok(())
}

fn missing(field: &'static str, hint: &str) -> ConfigError {
    ConfigError::Missing {
        field,
        hint: format!(" ({hint})"),
    }
}

fn non_empty(
    field: &'static str,
    value: Option<String>,
    hint: &str,
) -> Result<String, ConfigError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(missing(field, hint)),
    }
}

fn guid(field: &'static str, value: Option<String>, hint: &str) -> Result<String, ConfigError> {
    let value = non_empty(field, value, hint)?;
    let groups: Vec<&str> = value.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if !shaped {
        let reason = if ["common", "organizations", "consumers"].contains(&value.as_str()) {
            "MsSync connects to one tenant: use its GUID, not a multi-tenant alias".to_owned()
        } else {
            "expected a GUID such as 00000000-0000-0000-0000-000000000000".to_owned()
        };
        return Err(ConfigError::Invalid { field, reason });
    }
    Ok(value.to_ascii_lowercase())
}

/// A URL MsSync sends credentials to, by the core's one rule for endpoints
/// ([`mssync_core::app::check_endpoint`]: https, or http only to this machine).
fn endpoint(field: &'static str, value: Option<String>, hint: &str) -> Result<Url, ConfigError> {
    let value = non_empty(field, value, hint)?;
    mssync_core::app::check_endpoint(&value).map_err(|reason| ConfigError::Invalid {
        field,
        reason: reason.to_owned(),
    })
}

/// The Entra ID client credential.
#[derive(Debug)]
pub enum EntraCredential {
    Secret(SecretString),
    /// A PEM holding the certificate and its private key, for a signed client assertion.
    CertificatePem(SecretString),
}

/// The ERP.net credential, matching [`ErpAuth`].
#[derive(Debug)]
pub enum ErpCredential {
    ClientSecret(SecretString),
    PersonalAccessToken(SecretString),
    None,
}

pub use mssync_core::app::SealingKey;

/// Every credential the configuration calls for, read from the environment or the named files.
#[derive(Debug)]
pub struct Credentials {
    /// Required in Application mode; in Delegated mode only a confidential client has one.
    pub entra: Option<EntraCredential>,
    pub erp: ErpCredential,
    pub sealing_key: SealingKey,
    /// The PostgreSQL password, when the store is PostgreSQL and one is set.
    pub store_password: Option<SecretString>,
}

impl Credentials {
    /// Reads credentials from the process environment and the files `config` names.
    pub fn load(config: &Config) -> Result<Self, ConfigError> {
        Self::load_with(config, |name| std::env::var(name).ok())
    }

    /// As [`Credentials::load`], with `env` standing in for the process environment.
    pub fn load_with(
        config: &Config,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let secret = |what: &'static str, var: &'static str, file: &Option<PathBuf>| {
            if let Some(value) = env(var) {
                return Ok(Some(SecretString::from(value.trim().to_owned())));
            }
            match file {
                Some(path) => read_secret_text(what, path).map(Some),
                None => Ok(None),
            }
        };

        let entra_secret = secret(
            "the Entra ID client secret",
            env::ENTRA_CLIENT_SECRET,
            &config.entra.client_secret_file,
        )?;
        let entra_certificate = secret(
            "the Entra ID certificate",
            env::ENTRA_CERTIFICATE_PEM,
            &config.entra.certificate_pem_file,
        )?;
        let entra = match (entra_secret, entra_certificate) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::InvalidCredential {
                    what: "the Entra ID client credential",
                    source_name: "entra".into(),
                    reason: "both a client secret and a certificate are set; keep one".into(),
                });
            }
            (Some(secret), None) => Some(EntraCredential::Secret(secret)),
            (None, Some(pem)) => {
                if !pem.expose_secret().contains("-----BEGIN") {
                    return Err(ConfigError::InvalidCredential {
                        what: "the Entra ID certificate",
                        source_name: "entra.certificate_pem_file or MSSYNC_ENTRA_CERTIFICATE_PEM"
                            .into(),
                        reason: "not PEM text".into(),
                    });
                }
                Some(EntraCredential::CertificatePem(pem))
            }
            (None, None) if config.mode == OperationMode::Application => {
                return Err(ConfigError::MissingCredential {
                    what: "the Entra ID client credential (needed in application mode)",
                    how: format!(
                        "entra.client_secret_file or {}, or entra.certificate_pem_file or {}",
                        env::ENTRA_CLIENT_SECRET,
                        env::ENTRA_CERTIFICATE_PEM
                    ),
                });
            }
            (None, None) => None,
        };

        let erp = match &config.erp.auth {
            ErpAuth::TrustedApp {
                client_secret_file, ..
            } => ErpCredential::ClientSecret(
                secret(
                    "the ERP.net client secret",
                    env::ERP_CLIENT_SECRET,
                    client_secret_file,
                )?
                .ok_or_else(|| ConfigError::MissingCredential {
                    what: "the ERP.net Trusted Application's client secret",
                    how: format!("erp.client_secret_file or {}", env::ERP_CLIENT_SECRET),
                })?,
            ),
            ErpAuth::PersonalAccessToken { pat_file } => ErpCredential::PersonalAccessToken(
                secret("the ERP.net personal access token", env::ERP_PAT, pat_file)?.ok_or_else(
                    || ConfigError::MissingCredential {
                        what: "the ERP.net personal access token",
                        how: format!("erp.pat_file or {}", env::ERP_PAT),
                    },
                )?,
            ),
            ErpAuth::None => ErpCredential::None,
        };

        let sealing_key = match env(env::SEALING_KEY) {
            Some(text) => decode_sealing_key(text.trim().as_bytes(), false, env::SEALING_KEY)?,
            None => match &config.sealing_key_file {
                Some(path) => {
                    let bytes = std::fs::read(path)
                        .map_err(|e| unreadable_secret("the sealing key", path, e))?;
                    decode_sealing_key(&bytes, true, "sealing_key_file")?
                }
                None => {
                    return Err(ConfigError::MissingCredential {
                        what: "the sealing key",
                        how: format!(
                            "sealing_key_file or {} (32 bytes, base64 or hex)",
                            env::SEALING_KEY
                        ),
                    });
                }
            },
        };

        Ok(Self {
            entra,
            erp,
            sealing_key,
            store_password: store_password_with(config, env)?,
        })
    }
}

/// The PostgreSQL password: `MSSYNC_STORE_PASSWORD`, else `store_password_file`, else none
/// (a server that trusts this machine or its user). `None` for SQLite.
pub fn store_password(config: &Config) -> Result<Option<SecretString>, ConfigError> {
    store_password_with(config, |name| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
}

fn store_password_with(
    config: &Config,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, ConfigError> {
    if !matches!(config.store, StoreLocation::Postgres(_)) {
        return Ok(None);
    }
    if let Some(value) = env(env::STORE_PASSWORD) {
        return Ok(Some(SecretString::from(value.trim().to_owned())));
    }
    match &config.store_password_file {
        Some(path) => read_secret_text("the PostgreSQL password", path).map(Some),
        None => Ok(None),
    }
}

fn unreadable_secret(what: &'static str, path: &Path, error: std::io::Error) -> ConfigError {
    ConfigError::UnreadableCredential {
        what,
        path: path.to_owned(),
        source: error,
    }
}

fn read_secret_text(what: &'static str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable_secret(what, path, e))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ConfigError::InvalidCredential {
            what,
            source_name: path.display().to_string(),
            reason: "the file is empty".into(),
        });
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// The base64 or hex spelling of 32 bytes, or (from a file, `allow_raw`) the 32 bytes themselves.
fn decode_sealing_key(
    bytes: &[u8],
    allow_raw: bool,
    source_name: &str,
) -> Result<SealingKey, ConfigError> {
    let key = if allow_raw {
        SealingKey::from_file_contents(bytes)
    } else {
        SealingKey::decode(bytes)
    };
    key.map_err(|_| ConfigError::InvalidCredential {
        what: "the sealing key",
        source_name: source_name.to_owned(),
        reason: "expected 32 bytes, raw or as base64 or hex".into(),
    })
}
