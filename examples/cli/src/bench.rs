//! `mssync bench`: the figures we steer by, measured on the embedded simulators over loopback HTTP.
//! Ratios against bounds, not absolute times, are what to compare between builds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, NaiveTime, Utc};
use mssync_core::app::{App, JobKind, SetupChange};
use mssync_core::host::{Clock, Host, HttpRequest, ManualClock, Method};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::erp::ActivitySeed;
use mssync_sim::world::World;
use serde_json::json;

use crate::http::ReqwestHttp;

/// Items seeded on each side for the initial-sync figure (`MSSYNC_BENCH_ITEMS` overrides it, for
/// a quick smoke run).
fn items() -> usize {
    std::env::var("MSSYNC_BENCH_ITEMS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}
/// Graph's page size as MsSync asks for it, and the `$batch` limit.
const GRAPH_PAGE: usize = 50;
const BATCH: usize = 20;
const ERP_PAGE: usize = 1_000;
/// Top-level parts in one ERP.net `$batch` (`wire::erp::BATCH_MAX_PARTS`); a create takes two
/// (its changeset and the read of its result).
const ERP_BATCH_PARTS: usize = mssync_core::wire::erp::BATCH_MAX_PARTS;
/// A quiet Calendar run's reads: Graph once; its ERP.net changes come from the tenant's feed
/// (one read a round for every user, `App::route_erp_changes`).
const QUIET_REQUESTS: usize = 1;

struct Bench {
    world: World,
    clock: Arc<ManualClock>,
    app: App,
    alice: String,
}

/// The simulators (with `extra_users` besides the admin and Alice) on a manual clock at today's
/// midnight, and an application over a fresh SQLite store in `store_file`.
async fn world_and_app(
    extra_users: usize,
    store_file: &str,
) -> Result<(World, Arc<ManualClock>, App), PublicError> {
    let clock = Arc::new(ManualClock::new(
        Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc(),
    ));
    let sim_clock = clock.clone();
    let world = World::start(Arc::new(move || sim_clock.now()), extra_users).await;
    let store = crate::SqliteStore::open(tempfile_dir()?.join(store_file))
        .map_err(|e| PublicError::new(ErrorCode::StoreFailure, e.to_string()))?;
    let host = Host {
        http: Arc::new(ReqwestHttp::new()),
        store: Arc::new(store),
        clock: clock.clone(),
    };
    let app = App::with_config(host, world.app_config("bench"), [9u8; 32])?;
    Ok((world, clock, app))
}

async fn start() -> Result<Bench, PublicError> {
    let (world, clock, app) = world_and_app(0, "bench.sqlite").await?;
    let alice = world.onboard(&app, world.alice()).await?.session.user_id;
    app.set_company(&alice, &world.company, &world.location)
        .await?;
    app.change_setup(
        &alice,
        SetupChange {
            time_zone: Some("UTC".into()),
            policy: None,
        },
    )
    .await?;
    app.set_job_enabled(&alice, JobKind::Calendar, true).await?;
    Ok(Bench {
        world,
        clock,
        app,
        alice,
    })
}

impl Bench {
    fn seed(&self, items: usize) {
        let start = self.clock.now() + ChronoDuration::days(1);
        for i in 0..items {
            let at = start + ChronoDuration::minutes(90 * i as i64);
            let mut a = ActivitySeed::new(format!("Activity {i}"), at);
            a.assigned_to = Some(self.world.alice().erp_user_id.clone());
            self.world.erp.seed_activity(a);
            let s = (at + ChronoDuration::minutes(45)).format("%Y-%m-%dT%H:%M:%S");
            let e = (at + ChronoDuration::minutes(75)).format("%Y-%m-%dT%H:%M:%S");
            self.world.graph.seed_event(
                &self.alice,
                json!({
                    "subject": format!("Event {i}"),
                    "start": {"dateTime": s.to_string(), "timeZone": "UTC"},
                    "end": {"dateTime": e.to_string(), "timeZone": "UTC"},
                    "body": {"contentType": "html", "content": format!("<p>Notes {i}</p>")},
                }),
            );
        }
    }

    fn clear(&self) {
        self.world.graph.clear_requests();
        self.world.erp.clear_requests();
    }

    fn counts(&self) -> (usize, usize) {
        (
            self.world.graph.requests().len(),
            self.world.erp.requests().len(),
        )
    }

    /// One scheduled run: 15 minutes after the last, as the host's scheduler would (the
    /// tenant's ERP.net feed first).
    async fn run(&self) -> Result<(), PublicError> {
        self.clock.advance(Duration::from_secs(15 * 60));
        self.world.erp.set_now(self.clock.now());
        self.app.route_erp_changes().await?;
        self.app
            .run_job(&self.alice, JobKind::Calendar, false)
            .await
            .result
            .map(|_| ())
    }
}

/// A fresh folder for a bench store (SQLite, as the command line uses).
fn tempfile_dir() -> Result<std::path::PathBuf, PublicError> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mssync-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| PublicError::new(ErrorCode::StoreFailure, e.to_string()))?;
    Ok(dir)
}

