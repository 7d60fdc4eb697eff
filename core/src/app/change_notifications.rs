//! Graph change notifications: the host's HTTP server receives them, this module decides.
//!
//! - [`App::receive_notification`] takes the request as the host received it and returns the
//!   exact answer: the validation token echoed as `text/plain`; a notification recorded (a
//!   "notified" mark on its (user, job)) and answered 202 at once; the sync never runs inline.
//!   An unknown subscription or a wrong `clientState` is answered too but changes nothing.
//! - Before each run of a job, its subscription is created, renewed or re-created
//!   ([`App::keep_subscription`]); after a successful run the job's next poll is the backstop
//!   ([`BACKSTOP_INTERVAL`]) while the subscription is live, else the usual 15 minutes.
//! - Lifecycle: `reauthorizationRequired` renews before the next run, `subscriptionRemoved`
//!   re-creates before the delta read, `missed` runs the delta from the last token.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::App;
use super::config::{check_endpoint, load_service};
use super::profile;
use super::status::{self, JobKind, JobState};
use crate::engine::journal::LogLevel;
use crate::engine::subscriptions::{
    self as stored, SubscribeFailure, SubscriptionRecord, SubscriptionSlot, SubscriptionState,
};
use crate::error::{ErrorCode, PublicError};
use crate::graph::wire::{change_notification as cn, lifecycle_event, subscription, validation};
use crate::graph::{GraphClient, GraphError, NewSubscription};
use crate::host::{Expect, StoreError, WriteBatch};
use crate::jobs::calendar::RUN_INTERVAL;

/// The polling backstop while notifications work: changes they miss are caught within this.
pub const BACKSTOP_INTERVAL: Duration = Duration::hours(6);

/// What MsSync asks for: just under Graph's 10,080-minute maximum for Outlook events, so a
/// clock a few minutes ahead of Graph's is not refused.
pub const SUBSCRIPTION_LIFETIME: Duration =
    Duration::minutes(subscription::MAX_LIFETIME_MINUTES - 10);

/// Renewed at the first run inside this margin; the backstop runs at least four times in it, so a
/// failed renewal has several more chances before the expiry.
pub const RENEW_BEFORE: Duration = Duration::days(1);

/// Where Graph calls the host: `notificationUrl` and `lifecycleNotificationUrl` (they may be
/// the same). Set by the host once its endpoint answers the validation handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationEndpoint {
    pub notification_url: String,
    pub lifecycle_notification_url: String,
}

/// An HTTP request to the notification endpoint, as the host received it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    /// The raw query string, without `?` (e.g. `validationToken=abc%20def`).
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub body: String,
}

/// The exact answer for the host to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    /// A line for the host's own log (never the payload), e.g. when notifications were ignored.
    pub log: Option<String>,
}

impl NotificationEndpoint {
    /// Both URLs pass [`check_endpoint`]; otherwise `InvalidArgument` naming the setting.
    pub fn check(&self) -> Result<(), PublicError> {
        for (setting, url) in [
            ("notification_url", &self.notification_url),
            (
                "lifecycle_notification_url",
                &self.lifecycle_notification_url,
            ),
        ] {
            check_endpoint(url).map_err(|reason| {
                PublicError::new(ErrorCode::InvalidArgument, format!("`{setting}` {reason}"))
            })?;
        }
        Ok(())
    }
}

impl NotificationAnswer {
    fn plain(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: Some(validation::TEXT_PLAIN.into()),
            body: body.into(),
            log: None,
        }
    }
}

/// One valid notification's effect on its (user, job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Changed,
    Lifecycle(SubscriptionState),
}

fn random_client_state() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS gives random bytes");
    // 43 characters, well under Graph's 128.
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn format_time(t: DateTime<Utc>) -> String {
    super::format_utc(t)
}

impl App {
    /// The host's notification endpoint; runs from now on keep each job's subscription.
    /// Both URLs must pass [`check_endpoint`].
    pub fn with_change_notifications(
        mut self,
        endpoint: NotificationEndpoint,
    ) -> Result<Self, PublicError> {
        endpoint.check()?;
        self.notifications = Some(std::sync::Arc::new(endpoint));
        Ok(self)
    }

