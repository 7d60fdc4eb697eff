//! The change-notification figures of `mssync bench`: an Outlook edit reaching ERP.net through
//! `mssync serve`'s listener, an idle round with notifications on, and renewals per day.

use std::time::{Duration, Instant};

use mssync_core::app::{App, JobKind};
use mssync_core::host::{Clock, ManualClock};
use mssync_core::{ErrorCode, PublicError};
use mssync_sim::world::World;
use serde_json::json;

use crate::serve::{Listener, endpoint};

/// Edits timed for the median.
const EDITS: usize = 9;
/// Days of backstop runs the renewal figure covers.
const RENEWAL_DAYS: i64 = 30;

fn internal(e: impl std::fmt::Display) -> PublicError {
    PublicError::new(ErrorCode::Internal, e.to_string())
}

/// The listener of `mssync serve` on loopback, and an application that subscribes with it.
fn serve_app(app: &App) -> Result<(Listener, App), PublicError> {
    let listener = Listener::start(
        app.clone(),
        "127.0.0.1:0".parse().expect("an address"),
        |_| {},
    )
    .map_err(internal)?;
    let notifying = app
        .clone()
        .with_change_notifications(endpoint(&listener.loopback_url()))?;
    Ok((listener, notifying))
}

/// One scheduler round as `mssync serve` runs it; returns the runs.
async fn round(app: &App, clock: &ManualClock) -> Result<usize, PublicError> {
    let due = app.due_jobs(clock.now()).await?;
    for job in &due {
        app.run_job(&job.user_id, job.job, false).await.result?;
    }
    Ok(due.len())
}

/// Median seconds from an Outlook edit to the activity in ERP.net, the simulators answering
/// after 50 ms, Graph delivering to the listener over loopback, the scheduler woken by it.
pub(crate) async fn edit_to_erp_median(
    world: &World,
    clock: &ManualClock,
    app: &App,
    user: &str,
) -> Result<f64, PublicError> {
    let (listener, app) = serve_app(app)?;
    let start = (clock.now() + chrono::Duration::days(1)).format("%Y-%m-%dT10:00:00");
    let end = (clock.now() + chrono::Duration::days(1)).format("%Y-%m-%dT11:00:00");
    let event = world.graph.seed_event(
        user,
        json!({"subject": "Timed", "start": {"dateTime": start.to_string(), "timeZone": "UTC"},
               "end": {"dateTime": end.to_string(), "timeZone": "UTC"}}),
    );
    app.run_job(user, JobKind::Calendar, false).await.result?;
    world.graph.deliver_automatically(Duration::from_millis(5));
    world.graph.set_delay(Duration::from_millis(50));
    world.erp.set_latency(Duration::from_millis(50));
    let woken = listener.recorded();
    let mut samples = Vec::new();
    for i in 0..EDITS {
        // The echo of the last run's own writes, if any, settles first.
        while tokio::time::timeout(Duration::from_millis(300), woken.notified())
            .await
            .is_ok()
        {
            round(&app, clock).await?;
        }
        let subject = format!("Timed {i}");
        let t0 = Instant::now();
        world
            .graph
            .user_update(user, &event, json!({"subject": subject}));
        loop {
            tokio::time::timeout(Duration::from_secs(30), woken.notified())
                .await
                .map_err(|_| internal("no notification within 30 s"))?;
            round(&app, clock).await?;
            if world
                .erp
                .activities()
                .iter()
                .any(|a| a["Subject"] == subject)
            {
                break;
            }
        }
        samples.push(t0.elapsed().as_secs_f64());
    }
    world.graph.set_delay(Duration::ZERO);
    world.erp.set_latency(Duration::ZERO);
    listener.stop();
    samples.sort_by(f64::total_cmp);
    Ok(samples[samples.len() / 2])
}

/// `users` users subscribed and synced once; then, 15 minutes on, one scheduler round:
/// (runs, Graph requests per user).
pub(crate) async fn idle_round(users: usize) -> Result<(usize, f64), PublicError> {
    let (world, clock, app) = crate::bench::world_and_app(users - 1, "notify-idle.sqlite").await?;
    let (listener, app) = serve_app(&app)?;
    crate::bench::sign_in_all(&world.fixture(), &app).await?;
    round(&app, &clock).await?;
    world.graph.clear_requests();
    clock.advance(Duration::from_secs(15 * 60));
    world.erp.set_now(clock.now());
    let runs = round(&app, &clock).await?;
    let idle = world.graph.requests().len() as f64 / users as f64;
    listener.stop();
    Ok((runs, idle))
}

/// Subscription requests (renewals, and creates after the first) per user per day over 30 days
/// of backstop rounds every 6 hours, nothing changing.
pub(crate) async fn renewals_per_day(
    world: &World,
    clock: &ManualClock,
    app: &App,
) -> Result<f64, PublicError> {
    let (listener, app) = serve_app(app)?;
    round(&app, clock).await?;
    world.graph.clear_requests();
    for _ in 0..RENEWAL_DAYS * 4 {
        clock.advance(Duration::from_secs(6 * 3600));
        world.erp.set_now(clock.now());
        round(&app, clock).await?;
    }
    let renewals = world
        .graph
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1.0/subscriptions") && r.method != "DELETE")
        .count() as f64;
    listener.stop();
    Ok(renewals / RENEWAL_DAYS as f64)
}
