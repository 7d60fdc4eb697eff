//! Change-notification subscriptions as Graph runs them (names from `mssync_core`'s wire table):
//! a create runs the validation handshake over real HTTP against each URL and is refused (400)
//! when an answer is wrong or late; subscriptions expire on the world's clock; changes to a
//! mailbox's events are queued and delivered over HTTP as `{"value": [...]}` batches, one POST
//! per notification URL. On demand: lifecycle events, dropped notifications, late duplicates,
//! refused renewals.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use mssync_core::wire::graph::{
    change_notification as cn, change_type, lifecycle_event, subscription, validation,
};
use serde_json::{Map, Value, json};

use super::state::{Failure, State};

/// The tenant the simulated notifications name.
pub const TENANT_ID: &str = "8f6c2a1e-0d4b-4b6e-9a7c-1f2e3d4c5b6a";

/// Properties a subscription create may carry: the ones MsSync's wire table names, and
/// `latestSupportedTlsVersion` from N-post's sample. Anything else is refused.
const CREATE_PROPERTIES: &[&str] = &[
    subscription::CHANGE_TYPE,
    subscription::NOTIFICATION_URL,
    subscription::LIFECYCLE_NOTIFICATION_URL,
    subscription::RESOURCE,
    subscription::EXPIRATION_DATE_TIME,
    subscription::CLIENT_STATE,
    "latestSupportedTlsVersion",
];

/// An expiry sooner than this from now is raised to it (N-ov).
const MIN_LIFETIME_MINUTES: i64 = 45;

#[derive(Debug, Clone, PartialEq)]
pub struct SimSubscription {
    pub id: String,
    /// The mailbox (user id) whose events it watches.
    pub user: String,
    pub resource: String,
    pub change_types: Vec<String>,
    pub notification_url: String,
    pub lifecycle_notification_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: DateTime<Utc>,
    /// After `reauthorizationRequired`: notifications pause until a renewal or reauthorize.
    pub paused: bool,
    pub renewals: u32,
}

