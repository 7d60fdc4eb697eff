//! `mssync serve`: the HTTP listener Graph sends change notifications to, the browsers' site
//! (the panels and their API, see [`crate::web`]), and the scheduler.
//!
//! The listener only carries requests to the application layer and its answers back
//! ([`App::receive_notification`] decides everything). Engine futures are not `Send`, so the
//! listener runs on a thread of its own: axum serves there, and one local task hands each
//! notification to the application in turn; answers never wait for a sync run. The site's
//! work runs as local tasks of that thread too, side by side.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use mssync_core::PublicError;
use mssync_core::app::{
    App, DueJob, JobKind, JobRun, NotificationAnswer, NotificationEndpoint, NotificationRequest,
};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::commands::Console;
use crate::web::{AppTask, WebSite};

/// Where Graph sends change notifications, under `public_url`.
pub const NOTIFICATIONS_PATH: &str = "/graph/notifications";
/// Where Graph sends lifecycle notifications, under `public_url`.
pub const LIFECYCLE_PATH: &str = "/graph/lifecycle";

/// The notification endpoint a listener reachable at `public_url` offers Graph.
pub fn endpoint(public_url: &str) -> NotificationEndpoint {
    let base = public_url.trim_end_matches('/');
    NotificationEndpoint {
        notification_url: format!("{base}{NOTIFICATIONS_PATH}"),
        lifecycle_notification_url: format!("{base}{LIFECYCLE_PATH}"),
    }
}

type Job = (NotificationRequest, oneshot::Sender<NotificationAnswer>);

/// A running listener; [`Listener::stop`] (or dropping it) shuts it down gracefully.
pub struct Listener {
    addr: SocketAddr,
    recorded: Arc<Notify>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    /// Binds `listen` and serves the notification paths with `app`. `log` receives the lines
    /// the application asks the host to log (never a payload).
    pub fn start(
        app: App,
        listen: SocketAddr,
        log: impl Fn(String) + Send + 'static,
    ) -> std::io::Result<Self> {
        Self::start_with(app, listen, log, true, None)
    }