    /// Decides the answer to a request Graph sent to the notification endpoint. Never runs a
    /// sync: valid notifications only make their (user, job) due now.
    pub async fn receive_notification(&self, request: &NotificationRequest) -> NotificationAnswer {
        if let Some((_, token)) = url::form_urlencoded::parse(request.query.as_bytes())
            .find(|(name, _)| name == validation::TOKEN_QUERY)
        {
            return NotificationAnswer::plain(200, token.into_owned());
        }
        let items = match serde_json::from_str::<Value>(&request.body) {
            Ok(Value::Object(mut body)) => match body.remove(cn::VALUE) {
                Some(Value::Array(items)) => items,
                _ => return NotificationAnswer::plain(400, "not a change notification collection"),
            },
            _ => return NotificationAnswer::plain(400, "not a change notification collection"),
        };
        match self.record_notifications(&items).await {
            Ok((unknown, forged)) => {
                let mut answer = NotificationAnswer {
                    status: validation::ACCEPTED,
                    content_type: None,
                    body: String::new(),
                    log: None,
                };
                let mut ignored = Vec::new();
                if unknown > 0 {
                    ignored.push(format!("{unknown} for unknown subscriptions"));
                }
                if forged > 0 {
                    ignored.push(format!("{forged} with a wrong clientState"));
                }
                if !ignored.is_empty() {
                    answer.log = Some(format!(
                        "ignored change notifications: {}",
                        ignored.join(", ")
                    ));
                }
                answer
            }
            // Not recorded: a 5xx makes Graph deliver it again.
            Err(_) => NotificationAnswer::plain(503, "not recorded; try again"),
        }
    }

    /// Marks the (user, job) of each valid notification; returns how many were unknown and
    /// how many carried a wrong `clientState`.
    async fn record_notifications(&self, items: &[Value]) -> Result<(usize, usize), PublicError> {
        use std::collections::BTreeMap;
        let store = self.host.store.as_ref();
        let (mut unknown, mut forged) = (0, 0);
        let mut effects: BTreeMap<(String, String), Vec<Effect>> = BTreeMap::new();
        let mut forged_users = BTreeMap::new();
        for item in items {
            let Some(id) = item[cn::SUBSCRIPTION_ID].as_str() else {
                unknown += 1;
                continue;
            };
            let Some((job, user)) = stored::owner_of(store, id).await? else {
                unknown += 1;
                continue;
            };
            let (slot, _) = stored::load_slot(store, &job, &user).await?;
            let Some(record) = slot.current.as_ref().filter(|r| r.id == id) else {
                unknown += 1;
                continue;
            };
            if !self.client_state_matches(&job, &user, record, item[cn::CLIENT_STATE].as_str()) {
                forged += 1;
                *forged_users.entry(user.clone()).or_insert(0) += 1;
                continue;
            }
            let effect = match item[cn::LIFECYCLE_EVENT].as_str() {
                None => Effect::Changed,
                Some(lifecycle_event::REAUTHORIZATION_REQUIRED) => {
                    Effect::Lifecycle(SubscriptionState::ReauthorizationRequired)
                }
                Some(lifecycle_event::SUBSCRIPTION_REMOVED) => {
                    Effect::Lifecycle(SubscriptionState::Removed)
                }
                // `missed`, and any event Graph adds later: read the delta.
                Some(_) => Effect::Changed,
            };
            effects.entry((job, user)).or_default().push(effect);
        }
        let now = self.now();
        for ((job, user), effects) in effects {
            let (job, user) = (&job, &user);
            let effects = &effects;
            super::update_with_retry(store, user, move || async move {
                let (mut slot, expect) = stored::load_slot(store, job, user).await?;
                let previous = slot.current.as_ref().map(|r| r.id.clone());
                let mut batch = WriteBatch::new();
                let mut lines = Vec::new();
                for effect in effects {
                    if let (Effect::Lifecycle(state), Some(record)) = (effect, slot.current.as_mut())
                        && record.state != *state
                    {
                        record.state = *state;
                        lines.push(match state {
                            SubscriptionState::Removed => {
                                "Graph removed the change-notification subscription; creating a new one."
                            }
                            _ => "Graph asked to reauthorize the change-notification subscription.",
                        });
                    }
                }
                if !lines.is_empty() {
                    batch = stored::put_slot(batch, job, user, &slot, expect, previous.as_deref());
                }
                batch = stored::put_notified(batch, job, user, now);
                let lines: Vec<String> = lines.into_iter().map(String::from).collect();
                self.log(&mut batch, user, LogLevel::Info, &lines).await?;
                Ok(Some((batch, ())))
            })
            .await?;
        }
        for (user, count) in forged_users {
            let mut batch = WriteBatch::new();
            self.log(
                &mut batch,
                &user,
                LogLevel::Warning,
                &[format!(
                    "Ignored {count} change notification(s) with a wrong clientState: not from Microsoft Graph."
                )],
            )
            .await?;
            store.commit(batch).await?;
        }
        Ok((unknown, forged))
    }

