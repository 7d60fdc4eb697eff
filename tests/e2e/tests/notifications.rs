//! Graph change notifications drive the Calendar job: the simulated Graph validates the
//! listener of `mssync serve` over real HTTP, delivers batched notifications to it, and the
//! scheduler runs only the users a notification (or the backstop) made due. Every fault case
//! ends with what is on each side and what Home says.

mod common;

use std::time::Duration;

use common::{Env, alice_env};
use mssync_cli::serve::{LIFECYCLE_PATH, Listener, NOTIFICATIONS_PATH, endpoint};
use mssync_core::app::{App, BACKSTOP_INTERVAL, JobKind, RENEW_BEFORE, SUBSCRIPTION_LIFETIME};
use mssync_core::graph::wire::lifecycle_event;
use mssync_core::host::Clock;
use serde_json::json;

fn outlook_event(subject: &str) -> serde_json::Value {
    json!({
        "subject": subject,
        "start": {"dateTime": "2026-06-04T10:00:00.0000000", "timeZone": "FLE Standard Time"},
        "end": {"dateTime": "2026-06-04T11:00:00.0000000", "timeZone": "FLE Standard Time"},
        "body": {"contentType": "text", "content": "Agenda"},
    })
}

/// Alice with Calendar on, `mssync serve`'s listener up, change notifications on, and one
/// Outlook event synced to ERP.net.
struct Live {
    env: Env,
    alice: String,
    app: App,
    listener: Option<Listener>,
    event: String,
}

async fn live() -> Live {
    let (env, alice) = alice_env().await;
    let listener = Listener::start(env.app.clone(), "127.0.0.1:0".parse().unwrap(), |line| {
        eprintln!("listener: {line}")
    })
    .unwrap();
    let app = env
        .app
        .clone()
        .with_change_notifications(endpoint(&listener.loopback_url()))
        .unwrap();
    let event = env
        .world
        .graph
        .seed_event(&alice, outlook_event("Customer call"));
    env.advance(Duration::from_secs(60));
    app.run_job(&alice, JobKind::Calendar, false)
        .await
        .result
        .unwrap();
    let live = Live {
        env,
        alice,
        app,
        listener: Some(listener),
        event,
    };
    live.settle().await;
    assert_eq!(live.erp_subjects(), ["Customer call"]);
    live
}

impl Live {
    fn graph(&self) -> &mssync_sim::graph::GraphSim {
        &self.env.world.graph
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.env.clock.now()
    }

    /// Users the scheduler would run now.
    async fn due(&self) -> Vec<String> {
        self.app
            .due_jobs(self.now())
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.user_id)
            .collect()
    }

    /// One scheduler round: every due job runs once; returns how many ran.
    async fn round(&self) -> usize {
        let due = self.app.due_jobs(self.now()).await.unwrap();
        for job in &due {
            self.app
                .run_job(&job.user_id, job.job, false)
                .await
                .result
                .unwrap();
        }
        due.len()
    }

    /// Delivers and runs until nothing is due (MsSync's own writes are notified too).
    async fn settle(&self) {
        for _ in 0..6 {
            self.graph().deliver_notifications().await;
            if self.round().await == 0 && self.graph().pending_notifications() == 0 {
                return;
            }
        }
        panic!("notifications and runs did not settle");
    }

    fn erp_subjects(&self) -> Vec<String> {
        let mut subjects: Vec<String> = self
            .env
            .activities()
            .iter()
            .map(|a| a["Subject"].as_str().unwrap_or_default().to_owned())
            .collect();
        subjects.sort();
        subjects
    }

    fn edit_in_outlook(&self, subject: &str) {
        self.env.advance(Duration::from_secs(60));
        self.graph()
            .user_update(&self.alice, &self.event, json!({"subject": subject}));
    }

    async fn kept_current(&self) -> String {
        let home = self.app.home(&self.alice).await.unwrap();
        home.jobs[0].kept_current.clone()
    }

    async fn log(&self) -> Vec<String> {
        self.app.home(&self.alice).await.unwrap().log
    }

    fn subscription(&self) -> mssync_sim::graph::SimSubscription {
        let subs = self.graph().subscriptions();
        assert_eq!(subs.len(), 1, "one subscription per user and job: {subs:?}");
        subs[0].clone()
    }

    async fn post(&self, path: &str, query: &str, body: &str) -> (u16, Option<String>, String) {
        let url = format!(
            "{}{path}{query}",
            self.listener.as_ref().unwrap().loopback_url()
        );
        let response = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, content_type, response.text().await.unwrap())
    }
}

