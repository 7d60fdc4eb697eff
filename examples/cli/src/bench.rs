//! `mssync bench`: the figures we steer by, measured on the embedded simulators over loopback HTTP.
//! Ratios against bounds, not absolute times, are what to compare between builds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, NaiveTime, Utc};
use mssync_core::app::{App, JobKind, SetupChange};
use mssync_core::host::{Clock, Host, HttpRequest, ManualClock, Method};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::control::{CalendarSeed, RequestCounts, SimsProcess};
use mssync_sim::world::{Fixture, World};

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
pub(crate) const ERP_BATCH_PARTS: usize = mssync_core::wire::erp::BATCH_MAX_PARTS;
/// Parts one new mail message takes in an ERP.net `$batch` (its changeset and the read of its
/// result, as an activity's create).
pub(crate) const ERP_PARTS_PER_MESSAGE: usize = 2;
/// A quiet Calendar run's reads: Graph once; its ERP.net changes come from the tenant's feed
/// (one read a round for every user, `App::route_erp_changes`).
const QUIET_REQUESTS: usize = 1;
/// Graph's answer time in the wall-time figure.
const LATENCY: Duration = Duration::from_millis(50);

/// A bench's application and the simulators it syncs with, in a process of their own.
struct Bench {
    sims: SimsProcess,
    clock: Arc<ManualClock>,
    app: App,
    alice: String,
}

fn sims_error(e: impl std::fmt::Display) -> PublicError {
    PublicError::new(ErrorCode::Internal, format!("the bench's simulators: {e}"))
}

/// A bench application over a fresh SQLite store in `store_file`, as the command line builds it.
fn bench_app(
    config: mssync_core::app::AppConfig,
    clock: Arc<ManualClock>,
    store_file: &str,
) -> Result<App, PublicError> {
    let store = crate::SqliteStore::open(tempfile_dir()?.join(store_file))
        .map_err(|e| PublicError::new(ErrorCode::StoreFailure, e.to_string()))?;
    let host = Host {
        http: Arc::new(ReqwestHttp::new()),
        store: Arc::new(store),
        clock,
    };
    App::with_config(host, config, [9u8; 32])
}

/// Today's midnight, where every bench clock starts.
fn midnight() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc(),
    ))
}

/// The simulators (with `extra_users` besides the admin and Alice) in this process, on a manual
/// clock at today's midnight, and an application over a fresh SQLite store in `store_file`.
/// For the figures that need to reach into a simulator (notifications); CPU and memory figures
/// use [`own_process_sims`].
pub(crate) async fn world_and_app(
    extra_users: usize,
    store_file: &str,
) -> Result<(World, Arc<ManualClock>, App), PublicError> {
    let clock = midnight();
    let sim_clock = clock.clone();
    let world = World::start(Arc::new(move || sim_clock.now()), extra_users).await;
    let app = bench_app(world.app_config("bench"), clock.clone(), store_file)?;
    Ok((world, clock, app))
}

/// The simulators in a child process (this executable's hidden `bench-sims` command), so that
/// what this process spends is MsSync's alone, and an application over a fresh SQLite store.
async fn own_process_sims(
    extra_users: usize,
    store_file: &str,
) -> Result<(SimsProcess, Arc<ManualClock>, App), PublicError> {
    let clock = midnight();
    let exe = std::env::current_exe().map_err(sims_error)?;
    let mut command = std::process::Command::new(exe);
    command
        .arg("bench-sims")
        .arg("--extra-users")
        .arg(extra_users.to_string())
        .arg("--start")
        .arg(clock.now().to_rfc3339());
    let sims = SimsProcess::spawn(command).map_err(sims_error)?;
    let app = bench_app(
        sims.fixture().app_config("bench"),
        clock.clone(),
        store_file,
    )?;
    Ok((sims, clock, app))
}

