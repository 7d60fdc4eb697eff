//! The configuration file and credentials: every endpoint from the file, secrets only from files
//! or the environment, clear errors naming what to fix.

use std::collections::HashMap;
use std::path::Path;

use mssync_cli::StoreLocation;
use mssync_cli::config::{
    Config, ConfigError, Credentials, EntraCredential, ErpAuth, ErpCredential, OperationMode,
};
use mssync_core::ErrorCode;
use secrecy::ExposeSecret;

const TENANT: &str = "7f3c1a2b-1111-4222-8333-944455556666";
const CLIENT: &str = "0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff";
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn full(mode: &str, erp_auth: &str) -> String {
    format!(
        r#"
mode = "{mode}"
store_path = "state/mssync.db"
redirect_port = 8400
sealing_key_file = "sealing.key"

[entra]
authority = "http://127.0.0.1:9001"
tenant_id = "{TENANT}"
client_id = "{CLIENT}"
client_secret_file = "entra.secret"

[graph]
base_url = "http://127.0.0.1:9002/v1.0"

[erp]
domain_api_url = "http://127.0.0.1:9003/api/domain/odata"
token_endpoint = "http://127.0.0.1:9003/id/connect/token"
auth = "{erp_auth}"
trusted_app_client_id = "https://mssync.example.com"
client_secret_file = "/run/secrets/erp.secret"
pat_file = "erp.pat"
"#
    )
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("/etc/mssync/mssync.toml"))
}

fn without(text: &str, line_start: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with(line_start))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_endpoint_and_identifier_comes_from_the_file() {
    let config = parse(&full("application", "trusted_app")).unwrap();
    assert_eq!(config.mode, OperationMode::Application);
    assert_eq!(config.entra.authority.as_str(), "http://127.0.0.1:9001/");
    assert_eq!(config.entra.tenant_id, TENANT);
    assert_eq!(config.entra.client_id, CLIENT);
    assert_eq!(config.graph.base_url.as_str(), "http://127.0.0.1:9002/v1.0");
    assert_eq!(
        config.erp.domain_api_url.as_str(),
        "http://127.0.0.1:9003/api/domain/odata"
    );
    assert_eq!(
        config.erp.token_endpoint.as_str(),
        "http://127.0.0.1:9003/id/connect/token"
    );
    assert_eq!(
        config.erp.auth,
        ErpAuth::TrustedApp {
            client_id: "https://mssync.example.com".into(),
            client_secret_file: Some("/run/secrets/erp.secret".into()),
        }
    );
    assert_eq!(config.redirect_port, 8400);
    // Relative paths are relative to the config file; absolute ones stay.
    assert!(
        matches!(&config.store, StoreLocation::Sqlite(path) if path == Path::new("/etc/mssync/state/mssync.db")),
        "{:?}",
        config.store
    );
    assert_eq!(
        config.entra.client_secret_file.as_deref(),
        Some(Path::new("/etc/mssync/entra.secret"))
    );
}

#[test]
fn the_shipped_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mssync.example.toml");
    let config = Config::load(&path).unwrap();
    assert_eq!(
        config.graph.base_url.as_str(),
        "https://graph.microsoft.com/v1.0"
    );
    assert_eq!(config.redirect_port, 0);
}

#[test]
fn each_missing_field_is_named() {
    let cases = [
        ("mode =", "`mode`"),
        ("store_path", "`store`"),
        ("authority", "`entra.authority`"),
        ("tenant_id", "`entra.tenant_id`"),
        ("client_id", "`entra.client_id`"),
        ("base_url", "`graph.base_url`"),
        ("domain_api_url", "`erp.domain_api_url`"),
        ("token_endpoint", "`erp.token_endpoint`"),
        ("auth =", "`erp.auth`"),
        ("trusted_app_client_id", "`erp.trusted_app_client_id`"),
    ];
    for (line, field) in cases {
        let error = parse(&without(&full("application", "trusted_app"), line)).unwrap_err();
        assert!(
            matches!(error, ConfigError::Missing { .. }),
            "{line}: {error:?}"
        );
        assert!(error.to_string().contains(field), "{line}: {error}");
        assert_eq!(error.code(), ErrorCode::NotConfigured);
    }
    // A whole missing section names its first field too.
    let no_graph = full("application", "trusted_app").replace("[graph]", "");
    let no_graph = without(&no_graph, "base_url");
    assert!(
        parse(&no_graph)
            .unwrap_err()
            .to_string()
            .contains("`graph.base_url`")
    );
}

