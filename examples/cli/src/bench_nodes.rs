//! `mssync bench-nodes`: several nodes on one PostgreSQL database, each running the scheduler of
//! `mssync serve` ([`crate::serve::schedule`]) with an application of its own over a store
//! connection of its own, against the embedded simulators. Each node is a thread with its own
//! runtime, as a process would be; killing one drops its runs where they stand, leaving its
//! claims and leases in the database as a dead process does.
//!
//! The server is the tests' own (`tests/postgres.sh`, `MSSYNC_TEST_POSTGRES_URL`); the bench
//! makes a database of its own there and drops it at the end. Without a server the rows are
//! skipped, saying why.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use mssync_core::app::{App, HomeView};
use mssync_core::host::{Clock, Host};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::world::World;
use tokio::sync::{Notify, oneshot};

use crate::http::ReqwestHttp;
use crate::store::{PostgresStore, PostgresUrl};

/// The server's URL (a role that may create databases), as `tests/postgres.sh` exports it.
const SERVER_VAR: &str = "MSSYNC_TEST_POSTGRES_URL";
/// The lease time of the bench's nodes: short, so a killed node's users come back in seconds.
const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often an idle node looks for due jobs (`mssync serve` looks every 30 s).
const TICK: Duration = Duration::from_secs(1);
/// Jobs each node runs at once (`concurrent_jobs`' default).
const CONCURRENT_JOBS: usize = crate::config::DEFAULT_CONCURRENT_JOBS;
/// The schedule's period: each round starts this much later on the shared clock.
const ROUND_PERIOD: Duration = Duration::from_secs(15 * 60 + 1);
const SEALING_KEY: [u8; 32] = [9u8; 32];

/// Users in the rows (`MSSYNC_BENCH_NODE_USERS` overrides it, for a quick smoke run).
fn users() -> usize {
    std::env::var("MSSYNC_BENCH_NODE_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000)
        .max(3)
}

fn internal(e: impl std::fmt::Display) -> PublicError {
    PublicError::new(ErrorCode::Internal, e.to_string())
}

/// Wall time moved on by whole schedule periods, shared by the nodes and the simulators: the
/// rounds come due at once, and leases still expire in real seconds.
struct ShiftedClock {
    shift: Mutex<chrono::Duration>,
}

impl ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.shift.lock().unwrap()
    }

    fn shift(&self, by: Duration) {
        *self.shift.lock().unwrap() += chrono::Duration::from_std(by).expect("a short shift");
    }
}

struct NodeClock(Arc<ShiftedClock>);

#[async_trait::async_trait(?Send)]
impl Clock for NodeClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await
    }
}

/// What the nodes share: the simulators, the clock, the database.
struct Cluster {
    world: World,
    clock: Arc<ShiftedClock>,
    url: PostgresUrl,
    /// Signs users in and reads Home; never runs a job.
    console: App,
    users: Vec<String>,
}