/// Notification state and faults of the simulator.
#[derive(Default)]
pub struct Notifications {
    pub subscriptions: BTreeMap<String, SimSubscription>,
    /// Changes not delivered yet: (subscription id, changeType, event id).
    pub changes: Vec<(String, &'static str, String)>,
    /// Lifecycle notifications waiting: (subscription snapshot, event).
    pub lifecycle: Vec<(SimSubscription, &'static str)>,
    /// Duplicates held back to be sent after the next delivery's fresh ones.
    pub late: Vec<(String, Value)>,
    pub drop_next: u32,
    pub duplicate_late: bool,
    pub refuse_renewals: bool,
    pub validation_timeout: Option<Duration>,
    next_id: u64,
    /// Every delivery POST: (url, notifications in it, status or 0 when unreachable).
    pub deliveries: Vec<(String, usize, u16)>,
    pub validations: u32,
}

fn graph_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn bad(message: impl Into<String>) -> Failure {
    Failure::new(400, "InvalidRequest", message)
}

fn not_found() -> Failure {
    Failure::new(404, "ResourceNotFound", "The object was not found.")
}

/// The mailbox a resource names: `/users/{id}/events`, `users/{id}/events` or `/me/events`.
fn mailbox_of(resource: &str, me: Option<&str>) -> Option<String> {
    let segments: Vec<&str> = resource.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["users", id, "events"] => Some((*id).to_owned()),
        ["me", "events"] => me.map(str::to_owned),
        _ => None,
    }
}

/// Graph's handshake against one URL, over real HTTP on a thread of its own (the simulator
/// answers from a synchronous responder): 200, `text/plain`, the token, in time.
fn validate(url: &str, timeout: Duration) -> Result<(), String> {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid_like()
    );
    let target = {
        let mut u = url::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
        u.query_pairs_mut()
            .append_pair(validation::TOKEN_QUERY, &token);
        u
    };
    let expected = token.clone();
    std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .post(target)
            .header("Content-Type", validation::TEXT_PLAIN)
            .send()
            .map_err(|e| format!("no answer in time: {e}"))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().map_err(|e| e.to_string())?;
        if status != 200 || !content_type.starts_with(validation::TEXT_PLAIN) || body != expected {
            return Err(format!(
                "answered {status} {content_type:?} with another body"
            ));
        }
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err("the validation thread panicked".into()))
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Notifications {
    /// Queues a notification for each subscription that watches this change now (paused ones
    /// lose it, as Graph's do until reauthorized).
    pub fn changed(&mut self, now: DateTime<Utc>, user: &str, change: &'static str, id: &str) {
        self.forget_expired(now);
        for sub in self.subscriptions.values() {
            if sub.user == user && !sub.paused && sub.change_types.iter().any(|t| t == change) {
                self.changes.push((sub.id.clone(), change, id.to_owned()));
            }
        }
    }

    fn forget_expired(&mut self, now: DateTime<Utc>) {
        self.subscriptions.retain(|_, s| s.expires > now);
    }

    /// `POST /subscriptions`.
    pub fn create(
        &mut self,
        now: DateTime<Utc>,
        me: Option<&str>,
        mailbox_exists: impl Fn(&str) -> bool,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        let Some(Value::Object(body)) = body else {
            return Err(bad("a JSON object body is required"));
        };
        if let Some(name) = body
            .keys()
            .find(|k| !CREATE_PROPERTIES.contains(&k.as_str()))
        {
            return Err(bad(format!(
                "The property '{name}' does not exist on type 'microsoft.graph.subscription'."
            )));
        }
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let change_types: Vec<String> = text(subscription::CHANGE_TYPE)
            .ok_or_else(|| bad("changeType is required"))?
            .split(',')
            .map(|t| t.trim().to_owned())
            .collect();
        if let Some(t) = change_types
            .iter()
            .find(|t| !change_type::ALL.contains(&t.as_str()))
        {
            return Err(bad(format!("unknown changeType '{t}'")));
        }
        let resource = text(subscription::RESOURCE).ok_or_else(|| bad("resource is required"))?;
        let user = mailbox_of(&resource, me).ok_or_else(|| bad("unsupported resource"))?;
        if !mailbox_exists(&user) {
            return Err(Failure::new(
                404,
                "ErrorInvalidUser",
                "The requested user is invalid.",
            ));
        }
        let requested = text(subscription::EXPIRATION_DATE_TIME)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| bad("expirationDateTime is required"))?;
        let max = now + chrono::Duration::minutes(subscription::MAX_LIFETIME_MINUTES);
        if requested > max {
            return Err(bad(
                "Subscription expiration can only be 10080 minutes in the future.",
            ));
        }
        let expires = requested.max(now + chrono::Duration::minutes(MIN_LIFETIME_MINUTES));
        let client_state = text(subscription::CLIENT_STATE);
        if client_state
            .as_ref()
            .is_some_and(|c| c.chars().count() > subscription::MAX_CLIENT_STATE_CHARS)
        {
            return Err(bad("clientState is longer than 128 characters"));
        }
        let notification_url = text(subscription::NOTIFICATION_URL)
            .ok_or_else(|| bad("notificationUrl is required"))?;
        let lifecycle_notification_url = text(subscription::LIFECYCLE_NOTIFICATION_URL);
        let timeout = self
            .validation_timeout
            .unwrap_or(Duration::from_secs(validation::ANSWER_WITHIN_SECONDS));
        let mut urls = vec![notification_url.clone()];
        urls.extend(lifecycle_notification_url.clone());
        urls.dedup();
        for url in &urls {
            self.validations += 1;
            validate(url, timeout).map_err(|why| {
                bad(format!(
                    "Subscription validation request failed. Notification endpoint {url}: {why}"
                ))
            })?;
        }
        self.next_id += 1;
        let id = format!("7f105c7d-2dc5-4530-97cd-{:012x}", self.next_id);
        let sub = SimSubscription {
            id: id.clone(),
            user,
            resource: resource.clone(),
            change_types,
            notification_url,
            lifecycle_notification_url,
            client_state,
            expires,
            paused: false,
            renewals: 0,
        };
        let answer = render(&sub);
        self.subscriptions.insert(id, sub);
        Ok(answer)
    }

    /// `PATCH /subscriptions/{id}`: a new expiry, which also reauthorizes.
    pub fn renew(
        &mut self,
        now: DateTime<Utc>,
        id: &str,
        body: Option<Value>,
    ) -> Result<Value, Failure> {
        self.forget_expired(now);
        let Some(Value::Object(body)) = body else {
            return Err(bad("a JSON object body is required"));
        };
        if let Some(name) = body
            .keys()
            .find(|k| k.as_str() != subscription::EXPIRATION_DATE_TIME)
        {
            return Err(bad(format!("'{name}' cannot be updated")));
        }
        if self.refuse_renewals {
            return Err(Failure::new(
                403,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ));
        }
        let requested = body[subscription::EXPIRATION_DATE_TIME]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| bad("expirationDateTime is required"))?;
        if requested > now + chrono::Duration::minutes(subscription::MAX_LIFETIME_MINUTES) {
            return Err(bad(
                "Subscription expiration can only be 10080 minutes in the future.",
            ));
        }
        let sub = self.subscriptions.get_mut(id).ok_or_else(not_found)?;
        sub.expires = requested.max(now + chrono::Duration::minutes(MIN_LIFETIME_MINUTES));
        sub.paused = false;
        sub.renewals += 1;
        Ok(render(sub))
    }

    /// `POST /subscriptions/{id}/reauthorize`.
    pub fn reauthorize(&mut self, now: DateTime<Utc>, id: &str) -> Result<(), Failure> {
        self.forget_expired(now);
        self.subscriptions.get_mut(id).ok_or_else(not_found)?.paused = false;
        Ok(())
    }

    /// `DELETE /subscriptions/{id}`.
    pub fn delete(&mut self, now: DateTime<Utc>, id: &str) -> Result<(), Failure> {
        self.forget_expired(now);
        self.subscriptions
            .remove(id)
            .map(|_| ())
            .ok_or_else(not_found)
    }

    /// The POSTs to make now: fresh notifications first, then the duplicates held from the
    /// last delivery; grouped by URL (Graph batches notifications of several subscriptions).
    pub fn take_batches(&mut self, now: DateTime<Utc>) -> Vec<(String, Vec<Value>)> {
        self.forget_expired(now);
        let mut out: Vec<(String, Vec<Value>)> = Vec::new();
        let mut push = |url: &str, item: Value| match out.iter_mut().find(|(u, _)| u == url) {
            Some((_, items)) => items.push(item),
            None => out.push((url.to_owned(), vec![item])),
        };
        let late = std::mem::take(&mut self.late);
        for (id, change, event_id) in std::mem::take(&mut self.changes) {
            // Gone since (expired, removed, deleted): nothing is sent.
            let Some(sub) = self.subscriptions.get(&id) else {
                continue;
            };
            if self.drop_next > 0 {
                self.drop_next -= 1;
                continue;
            }
            let item = change_item(sub, change, &event_id);
            if self.duplicate_late {
                self.late.push((sub.notification_url.clone(), item.clone()));
            }
            push(&sub.notification_url, item);
        }
        for (sub, event) in std::mem::take(&mut self.lifecycle) {
            let url = sub
                .lifecycle_notification_url
                .clone()
                .unwrap_or_else(|| sub.notification_url.clone());
            push(&url, lifecycle_item(&sub, event));
        }
        for (url, item) in late {
            push(&url, item);
        }
        out
    }

    /// Queues a lifecycle event for the subscription; `subscriptionRemoved` removes it and
    /// `reauthorizationRequired` pauses its notifications.
    pub fn lifecycle_event(&mut self, id: &str, event: &'static str) {
        let Some(sub) = self.subscriptions.get_mut(id) else {
            panic!("no subscription {id}");
        };
        match event {
            lifecycle_event::REAUTHORIZATION_REQUIRED => sub.paused = true,
            lifecycle_event::SUBSCRIPTION_REMOVED => {}
            lifecycle_event::MISSED => {}
            other => panic!("not a lifecycle event: {other}"),
        }
        let snapshot = sub.clone();
        if event == lifecycle_event::SUBSCRIPTION_REMOVED {
            self.subscriptions.remove(id);
        }
        self.lifecycle.push((snapshot, event));
    }
}