#[test]
fn a_pat_instance_needs_no_trusted_app_id() {
    let text = without(
        &full("delegated", "personal_access_token"),
        "trusted_app_client_id",
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.mode, OperationMode::Delegated);
    assert_eq!(
        config.erp.auth,
        ErpAuth::PersonalAccessToken {
            pat_file: Some("/etc/mssync/erp.pat".into())
        }
    );
}

#[test]
fn bad_values_are_named_and_refused() {
    let base = full("application", "trusted_app");
    let cases = [
        (
            base.replace(
                "http://127.0.0.1:9002/v1.0",
                "http://graph.example.com/v1.0",
            ),
            "`graph.base_url`",
        ),
        (
            base.replace("http://127.0.0.1:9001", "ftp://127.0.0.1"),
            "`entra.authority`",
        ),
        (
            base.replace("http://127.0.0.1:9001", "not a url"),
            "`entra.authority`",
        ),
        (base.replace(TENANT, "common"), "multi-tenant"),
        (base.replace(CLIENT, "my-app"), "`entra.client_id`"),
        (
            base.replace(
                "http://127.0.0.1:9003/id/connect/token",
                "https://u:p@erp.example.com/id/connect/token",
            ),
            "`erp.token_endpoint`",
        ),
    ];
    for (text, expected) in cases {
        let error = parse(&text).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
        assert_eq!(error.code(), ErrorCode::InvalidArgument, "{error}");
    }
}