/// Moves the bench's clock and the simulators' with it.
async fn advance(sims: &SimsProcess, clock: &ManualClock, by: Duration) -> Result<(), PublicError> {
    clock.advance(by);
    sims.set_now(clock.now()).await.map_err(sims_error)
}

async fn start() -> Result<Bench, PublicError> {
    let (sims, clock, app) = own_process_sims(0, "bench.sqlite").await?;
    let fixture = sims.fixture().clone();
    let alice = fixture
        .onboard(&app, fixture.alice())
        .await?
        .session
        .user_id;
    set_up(&app, &alice, &fixture).await?;
    Ok(Bench {
        sims,
        clock,
        app,
        alice,
    })
}

/// The fixture's company and location, UTC, Calendar on.
async fn set_up(app: &App, user_id: &str, fixture: &Fixture) -> Result<(), PublicError> {
    app.set_company(user_id, &fixture.company, &fixture.location)
        .await?;
    app.change_setup(
        user_id,
        SetupChange {
            time_zone: Some("UTC".into()),
            policy: None,
        },
    )
    .await?;
    app.set_job_enabled(user_id, JobKind::Calendar, true)
        .await
        .map(|_| ())
}

impl Bench {
    /// `items` activities for Alice in ERP.net and, unless `activities_only`, as many events in
    /// her Outlook calendar, from tomorrow on.
    async fn seed(&self, items: usize, activities_only: bool) -> Result<(), PublicError> {
        let alice = self.sims.fixture().alice();
        self.sims
            .seed(&CalendarSeed {
                oid: alice.oid.clone(),
                erp_user_id: alice.erp_user_id.clone(),
                items,
                activities_only,
                from: self.clock.now() + ChronoDuration::days(1),
            })
            .await
            .map_err(sims_error)
    }

    async fn clear(&self) -> Result<(), PublicError> {
        self.sims.clear_requests().await.map_err(sims_error)
    }

    async fn counts(&self) -> Result<RequestCounts, PublicError> {
        self.sims.requests().await.map_err(sims_error)
    }

    /// One scheduled run: 15 minutes after the last, as the host's scheduler would (the
    /// tenant's ERP.net feed first).
    async fn run(&self) -> Result<(), PublicError> {
        advance(&self.sims, &self.clock, Duration::from_secs(15 * 60)).await?;
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

/// User plus system CPU of this process so far, every thread (the simulators run in another
/// process, except for the notification figures, which come after the CPU and memory ones).
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
pub(crate) async fn sign_in_all(fixture: &Fixture, app: &App) -> Result<(), PublicError> {
    for (i, user) in fixture.users.iter().enumerate() {
        let id = if i == 0 {
            fixture.onboard(app, user).await?.session.user_id
        } else {
            fixture.sign_in(app, user).await?.user_id
        };
        app.set_company(&id, &fixture.company, &fixture.location)
            .await?;
        app.set_job_enabled(&id, JobKind::Calendar, true).await?;
    }
    Ok(())
}

/// 15 minutes on, one round as a host's scheduler runs it: `due_jobs` and a no-change Calendar
/// run for each due user, one after another as `mssync sync` does.
async fn idle_round(users: usize) -> Result<IdleRound, PublicError> {
    let (sims, clock, app) = own_process_sims(users - 1, "idle.sqlite").await?;

    let onboard0 = Instant::now();
    sign_in_all(sims.fixture(), &app).await?;
    // The initial run of each: a full read of empty calendars, leaving delta links behind.
    advance(&sims, &clock, Duration::from_secs(15 * 60)).await?;
    app.route_erp_changes().await?;
    for job in app.due_jobs(clock.now()).await? {
        app.run_job(&job.user_id, job.job, false).await.result?;
    }
    let onboard_wall = onboard0.elapsed();

    // The measured round.
    sims.clear_requests().await.map_err(sims_error)?;
    advance(&sims, &clock, Duration::from_secs(15 * 60)).await?;
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    let feed = app.route_erp_changes().await?;
    let due = app.due_jobs(clock.now()).await?;
    let scan_cpu = cpu_time() - cpu0;
    for job in &due {
        app.run_job(&job.user_id, job.job, false).await.result?;
    }
    let (round_cpu, round_wall) = (cpu_time() - cpu0, wall0.elapsed());
    let counts = sims.requests().await.map_err(sims_error)?;
    let erp_requests = counts.erp;
    let requests = counts.graph + counts.erp;

    // Baselines on the same process, store and simulators.
    let probes = (QUIET_REQUESTS * users).min(6_000);
    let probe = format!(
        "{}/bench-probe",
        sims.fixture().graph_base_url.trim_end_matches('/')
    );
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
            writeln!(out, "{what:<66} {actual:>14} {bound:>14} {r:>8}")
        };
    writeln!(
        out,
        "{:<66} {:>14} {:>14} {:>8}",
        "figure", "measured", "bound", "ratio"
    )
    .map_err(io)?;

    // Initial sync of ITEMS each way.
    #[allow(non_snake_case)]
    let ITEMS = items();
    let b = start().await?;
    b.seed(ITEMS, false).await?;
    b.clear().await?;
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    b.run().await?;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let counts = b.counts().await?;
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
        counts.graph.to_string(),
        graph_bound.to_string(),
        ratio(counts.graph as f64, graph_bound as f64),
    )
    .map_err(io)?;
    row(
        out,
        "initial sync: ERP.net requests (pages + batches)",
        counts.erp.to_string(),
        erp_bound.to_string(),
        ratio(counts.erp as f64, erp_bound as f64),
    )
    .map_err(io)?;