fn render(sub: &SimSubscription) -> Value {
    let mut out = Map::new();
    out.insert(subscription::ID.into(), json!(sub.id));
    out.insert(subscription::RESOURCE.into(), json!(sub.resource));
    out.insert(
        subscription::CHANGE_TYPE.into(),
        json!(sub.change_types.join(",")),
    );
    out.insert(
        subscription::NOTIFICATION_URL.into(),
        json!(sub.notification_url),
    );
    if let Some(url) = &sub.lifecycle_notification_url {
        out.insert(subscription::LIFECYCLE_NOTIFICATION_URL.into(), json!(url));
    }
    if let Some(c) = &sub.client_state {
        out.insert(subscription::CLIENT_STATE.into(), json!(c));
    }
    out.insert(
        subscription::EXPIRATION_DATE_TIME.into(),
        json!(graph_time(sub.expires)),
    );
    Value::Object(out)
}

fn common(sub: &SimSubscription) -> Map<String, Value> {
    let mut item = Map::new();
    item.insert(cn::SUBSCRIPTION_ID.into(), json!(sub.id));
    item.insert(
        cn::SUBSCRIPTION_EXPIRATION_DATE_TIME.into(),
        json!(graph_time(sub.expires)),
    );
    item.insert(cn::TENANT_ID.into(), json!(TENANT_ID));
    if let Some(c) = &sub.client_state {
        item.insert(cn::CLIENT_STATE.into(), json!(c));
    }
    item
}