#[tokio::test]
async fn an_outlook_edit_reaches_erp_net_through_a_notification_with_no_poll() {
    let live = live().await;
    let sub = live.subscription();
    assert_eq!(sub.resource, format!("/users/{}/events", live.alice));
    assert_eq!(sub.change_types, ["created", "updated", "deleted"]);
    assert!(sub.notification_url.ends_with(NOTIFICATIONS_PATH));
    assert_eq!(
        sub.lifecycle_notification_url
            .as_deref()
            .map(|u| u.ends_with(LIFECYCLE_PATH)),
        Some(true)
    );
    assert!(
        live.graph().validations() >= 2,
        "both URLs answered the handshake"
    );
    let state = sub.client_state.clone().unwrap();
    assert!(state.len() <= 128 && state.len() >= 32, "{state}");
    let renews = live.now() + SUBSCRIPTION_LIFETIME - RENEW_BEFORE;
    assert_eq!(
        live.kept_current().await,
        format!(
            "Live (change notifications, renews {})",
            renews.format("%Y-%m-%d %H:%MZ")
        )
    );
    // The clientState is sealed in the store, never in clear.
    let stored = live.env.store.inner.backup();
    assert!(
        !format!("{stored:?}").contains(&state),
        "the clientState is stored sealed"
    );

    // Quiet: nobody is due, and an idle round costs Graph nothing.
    assert!(live.due().await.is_empty());
    live.graph().clear_requests();
    assert_eq!(live.round().await, 0);
    assert!(live.graph().requests().is_empty());

    live.edit_in_outlook("Customer call (moved)");
    assert!(live.due().await.is_empty(), "nothing polls");
    let deliveries = live.graph().deliver_notifications().await;
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].2, 202, "recorded and answered 202 at once");
    assert_eq!(
        live.erp_subjects(),
        ["Customer call"],
        "the answer did not wait for a sync"
    );
    assert_eq!(live.due().await, [live.alice.as_str()]);
    assert_eq!(live.round().await, 1);
    assert_eq!(live.erp_subjects(), ["Customer call (moved)"]);
    live.settle().await;
    assert!(live.due().await.is_empty());
    let next = live.app.home(&live.alice).await.unwrap().jobs[0]
        .next_run
        .clone();
    assert_eq!(
        next,
        Some(
            (live.now() + BACKSTOP_INTERVAL)
                .format("%Y-%m-%d %H:%MZ")
                .to_string()
        ),
        "the backstop polls every 6 hours"
    );
}