    /// [`Listener::start`], with the notification paths only when `notifications` is true and
    /// the browsers' site when `site` is given.
    pub fn start_with(
        app: App,
        listen: SocketAddr,
        log: impl Fn(String) + Send + 'static,
        notifications: bool,
        site: Option<WebSite>,
    ) -> std::io::Result<Self> {
        let socket = std::net::TcpListener::bind(listen)?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let recorded = Arc::new(Notify::new());
        let wake = recorded.clone();
        let thread = std::thread::Builder::new()
            .name("mssync-listener".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the listener");
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    let (jobs, mut queue) = mpsc::channel::<Job>(1024);
                    let (tasks, mut site_work) = mpsc::channel::<AppTask>(1024);
                    let site_app = app.clone();
                    tokio::task::spawn_local(async move {
                        while let Some(task) = site_work.recv().await {
                            tokio::task::spawn_local(task(site_app.clone()));
                        }
                    });
                    tokio::task::spawn_local(async move {
                        while let Some((request, reply)) = queue.recv().await {
                            let answer = app.receive_notification(&request).await;
                            if let Some(line) = &answer.log {
                                log(line.clone());
                            }
                            if answer.status == 202 {
                                wake.notify_one();
                            }
                            let _ = reply.send(answer);
                        }
                    });
                    let mut router = Router::new();
                    if notifications {
                        router = router
                            .route(NOTIFICATIONS_PATH, post(receive))
                            .route(LIFECYCLE_PATH, post(receive));
                    }
                    let mut router = router.with_state(jobs);
                    if let Some(site) = site {
                        router = router.merge(crate::web::router(site, tasks));
                    }
                    let listener =
                        tokio::net::TcpListener::from_std(socket).expect("a bound socket");
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async {
                            let _ = stop.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            addr,
            recorded,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Signalled each time a notification was recorded: the scheduler looks for due jobs.
    pub fn recorded(&self) -> Arc<Notify> {
        self.recorded.clone()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{address}`, for a listener Graph reaches on this machine (the simulators).
    pub fn loopback_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes the requests under way, and waits for the thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Graph's answer deadline for a notification is 3 seconds; recording takes milliseconds, so
/// a queue this slow means the host is in trouble: answer 503 and let Graph deliver again.
const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

async fn receive(
    State(jobs): State<mpsc::Sender<Job>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request = NotificationRequest {
        query: query.unwrap_or_default(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    };
    let (reply, answer) = oneshot::channel();
    if jobs.send((request, reply)).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match tokio::time::timeout(ANSWER_WITHIN, answer).await {
        Ok(Ok(answer)) => {
            // Exactly the answer decided: no content type the application did not name.
            let mut response = Response::builder().status(answer.status);
            if let Some(content_type) = answer.content_type {
                response = response.header(header::CONTENT_TYPE, content_type);
            }
            response
                .body(axum::body::Body::from(answer.body))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// How often the scheduler looks for due jobs when no notification woke it (a dead node's jobs
/// are taken over at the first look after its lease time).
pub const SCHEDULER_TICK: Duration = Duration::from_secs(30);

/// `mssync serve`: the listener (when `public_url` is set), then the scheduler until Ctrl-C or
/// SIGTERM; the runs under way are finished first, then the listener stops.
pub async fn serve(console: &Console) -> Result<(), PublicError> {
    let config = console.config();
    let listener = if config.public_url.is_some() || config.web.is_some() {
        let listener = Listener::start_with(
            console.app.clone(),
            config.listen,
            |line| eprintln!("notifications: {line}"),
            config.public_url.is_some(),
            config.web.clone(),
        )
        .map_err(|e| {
            PublicError::new(
                mssync_core::ErrorCode::InvalidArgument,
                format!("cannot listen on {}: {e}", config.listen),
            )
        })?;
        Some(listener)
    } else {
        None
    };
    if let (Some(listener), Some(site)) = (&listener, &config.web) {
        eprintln!(
            "Serving the panels on {} for {} (listening on {}).",
            site.url,
            site.root.display(),
            listener.local_addr()
        );
    }
    let app = match (&config.public_url, &listener) {
        (Some(public_url), Some(listener)) => {
            let endpoint = endpoint(public_url.as_str());
            eprintln!(
                "Listening on {} for {} (polling backstop every {} h).",
                listener.local_addr(),
                endpoint.notification_url,
                mssync_core::app::BACKSTOP_INTERVAL.num_hours()
            );
            console.app.clone().with_change_notifications(endpoint)?
        }
        _ => {
            eprintln!("No public_url: no change notifications; jobs poll every 15 min.");
            console.app.clone()
        }
    };
    let wake = listener
        .as_ref()
        .map_or_else(|| Arc::new(Notify::new()), Listener::recorded);
    let stop = shutdown_signal();
    schedule(
        &app,
        config.concurrent_jobs,
        SCHEDULER_TICK,
        &wake,
        stop,
        |line| eprintln!("{line}"),
    )
    .await;
    if let Some(listener) = listener {
        listener.stop();
    }
    eprintln!("Stopped.");
    Ok(())
}

/// The scheduler of a node: lists due jobs (notified ones first) when woken by a notification,
/// every `tick` ([`SCHEDULER_TICK`] in `mssync serve`) and when its list ran out, and runs up
/// to `concurrent_jobs` of them at once, each through [`App::run_due_job`], so that no two
/// nodes (and no two runs here) take one due (user, job).
/// On `stop` it starts nothing more and returns when the runs under way have finished. `log`
/// gets one line per run, `{Job} of {user}: ...`, or the error.
pub async fn schedule(
    app: &App,
    concurrent_jobs: usize,
    tick: Duration,
    wake: &Notify,
    stop: impl std::future::Future<Output = ()>,
    log: impl Fn(String),
) {
    let mut stop = std::pin::pin!(stop);
    let mut queue: VecDeque<DueJob> = VecDeque::new();
    let mut running = FuturesUnordered::new();
    // The (user, job) pairs under way here; the claims keep out every other node.
    let mut busy: HashSet<(String, JobKind)> = HashSet::new();
    let mut look = true;
    loop {
        if look {
            // The tenant's ERP.net feed, once a round (a call within the round reads nothing).
            if let Err(e) = app.route_erp_changes().await {
                log(format!("error {}: {}", e.code.number(), e.reason));
            }
            match app.due_jobs_now().await {
                Ok(due) => queue = due.into(),
                Err(e) => log(format!("error {}: {}", e.code.number(), e.reason)),
            }
        }
        while running.len() < concurrent_jobs.max(1) {
            let Some(due) = queue.pop_front() else { break };
            if !busy.insert((due.user_id.clone(), due.job)) {
                continue;
            }
            running.push(async move {
                let outcome = app.run_due_job(&due).await;
                (due, outcome)
            });
        }
        look = tokio::select! {
            () = &mut stop => break,
            () = wake.notified() => true,
            () = tokio::time::sleep(tick) => true,
            Some((due, outcome)) = running.next() => {
                busy.remove(&(due.user_id.clone(), due.job));
                log_outcome(&due, outcome, &log);
                // What came due meanwhile (another node's expired claim, say) once the list ran out.
                queue.is_empty()
            }
        };
    }
    // The runs under way finish (a run stopped half way would wait for its lease time).
    while let Some((due, outcome)) = running.next().await {
        log_outcome(&due, outcome, &log);
    }
}

fn log_outcome(due: &DueJob, outcome: Result<Option<JobRun>, PublicError>, log: &impl Fn(String)) {
    match outcome.map(|run| run.map(|r| r.result)) {
        // Another node ran it since the list was made, or is running it.
        Ok(None) => {}
        Ok(Some(Ok(report))) => log(format!(
            "{} of {}: {} to Outlook, {} to ERP.net",
            due.job.title(),
            due.user_id,
            report.to_outlook.created + report.to_outlook.updated + report.to_outlook.removed,
            report.to_erp.created + report.to_erp.updated + report.to_erp.removed,
        )),
        Ok(Some(Err(e))) | Err(e) => log(format!("error {}: {}", e.code.number(), e.reason)),
    }
}

/// Ctrl-C, or SIGTERM on Unix (how service managers stop a process). The handlers are
/// installed here, before the first run, so a signal during a run waits for its end.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .expect("a SIGINT handler");
    async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