    fn client_state_matches(
        &self,
        job: &str,
        user: &str,
        record: &SubscriptionRecord,
        received: Option<&str>,
    ) -> bool {
        let (Some(sealer), Some(received)) = (self.sealer.as_ref(), received) else {
            return false;
        };
        let context = stored::slot_key(job, user);
        sealer
            .open(context.as_bytes(), &record.sealed_client_state)
            .is_ok_and(|expected| expected == received.as_bytes())
    }

    /// Before a run: creates, renews or re-creates the job's subscription when the host has a
    /// notification endpoint. Failures are logged and leave the job polling; they never fail
    /// the run. Returns the version of the "notified" mark the run will clear.
    pub(super) async fn keep_subscription(&self, user_id: &str, job: JobKind) -> Option<u64> {
        let store = self.host.store.as_ref();
        let mark = stored::notified_version(store, job.id(), user_id)
            .await
            .ok()
            .flatten();
        if let Some(endpoint) = self
            .notifications
            .clone()
            .filter(|_| job.has_change_notifications())
            && let Err(e) = self.subscribe(user_id, job, &endpoint).await
        {
            let mut batch = WriteBatch::new();
            let line = format!("Could not keep change notifications: {}", e.reason);
            if self
                .log(&mut batch, user_id, LogLevel::Warning, &[line])
                .await
                .is_ok()
            {
                let _ = store.commit(batch).await;
            }
        }
        mark
    }

