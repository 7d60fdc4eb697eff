//! The `mssync` binary as a user runs it: commands, exit statuses, messages, and secrets kept out
//! of every output.

use std::path::Path;
use std::process::{Command, Output};

use futures::executor::block_on;
use mssync_cli::SqliteStore;
use mssync_core::host::{Expect, Store, WriteBatch};

const SECRETS: [(&str, &str); 5] = [
    ("MSSYNC_ENTRA_CLIENT_SECRET", "entra-SECRET-4f9a1c"),
    ("MSSYNC_ERP_CLIENT_SECRET", "erp-SECRET-77b2e0"),
    ("MSSYNC_ERP_PAT", "enrt_PAT-SECRET-a1b2c3"),
    // 32 bytes as base64: distinctive enough to search for.
    (
        "MSSYNC_SEALING_KEY",
        "U0VBTElORy1LRVktU0VDUkVULTAxMjM0NTY3ODlhYmM=",
    ),
    ("MSSYNC_ENTRA_CERTIFICATE_PEM", ""),
];

fn mssync(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mssync"));
    command.args(args).current_dir(dir);
    for var in ["MSSYNC_CONFIG"]
        .into_iter()
        .chain(SECRETS.iter().map(|(name, _)| *name))
    {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("mssync runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

fn write_config(dir: &Path, erp_auth: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
mode = "application"
store_path = "mssync.db"

[entra]
authority = "http://127.0.0.1:9001"
tenant_id = "7f3c1a2b-1111-4222-8333-944455556666"
client_id = "0a1b2c3d-aaaa-4bbb-8ccc-ddddeeeeffff"

[graph]
base_url = "http://127.0.0.1:9002/v1.0"

[erp]
domain_api_url = "http://127.0.0.1:9003/api/domain/odata"
token_endpoint = "http://127.0.0.1:9003/id/connect/token"
auth = "{erp_auth}"
trusted_app_client_id = "https://mssync.example.com"
"#
    );
    let path = dir.join("mssync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, _) = run(&mut mssync(dir.path(), &["--help"]));
    assert!(output.status.success());
    for command in [
        "service",
        "signin",
        "setup",
        "sync",
        "home",
        "watch",
        "demo",
        "bench",
        "time-zones",
        "config",
        "store-info",
        "--config",
    ] {
        assert!(
            stdout.contains(command),
            "{command} missing from:\n{stdout}"
        );
    }
    let (output, stdout, _) = run(&mut mssync(dir.path(), &["service", "--help"]));
    assert!(output.status.success());
    for command in [
        "show",
        "set",
        "consent-url",
        "connect",
        "give-permissions",
        "grant-domain",
        "revoke-domain",
    ] {
        assert!(
            stdout.contains(command),
            "{command} missing from:\n{stdout}"
        );
    }
    let (_, stdout, _) = run(&mut mssync(dir.path(), &["setup", "--help"]));
    for command in ["show", "set", "job", "full-refresh", "policy"] {
        assert!(
            stdout.contains(command),
            "{command} missing from:\n{stdout}"
        );
    }
    let (_, stdout, _) = run(&mut mssync(dir.path(), &["sync", "--help"]));
    assert!(
        stdout.contains("--user") && stdout.contains("--dry-run"),
        "{stdout}"
    );
    let (_, stdout, _) = run(&mut mssync(dir.path(), &["signin", "--help"]));
    assert!(stdout.contains("--no-browser"), "{stdout}");
}

#[test]
fn a_missing_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // No --config, no MSSYNC_CONFIG, no ./mssync.toml.
    let (output, stdout, stderr) = run(&mut mssync(dir.path(), &["store-info"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("error 605: no configuration file at mssync.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--config") && stderr.contains("MSSYNC_CONFIG"),
        "{stderr}"
    );

    let (output, _, stderr) = run(&mut mssync(
        dir.path(),
        &["config", "--config", "/nonexistent/mssync.toml"],
    ));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("/nonexistent/mssync.toml"), "{stderr}");

    // MSSYNC_CONFIG is read too.
    let (output, _, stderr) =
        run(mssync(dir.path(), &["config"]).env("MSSYNC_CONFIG", "elsewhere.toml"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("elsewhere.toml"), "{stderr}");
}

#[test]
fn an_empty_mssync_config_counts_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_config(dir.path(), "none");
    let custom = dir.path().join("custom.toml");
    std::fs::rename(written, &custom).unwrap();
    let path = custom.to_str().unwrap();
    // With --config: the flag is used (the file is read: its store is what is missing), the
    // empty variable ignored.
    let (output, _, stderr) =
        run(mssync(dir.path(), &["store-info", "--config", path]).env("MSSYNC_CONFIG", ""));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("error 106: no store file at"),
        "{stderr}"
    );
    // Without: the default file, as if the variable were not set.
    let (output, _, stderr) = run(mssync(dir.path(), &["store-info"]).env("MSSYNC_CONFIG", ""));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("error 605: no configuration file at mssync.toml"),
        "{stderr}"
    );
}

#[test]
fn a_missing_field_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "none");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("base_url", "# base_url");
    std::fs::write(&path, text).unwrap();
    let (output, _, stderr) = run(&mut mssync(dir.path(), &["store-info"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("error 605: `graph.base_url` is missing"),
        "{stderr}"
    );
}

#[test]
fn time_zones_lists_windows_display_names() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, _) = run(&mut mssync(dir.path(), &["time-zones"]));
    assert!(output.status.success());
    let helsinki = stdout
        .lines()
        .find(|l| l.contains("(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"))
        .expect("the FLE zone is listed");
    assert!(helsinki.starts_with("FLE Standard Time"), "{helsinki}");
    assert!(stdout.lines().count() > 100);
}