/// A node: a thread with its own runtime, application and connections.
struct Node {
    stop: Option<oneshot::Sender<()>>,
    kill: Option<oneshot::Sender<()>>,
    /// Runs it finished (successful or not) since it started.
    finished: Arc<AtomicUsize>,
    errors: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Cluster {
    fn app(&self, runner: &str) -> Result<App, PublicError> {
        let store = PostgresStore::connect(&self.url, None).map_err(internal)?;
        let host = Host {
            http: Arc::new(ReqwestHttp::new()),
            store: Arc::new(store),
            clock: Arc::new(NodeClock(self.clock.clone())),
        };
        let mut config = self.world.app_config(runner);
        config.lease_ttl = LEASE_TTL;
        App::with_config(host, config, SEALING_KEY)
    }

    /// Starts `names`, each connected and waiting, each running up to `concurrent` jobs at
    /// once; they begin together when this returns.
    fn start_nodes(&self, names: &[&str], concurrent: usize) -> Result<Vec<Node>, PublicError> {
        let go = Arc::new(Barrier::new(names.len() + 1));
        let mut nodes = Vec::new();
        for name in names {
            let app = self.app(&format!("{name}/{}", std::process::id()))?;
            let (stop, stopped) = oneshot::channel::<()>();
            let (kill, killed) = oneshot::channel::<()>();
            let finished = Arc::new(AtomicUsize::new(0));
            let errors = Arc::new(Mutex::new(Vec::new()));
            let (count, failures, go) = (finished.clone(), errors.clone(), go.clone());
            let thread = std::thread::Builder::new()
                .name(format!("bench-{name}"))
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for a node");
                    go.wait();
                    runtime.block_on(async move {
                        let wake = Notify::new();
                        let log = |line: String| {
                            if line.starts_with("error") {
                                failures.lock().unwrap().push(line);
                            }
                            count.fetch_add(1, Ordering::Relaxed);
                        };
                        let stop = async {
                            let _ = stopped.await;
                        };
                        let scheduler =
                            crate::serve::schedule(&app, concurrent, TICK, &wake, stop, log);
                        // Killed: the scheduler and its runs are dropped where they stand.
                        tokio::select! {
                            () = scheduler => {}
                            _ = killed => {}
                        }
                    });
                })
                .map_err(internal)?;
            nodes.push(Node {
                stop: Some(stop),
                kill: Some(kill),
                finished,
                errors,
                thread: Some(thread),
            });
        }
        go.wait();
        Ok(nodes)
    }

    /// The next round comes due for every user (the clock moves on one period).
    fn next_round(&self) -> DateTime<Utc> {
        self.clock.shift(ROUND_PERIOD);
        self.world.erp.set_now(self.clock.now());
        self.clock.now()
    }

    /// Waits until no job is due and `finished()` counts at least one run per user.
    async fn until_done(&self, finished: impl Fn() -> usize) -> Result<(), PublicError> {
        let give_up = Instant::now() + Duration::from_secs(1_800);
        loop {
            if finished() >= self.users.len() && self.console.due_jobs_now().await?.is_empty() {
                return Ok(());
            }
            if Instant::now() > give_up {
                return Err(internal("the round did not end within 30 minutes"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Each user's runs since `since`, read from Home: the log lines `Run on node '...'.`.
    async fn runs_per_user(&self, since: DateTime<Utc>) -> Result<Vec<usize>, PublicError> {
        // Home's log has minute times: a round starts a whole period after the last one.
        let since = since - chrono::Duration::seconds(60);
        let mut runs = Vec::new();
        for user in &self.users {
            let home: HomeView = self.console.home(user).await?;
            runs.push(
                home.log
                    .iter()
                    .filter(|line| line.contains("] Run on node '"))
                    .filter(|line| logged_at(line).is_some_and(|at| at > since))
                    .count(),
            );
        }
        Ok(runs)
    }
}

/// The time of a Home log line, `[2024-02-16 07:35Z INF] ...`.
fn logged_at(line: &str) -> Option<DateTime<Utc>> {
    let stamp = line.strip_prefix('[')?.get(..17)?;
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%MZ")
        .ok()
        .map(|t| t.and_utc())
}

impl Node {
    fn finished(&self) -> usize {
        self.finished.load(Ordering::Relaxed)
    }

    /// Stops it as SIGTERM stops `mssync serve`: the runs under way finish first.
    fn stop(mut self) -> Vec<String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join()
    }

    /// Kills it: its runs stop half way, their claims and leases stay in the database.
    fn kill(mut self) -> Vec<String> {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.join()
    }

    fn join(&mut self) -> Vec<String> {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.errors.lock().unwrap())
    }
}

/// One round on `names` (each running up to `concurrent` jobs at once): returns its wall time
/// and each user's runs in it.
async fn round(
    cluster: &Cluster,
    names: &[&str],
    concurrent: usize,
) -> Result<(Duration, Vec<usize>, Vec<String>), PublicError> {
    let since = cluster.next_round();
    let nodes = cluster.start_nodes(names, concurrent)?;
    let started = Instant::now();
    cluster
        .until_done(|| nodes.iter().map(Node::finished).sum())
        .await?;
    let wall = started.elapsed();
    let errors = nodes.into_iter().flat_map(Node::stop).collect();
    Ok((wall, cluster.runs_per_user(since).await?, errors))
}

/// A database of the bench's own on the tests' server, dropped by [`drop_database`].
async fn create_database(server: &str, name: &str) -> Result<PostgresUrl, PublicError> {
    admin(server, &format!("CREATE DATABASE \"{name}\"")).await?;
    Ok(PostgresUrl::parse(server)
        .map_err(internal)?
        .with_database(name))
}

async fn drop_database(server: &str, name: &str) {
    let _ = admin(
        server,
        &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
    )
    .await;
}

async fn admin(server: &str, statement: &str) -> Result<(), PublicError> {
    // The tests' server is on loopback: plain, as `PostgresUrl` reads a local URL.
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .map_err(|e| internal(format!("cannot reach {SERVER_VAR}: {e}")))?;
    let driver = tokio::spawn(connection);
    let result = client.simple_query(statement).await.map(drop);
    drop(client);
    let _ = driver.await;
    result.map_err(|e| internal(format!("{statement}: {e}")))
}

/// `1,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mean(runs: &[usize]) -> f64 {
    runs.iter().sum::<usize>() as f64 / runs.len().max(1) as f64
}

pub async fn run(out: &mut dyn std::io::Write) -> Result<(), PublicError> {
    let io = |e: std::io::Error| internal(format!("cannot print: {e}"));
    let users = users();
    let rows = [
        format!(
            "3 nodes, {} users, one round: runs per user",
            thousands(users)
        ),
        "node killed mid-round: users finished by the others within".to_owned(),
        "3 nodes vs 1 node: round wall time".to_owned(),
    ];
    let server = match std::env::var(SERVER_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            for row in &rows {
                writeln!(out, "{row:<60} skipped").map_err(io)?;
            }
            writeln!(
                out,
                "  (no PostgreSQL: {SERVER_VAR} is not set; `tests/postgres.sh run cargo run -p \
                 mssync-cli -- bench-nodes` runs these rows on a server of their own)"
            )
            .map_err(io)?;
            return Ok(());
        }
    };
    let database = format!("mssync_bench_nodes_{}", std::process::id());
    let url = create_database(&server, &database).await?;
    let result = measure(out, users, &rows, url).await;
    drop_database(&server, &database).await;
    result
}