    // CPU per synced item against parsing and serializing the same items' JSON alone.
    let payloads: Vec<String> = b
        .sims
        .items(&b.sims.fixture().alice().oid)
        .await
        .map_err(sims_error)?
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    let parse0 = cpu_time();
    for p in &payloads {
        let v: serde_json::Value = serde_json::from_str(p).unwrap_or_default();
        std::hint::black_box(serde_json::to_vec(&v).ok());
    }
    let parse = cpu_time() - parse0;
    // Each item synced once, one way; the baseline handles its JSON on both sides.
    let synced = (2 * ITEMS).max(1) as f64;
    row(
        out,
        "CPU per synced item, mssync process only",
        format!("{:.1} us", cpu.as_secs_f64() * 1e6 / synced),
        format!("{:.1} us", parse.as_secs_f64() * 1e6 / synced),
        ratio(cpu.as_secs_f64(), parse.as_secs_f64()),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (bound: serde_json parse + serialize of the {} items' JSON on both sides; goal 5x; initial sync took {:.2} s wall)",
        2 * ITEMS,
        wall.as_secs_f64()
    )
    .map_err(io)?;

    // No-change sync: after the echo run, one read a side is the limit.
    b.run().await?;
    b.clear().await?;
    b.run().await?;
    let counts = b.counts().await?;
    row(
        out,
        "no-change sync: Graph requests",
        counts.graph.to_string(),
        "1".into(),
        ratio(counts.graph as f64, 1.0),
    )
    .map_err(io)?;
    row(
        out,
        "no-change sync: ERP.net requests (the feed)",
        counts.erp.to_string(),
        "1".into(),
        ratio(counts.erp as f64, 1.0),
    )
    .map_err(io)?;
    drop(b);

    // Wall time of creates in Outlook under 50 ms per request Outlook executes (each `$batch`
    // item is one), against four at a time, the mailbox's limit.
    let b = start().await?;
    let created = ITEMS.min(200);
    b.seed(created, true).await?;
    b.sims.set_graph_delay(LATENCY).await.map_err(sims_error)?;
    b.clear().await?;
    let wall0 = Instant::now();
    b.run().await?;
    let wall = wall0.elapsed();
    let counts = b.counts().await?;
    let bound = LATENCY * counts.graph_items as u32 / 4;
    row(
        out,
        &format!("{created} creates at 50 ms: wall time"),
        format!("{:.2} s", wall.as_secs_f64()),
        format!("{:.2} s", bound.as_secs_f64()),
        ratio(wall.as_secs_f64(), bound.as_secs_f64()),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (bound: {} requests Outlook executes ({} HTTP requests, $batch items counted) / 4 x 50 ms; goal 1.25x)",
        counts.graph_items, counts.graph
    )
    .map_err(io)?;
    drop(b);

    // One scheduler round over many idle users.
    let idle = idle_round(users()).await?;
    let per_user = |d: Duration| d.as_secs_f64() * 1e6 / idle.users as f64;
    // The floor of a no-change run: the requests it cannot do without.
    let floor = idle.request_cpu * (QUIET_REQUESTS * idle.users) as u32;
    // Each user's quiet run, and the tenant's feed once for all.
    let round_bound = QUIET_REQUESTS * idle.users + idle.feed_pages.max(1);
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
            round_bound as f64 / idle.users as f64
        ),
        ratio(idle.requests as f64, round_bound as f64),
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
        "idle round: CPU per user with nothing to do, mssync process only",
        format!("{:.0} us", per_user(idle.round_cpu)),
        "50 us".into(),
        ratio(per_user(idle.round_cpu), 50.0),
    )
    .map_err(io)?;
    row(
        out,
        "idle round: CPU per user vs the loopback requests it needs",
        format!("{:.0} us", per_user(idle.round_cpu)),
        format!("{:.0} us", per_user(floor)),
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
    // Before any figure that runs simulators in this process.
    row(
        out,
        "peak memory, mssync process only",
        format!("{} MiB", peak_memory_kib() / 1024),
        "-".into(),
        "-".into(),
    )
    .map_err(io)?;

    // The Mail job's first sync: a week of mail into ERP.net.
    let messages = items();
    let import = crate::bench_mail::initial_import(messages, Duration::ZERO).await?;
    let requests = import.graph_requests + import.erp_requests;
    row(
        out,
        &format!("mail: initial 7-day import of {messages} messages, requests"),
        requests.to_string(),
        import.bound.to_string(),
        ratio(requests as f64, import.bound as f64),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (bound: delta pages (folders, Inbox, 3 other folders) + ERP.net batches; {} imported; Graph {}, ERP.net {}; goal 1.1x)",
        import.messages, import.graph_requests, import.erp_requests
    )
    .map_err(io)?;
    let slow = crate::bench_mail::initial_import(messages, LATENCY).await?;
    row(
        out,
        "mail: initial import at 50 ms: wall time",
        format!("{:.2} s", slow.wall.as_secs_f64()),
        format!("{:.2} s", slow.wall_bound.as_secs_f64()),
        ratio(slow.wall.as_secs_f64(), slow.wall_bound.as_secs_f64()),
    )
    .map_err(io)?;
    writeln!(
        out,
        "  (bound: Inbox's delta pages and the ERP.net batches, which follow one another, x 50 ms; {:.2} s at no latency)",
        import.wall.as_secs_f64()
    )
    .map_err(io)?;

    // Change notifications: push latency, the idle round with notifications, renewals. These
    // reach into the simulators (Outlook edits, deliveries), so they run in this process.
    let (world, clock, app) = world_and_app(0, "notify.sqlite").await?;
    let fixture = world.fixture();
    let alice = fixture
        .onboard(&app, fixture.alice())
        .await?
        .session
        .user_id;
    set_up(&app, &alice, &fixture).await?;
    let median = crate::bench_notify::edit_to_erp_median(&world, &clock, &app, &alice).await?;
    row(
        out,
        "notify: Outlook edit -> ERP.net, median seconds",
        format!("{median:.2}"),
        "2.00".into(),
        ratio(median, 2.0),
    )
    .map_err(io)?;
    let renewals = crate::bench_notify::renewals_per_day(&world, &clock, &app).await?;
    drop((world, app));
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
    Ok(())
}