#[test]
fn bench_prints_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = run(mssync(dir.path(), &["bench"])
        .env("MSSYNC_BENCH_ITEMS", "30")
        .env("MSSYNC_BENCH_USERS", "5"));
    assert!(output.status.success(), "{stderr}");
    for row in [
        "initial sync 30+30: Graph requests",
        "creates at 50 ms: wall time",
        "CPU per synced item, mssync process only",
        "peak memory, mssync process only",
        "idle round: CPU per user with nothing to do, mssync process only",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in:\n{stdout}");
    }
    let quiet = stdout
        .lines()
        .find(|l| l.starts_with("no-change sync: Graph requests"))
        .unwrap();
    assert!(
        quiet.ends_with("1.00x"),
        "a quiet sync reads Graph once: {quiet}"
    );
    // Every idle user was due and ran, reading no more than a quiet run must (Graph once each,
    // and the tenant's ERP.net feed once for all five).
    let round = stdout
        .lines()
        .find(|l| l.starts_with("idle round of 5 users"))
        .unwrap();
    let fields: Vec<&str> = round.split_whitespace().rev().take(5).collect();
    assert_eq!(fields, ["1.00x", "1.20", "5,", "1.20", "5,"], "{round}");
    let erp = stdout
        .lines()
        .find(|l| l.starts_with("quiet round of 5 users: ERP.net requests"))
        .unwrap();
    assert!(erp.ends_with("1.00x"), "one feed read: {erp}");
}

#[test]
fn console_commands_work_on_the_configured_store() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "none");
    let key = SECRETS[3];
    let secret = SECRETS[0];
    let mssync = |dir: &Path, args: &[&str]| {
        let mut command = mssync(dir, args);
        command.env(key.0, key.1).env(secret.0, secret.1);
        command
    };
    // Service on a fresh store: nothing set yet, shown as JSON.
    let (output, stdout, stderr) = run(&mut mssync(dir.path(), &["service", "show"]));
    assert!(output.status.success(), "{stderr}");
    let view: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["mode"], "application");
    assert_eq!(view["tenant_id"], serde_json::Value::Null);
    // A domain grant is stored and shown back.
    let (output, stdout, stderr) = run(&mut mssync(
        dir.path(),
        &["service", "grant-domain", "Contoso.Example"],
    ));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("contoso.example"), "{stdout}");
    let (_, _, stderr) = run(&mut mssync(
        dir.path(),
        &["service", "grant-domain", "not a domain"],
    ));
    assert!(stderr.starts_with("error 101: "), "{stderr}");
    // User commands need a sign-in first, and say so.
    for args in [
        &["home"][..],
        &["setup", "show"],
        &["sync", "--user", "nobody@contoso.example"],
    ] {
        let (output, _, stderr) = run(&mut mssync(dir.path(), args));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr.contains("mssync signin"), "{args:?}: {stderr}");
    }
    // Nothing is due on a store without users.
    let (output, _, stderr) = run(&mut mssync(dir.path(), &["sync"]));
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("No job is due"), "{stderr}");
}