fn change_item(sub: &SimSubscription, change: &str, event_id: &str) -> Value {
    let mut item = common(sub);
    let resource = format!("Users/{}/Events/{event_id}", sub.user);
    item.insert(cn::CHANGE_TYPE.into(), json!(change));
    item.insert(cn::RESOURCE.into(), json!(resource));
    item.insert(
        cn::RESOURCE_DATA.into(),
        json!({"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": event_id}),
    );
    Value::Object(item)
}

fn lifecycle_item(sub: &SimSubscription, event: &str) -> Value {
    let mut item = common(sub);
    item.insert(cn::LIFECYCLE_EVENT.into(), json!(event));
    Value::Object(item)
}

/// Routes `/subscriptions...` (the path after `/v1.0`).
pub(super) fn route(
    state: &mut State,
    me: Option<&str>,
    method: &str,
    rest: &[&str],
    body: Option<Value>,
) -> Result<(u16, Option<Value>), Failure> {
    let now = state.now();
    let mailboxes: Vec<String> = state.mailboxes.keys().cloned().collect();
    let n = &mut state.notifications;
    match (method, rest) {
        ("POST", []) => n
            .create(now, me, |u| mailboxes.iter().any(|m| m == u), body)
            .map(|v| (201, Some(v))),
        ("PATCH", [id]) => n.renew(now, id, body).map(|v| (200, Some(v))),
        ("DELETE", [id]) => n.delete(now, id).map(|()| (204, None)),
        ("POST", [id, action]) if *action == subscription::REAUTHORIZE => {
            n.reauthorize(now, id).map(|()| (204, None))
        }
        _ => Err(bad("Unsupported request")),
    }
}

/// POSTs each batch; an unreachable endpoint counts as status 0 (Graph would retry for hours,
/// then drop: the simulator drops at once).
pub(super) async fn post_batches(batches: Vec<(String, Vec<Value>)>) -> Vec<(String, usize, u16)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(
            validation::NOTIFICATION_ANSWER_WITHIN_SECONDS,
        ))
        .build()
        .expect("a client");
    let mut out = Vec::new();
    for (url, items) in batches {
        let count = items.len();
        let status = match client
            .post(&url)
            .header("Content-Type", "application/json")
            .body(json!({ cn::VALUE: items }).to_string())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        out.push((url, count, status));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use crate::graph::GraphSim;

    /// An endpoint answering the handshake with `answer(token)` after `delay`.
    struct Endpoint {
        answer: fn(&str) -> String,
        delay: Duration,
    }

    impl Respond for Endpoint {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let token = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "validationToken")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            ResponseTemplate::new(200)
                .set_body_raw((self.answer)(&token), "text/plain")
                .set_delay(self.delay)
        }
    }

    async fn create_against(
        answer: fn(&str) -> String,
        delay: Duration,
    ) -> (u16, serde_json::Value) {
        let endpoint = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Endpoint { answer, delay })
            .mount(&endpoint)
            .await;
        let graph = GraphSim::start().await;
        graph.add_mailbox("u1");
        graph.set_validation_timeout(Duration::from_millis(300));
        let response = reqwest::Client::new()
            .post(format!("{}/subscriptions", graph.base_url()))
            .header("Authorization", "Bearer t")
            .header("Content-Type", "application/json")
            .body(
                json!({
                    "changeType": "created,updated,deleted",
                    "notificationUrl": format!("{}/n", endpoint.uri()),
                    "lifecycleNotificationUrl": format!("{}/l", endpoint.uri()),
                    "resource": "/users/u1/events",
                    "expirationDateTime": "2026-03-03T00:00:00Z",
                    "clientState": "s",
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    #[tokio::test]
    async fn a_subscription_is_created_only_when_the_endpoint_echoes_the_token_in_time() {
        let (status, body) = create_against(str::to_owned, Duration::ZERO).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["resource"], "/users/u1/events");

        let (status, body) = create_against(|_| "something else".into(), Duration::ZERO).await;
        assert_eq!(status, 400, "a wrong answer: {body}");

        let (status, body) = create_against(str::to_owned, Duration::from_millis(900)).await;
        assert_eq!(status, 400, "a late answer: {body}");
    }
}