/// User plus system CPU of this process so far, every thread (it hosts the simulators too).
#[cfg(unix)]
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec as u32)
}

#[cfg(not(unix))]
fn cpu_time() -> Duration {
    Duration::ZERO
}

/// Users in the idle-round figure (`MSSYNC_BENCH_USERS` overrides it).
fn users() -> usize {
    std::env::var("MSSYNC_BENCH_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
        .max(1)
}

/// What one scheduler round over many idle users costs.
struct IdleRound {
    users: usize,
    runs: usize,
    requests: usize,
    /// ERP.net's share: the feed's read (its pages), nothing per user.
    erp_requests: usize,
    feed_pages: usize,
    /// `due_jobs` alone, then the whole round (the scan and every run).
    scan_cpu: Duration,
    round_cpu: Duration,
    round_wall: Duration,
    /// The floor: one loopback HTTP request to a simulator, through the same client.
    request_cpu: Duration,
    /// Reading the same job records from the store and a serde_json round trip of each.
    records_cpu: Duration,
    onboard_wall: Duration,
}

/// `users` users (Alice and the World's extra users) sign in for real (authorize redirect, code,
/// id token, ERP.net user by e-mail), pick company and location, turn Calendar on and sync once
/// with empty calendars (the initial read), all through the public API. Then,
/// Connects the tenant (through the first user) and signs in every user of `world`, each set up
/// with the world's company and location and with Calendar on.
pub(crate) async fn sign_in_all(world: &World, app: &App) -> Result<(), PublicError> {
    for (i, user) in world.users.iter().enumerate() {
        let id = if i == 0 {
            world.onboard(app, user).await?.session.user_id
        } else {
            world.sign_in(app, user).await?.user_id
        };
        app.set_company(&id, &world.company, &world.location)
            .await?;
        app.set_job_enabled(&id, JobKind::Calendar, true).await?;
    }
    Ok(())
}

/// 15 minutes on, one round as a host's scheduler runs it: `due_jobs` and a no-change Calendar
/// run for each due user, one after another as `mssync sync` does.
async fn idle_round(users: usize) -> Result<IdleRound, PublicError> {
    let (world, clock, app) = world_and_app(users - 1, "idle.sqlite").await?;

    let onboard0 = Instant::now();
    sign_in_all(&world, &app).await?;
    // The initial run of each: a full read of empty calendars, leaving delta links behind.
    clock.advance(Duration::from_secs(15 * 60));
    world.erp.set_now(clock.now());
    app.route_erp_changes().await?;
    for job in app.due_jobs(clock.now()).await? {
        app.run_job(&job.user_id, job.job, false).await.result?;
    }
    let onboard_wall = onboard0.elapsed();

    // The measured round.
    world.graph.clear_requests();
    world.erp.clear_requests();
    clock.advance(Duration::from_secs(15 * 60));
    world.erp.set_now(clock.now());
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let feed = app.route_erp_changes().await?;
    let due = app.due_jobs(clock.now()).await?;
    let scan_cpu = cpu_time() - cpu0;
    for job in &due {
        app.run_job(&job.user_id, job.job, false).await.result?;
    }
    let (round_cpu, round_wall) = (cpu_time() - cpu0, wall0.elapsed());
    let erp_requests = world.erp.requests().len();
    let requests = world.graph.requests().len() + erp_requests;

    // Baselines on the same process, store and simulators.
    let probes = (QUIET_REQUESTS * users).min(6_000);
    let probe = format!("{}/v1.0/bench-probe", world.graph.uri());
    let cpu0 = cpu_time();
    for _ in 0..probes {
        // Unauthenticated: the simulator records it and answers 401 at once.
        let _ = app
            .host()
            .http
            .send(HttpRequest::new(Method::Get, &probe))
            .await;
    }
    let request_cpu = (cpu_time() - cpu0) / probes as u32;
    let cpu0 = cpu_time();
    for (_, record) in app.host().store.scan("status/").await? {
        let value: serde_json::Value = serde_json::from_slice(&record.value).unwrap_or_default();
        std::hint::black_box(serde_json::to_vec(&value).ok());
    }
    let records_cpu = cpu_time() - cpu0;
    Ok(IdleRound {
        users,
        runs: due.len(),
        requests,
        erp_requests,
        feed_pages: feed.requests as usize,
        scan_cpu,
        round_cpu,
        round_wall,
        request_cpu,
        records_cpu,
        onboard_wall,
    })
}

fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn ratio(actual: f64, bound: f64) -> String {
    if bound <= 0.0 {
        return "-".into();
    }
    format!("{:.2}x", actual / bound)
}

pub async fn run(out: &mut dyn std::io::Write) -> Result<(), PublicError> {
    let io =
        |e: std::io::Error| PublicError::new(ErrorCode::Internal, format!("cannot print: {e}"));
    let row =
        |out: &mut dyn std::io::Write, what: &str, actual: String, bound: String, r: String| {
            writeln!(out, "{what:<48} {actual:>14} {bound:>14} {r:>8}")
        };
    writeln!(
        out,
        "{:<48} {:>14} {:>14} {:>8}",
        "figure", "measured", "bound", "ratio"
    )
    .map_err(io)?;

    // Initial sync of ITEMS each way.
    #[allow(non_snake_case)]
    let ITEMS = items();
    let b = start().await?;
    b.seed(ITEMS);
    b.clear();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    b.run().await?;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let (graph, erp) = b.counts();
    let graph_bound = ITEMS.div_ceil(GRAPH_PAGE) + ITEMS.div_ceil(BATCH);
    // The feed's pages, the user's first read (its pages, and the owner rule's second query),
    // the batches of the creates (two parts each) and of the ExternalId write-backs of the
    // activities whose events were created (one part each; they follow the creates).
    let erp_bound = 2 * ITEMS.div_ceil(ERP_PAGE)
        + 1
        + (2 * ITEMS).div_ceil(ERP_BATCH_PARTS)
        + ITEMS.div_ceil(ERP_BATCH_PARTS);
    row(
        out,
        &format!("initial sync {ITEMS}+{ITEMS}: Graph requests"),
        graph.to_string(),
        graph_bound.to_string(),
        ratio(graph as f64, graph_bound as f64),
    )
    .map_err(io)?;
    row(
        out,
        "initial sync: ERP.net requests (pages + batches)",
        erp.to_string(),
        erp_bound.to_string(),
        ratio(erp as f64, erp_bound as f64),
    )
    .map_err(io)?;

    // CPU per item against parsing and serializing the same items alone.
    let payloads: Vec<String> = b
        .world
        .graph
        .events(&b.alice)
        .into_iter()
        .chain(b.world.erp.activities())
        .map(|v| v.to_string())
        .collect();
    let parse0 = Instant::now();
    for p in &payloads {
        let v: serde_json::Value = serde_json::from_str(p).unwrap_or_default();
        std::hint::black_box(serde_json::to_vec(&v).ok());
    }
    let parse = parse0.elapsed();
    let items = payloads.len().max(1) as f64;
    row(
        out,
        "CPU per item, engine+sims vs serde_json alone",
        format!("{:.1} us", cpu.as_secs_f64() * 1e6 / items),
        format!("{:.1} us", parse.as_secs_f64() * 1e6 / items),
        ratio(cpu.as_secs_f64(), parse.as_secs_f64()),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (initial sync took {:.2} s wall)",
        wall.as_secs_f64()
    )
    .map_err(io)?;

    // No-change sync: after the echo run, one read a side is the limit.
    b.run().await?;
    b.clear();
    b.run().await?;
    let (graph, erp) = b.counts();
    row(
        out,
        "no-change sync: Graph requests",
        graph.to_string(),
        "1".into(),
        ratio(graph as f64, 1.0),
    )
    .map_err(io)?;
    row(
        out,
        "no-change sync: ERP.net requests (the feed)",
        erp.to_string(),
        "1".into(),
        ratio(erp as f64, 1.0),
    )
    .map_err(io)?;
    drop(b);

    // Wall time under 50 ms latency per Graph request, against the concurrency bound.
    let b = start().await?;
    let created = ITEMS.min(200) as i64;
    let start_at = b.clock.now() + ChronoDuration::days(1);
    for i in 0..created {
        let mut a = ActivitySeed::new(format!("Latency {i}"), start_at + ChronoDuration::hours(i));
        a.assigned_to = Some(b.world.alice().erp_user_id.clone());
        b.world.erp.seed_activity(a);
    }
    b.world.graph.set_delay(Duration::from_millis(50));
    b.clear();
    let wall0 = Instant::now();
    b.run().await?;
    let wall = wall0.elapsed();
    let (graph, _) = b.counts();
    let bound = Duration::from_millis(50) * graph as u32 / 4;
    row(
        out,
        &format!("{created} creates at 50 ms/request: wall time"),
        format!("{:.2} s", wall.as_secs_f64()),
        format!("{:.2} s", bound.as_secs_f64()),
        ratio(wall.as_secs_f64(), bound.as_secs_f64()),
    )
    .map_err(io)?;
    // One scheduler round over many idle users.
    let idle = idle_round(users()).await?;
    let per_user = |d: Duration| d.as_secs_f64() * 1e6 / idle.users as f64;
    // The floor of a no-change run: the requests it cannot do without.
    let floor = idle.request_cpu * (QUIET_REQUESTS * idle.users) as u32;
    // Each user's Graph read, and the tenant's one ERP.net feed read (its pages).
    let quiet_bound = QUIET_REQUESTS * idle.users + idle.feed_pages;
    row(
        out,
        &format!("idle round of {} users: runs, requests/user", idle.users),
        format!(
            "{}, {:.2}",
            idle.runs,
            idle.requests as f64 / idle.users as f64
        ),
        format!(
            "{}, {:.2}",
            idle.users,
            quiet_bound as f64 / idle.users as f64
        ),
        ratio(idle.requests as f64, quiet_bound as f64),
    )
    .map_err(io)?;
    row(
        out,
        &format!("quiet round of {} users: ERP.net requests", idle.users),
        idle.erp_requests.to_string(),
        format!("1 + {} pages", idle.feed_pages.saturating_sub(1)),
        ratio(idle.erp_requests as f64, idle.feed_pages.max(1) as f64),
    )
    .map_err(io)?;
    row(
        out,
        "idle round: CPU per user vs 1 loopback request",
        format!("{:.0} us", per_user(idle.round_cpu)),
        format!("{:.0} us", per_user(floor)),
        ratio(idle.round_cpu.as_secs_f64(), floor.as_secs_f64()),
    )
    .map_err(io)?;
    row(
        out,
        "idle round: CPU total, engine+sims",
        format!("{:.2} s", idle.round_cpu.as_secs_f64()),
        format!("{:.2} s", floor.as_secs_f64()),
        ratio(idle.round_cpu.as_secs_f64(), floor.as_secs_f64()),
    )
    .map_err(io)?;
    row(
        out,
        "idle round: due_jobs scan vs serde_json of records",
        format!("{:.1} ms", idle.scan_cpu.as_secs_f64() * 1e3),
        format!("{:.1} ms", idle.records_cpu.as_secs_f64() * 1e3),
        ratio(idle.scan_cpu.as_secs_f64(), idle.records_cpu.as_secs_f64()),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (round = due_jobs + one no-change Calendar run per user, in turn, SQLite store; \
         {:.2} s wall; signing in, setting up and initial syncs took {:.1} s)",
        idle.round_wall.as_secs_f64(),
        idle.onboard_wall.as_secs_f64()
    )
    .map_err(io)?;
    // Change notifications: push latency, the idle round with notifications, renewals.
    let b = start().await?;
    let median =
        crate::bench_notify::edit_to_erp_median(&b.world, &b.clock, &b.app, &b.alice).await?;
    row(
        out,
        "notify: Outlook edit -> ERP.net, median seconds",
        format!("{median:.2}"),
        "2.00".into(),
        ratio(median, 2.0),
    )
    .map_err(io)?;
    let renewals = crate::bench_notify::renewals_per_day(&b.world, &b.clock, &b.app).await?;
    drop(b);
    let (runs, idle_requests) = crate::bench_notify::idle_round(users()).await?;
    row(
        out,
        "idle round (notifications): Graph requests per user",
        format!("{idle_requests:.2}"),
        "0".into(),
        "-".into(),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  ({} users subscribed; the round 15 min on ran {runs}: no notification, no backstop due)",
        users()
    )
    .map_err(io)?;
    row(
        out,
        "subscription renewals per user per day",
        format!("{renewals:.2}"),
        "0.50".into(),
        ratio(renewals, 0.5),
    )
    .map_err(io)?;
    row(
        out,
        "peak memory (process, sims included)",
        format!("{} MiB", peak_memory_kib() / 1024),
        "-".into(),
        "-".into(),
    )
    .map_err(io)?;
    Ok(())
}