#[tokio::test]
async fn the_listener_echoes_the_validation_token_and_ignores_forged_and_unknown_notifications() {
    let live = live().await;
    let (status, content_type, body) = live
        .post(
            NOTIFICATIONS_PATH,
            "?validationToken=Validation%3A%20Testing%20client",
            "",
        )
        .await;
    assert_eq!(
        (status, content_type.as_deref(), body.as_str()),
        (200, Some("text/plain"), "Validation: Testing client")
    );

    let sub = live.subscription();
    let forged = json!({"value": [{
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": "2026-06-08T08:00:00Z",
        "changeType": "updated",
        "resource": format!("Users/{}/Events/{}", live.alice, live.event),
        "clientState": "guessed",
        "tenantId": mssync_sim::graph::TENANT_ID,
    }]});
    let (status, _, _) = live.post(NOTIFICATIONS_PATH, "", &forged.to_string()).await;
    assert_eq!(status, 202, "answered, so a forger learns nothing");
    let unknown = json!({"value": [{
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "clientState": sub.client_state,
        "changeType": "updated",
    }]});
    let (status, _, _) = live
        .post(NOTIFICATIONS_PATH, "", &unknown.to_string())
        .await;
    assert_eq!(status, 202);
    assert!(
        live.due().await.is_empty(),
        "neither made a run due: {:?}",
        live.due().await
    );
    let log = live.log().await;
    let warning = log.last().unwrap();
    assert!(
        warning.contains("Ignored 1 change notification(s) with a wrong clientState"),
        "{log:?}"
    );
    assert!(!warning.contains("guessed"), "logged without the payload");

    let (status, _, _) = live.post(NOTIFICATIONS_PATH, "", "not json").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_burst_duplicated_late_and_out_of_order_is_one_run_each_time_and_nothing_doubles() {
    let live = live().await;
    live.graph().duplicate_notifications_late(true);
    live.edit_in_outlook("First");
    live.edit_in_outlook("Second");
    live.edit_in_outlook("Third");
    let deliveries = live.graph().deliver_notifications().await;
    assert_eq!(deliveries.len(), 1, "one POST carries the burst");
    assert_eq!(deliveries[0].1, 3);
    assert_eq!(live.round().await, 1, "a burst for one calendar is one run");
    assert_eq!(live.erp_subjects(), ["Third"]);
    // The late duplicates of the three edits come after a newer one.
    live.edit_in_outlook("Fourth");
    live.graph().deliver_notifications().await;
    assert_eq!(live.round().await, 1);
    live.graph().duplicate_notifications_late(false);
    live.settle().await;
    assert_eq!(
        live.erp_subjects(),
        ["Fourth"],
        "nothing duplicated or lost"
    );
    assert_eq!(live.graph().events(&live.alice).len(), 1);
    assert!(live.kept_current().await.starts_with("Live"));
}

#[tokio::test]
async fn a_lost_notification_and_an_endpoint_down_are_caught_by_the_backstop() {
    let mut live = live().await;
    live.graph().drop_notifications(1);
    live.edit_in_outlook("Lost");
    live.graph().deliver_notifications().await;
    assert!(live.due().await.is_empty());
    assert_eq!(live.erp_subjects(), ["Customer call"]);

    // The endpoint goes down while changes happen: delivery fails.
    live.listener.take().unwrap().stop();
    live.edit_in_outlook("While down");
    let deliveries = live.graph().deliver_notifications().await;
    assert_eq!(deliveries[0].2, 0, "nobody answered");
    assert!(live.due().await.is_empty());

    live.env.advance(BACKSTOP_INTERVAL.to_std().unwrap());
    assert_eq!(live.due().await, [live.alice.as_str()], "the backstop poll");
    live.round().await;
    assert_eq!(live.erp_subjects(), ["While down"]);
    assert_eq!(live.env.activities().len(), 1);
}

#[tokio::test]
async fn a_subscription_whose_renewal_failed_expires_home_says_polling_and_it_comes_back() {
    let live = live().await;
    let first = live.subscription().id;
    live.graph().refuse_renewals(true);
    // Runs of the backstop until the renewal margin; the renewal is refused.
    while live.now() + RENEW_BEFORE < live.subscription().expires {
        live.env.advance(BACKSTOP_INTERVAL.to_std().unwrap());
        live.round().await;
    }
    let log = live.log().await;
    assert!(
        log.iter()
            .any(|l| l.contains("renewing the subscription failed")),
        "{log:?}"
    );
    let expires = live.subscription().expires;
    assert_eq!(
        live.kept_current().await,
        format!(
            "Live (change notifications, renewal failing, expires {})",
            expires.format("%Y-%m-%d %H:%MZ")
        )
    );
    // It expires; Home says so.
    let gap = (expires - live.now()).to_std().unwrap() + Duration::from_secs(60);
    live.env.advance(gap);
    assert!(live.graph().subscriptions().is_empty());
    assert_eq!(live.kept_current().await, "Polling every 15 min");
    live.edit_in_outlook("In the gap");
    live.graph().deliver_notifications().await;
    assert_eq!(live.erp_subjects(), ["Customer call"]);

    live.graph().refuse_renewals(false);
    assert_eq!(
        live.due().await,
        [live.alice.as_str()],
        "polling every 15 min"
    );
    live.round().await;
    assert_eq!(live.erp_subjects(), ["In the gap"]);
    let second = live.subscription().id;
    assert_ne!(first, second, "a new subscription");
    assert!(live.kept_current().await.starts_with("Live"));
}

#[tokio::test]
async fn reauthorization_required_renews_then_the_delta_catches_the_paused_changes() {
    let live = live().await;
    let sub = live.subscription();
    live.graph()
        .send_lifecycle_event(&sub.id, lifecycle_event::REAUTHORIZATION_REQUIRED);
    live.edit_in_outlook("While paused");
    let deliveries = live.graph().deliver_notifications().await;
    assert_eq!(deliveries.len(), 1, "only the lifecycle notification");
    assert!(deliveries[0].0.ends_with(LIFECYCLE_PATH));
    assert_eq!(deliveries[0].2, 202);
    assert_eq!(live.due().await, [live.alice.as_str()]);
    live.round().await;
    assert_eq!(live.erp_subjects(), ["While paused"]);
    let renewed = live.subscription();
    assert_eq!((renewed.id.clone(), renewed.renewals), (sub.id, 1));
    assert!(!renewed.paused);
    live.settle().await;
    live.edit_in_outlook("Flowing again");
    live.graph().deliver_notifications().await;
    live.round().await;
    assert_eq!(live.erp_subjects(), ["Flowing again"]);
}

#[tokio::test]
async fn a_removed_subscription_is_created_again_then_the_delta_runs() {
    let live = live().await;
    let old = live.subscription().id;
    live.graph()
        .send_lifecycle_event(&old, lifecycle_event::SUBSCRIPTION_REMOVED);
    live.edit_in_outlook("While removed");
    live.graph().deliver_notifications().await;
    assert_eq!(live.due().await, [live.alice.as_str()]);
    live.round().await;
    assert_eq!(live.erp_subjects(), ["While removed"]);
    assert_ne!(live.subscription().id, old);
    assert!(live.kept_current().await.starts_with("Live"));
}

#[tokio::test]
async fn missed_notifications_run_the_delta_from_the_last_token() {
    let live = live().await;
    live.graph().drop_notifications(1);
    live.edit_in_outlook("Missed");
    live.graph()
        .send_lifecycle_event(&live.subscription().id, lifecycle_event::MISSED);
    live.graph().deliver_notifications().await;
    assert_eq!(live.due().await, [live.alice.as_str()]);
    live.graph().clear_requests();
    live.round().await;
    assert_eq!(live.erp_subjects(), ["Missed"]);
    assert!(
        live.graph()
            .requests()
            .iter()
            .all(|r| !r.query.iter().any(|(k, _)| k == "startDateTime")),
        "the delta went on from its token, no full re-read"
    );
}

#[tokio::test]
async fn turning_the_job_off_deletes_the_subscription() {
    let live = live().await;
    assert_eq!(live.graph().subscriptions().len(), 1);
    live.app
        .set_job_enabled(&live.alice, JobKind::Calendar, false)
        .await
        .unwrap();
    assert!(live.graph().subscriptions().is_empty());
    assert_eq!(live.kept_current().await, "Disabled");
}