    async fn subscribe(
        &self,
        user_id: &str,
        job: JobKind,
        endpoint: &NotificationEndpoint,
    ) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        let now = self.now();
        let (slot, _) = stored::load_slot(store, job.id(), user_id).await?;
        let renew = match &slot.current {
            Some(r) if r.state == SubscriptionState::Removed || r.expires <= now => None,
            Some(r) if r.state == SubscriptionState::ReauthorizationRequired => Some(r.id.clone()),
            Some(r) if r.expires - now <= RENEW_BEFORE => Some(r.id.clone()),
            Some(_) => return Ok(()),
            None => None,
        };
        if renew.is_none()
            && let Some(failure) = &slot.failure
            && failure.retry_at > now
        {
            return Ok(());
        }
        let graph = self.subscription_graph(user_id).await?;
        let expiration = now + SUBSCRIPTION_LIFETIME;
        if let Some(id) = renew {
            match graph.renew_subscription(&id, expiration).await {
                Ok(info) => {
                    return self
                        .store_subscription(user_id, job, |slot| {
                            if let Some(r) = slot.current.as_mut().filter(|r| r.id == id) {
                                r.expires = info.expiration;
                                r.state = SubscriptionState::Live;
                                r.renewals += 1;
                            }
                            slot.failure = None;
                            None
                        })
                        .await;
                }
                // Graph deleted it (not renewed in time): make a new one below.
                Err(GraphError::NotFound { .. }) => {}
                Err(e) => {
                    let reason = format!("renewing the subscription failed ({e})");
                    return self.subscribe_failed(user_id, job, reason).await;
                }
            }
        }
        let client_state = random_client_state();
        let created = graph
            .create_subscription(&NewSubscription {
                notification_url: &endpoint.notification_url,
                lifecycle_notification_url: &endpoint.lifecycle_notification_url,
                expiration,
                client_state: &client_state,
            })
            .await;
        let info = match created {
            Ok(info) => info,
            Err(e) => {
                let reason = match &e {
                    GraphError::Service { status, .. }
                        if *status == subscription::VALIDATION_FAILED =>
                    {
                        format!(
                            "Graph refused the subscription; is {} reachable from the internet? ({e})",
                            endpoint.notification_url
                        )
                    }
                    _ => format!("creating the subscription failed ({e})"),
                };
                return self.subscribe_failed(user_id, job, reason).await;
            }
        };
        let sealer = self.sealer()?.clone();
        let context = stored::slot_key(job.id(), user_id);
        let sealed = sealer
            .seal(context.as_bytes(), client_state.as_bytes())
            .map_err(|_| PublicError::new(ErrorCode::Internal, "sealing the clientState failed"))?;
        let record = SubscriptionRecord {
            id: info.id,
            expires: info.expiration,
            sealed_client_state: sealed,
            state: SubscriptionState::Live,
            created: now,
            renewals: 0,
        };
        self.store_subscription(user_id, job, move |slot| {
            slot.current = Some(record.clone());
            slot.failure = None;
            Some(format!(
                "Change notifications on: Outlook changes reach ERP.net within seconds (renews {}).",
                format_time(record.expires - RENEW_BEFORE)
            ))
        })
        .await
    }

    async fn subscribe_failed(
        &self,
        user_id: &str,
        job: JobKind,
        reason: String,
    ) -> Result<(), PublicError> {
        let now = self.now();
        self.store_subscription(user_id, job, move |slot| {
            let first = slot.failure.is_none();
            slot.failure = Some(SubscribeFailure {
                at: now,
                reason: reason.clone(),
                retry_at: now + RUN_INTERVAL,
            });
            first.then(|| {
                format!(
                    "Change notifications are off: {reason}. Polling every {} min.",
                    RUN_INTERVAL.num_minutes()
                )
            })
        })
        .await
    }

    async fn store_subscription(
        &self,
        user_id: &str,
        job: JobKind,
        change: impl Fn(&mut SubscriptionSlot) -> Option<String>,
    ) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        let change = &change;
        super::update_with_retry(store, user_id, move || async move {
            let (mut slot, expect) = stored::load_slot(store, job.id(), user_id).await?;
            let previous = slot.current.as_ref().map(|r| r.id.clone());
            let line = change(&mut slot);
            let mut batch = stored::put_slot(
                WriteBatch::new(),
                job.id(),
                user_id,
                &slot,
                expect,
                previous.as_deref(),
            );
            let level = if slot.failure.is_some() {
                LogLevel::Warning
            } else {
                LogLevel::Info
            };
            self.log(
                &mut batch,
                user_id,
                level,
                &line.into_iter().collect::<Vec<_>>(),
            )
            .await?;
            Ok(Some((batch, ())))
        })
        .await?;
        Ok(())
    }

    /// After a run: a successful one clears the notifications it saw, and the next poll is the
    /// backstop while the subscription is live (sooner when its renewal is due).
    pub(super) async fn after_subscribed_run(
        &self,
        user_id: &str,
        job: JobKind,
        mark: Option<u64>,
        succeeded: bool,
    ) -> Result<(), PublicError> {
        let store = self.host.store.as_ref();
        if !succeeded {
            return Ok(());
        }
        if let Some(version) = mark {
            stored::clear_notified(store, job.id(), user_id, version).await?;
        }
        let now = self.now();
        let (slot, _) = stored::load_slot(store, job.id(), user_id).await?;
        let Some(record) = slot.live_at(now) else {
            return Ok(());
        };
        let renew_at = record.expires - RENEW_BEFORE;
        let next = if renew_at > now {
            (now + BACKSTOP_INTERVAL).min(renew_at)
        } else {
            // A renewal failed: try again at the usual interval.
            now + RUN_INTERVAL
        };
        super::update_with_retry(store, user_id, move || async move {
            let (mut status, expect) = status::load_status(store, user_id, job).await?;
            if status.state != JobState::Operational || !status.enabled {
                return Ok(None);
            }
            status.next_run = Some(next);
            Ok(Some((
                status::put_status(WriteBatch::new(), user_id, &status, expect),
                (),
            )))
        })
        .await?;
        Ok(())
    }

    /// The job was turned off (or its user left): its subscription goes too. Best effort: one
    /// Graph keeps would expire on its own, and its notifications are answered and ignored.
    pub(super) async fn drop_subscription(&self, user_id: &str, job: JobKind) {
        let store = self.host.store.as_ref();
        let Ok((slot, _)) = stored::load_slot(store, job.id(), user_id).await else {
            return;
        };
        let Some(record) = slot.current else {
            return;
        };
        let mut lines = vec!["Change notifications off.".to_owned()];
        match self.subscription_graph(user_id).await {
            Ok(graph) => {
                if let Err(e) = graph.delete_subscription(&record.id).await {
                    lines.push(format!(
                        "Could not delete the subscription in Graph ({e}); it expires on its own."
                    ));
                }
            }
            Err(e) => lines.push(format!(
                "Could not delete the subscription in Graph ({}); it expires on its own.",
                e.reason
            )),
        }
        let _ = self
            .store_subscription(user_id, job, |slot| {
                slot.current = None;
                slot.failure = None;
                None
            })
            .await;
        let mut batch = WriteBatch::new();
        if self
            .log(&mut batch, user_id, LogLevel::Info, &lines)
            .await
            .is_ok()
        {
            let _ = store.commit(batch).await;
        }
    }

    /// A Graph client for the user's mailbox, as runs make it.
    async fn subscription_graph(&self, user_id: &str) -> Result<GraphClient, PublicError> {
        let store = self.host.store.as_ref();
        let (p, _) = profile::require(store, user_id).await?;
        let (record, _) = load_service(store).await?;
        let (tokens, mailbox) = self.mailbox_access(&record, &p.user_id)?;
        self.graph_client(tokens, mailbox, p.zone.clone(), self.host.http.clone())
    }
}