async fn measure(
    out: &mut dyn std::io::Write,
    users: usize,
    rows: &[String; 3],
    url: PostgresUrl,
) -> Result<(), PublicError> {
    let io = |e: std::io::Error| internal(format!("cannot print: {e}"));
    let clock = Arc::new(ShiftedClock {
        shift: Mutex::new(chrono::Duration::zero()),
    });
    let sim_clock = clock.clone();
    let world = World::start(Arc::new(move || sim_clock.now()), users - 1).await;
    let store = PostgresStore::connect(&url, None).map_err(internal)?;
    let console = App::with_config(
        Host {
            http: Arc::new(ReqwestHttp::new()),
            store: Arc::new(store),
            clock: Arc::new(NodeClock(clock.clone())),
        },
        world.app_config("bench-console"),
        SEALING_KEY,
    )?;
    let onboard = Instant::now();
    crate::bench::sign_in_all(&world.fixture(), &console).await?;
    let mut cluster = Cluster {
        world,
        clock,
        url,
        console,
        users: Vec::new(),
    };
    for user in &cluster.world.users {
        cluster
            .users
            .push(cluster.console.user_by_email(&user.email).await?);
    }
    let three = ["node-1", "node-2", "node-3"];
    // The first round reads every (empty) calendar whole; the measured ones change nothing.
    let (first, _, _) = round(&cluster, &three, CONCURRENT_JOBS).await?;
    let onboard = onboard.elapsed();

    let (one_wall, one_runs, mut errors) = round(&cluster, &["node-1"], CONCURRENT_JOBS).await?;
    let (three_wall, three_runs, more) = round(&cluster, &three, CONCURRENT_JOBS).await?;
    errors.extend(more);
    // As many jobs at once on one node as on the three: what this machine allows at all.
    let (wide_wall, _, more) = round(&cluster, &["node-1"], 3 * CONCURRENT_JOBS).await?;
    errors.extend(more);

    // A round in which node-1 is killed once it has done its share of a third of the users
    // (or the round is half done), with runs under way.
    let since = cluster.next_round();
    let mut nodes = cluster.start_nodes(&three, CONCURRENT_JOBS)?;
    let started = Instant::now();
    let share = users / 9;
    while nodes[0].finished() < share && nodes.iter().map(Node::finished).sum::<usize>() < users / 2
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let victim = nodes.remove(0);
    let finished_before = victim.finished();
    let killed_at = Instant::now();
    victim.kill();
    cluster
        .until_done(|| finished_before + nodes.iter().map(Node::finished).sum::<usize>())
        .await?;
    let after_kill = killed_at.elapsed();
    let kill_round = started.elapsed();
    errors.extend(nodes.into_iter().flat_map(Node::stop));
    let kill_runs = cluster.runs_per_user(since).await?;

    let row = |out: &mut dyn std::io::Write, what: &str, measured: String, goal: String| {
        writeln!(out, "{what:<60} {measured:>16} {goal:>24}")
    };
    writeln!(out, "{:<60} {:>16} {:>24}", "figure", "measured", "goal").map_err(io)?;
    let (least, most) = (
        three_runs.iter().min().copied().unwrap_or(0),
        three_runs.iter().max().copied().unwrap_or(0),
    );
    row(
        out,
        &rows[0],
        format!("{:.2}", mean(&three_runs)),
        "exactly 1.00".into(),
    )
    .map_err(io)?;
    let goal = LEASE_TTL + three_wall;
    row(
        out,
        &rows[1],
        format!("{:.1} s", after_kill.as_secs_f64()),
        format!(
            "<= {:.1} s (TTL {} s + round)",
            goal.as_secs_f64(),
            LEASE_TTL.as_secs()
        ),
    )
    .map_err(io)?;
    row(
        out,
        &rows[2],
        format!(
            "{:.1} s vs {:.1} s",
            three_wall.as_secs_f64(),
            one_wall.as_secs_f64()
        ),
        format!("ideal {:.1} s (1/3)", one_wall.as_secs_f64() / 3.0),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (rounds of no-change Calendar runs on the simulators; each node its own runtime \
         thread, store connections and application, {CONCURRENT_JOBS} jobs at once, lease \
         {} s; runs per user from each user's Home log: min {least}, max {most}; 1 node: \
         {:.2}; 1 node running {} jobs at once, as many as the 3 nodes: {:.1} s; the killed \
         round: {:.2} per user, {:.1} s in all; sign-in and first round of {} users took \
         {:.1} s (first round {:.1} s); one machine runs the nodes, the simulators and \
         PostgreSQL, so the 3-node figure is bound by its cores)",
        LEASE_TTL.as_secs(),
        mean(&one_runs),
        3 * CONCURRENT_JOBS,
        wide_wall.as_secs_f64(),
        mean(&kill_runs),
        kill_round.as_secs_f64(),
        thousands(users),
        onboard.as_secs_f64(),
        first.as_secs_f64(),
    )
    .map_err(io)?;
    if !errors.is_empty() {
        writeln!(
            out,
            "  ({} runs failed; first: {})",
            errors.len(),
            errors[0]
        )
        .map_err(io)?;
    }
    Ok(())
}
