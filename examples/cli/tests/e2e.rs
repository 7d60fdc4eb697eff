//! The `mssync` binary end to end against the simulators: an operator connects the tenant, a user
//! signs in through the loopback redirect (the test plays the browser), sets up, syncs and reads
//! Home as JSON; on the SQLite store, and again on PostgreSQL (`tests/postgres.sh`).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::postgres::{TestDatabase, test_database};
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::{DOMAIN, World};
use serde_json::{Value, json};

/// The PostgreSQL console's node name and lease time (seconds).
const E2E_NODE: &str = "e2e-node";
const E2E_TTL: i64 = 40;
const SEALING_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="; // 32 bytes, base64

struct Cli {
    dir: tempfile::TempDir,
    world: World,
    /// The PostgreSQL database the console keeps its state in; SQLite when `None`.
    postgres: Option<TestDatabase>,
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
            .env("MSSYNC_SEALING_KEY", SEALING_KEY)
            .env_remove("MSSYNC_STORE_PASSWORD");
        if let Some(password) = self.postgres.as_ref().and_then(TestDatabase::password) {
            command.env("MSSYNC_STORE_PASSWORD", password);
        }
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

fn write_config(dir: &Path, world: &World, store: &str) {
    let config = format!(
        r#"
mode = "application"
{store}

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

/// The simulators and a configured console on which the operator connected the tenant and Alice
/// signed in, set up and turned Calendar on, all through the `mssync` binary.
async fn signed_in_console(postgres: Option<TestDatabase>) -> Cli {
    signed_in_console_with(postgres, 0).await
}

/// [`signed_in_console`] with `extra_users` more users who signed in and set up after Alice, in
/// turn (the last one is the console's current user).
async fn signed_in_console_with(postgres: Option<TestDatabase>, extra_users: usize) -> Cli {
    let world = World::start(Arc::new(Utc::now), extra_users).await;
    // The URL without its password, as a configuration holds it; a node name and a short lease.
    let store = postgres.as_ref().map_or_else(
        || r#"store = "mssync.db""#.to_owned(),
        |db| {
            format!(
                "store = \"{}\"\nnode = \"{E2E_NODE}\"\nlease_ttl_seconds = {E2E_TTL}",
                db.url
            )
        },
    );
    let cli = Cli {
        dir: tempfile::tempdir().unwrap(),
        world,
        postgres,
    };
    write_config(cli.dir.path(), &cli.world, &store);

    // The operator connects the tenant; the tenant admin consents in the browser.
    cli.run(&["service", "set"]).await;
    let consent = cli.run(&["service", "consent-url"]).await;
    let back = location(consent.trim()).await;
    assert!(back.contains("admin_consent=True"), "{back}");
    let permissions: Value =
        serde_json::from_str(&cli.run(&["service", "give-permissions"]).await).unwrap();
    assert_eq!(permissions["missing"], json!([]));
    cli.run(&["service", "grant-domain", DOMAIN]).await;
    for user in cli.world.users.clone() {
        sign_in_and_set_up(&cli, &user.email, &user.name).await;
    }
    cli
}

/// A user signs in through the loopback redirect, sets up and turns Calendar on.
async fn sign_in_and_set_up(cli: &Cli, email: &str, name: &str) {
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
    let redirect = location(&format!("{}&login_hint={}", authorize.trim(), email)).await;
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.to_lowercase().contains("close"), "{page}");
    let status = tokio::task::spawn_blocking(move || signin.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(status.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("Signed in as {name}")), "{stderr}");

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_user_sync_through_the_command_line() {
    operator_and_user_sync(signed_in_console(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_and_user_sync_through_the_command_line_on_postgres() {
    let Some(db) = test_database("cli_sync") else {
        return;
    };
    let cli = signed_in_console(Some(db)).await;
    let shown = cli.run(&["config"]).await;
    assert!(shown.contains("(PostgreSQL)"), "{shown}");
    assert!(shown.contains("store password:   set"), "{shown}");
    let password = cli.postgres.as_ref().unwrap().password().unwrap();
    assert!(!shown.contains(&password), "{shown}");
    operator_and_user_sync(cli).await;
}

async fn operator_and_user_sync(cli: Cli) {
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
    let info = cli.run(&["store-info"]).await;
    assert!(info.contains("status/"), "{info}");
}

/// Starts `mssync sync`, waits until `stuck` says the simulators are holding its answers (it is
/// blocked half way, some writes done), then kills the process (SIGKILL) and reaps it.
async fn sync_killed_when(cli: &Cli, stuck: impl Fn() -> bool) {
    let mut child = cli
        .command(&["sync"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A generous bound, so a run that neither finishes nor reaches the stall fails the test
    // rather than hanging it (the stall comes within seconds even on a slow machine).
    let give_up = std::time::Instant::now() + Duration::from_secs(300);
    while !stuck() {
        if std::time::Instant::now() > give_up {
            child.kill().unwrap();
            panic!("the sync never reached the simulators' stall within 5 minutes");
        }
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            panic!(
                "the sync ended before it was interrupted: {}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    // Reaped: the pid its lease names no longer exists.
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status}");
}

/// Subjects of Alice's Outlook events and of the ERP.net activities, sorted.
fn subjects(world: &World) -> (Vec<String>, Vec<String>) {
    let subject = |v: &Value, field: &str| v[field].as_str().unwrap_or_default().to_owned();
    let mut events: Vec<String> = world
        .graph
        .events(&world.alice().oid)
        .iter()
        .map(|e| subject(e, "subject"))
        .collect();
    let mut activities: Vec<String> = world
        .erp
        .activities()
        .iter()
        .map(|a| subject(a, "Subject"))
        .collect();
    events.sort();
    activities.sort();
    (events, activities)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_half_way_finishes_on_the_next_run_with_no_duplicate() {
    killed_half_way(signed_in_console(None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_half_way_on_postgres_finishes_on_the_next_run_with_no_duplicate() {
    let Some(db) = test_database("cli_killed") else {
        return;
    };
    killed_half_way(signed_in_console(Some(db)).await).await;
}

/// The node name and the lease time of the configuration are what a run's lease records: a run
/// killed (SIGKILL) leaves its lease in the shared database, naming its node, for the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_leaves_a_lease_naming_its_node_for_the_configured_time() {
    let Some(db) = test_database("cli_lease") else {
        return;
    };
    let cli = signed_in_console(Some(db)).await;
    let world = &cli.world;
    let mut seed = ActivitySeed::new("Held", Utc::now() + chrono::Duration::days(1));
    seed.assigned_to = Some(world.alice().erp_user_id.clone());
    world.erp.seed_activity(seed);
    world.graph.stall_after_writes(Some(0));
    let before = Utc::now();
    sync_killed_when(&cli, || world.graph.held_answers() > 0).await;
    world.graph.stall_after_writes(None);
    let leases = cli
        .postgres
        .as_ref()
        .unwrap()
        .sql("SELECT convert_from(value, 'UTF8') FROM mssync.entries WHERE key LIKE 'lease/%'");
    assert_eq!(leases.len(), 1, "{leases:?}");
    let lease: Value = serde_json::from_str(leases[0][0].as_deref().unwrap()).unwrap();
    let holder = lease["holder"].as_str().unwrap();
    assert!(holder.starts_with(&format!("{E2E_NODE}/")), "{lease}");
    let expires: chrono::DateTime<Utc> = lease["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(
        expires > before && expires <= Utc::now() + chrono::Duration::seconds(E2E_TTL),
        "expires {expires}, not within {E2E_TTL} s: {lease}"
    );
}

async fn killed_half_way(cli: Cli) {
    // More creates than the Graph writes that can be in flight at once (4 `$batch`es of 20 and
    // the one after the first answer), so a stalled run cannot have sent them all.
    const ITEMS: usize = 120;
    let world = &cli.world;
    let alice = world.alice().clone();
    let day = Utc::now().date_naive() + chrono::Duration::days(1);
    for i in 0..ITEMS {
        let at = day.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::hours(i as i64);
        let mut seed = ActivitySeed::new(format!("Activity {i:03}"), at);
        seed.assigned_to = Some(alice.erp_user_id.clone());
        world.erp.seed_activity(seed);
        let start = at + chrono::Duration::minutes(30);
        let end = start + chrono::Duration::minutes(20);
        world.graph.seed_event(
            &alice.oid,
            json!({"subject": format!("Event {i:03}"),
                   "start": {"dateTime": start.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"},
                   "end": {"dateTime": end.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"}}),
        );
    }
    let mut expected: Vec<String> = (0..ITEMS)
        .flat_map(|i| [format!("Activity {i:03}"), format!("Event {i:03}")])
        .collect();
    expected.sort();

    // First run: ERP.net is written first, 50 creates to a `$batch`; it stops answering after
    // the first batch (the second is carried out, its answer held) and the process is killed
    // there. Some events became activities, not all; Outlook is untouched yet.
    world.erp.stall_after_writes(Some(1));
    sync_killed_when(&cli, || world.erp.held_answers() > 0).await;
    let (events, activities) = subjects(world);
    assert_eq!(events.len(), ITEMS, "{events:?}");
    assert!(
        ITEMS < activities.len() && activities.len() < 2 * ITEMS,
        "the first run was not interrupted half way: {} activities",
        activities.len()
    );

    // Second run, at once: it takes over the dead process's lease, redoes the ERP.net side
    // without duplicating what the first run wrote unheard, and is killed while Graph holds the
    // answers to its creates.
    world.erp.stall_after_writes(None);
    world.graph.stall_after_writes(Some(1));
    sync_killed_when(&cli, || world.graph.held_answers() > 0).await;
    let (events, activities) = subjects(world);
    assert_eq!(
        activities, expected,
        "ERP.net: each event once as an activity"
    );
    assert!(
        ITEMS < events.len() && events.len() < 2 * ITEMS,
        "the second run was not interrupted half way: {} events",
        events.len()
    );

    // Third run finishes: everything exactly once on each side, nothing lost.
    world.graph.stall_after_writes(None);
    let report: Value = serde_json::from_str(&cli.run(&["sync"]).await).unwrap();
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["checkpoints_advanced"], true, "{report}");
    let (events, activities) = subjects(world);
    assert_eq!(events, expected, "Outlook: each item exactly once");
    assert_eq!(activities, expected, "ERP.net: each item exactly once");

    // A quiet run after it writes nothing: the links are all in place.
    let report: Value =
        serde_json::from_str(&cli.run(&["sync", "--user", &alice.email]).await).unwrap();
    assert_eq!(
        (
            report["to_outlook"]["created"].clone(),
            report["to_erp"]["created"].clone()
        ),
        (json!(0), json!(0)),
        "{report}"
    );
    assert_eq!(subjects(world), (expected.clone(), expected));

    let home: Value = serde_json::from_str(&cli.run(&["home", "--json"]).await).unwrap();
    assert_eq!(home["state"], "Operational", "{home}");
    assert_eq!(home["jobs"][0]["state"], "Operational", "{home}");
    assert!(home.to_string().contains("stopped half way"), "{home}");
}

/// A port free at the moment (the listener binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to a generous bound, so a failure does not hang the suite) for `done`.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(std::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_receives_notifications_syncs_an_outlook_edit_and_stops_on_sigterm() {
    let cli = signed_in_console(None).await;
    let port = free_port();
    let path = cli.dir.path().join("mssync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n{config}"
        ),
    )
    .unwrap();
    cli.world
        .graph
        .deliver_automatically(Duration::from_millis(20));
    let child = cli
        .command(&["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let graph = &cli.world.graph;
    eventually("a subscription validated against serve's listener", || {
        graph.subscriptions().len() == 1
    })
    .await;

    let alice = cli.world.alice().clone();
    let start = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT10:00:00");
    let end = (Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT11:00:00");
    graph.seed_event(
        &alice.oid,
        json!({"subject": "Pushed", "start": {"dateTime": start.to_string(), "timeZone": "UTC"},
               "end": {"dateTime": end.to_string(), "timeZone": "UTC"}}),
    );
    eventually(
        "the new event reached ERP.net through a notification",
        || subjects(&cli.world).1 == ["Pushed"],
    )
    .await;

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("Listening on 127.0.0.1"), "{stderr}");
    assert!(stderr.trim_end().ends_with("Stopped."), "{stderr}");
}

/// Three `mssync serve` nodes on one PostgreSQL database, each with its own node name, listener
/// and a lease of a few seconds: every user's turned-on job runs exactly once on one of them,
/// the runs are spread over the nodes, and a node killed (SIGKILL) in the middle of a run leaves
/// its user to the others, who finish it within the lease time and a scheduler round with no
/// duplicate and no lost change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_serve_nodes_share_one_database_and_finish_a_killed_nodes_work() {
    /// Items each side per user: enough that a run takes long enough to be caught in it.
    const ITEMS: usize = 40;
    const EXTRA_USERS: usize = 5;
    const TTL: u64 = 5;
    let Some(db) = test_database("cli_nodes") else {
        return;
    };
    let cli = signed_in_console_with(Some(db), EXTRA_USERS).await;
    let world = &cli.world;
    let users = world.users.clone();
    let day = Utc::now().date_naive() + chrono::Duration::days(1);
    for (u, user) in users.iter().enumerate() {
        for i in 0..ITEMS {
            let at =
                day.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::hours(i as i64);
            let mut seed = ActivitySeed::new(format!("U{u} activity {i:03}"), at);
            seed.assigned_to = Some(user.erp_user_id.clone());
            world.erp.seed_activity(seed);
            let start = at + chrono::Duration::minutes(30);
            let end = start + chrono::Duration::minutes(20);
            world.graph.seed_event(
                &user.oid,
                json!({"subject": format!("U{u} event {i:03}"),
                       "start": {"dateTime": start.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"},
                       "end": {"dateTime": end.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"}}),
            );
        }
    }

    // Three nodes: the console's configuration with its own node name, lease time and listener,
    // one job at a time each (with more, the first node up could take all six users at once).
    let names = ["node-1", "node-2", "node-3"];
    let mut nodes = Vec::new();
    for name in names {
        let path = node_config(&cli, name, TTL, true, "concurrent_jobs = 1");
        nodes.push(Node::start(&cli, name, &path));
    }

    // One node is caught in the middle of a run (its lease is in the database) and killed.
    let postgres = cli.postgres.as_ref().unwrap();
    let holders = || -> Vec<String> {
        postgres
            .sql("SELECT convert_from(value, 'UTF8') FROM mssync.entries WHERE key LIKE 'lease/%'")
            .iter()
            .filter_map(|row| {
                let lease: Value = serde_json::from_str(row[0].as_deref()?).ok()?;
                let holder = lease["holder"].as_str()?;
                Some(holder.split('/').next()?.to_owned())
            })
            .collect()
    };
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    let victim = loop {
        if let Some(name) = holders().into_iter().find(|n| names.contains(&n.as_str())) {
            break name;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "no node was ever seen in a run"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let victim = nodes.iter().position(|n| n.name == victim).unwrap();
    let killed_at = std::time::Instant::now();
    let killed = nodes.remove(victim).kill().await;

    // Everything arrives, exactly once on each side, for every user.
    let mut expected_activities: Vec<String> = Vec::new();
    for u in 0..users.len() {
        for i in 0..ITEMS {
            expected_activities.push(format!("U{u} activity {i:03}"));
            expected_activities.push(format!("U{u} event {i:03}"));
        }
    }
    expected_activities.sort();
    let all_synced = || {
        let mut activities: Vec<String> = world
            .erp
            .activities()
            .iter()
            .map(|a| a["Subject"].as_str().unwrap_or_default().to_owned())
            .collect();
        activities.sort();
        activities == expected_activities
            && users.iter().enumerate().all(|(u, user)| {
                let mut events: Vec<String> = world
                    .graph
                    .events(&user.oid)
                    .iter()
                    .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
                    .collect();
                events.sort();
                let mut expected: Vec<String> = (0..ITEMS)
                    .flat_map(|i| {
                        [
                            format!("U{u} activity {i:03}"),
                            format!("U{u} event {i:03}"),
                        ]
                    })
                    .collect();
                expected.sort();
                events == expected
            })
    };
    eventually("every user's items on both sides exactly once", all_synced).await;
    // The lease time plus one scheduler round (30 s) and the runs themselves, generously.
    let took = killed_at.elapsed();
    assert!(
        took <= Duration::from_secs(TTL + 30 + 60),
        "the others finished the killed node's work after {took:?}"
    );

    // The survivors stop gracefully; every completed run is in some node's output.
    let mut finished = Vec::new();
    for node in nodes {
        finished.push(node.stop().await);
    }
    finished.push(killed);
    let mut runs_per_user = std::collections::BTreeMap::new();
    let mut nodes_that_ran = std::collections::BTreeSet::new();
    for (name, output) in &finished {
        for user in &users {
            let runs = output
                .lines()
                .filter(|l| l.starts_with(&format!("Calendar of {}:", user.oid)))
                .count();
            *runs_per_user.entry(user.email.clone()).or_insert(0) += runs;
            if runs > 0 {
                nodes_that_ran.insert(name.clone());
            }
        }
    }
    eprintln!(
        "killed {} mid-run; the others finished within {took:?}; runs per user {runs_per_user:?} on {nodes_that_ran:?}",
        finished.last().unwrap().0
    );
    assert!(
        runs_per_user.values().all(|&runs| runs == 1),
        "each user's job ran once, to its end: {runs_per_user:?}\n{finished:#?}"
    );
    assert!(
        nodes_that_ran.len() > 1,
        "the runs were spread over the nodes: {nodes_that_ran:?}"
    );
    assert!(all_synced(), "nothing moved after the runs ended");

    // Home names the node that ran the signed-in user's job, and so does the log.
    let home: Value = serde_json::from_str(&cli.run(&["home", "--json"]).await).unwrap();
    let node = home["jobs"][0]["last_run"]["node"]
        .as_str()
        .unwrap_or_default();
    assert!(names.contains(&node), "{home}");
    assert!(
        home["log"].as_array().unwrap().iter().any(|l| l
            .as_str()
            .unwrap()
            .ends_with(&format!("Run on node '{node}'."))),
        "{home}"
    );
}

/// A node's configuration beside the console's: its own name, lease time (seconds) and, when
/// `listen` is set, a listener on a free port that Graph reaches at the same address; `extra`
/// lines go first.
fn node_config(cli: &Cli, name: &str, ttl: u64, listen: bool, extra: &str) -> std::path::PathBuf {
    let base = std::fs::read_to_string(cli.dir.path().join("mssync.toml")).unwrap();
    let config = base
        .replace(
            &format!("node = \"{E2E_NODE}\""),
            &format!("node = \"{name}\""),
        )
        .replace(
            &format!("lease_ttl_seconds = {E2E_TTL}"),
            &format!("lease_ttl_seconds = {ttl}"),
        );
    let listener = match listen {
        true => {
            let port = free_port();
            format!("listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n")
        }
        false => String::new(),
    };
    let path = cli.dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, format!("{extra}\n{listener}{config}")).unwrap();
    path
}

/// How many runs of each user's Calendar the nodes' outputs report (`Calendar of {oid}: ...`).
fn runs_per_user(cli: &Cli, outputs: &[String]) -> Vec<usize> {
    cli.world
        .users
        .iter()
        .map(|user| {
            let prefix = format!("Calendar of {}:", user.oid);
            outputs
                .iter()
                .map(|o| o.lines().filter(|l| l.starts_with(&prefix)).count())
                .sum()
        })
        .collect()
}

/// Three nodes with listeners on one database; a change in Alice's calendar is notified by
/// Graph to the node whose address her subscription carries: the change is run exactly once,
/// by whichever node is free, and reaches ERP.net once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_received_by_one_node_is_run_once_by_some_node() {
    let Some(db) = test_database("cli_nodes_notified") else {
        return;
    };
    let cli = signed_in_console_with(Some(db), 2).await;
    let world = &cli.world;
    let names = ["node-a", "node-b", "node-c"];
    let nodes: Vec<Node> = names
        .iter()
        .map(|name| Node::start(&cli, name, &node_config(&cli, name, 5, true, "")))
        .collect();
    let outputs = || -> Vec<String> { nodes.iter().map(Node::output).collect() };
    // Every user's first run (somewhere), each leaving a subscription behind.
    eventually("every user ran once and is subscribed", || {
        runs_per_user(&cli, &outputs()).iter().all(|&n| n == 1)
            && world.graph.subscriptions().len() == world.users.len()
    })
    .await;

    let alice = world.alice().clone();
    let subscription = world
        .graph
        .subscriptions()
        .into_iter()
        .find(|s| s.user == alice.oid)
        .expect("Alice's subscription");
    let receiver = nodes
        .iter()
        .find(|n| {
            std::fs::read_to_string(&n.config)
                .unwrap()
                .contains(&format!(
                    "public_url = \"{}",
                    subscription
                        .notification_url
                        .trim_end_matches("/graph/notifications")
                ))
        })
        .expect("the node Graph notifies")
        .name
        .clone();
    let start = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%dT10:00:00");
    let end = (Utc::now() + chrono::Duration::days(2)).format("%Y-%m-%dT11:00:00");
    world.graph.seed_event(
        &alice.oid,
        json!({"subject": "Notified once", "start": {"dateTime": start.to_string(), "timeZone": "UTC"},
               "end": {"dateTime": end.to_string(), "timeZone": "UTC"}}),
    );
    let delivered = world.graph.deliver_notifications().await;
    assert_eq!(
        delivered.iter().map(|d| (d.1, d.2)).collect::<Vec<_>>(),
        [(1, 202)],
        "one notification, accepted: {delivered:?}"
    );
    eventually("the notified change reached ERP.net", || {
        subjects(world).1.iter().any(|s| s == "Notified once")
    })
    .await;
    // A moment for a second run, were there one to come.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let mut finished = Vec::new();
    for node in nodes {
        finished.push(node.stop().await);
    }
    let outputs: Vec<String> = finished.iter().map(|(_, o)| o.clone()).collect();
    let runs = runs_per_user(&cli, &outputs);
    let ran_it: Vec<&String> = finished
        .iter()
        .filter(|(_, o)| {
            o.lines()
                .filter(|l| l.starts_with(&format!("Calendar of {}:", alice.oid)))
                .count()
                > 0
        })
        .map(|(n, _)| n)
        .collect();
    eprintln!("notified to {receiver}; Alice's runs on {ran_it:?}; runs per user {runs:?}");
    assert_eq!(
        runs[0], 2,
        "Alice: the first run and the notified one: {finished:#?}"
    );
    assert!(
        runs[1..].iter().all(|&n| n == 1),
        "the others were not run again: {runs:?}"
    );
    let (events, activities) = subjects(world);
    for side in [&events, &activities] {
        assert_eq!(
            side.iter().filter(|s| *s == "Notified once").count(),
            1,
            "exactly once on each side: {side:?}"
        );
    }
}

/// One node with one job at a time starts on six users with many items; a second node joins
/// while it runs and takes work; the first is stopped (SIGTERM) in the middle of a run, which
/// it finishes before it stops. Every user ran exactly once, nothing is lost or doubled on
/// either simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_added_while_running_takes_work_and_one_stopped_cleanly_loses_nothing() {
    const ITEMS: usize = 30;
    let Some(db) = test_database("cli_nodes_join") else {
        return;
    };
    let cli = signed_in_console_with(Some(db), 5).await;
    let world = &cli.world;
    let users = world.users.clone();
    let day = Utc::now().date_naive() + chrono::Duration::days(1);
    for (u, user) in users.iter().enumerate() {
        for i in 0..ITEMS {
            let at =
                day.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::hours(i as i64);
            let mut seed = ActivitySeed::new(format!("U{u} activity {i:03}"), at);
            seed.assigned_to = Some(user.erp_user_id.clone());
            world.erp.seed_activity(seed);
            let start = at + chrono::Duration::minutes(30);
            let end = start + chrono::Duration::minutes(20);
            world.graph.seed_event(
                &user.oid,
                json!({"subject": format!("U{u} event {i:03}"),
                       "start": {"dateTime": start.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"},
                       "end": {"dateTime": end.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"}}),
            );
        }
    }
    let expected: Vec<String> = {
        let mut all: Vec<String> = (0..users.len())
            .flat_map(|u| {
                (0..ITEMS).flat_map(move |i| {
                    [
                        format!("U{u} activity {i:03}"),
                        format!("U{u} event {i:03}"),
                    ]
                })
            })
            .collect();
        all.sort();
        all
    };
    let postgres = cli.postgres.as_ref().unwrap();
    let holders = || -> Vec<String> {
        postgres
            .sql("SELECT convert_from(value, 'UTF8') FROM mssync.entries WHERE key LIKE 'lease/%'")
            .iter()
            .filter_map(|row| {
                let lease: Value = serde_json::from_str(row[0].as_deref()?).ok()?;
                let holder = lease["holder"].as_str()?;
                Some(holder.split('/').next()?.to_owned())
            })
            .collect()
    };

    let first = Node::start(
        &cli,
        "node-1",
        &node_config(&cli, "node-1", 5, false, "concurrent_jobs = 1"),
    );
    eventually("node-1 in a run", || {
        holders().iter().any(|h| h == "node-1")
    })
    .await;
    let second = Node::start(
        &cli,
        "node-2",
        &node_config(&cli, "node-2", 5, false, "concurrent_jobs = 2"),
    );
    eventually("node-2 took a job", || {
        second
            .output()
            .lines()
            .any(|l| l.starts_with("Calendar of "))
    })
    .await;
    // node-1 is stopped while it holds a run: it finishes it first.
    eventually("node-1 in a run again", || {
        holders().iter().any(|h| h == "node-1")
            || runs_per_user(&cli, &[first.output(), second.output()])
                .iter()
                .all(|&n| n == 1)
    })
    .await;
    let first = first.stop().await;

    let all_synced = || {
        let mut activities: Vec<String> = world
            .erp
            .activities()
            .iter()
            .map(|a| a["Subject"].as_str().unwrap_or_default().to_owned())
            .filter(|s| s.starts_with('U'))
            .collect();
        activities.sort();
        let mut events: Vec<String> = users
            .iter()
            .flat_map(|user| world.graph.events(&user.oid))
            .map(|e| e["subject"].as_str().unwrap_or_default().to_owned())
            .filter(|s| s.starts_with('U'))
            .collect();
        events.sort();
        activities == expected && events == expected
    };
    eventually("every user's items on both sides exactly once", all_synced).await;
    let second = second.stop().await;
    let runs = runs_per_user(&cli, &[first.1.clone(), second.1.clone()]);
    let ran_by = |output: &String| -> usize {
        runs_per_user(&cli, std::slice::from_ref(output))
            .iter()
            .sum()
    };
    let (by_first, by_second) = (ran_by(&first.1), ran_by(&second.1));
    eprintln!("runs per user {runs:?}; node-1 ran {by_first}, node-2 ran {by_second}");
    assert!(
        runs.iter().all(|&n| n == 1),
        "each user once: {runs:?}\n{first:#?}\n{second:#?}"
    );
    assert!(by_second > 0, "the node added while running took work");
    assert!(all_synced(), "nothing moved after the runs ended");
}

/// A running `mssync serve` and what it has written to stderr so far.
struct Node {
    name: String,
    config: std::path::PathBuf,
    child: std::process::Child,
    output: Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Node {
    fn start(cli: &Cli, name: &str, config: &Path) -> Self {
        let mut child = cli
            .command(&["--config", config.to_str().unwrap(), "serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let output = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = output.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut sink = sink.lock().unwrap();
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        Self {
            name: name.to_owned(),
            config: config.to_owned(),
            child,
            output,
            reader,
        }
    }

    /// What it has written so far.
    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// SIGKILL, reaped; its name and output.
    async fn kill(self) -> (String, String) {
        let Self {
            name,
            mut child,
            output,
            reader,
            ..
        } = self;
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "{status}");
        collect(name, output, reader).await
    }

    /// SIGTERM, waits for its end; its name and output.
    async fn stop(self) -> (String, String) {
        let Self {
            name,
            child,
            output,
            reader,
            ..
        } = self;
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let mut child = child;
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        let (name, output) = collect(name, output, reader).await;
        assert!(status.success(), "{name}: {output}");
        assert!(output.trim_end().ends_with("Stopped."), "{name}: {output}");
        (name, output)
    }
}

/// A node's name and all it wrote, once its stderr has closed.
async fn collect(
    name: String,
    output: Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
) -> (String, String) {
    tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    let output = output.lock().unwrap().clone();
    (name, output)
}