#[test]
fn demo_runs_the_whole_story_on_the_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = run(&mut mssync(dir.path(), &["demo"]));
    assert!(output.status.success(), "{stderr}");
    for expected in [
        "connected (token ok, Graph ok)",
        "signed in with Microsoft",
        "First sync: to Outlook 3 created",
        "to ERP.net 6 created",
        "1 conflict(s)",
        "Quiet sync: to Outlook 0 created, 0 updated, 0 deleted; to ERP.net 0 created, 0 updated, 0 voided",
        "(Graph requests 1, ERP.net requests 1:",
        "State: Operational",
        "WRN] Synchronization conflict",
        "Mail sync: 3 messages in ERP.net's mailbox (Inbox, Sent, Projects), 1 attachment kept as a link",
        "Mail sync: 1 marked read in Outlook (read there now: yes)",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn store_info_counts_keys_by_prefix() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "none");
    let store = SqliteStore::open(dir.path().join("mssync.db")).unwrap();
    let mut batch = WriteBatch::new();
    for key in [
        "users/a/setup",
        "users/b/setup",
        "users/b/token",
        "service",
        "log/1",
    ] {
        batch = batch.put(key, b"x".to_vec(), Expect::Any);
    }
    block_on(store.commit(batch)).unwrap();

    let (output, stdout, stderr) = run(&mut mssync(dir.path(), &["store-info"]));
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("store: ") && lines[0].ends_with("mssync.db (SQLite)"),
        "{stdout}"
    );
    assert_eq!(lines[1], "keys:  5");
    let counts: Vec<Vec<&str>> = lines[2..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(counts, [["log/", "1"], ["service", "1"], ["users/", "3"]]);

    let (output, stdout, _) = run(&mut mssync(
        dir.path(),
        &["store-info", "--prefix", "users/"],
    ));
    assert!(output.status.success());
    assert!(stdout.contains("keys under \"users/\": 3"), "{stdout}");
    assert!(stdout.contains("users/b/  2"), "{stdout}");
}

#[test]
fn store_info_without_a_store_file_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "none");
    let (output, _, stderr) = run(&mut mssync(dir.path(), &["store-info"]));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with("error 106: no store file at"),
        "{stderr}"
    );
    assert!(!dir.path().join("mssync.db").exists());
}

#[test]
fn secrets_from_the_environment_never_appear_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "trusted_app");
    let with_secrets = |args: &[&str]| {
        let mut command = mssync(dir.path(), args);
        for (name, value) in SECRETS {
            if !value.is_empty() {
                command.env(name, value);
            }
        }
        run(&mut command)
    };
    let mut outputs = Vec::new();
    let (output, stdout, stderr) = with_secrets(&["config"]);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("entra credential: client secret (set)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("erp credential:   client secret (set)"),
        "{stdout}"
    );
    outputs.push(stdout + &stderr);
    for args in [
        &["--help"][..],
        &["store-info"],
        &["sync"],
        &["signin"],
        &["service", "show"],
        &["home", "--json"],
        &["config", "--config", "missing.toml"],
    ] {
        let (_, stdout, stderr) = with_secrets(args);
        outputs.push(stdout + &stderr);
    }
    // A malformed key is refused without echoing it.
    let mut command = mssync(dir.path(), &["config"]);
    command
        .env("MSSYNC_ENTRA_CLIENT_SECRET", "entra-SECRET-4f9a1c")
        .env("MSSYNC_ERP_CLIENT_SECRET", "erp-SECRET-77b2e0")
        .env("MSSYNC_SEALING_KEY", "too-short-SECRET-key");
    let (output, stdout, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr.contains("MSSYNC_SEALING_KEY"), "{stderr}");
    outputs.push(stdout + &stderr);

    for text in &outputs {
        for (_, secret) in SECRETS.iter().filter(|(_, v)| !v.is_empty()) {
            assert!(!text.contains(secret), "a secret leaked:\n{text}");
        }
        assert!(
            !text.contains("too-short-SECRET-key"),
            "a secret leaked:\n{text}"
        );
    }
}

#[test]
fn secrets_are_not_accepted_as_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _, stderr) = run(&mut mssync(
        dir.path(),
        &["service", "set", "--client-secret", "s3cr3t"],
    ));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--client-secret"), "{stderr}");
}

/// Without a PostgreSQL server the nodes bench says its rows were skipped and why, and succeeds.
#[test]
fn bench_nodes_without_a_server_skips_its_rows_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let (output, stdout, stderr) = run(mssync(dir.path(), &["bench-nodes"])
        .env_remove("MSSYNC_TEST_POSTGRES_URL")
        .env_remove("MSSYNC_BENCH_NODE_USERS"));
    assert!(output.status.success(), "{stderr}");
    for row in [
        "3 nodes, 1,000 users, one round: runs per user",
        "node killed mid-round: users finished by the others within",
        "3 nodes vs 1 node: round wall time",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(row) && l.ends_with("skipped")),
            "{stdout}"
        );
    }
    assert!(
        stdout.contains("MSSYNC_TEST_POSTGRES_URL is not set"),
        "{stdout}"
    );
}