/// How Home says the job is kept current.
pub(super) async fn kept_current(
    store: &dyn crate::host::Store,
    user_id: &str,
    job: JobKind,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let (slot, _) = stored::load_slot(store, job.id(), user_id).await?;
    Ok(match slot.live_at(now) {
        // Still notified, but not for long: say so rather than promise a renewal.
        Some(record) if slot.failure.is_some() && record.expires - now <= RENEW_BEFORE => format!(
            "Live (change notifications, renewal failing, expires {})",
            format_time(record.expires)
        ),
        Some(record) => format!(
            "Live (change notifications, renews {})",
            format_time((record.expires - RENEW_BEFORE).max(now))
        ),
        None => format!("Polling every {} min", RUN_INTERVAL.num_minutes()),
    })
}

/// (user, job, since) of each enabled, operational job a notification made due.
pub(super) async fn notified_due(
    store: &dyn crate::host::Store,
    now: DateTime<Utc>,
    process: Option<&crate::engine::LocalProcess>,
) -> Result<Vec<(String, JobKind, DateTime<Utc>)>, PublicError> {
    let mut due = Vec::new();
    for (job, user, at) in stored::all_notified(store).await? {
        let Ok(job) = JobKind::parse(&job) else {
            continue;
        };
        let (status, expect) = status::load_status(store, &user, job).await?;
        // A job in error or throttled keeps its own schedule; the mark waits for it. A job
        // another node has taken is not due here.
        if expect != Expect::Absent
            && status.enabled
            && status.state == JobState::Operational
            && !status.claimed(now, process)
        {
            due.push((user, job, at));
        }
    }
    Ok(due)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::host::{Host, ManualClock, MemoryStore};

    fn app() -> (App, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let host = Host {
            http: Arc::new(crate::host::testing::RefuseHttp),
            store: store.clone(),
            clock: Arc::new(ManualClock::new(
                Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap(),
            )),
        };
        (App::new(host), store)
    }

    fn receive(app: &App, query: &str, body: &str) -> NotificationAnswer {
        futures::executor::block_on(app.receive_notification(&NotificationRequest {
            query: query.into(),
            content_type: Some("application/json".into()),
            body: body.into(),
        }))
    }

    #[test]
    fn the_validation_token_is_echoed_decoded_as_text_plain() {
        let (app, store) = app();
        let answer = receive(&app, "validationToken=Validation%3A+a%20b%26c", "");
        assert_eq!(
            (
                answer.status,
                answer.content_type.as_deref(),
                answer.body.as_str()
            ),
            (200, Some("text/plain"), "Validation: a b&c")
        );
        assert!(store.is_empty(), "a handshake records nothing");
    }

    #[test]
    fn unknown_subscriptions_are_answered_and_change_nothing() {
        let (app, store) = app();
        let body = r#"{"value":[{"subscriptionId":"s1","clientState":"c","changeType":"updated"},{"clientState":"c"}]}"#;
        let answer = receive(&app, "", body);
        assert_eq!((answer.status, answer.content_type), (202, None));
        assert_eq!(
            answer.log.as_deref(),
            Some("ignored change notifications: 2 for unknown subscriptions")
        );
        assert!(!answer.log.unwrap().contains("\"c\""), "no payload logged");
        assert!(store.is_empty());
    }

    #[test]
    fn a_body_that_is_not_a_notification_collection_is_refused() {
        let (app, _) = app();
        for body in ["", "not json", "[]", r#"{"value":{}}"#] {
            assert_eq!(receive(&app, "", body).status, 400, "{body}");
        }
    }
}