#[test]
fn syntax_errors_give_the_line_but_not_its_text() {
    let text = format!(
        "{}\n[extra]\nthis line = \"hunter2-secret\" is broken\n",
        full("application", "trusted_app")
    );
    let error = parse(&text).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.starts_with("this line"))
        .unwrap()
        + 1;
    match &error {
        ConfigError::Syntax { line: found, .. } => assert_eq!(*found, line),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn unknown_fields_are_refused() {
    let text = full("application", "trusted_app").replace("[graph]", "[graph]\nbase_ulr = \"x\"");
    let error = parse(&text).unwrap_err();
    assert!(error.to_string().contains("base_ulr"), "{error}");
}

#[test]
fn a_secret_written_into_the_file_is_refused_without_echoing_it() {
    for (section, key) in [
        ("[entra]", "client_secret"),
        ("[erp]", "pat"),
        ("[erp]", "client_secret"),
    ] {
        let text = full("application", "trusted_app")
            .replace(section, &format!("{section}\n{key} = \"s3cr3t-value\""));
        let error = parse(&text).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            matches!(error, ConfigError::SecretInConfig { .. }),
            "{shown}"
        );
        assert!(shown.contains(key), "{shown}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
    }
    let text = format!(
        "sealing_key = \"{KEY_HEX}\"\n{}",
        full("application", "none")
    );
    assert!(matches!(
        parse(&text).unwrap_err(),
        ConfigError::SecretInConfig { .. }
    ));
}

#[test]
fn a_missing_file_is_a_not_configured_error() {
    let error = Config::load("/nonexistent/mssync.toml").unwrap_err();
    assert!(matches!(error, ConfigError::NotFound(_)));
    assert_eq!(error.code(), ErrorCode::NotConfigured);
    assert!(error.to_string().contains("/nonexistent/mssync.toml"));
}

/// A config file in a temp folder with its secret files beside it.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(mode: &str, erp_auth: &str) -> (Self, Config) {
        let dir = tempfile::tempdir().unwrap();
        let text = full(mode, erp_auth).replace("/run/secrets/erp.secret", "erp.secret");
        let path = dir.path().join("mssync.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        (Self { dir }, config)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn credentials_come_from_the_named_files() {
    let (setup, config) = Setup::new("application", "trusted_app");
    setup.write("entra.secret", b"entra-secret-value\n");
    setup.write("erp.secret", b"erp-secret-value\n");
    setup.write("sealing.key", format!("{KEY_HEX}\n").as_bytes());
    let credentials = Credentials::load_with(&config, no_env).unwrap();
    match &credentials.entra {
        Some(EntraCredential::Secret(s)) => assert_eq!(s.expose_secret(), "entra-secret-value"),
        other => panic!("{other:?}"),
    }
    match &credentials.erp {
        ErpCredential::ClientSecret(s) => assert_eq!(s.expose_secret(), "erp-secret-value"),
        other => panic!("{other:?}"),
    }
    let expected: Vec<u8> = (0..32).collect();
    assert_eq!(credentials.sealing_key.expose().as_slice(), expected);

    // Debug output redacts every one of them.
    let shown = format!("{credentials:?}");
    assert!(!shown.contains("entra-secret-value"), "{shown}");
    assert!(!shown.contains("erp-secret-value"), "{shown}");
    assert!(shown.contains("REDACTED"), "{shown}");
}

#[test]
fn the_environment_wins_over_files() {
    let (setup, config) = Setup::new("application", "personal_access_token");
    setup.write("entra.secret", b"from-file");
    let env: HashMap<&str, String> = HashMap::from([
        ("MSSYNC_ENTRA_CLIENT_SECRET", "from-env".to_owned()),
        ("MSSYNC_ERP_PAT", "enrt_from_env".to_owned()),
        (
            "MSSYNC_SEALING_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    let credentials = Credentials::load_with(&config, |n| env.get(n).cloned()).unwrap();
    match &credentials.entra {
        Some(EntraCredential::Secret(s)) => assert_eq!(s.expose_secret(), "from-env"),
        other => panic!("{other:?}"),
    }
    match &credentials.erp {
        ErpCredential::PersonalAccessToken(s) => assert_eq!(s.expose_secret(), "enrt_from_env"),
        other => panic!("{other:?}"),
    }
    assert_eq!(credentials.sealing_key.expose()[31], 31);
}

#[test]
fn a_raw_32_byte_key_file_is_accepted() {
    let (setup, config) = Setup::new("delegated", "none");
    let key: Vec<u8> = (200..232).collect();
    setup.write("sealing.key", &key);
    std::fs::remove_file(setup.dir.path().join("entra.secret")).ok();
    let config = Config {
        entra: mssync_cli::config::EntraConfig {
            client_secret_file: None,
            ..config.entra
        },
        ..config
    };
    // Delegated mode as a public client: no Entra credential needed.
    let credentials = Credentials::load_with(&config, no_env).unwrap();
    assert!(credentials.entra.is_none());
    assert!(matches!(credentials.erp, ErpCredential::None));
    assert_eq!(credentials.sealing_key.expose().as_slice(), key);
}

#[test]
fn missing_credentials_name_the_file_setting_and_the_variable() {
    let (setup, config) = Setup::new("application", "trusted_app");
    setup.write("sealing.key", KEY_HEX.as_bytes());
    setup.write("erp.secret", b"erp");
    let config_without_entra = Config {
        entra: mssync_cli::config::EntraConfig {
            client_secret_file: None,
            ..config.entra.clone()
        },
        ..config.clone()
    };
    let error = Credentials::load_with(&config_without_entra, no_env).unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotConfigured);
    let text = error.to_string();
    assert!(text.contains("MSSYNC_ENTRA_CLIENT_SECRET"), "{text}");
    assert!(text.contains("entra.certificate_pem_file"), "{text}");

    // The named file does not exist: the error names it.
    let error = Credentials::load_with(&config, no_env).unwrap_err();
    assert!(error.to_string().contains("entra.secret"), "{error}");

    setup.write("entra.secret", b"e");
    let config_without_key = Config {
        sealing_key_file: None,
        ..config.clone()
    };
    let error = Credentials::load_with(&config_without_key, no_env).unwrap_err();
    assert!(error.to_string().contains("MSSYNC_SEALING_KEY"), "{error}");
}

#[test]
fn a_wrong_sized_sealing_key_is_refused_without_echoing_it() {
    let (setup, config) = Setup::new("application", "none");
    setup.write("entra.secret", b"e");
    let env = |n: &str| (n == "MSSYNC_SEALING_KEY").then(|| "c2hvcnQta2V5LXZhbHVl".to_owned());
    let error = Credentials::load_with(&config, env).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidArgument);
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("MSSYNC_SEALING_KEY"), "{shown}");
    assert!(!shown.contains("c2hvcnQta2V5LXZhbHVl"), "{shown}");
}

#[test]
fn secret_and_certificate_together_are_ambiguous() {
    let (setup, config) = Setup::new("application", "none");
    setup.write("entra.secret", b"e");
    setup.write("sealing.key", KEY_HEX.as_bytes());
    let env = |n: &str| {
        (n == "MSSYNC_ENTRA_CERTIFICATE_PEM")
            .then(|| "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----".to_owned())
    };
    let error = Credentials::load_with(&config, env).unwrap_err();
    assert!(error.to_string().contains("keep one"), "{error}");
}

fn with_store(store_lines: &str) -> String {
    full("application", "trusted_app").replace(r#"store_path = "state/mssync.db""#, store_lines)
}

#[test]
fn sqlite_stays_the_default_and_store_names_either_kind() {
    let config = parse(&with_store(r#"store = "state/other.db""#)).unwrap();
    assert!(
        matches!(&config.store, StoreLocation::Sqlite(path) if path == Path::new("/etc/mssync/state/other.db")),
        "{:?}",
        config.store
    );
    let config = parse(&with_store(
        r#"store = "postgres://mssync@db.example.com:5432/mssync?sslmode=require"
store_password_file = "pg.secret""#,
    ))
    .unwrap();
    let StoreLocation::Postgres(url) = &config.store else {
        panic!("{:?}", config.store)
    };
    assert_eq!(
        url.to_string(),
        "postgres://mssync@db.example.com:5432/mssync?sslmode=require"
    );
    assert_eq!(
        config.store_password_file.as_deref(),
        Some(Path::new("/etc/mssync/pg.secret"))
    );
    let both = with_store(
        r#"store = "a.db"
store_path = "b.db""#,
    );
    assert!(parse(&both).unwrap_err().to_string().contains("not both"));
}

#[test]
fn a_password_in_the_store_url_is_refused_without_echoing_it() {
    for url in [
        "postgres://mssync:hunter2secret@127.0.0.1/mssync",
        "postgres://mssync@127.0.0.1/mssync?password=hunter2secret",
    ] {
        let error = parse(&with_store(&format!(r#"store = "{url}""#))).unwrap_err();
        assert!(
            matches!(error, ConfigError::SecretInConfig { .. }),
            "{error:?}"
        );
        let text = format!("{error} {error:?}");
        assert!(!text.contains("hunter2secret"), "{text}");
        assert!(text.contains("MSSYNC_STORE_PASSWORD"), "{text}");
    }
}

#[test]
fn a_store_off_this_machine_needs_tls() {
    let error = parse(&with_store(
        r#"store = "postgres://mssync@db.example.com/mssync""#,
    ))
    .unwrap_err();
    assert!(
        matches!(error, ConfigError::Invalid { field: "store", .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("sslmode=require"), "{error}");
    assert_eq!(error.code(), ErrorCode::InvalidArgument);
}

#[test]
fn the_store_password_comes_from_the_environment_or_its_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pg.secret"), "from-the-file\n").unwrap();
    std::fs::write(dir.path().join("sealing.key"), KEY_HEX).unwrap();
    std::fs::write(dir.path().join("entra.secret"), "entra").unwrap();
    let text = with_store(
        r#"store = "postgres://mssync@127.0.0.1:5432/mssync"
store_password_file = "pg.secret""#,
    )
    .replace(r#"auth = "trusted_app""#, r#"auth = "none""#);
    let config = Config::from_toml(&text, &dir.path().join("mssync.toml")).unwrap();
    let no_env = |_: &str| None;
    let credentials = Credentials::load_with(&config, no_env).unwrap();
    assert_eq!(
        credentials
            .store_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        Some("from-the-file".into())
    );
    let env = |name: &str| (name == "MSSYNC_STORE_PASSWORD").then(|| "from-the-env".to_owned());
    let credentials = Credentials::load_with(&config, env).unwrap();
    assert_eq!(
        credentials
            .store_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        Some("from-the-env".into())
    );
    assert!(!format!("{credentials:?}").contains("from-the-env"));
}

#[test]
fn node_and_lease_ttl_have_defaults_and_checks() {
    let config = parse(&full("application", "trusted_app")).unwrap();
    assert_eq!(config.node, mssync_cli::config::default_node());
    assert!(!config.node.is_empty());
    assert_eq!(config.lease_ttl, std::time::Duration::from_secs(15 * 60));
    assert_eq!(config.concurrent_jobs, 4);
    let config = parse(&with_store(
        r#"store_path = "x.db"
node = "sync-2.eu"
lease_ttl_seconds = 5
concurrent_jobs = 16"#,
    ))
    .unwrap();
    assert_eq!(config.node, "sync-2.eu");
    assert_eq!(config.lease_ttl, std::time::Duration::from_secs(5));
    assert_eq!(config.concurrent_jobs, 16);
    for bad in [
        r#"node = """#,
        r#"node = "a b""#,
        r#"node = "a/b""#,
        "lease_ttl_seconds = 0",
        "lease_ttl_seconds = 86401",
        "concurrent_jobs = 0",
        "concurrent_jobs = 65",
    ] {
        let error = parse(&with_store(&format!("store_path = \"x.db\"\n{bad}"))).unwrap_err();
        assert!(
            matches!(error, ConfigError::Invalid { .. }),
            "{bad}: {error:?}"
        );
    }
}

#[test]
fn the_web_site_is_reached_at_its_url_or_on_this_machine_only() {
    let web = "\n[web]\nroot = \"web\"\npackage = \"/srv/pkg\"\n";
    let config = parse(&format!("{}{web}", full("application", "trusted_app"))).unwrap();
    let site = config.web.expect("the site");
    assert_eq!(site.root, Path::new("/etc/mssync/web"));
    assert_eq!(site.package, Path::new("/srv/pkg"));
    assert_eq!(site.url.as_str(), "http://127.0.0.1:8787/");
    assert_eq!(site.redirect_uri(), "http://127.0.0.1:8787/signin");

    let config = parse(&format!(
        "{}{web}url = \"https://mssync.example.com\"\n",
        full("application", "trusted_app")
    ))
    .unwrap();
    assert_eq!(
        config.web.unwrap().redirect_uri(),
        "https://mssync.example.com/signin"
    );

    // Plain http to another machine would send the session cookie in the clear.
    for refused in [
        format!(
            "{}{web}url = \"http://mssync.example.com\"\n",
            full("application", "trusted_app")
        ),
        format!(
            "listen = \"0.0.0.0:8787\"\n{}{web}",
            full("application", "trusted_app")
        ),
    ] {
        let error = parse(&refused).unwrap_err();
        assert!(error.to_string().contains("web.url"), "{error}");
    }
    assert!(
        parse(&full("application", "trusted_app"))
            .unwrap()
            .web
            .is_none()
    );
}
