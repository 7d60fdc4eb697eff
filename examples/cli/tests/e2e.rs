//! The `mssync` binary end to end against the simulators: an operator connects the tenant, a user
//! signs in through the loopback redirect (the test plays the browser), sets up, syncs and reads
//! Home as JSON.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::Utc;
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::{DOMAIN, World};
use serde_json::{Value, json};

const SEALING_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="; // 32 bytes, base64

struct Cli {
    dir: tempfile::TempDir,
    world: World,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mssync"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("MSSYNC_CONFIG")
            .env("MSSYNC_ENTRA_CLIENT_SECRET", &self.world.client_secret)
            .env("MSSYNC_ERP_CLIENT_SECRET", &self.world.erp_client_secret)
            .env("MSSYNC_SEALING_KEY", SEALING_KEY);
        command
    }

    /// Runs a command to its end off the async workers (the simulators keep serving).
    async fn run(&self, args: &[&str]) -> String {
        let mut command = self.command(args);
        let label = format!("{args:?}");
        let output = tokio::task::spawn_blocking(move || command.output().expect("mssync runs"))
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{label} failed: {stderr}{stdout}");
        stdout
    }
}

fn write_config(dir: &Path, world: &World) {
    let config = format!(
        r#"
mode = "application"
store_path = "mssync.db"

[entra]
authority = "{authority}"
tenant_id = "{tenant}"
client_id = "{client}"

[graph]
base_url = "{graph}"

[erp]
domain_api_url = "{erp}"
token_endpoint = "{identity}/connect/token"
auth = "trusted_app"
trusted_app_client_id = "{erp_client}"
"#,
        authority = world.entra.authority(),
        tenant = world.tenant,
        client = world.client_id,
        graph = world.graph.base_url(),
        erp = world.erp.odata_root(),
        identity = world.erp.identity_base(),
        erp_client = world.erp_client_id,
    );
    std::fs::write(dir.join("mssync.toml"), config).unwrap();
}

/// The first hop of a browser: where the address redirects to.
async fn location(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302, "{url}");
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_user_sync_through_the_command_line() {
    let world = World::start(Arc::new(Utc::now), 0).await;
    let cli = Cli {
        dir: tempfile::tempdir().unwrap(),
        world,
    };
    write_config(cli.dir.path(), &cli.world);

    // The operator connects the tenant; the tenant admin consents in the browser.
    cli.run(&["service", "set"]).await;
    let consent = cli.run(&["service", "consent-url"]).await;
    let back = location(consent.trim()).await;
    assert!(back.contains("admin_consent=True"), "{back}");
    let permissions: Value =
        serde_json::from_str(&cli.run(&["service", "give-permissions"]).await).unwrap();
    assert_eq!(permissions["missing"], json!([]));
    cli.run(&["service", "grant-domain", DOMAIN]).await;

    // Sign-in: the command prints the address and waits on its loopback redirect.
    let mut signin = cli
        .command(&["signin", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = signin.stdout.take().unwrap();
    let authorize = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    // The person picks their account (login_hint), Entra ID redirects to the loopback address,
    // and the browser follows it to the waiting command.
    let redirect = location(&format!(
        "{}&login_hint={}",
        authorize.trim(),
        cli.world.alice().email
    ))
    .await;
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.to_lowercase().contains("close"), "{page}");
    let status = tokio::task::spawn_blocking(move || signin.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{stderr}");
    assert!(stderr.contains("Signed in as Alice Adams"), "{stderr}");

    let connect: Value = serde_json::from_str(&cli.run(&["service", "connect"]).await).unwrap();
    assert_eq!(
        (connect["token"].clone(), connect["graph"].clone()),
        (json!(true), json!(true))
    );
    cli.run(&[
        "setup",
        "set",
        "--company",
        &cli.world.company,
        "--location",
        &cli.world.location,
        "--time-zone",
        "FLE Standard Time",
    ])
    .await;
    cli.run(&["setup", "job", "calendar", "on"]).await;

    // One item each side, then a sync of every due job.
    let alice = cli.world.alice().clone();
    let mut seed = ActivitySeed::new("From ERP.net", Utc::now() + chrono::Duration::days(2));
    seed.assigned_to = Some(alice.erp_user_id.clone());
    cli.world.erp.seed_activity(seed);
    let start = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT10:00:00");
    let end = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT11:00:00");
    cli.world.graph.seed_event(
        &alice.oid,
        json!({"subject": "From Outlook", "start": {"dateTime": start.to_string(), "timeZone": "UTC"},
               "end": {"dateTime": end.to_string(), "timeZone": "UTC"}}),
    );
    let report: Value = serde_json::from_str(&cli.run(&["sync"]).await).unwrap();
    assert_eq!(report["to_outlook"]["created"], 1, "{report}");
    assert_eq!(report["to_erp"]["created"], 1, "{report}");
    let events: Vec<String> = cli
        .world
        .graph
        .events(&alice.oid)
        .iter()
        .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(events.contains(&"From ERP.net".to_owned()), "{events:?}");

    let home: Value = serde_json::from_str(&cli.run(&["home", "--json"]).await).unwrap();
    assert_eq!(home["state"], "Operational", "{home}");
    assert_eq!(home["email"], alice.email);
    assert_eq!(home["jobs"][0]["last_run"]["to_erp"]["created"], 1);
}
