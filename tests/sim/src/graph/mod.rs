//! A stateful Microsoft Graph calendar simulator on wiremock.
//!
//! Mailboxes of events (ids immutable and case-sensitive; changeKey and lastModifiedDateTime
//! move on every write), recurring series (daily and weekly patterns) expanded in calendarView,
//! calendarView/delta and /instances, with exceptions and cancelled occurrences; delta tokens
//! that remember what the client has seen, paged by `odata.maxpagesize`, expirable on demand;
//! `$batch`; `transactionId` idempotency; the extended-property filter; `Prefer` time zone and
//! text bodies; throttling, outages, slow answers, the 4-per-mailbox concurrency limit and partial
//! batch failures on demand. Every request is recorded.
//!
//! calendarView, instances and listings come in pages of 10 (or `$top` / `odata.maxpagesize`)
//! linked by `@odata.nextLink`.
//!
//! A `$batch` counts against its mailbox's concurrency limit with as many slots as Outlook runs
//! of its items at once (up to four; one for a `dependsOn` chain).
//!
//! Not simulated: monthly and yearly patterns (answered 400), attendee responses.

mod http;
mod mail;
mod recurrence;
mod state;
mod subscriptions;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use wiremock::{Mock, MockServer};

pub use http::{Authorizer, MAILBOX_CONCURRENCY};
pub use recurrence::Recurrence;
pub use subscriptions::{SimSubscription, TENANT_ID};

use http::{Responder, Traffic};
use state::{State, View};

/// Who a bearer token belongs to, as the authorizer decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// The user's object id; `/me` addresses this mailbox. App-only tokens have none.
    pub oid: Option<String>,
    /// The permissions the token carries (application roles or delegated scopes), checked per
    /// resource; None when the authorizer does not check them.
    pub grants: Option<Vec<String>>,
}

impl Principal {
    /// Whether the token may make this request of mail (`Mail.ReadWrite` to write; to read, any
    /// of the mail permissions message delta lists).
    pub fn may_use_mail(&self, method: &str) -> bool {
        let Some(grants) = &self.grants else {
            return true;
        };
        let allowed: &[&str] = if method == "GET" {
            &[
                "Mail.ReadBasic.All",
                "Mail.ReadBasic",
                "Mail.Read",
                "Mail.ReadWrite",
            ]
        } else {
            &["Mail.ReadWrite"]
        };
        grants.iter().any(|g| allowed.contains(&g.as_str()))
    }

    /// Whether the token may use calendars (`Calendars.ReadWrite`, all MsSync asks for).
    pub fn may_use_calendars(&self) -> bool {
        self.grants
            .as_ref()
            .is_none_or(|g| g.iter().any(|g| g == "Calendars.ReadWrite"))
    }
}

/// One request as the simulator received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// Percent-decoded.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl RecordedRequest {
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

pub struct GraphSim {
    server: MockServer,
    state: Arc<Mutex<State>>,
    traffic: Arc<Mutex<Traffic>>,
    authorizer: Arc<Mutex<Authorizer>>,
}

/// Accepts any bearer token; reads `oid` from it if it is a JWT (signature not checked).
pub fn any_bearer() -> Authorizer {
    Arc::new(|token: &str| {
        let oid = token.split('.').nth(1).and_then(|payload| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload.trim_end_matches('='))
                .ok()?;
            let claims: Value = serde_json::from_slice(&bytes).ok()?;
            claims["oid"].as_str().map(str::to_owned)
        });
        Ok(Principal { oid, grants: None })
    })
}

impl GraphSim {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let authorizer = Arc::new(Mutex::new(any_bearer()));
        Mock::given(wiremock::matchers::any())
            .respond_with(crate::cors::Cors(Responder {
                state: state.clone(),
                traffic: traffic.clone(),
                authorizer: authorizer.clone(),
                base: server.uri(),
            }))
            .mount(&server)
            .await;
        Self {
            server,
            state,
            traffic,
            authorizer,
        }
    }

    /// Stamps writes with `now` (a world's shared clock) instead of a clock of its own.
    pub fn set_clock(&self, now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>) {
        self.state.lock().unwrap().clock = Some(now);
    }

    /// The base URL the connector takes, e.g. `http://127.0.0.1:4321/v1.0`.
    pub fn base_url(&self) -> String {
        format!("{}/v1.0", self.server.uri())
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Replaces the token check (an Entra ID simulator supplies a real verifier).
    pub fn set_authorizer(&self, authorizer: Authorizer) {
        *self.authorizer.lock().unwrap() = authorizer;
    }

    // --- state, as the user in Outlook sees and edits it -----------------------------------

    /// Makes sure a mailbox exists (requests to unknown users get 404 `ErrorInvalidUser`).
    pub fn add_mailbox(&self, user: &str) {
        self.state.lock().unwrap().mailbox(user);
    }

    /// Creates an event as the user would in Outlook; returns its id.
    pub fn seed_event(&self, user: &str, event: Value) -> String {
        let fields = as_object(event);
        self.state
            .lock()
            .unwrap()
            .create(user, fields)
            .map(|e| e.id)
            .unwrap_or_else(|f| panic!("seed_event: {}", f.message))
    }

    /// Edits any event (single, master, occurrence -> exception) as the user would in Outlook.
    pub fn user_update(&self, user: &str, id: &str, patch: Value) {
        self.state
            .lock()
            .unwrap()
            .update(user, id, as_object(patch))
            .unwrap_or_else(|f| panic!("user_update: {}", f.message));
    }

    /// Deletes an event, or cancels one occurrence, as the user would in Outlook.
    pub fn user_delete(&self, user: &str, id: &str) {
        self.state
            .lock()
            .unwrap()
            .delete(user, id)
            .unwrap_or_else(|f| panic!("user_delete: {}", f.message));
    }

    /// Singles and series masters, as Graph returns them in UTC, extended properties included.
    pub fn events(&self, user: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .all_events(user)
            .iter()
            .map(|e| {
                let mut out = e.render(&full_view());
                if let Some(props) = e.fields.get("singleValueExtendedProperties") {
                    out["singleValueExtendedProperties"] = props.clone();
                }
                out
            })
            .collect()
    }

    /// One event by id (any kind), as Graph returns it in UTC.
    pub fn event(&self, user: &str, id: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state.get(user, id).ok().map(|e| e.render(&full_view()))
    }

    /// What a calendar view of the window shows (occurrences expanded), in UTC.
    pub fn calendar_view(
        &self,
        user: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .calendar_view(user, (start, end))
            .unwrap_or_default()
            .iter()
            .map(|e| e.render(&full_view()))
            .collect()
    }

    // --- mail, as the user in Outlook sees and handles it ------------------------------------

    /// A message arrives in a folder (an id or a well-known name such as `inbox`); returns its
    /// immutable id. `message` uses Graph's names (`subject`, `body`, `from`, `toRecipients`,
    /// `receivedDateTime`, `isRead`, …); other names are refused.
    pub fn deliver_message(&self, user: &str, folder: &str, message: Value) -> String {
        let mut state = self.state.lock().unwrap();
        let now = state.now();
        state
            .mail
            .deliver(user, folder, as_object(message), now)
            .unwrap_or_else(|f| panic!("deliver_message: {}", f.message))
    }

    /// The user moves a message (Outlook's delete is a move to `deleteditems`).
    pub fn user_move_message(&self, user: &str, id: &str, to_folder: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .move_message(user, id, to_folder)
            .unwrap_or_else(|f| panic!("user_move_message: {}", f.message));
    }

    /// The user copies a message to another folder; returns the copy's immutable id.
    pub fn user_copy_message(&self, user: &str, id: &str, to_folder: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let now = state.now();
        state
            .mail
            .copy_message(user, id, to_folder, now)
            .unwrap_or_else(|f| panic!("user_copy_message: {}", f.message))
    }

    /// The message is deleted for good (as emptying Deleted Items does).
    pub fn user_purge_message(&self, user: &str, id: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .delete_message(user, id)
            .unwrap_or_else(|f| panic!("user_purge_message: {}", f.message));
    }

    /// The user reads a message, or marks it unread.
    pub fn user_set_message_read(&self, user: &str, id: &str, read: bool) {
        let mut state = self.state.lock().unwrap();
        let now = state.now();
        state
            .mail
            .set_read(user, id, read, now)
            .unwrap_or_else(|f| panic!("user_set_message_read: {}", f.message));
    }

    /// The user edits a draft: `fields` (subject, body, recipients) replace the message's.
    pub fn user_edit_message(&self, user: &str, id: &str, fields: Value) {
        let mut state = self.state.lock().unwrap();
        let now = state.now();
        state
            .mail
            .edit_message(user, id, as_object(fields), now)
            .unwrap_or_else(|f| panic!("user_edit_message: {}", f.message));
    }

    /// Attaches a file to a message; returns the attachment's id.
    pub fn add_attachment(
        &self,
        user: &str,
        message: &str,
        name: &str,
        content_type: &str,
        size: u64,
        is_inline: bool,
    ) -> String {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .add_attachment(user, message, name, content_type, size, is_inline)
            .unwrap_or_else(|f| panic!("add_attachment: {}", f.message))
    }

    /// The user makes a folder under `parent` (an id or a well-known name); returns its id.
    pub fn user_create_mail_folder(&self, user: &str, parent: &str, name: &str) -> String {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .create_folder(user, parent, name)
            .unwrap_or_else(|f| panic!("user_create_mail_folder: {}", f.message))
    }

    pub fn user_rename_mail_folder(&self, user: &str, id: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .rename_folder(user, id, name)
            .unwrap_or_else(|f| panic!("user_rename_mail_folder: {}", f.message));
    }

    pub fn user_move_mail_folder(&self, user: &str, id: &str, parent: &str) {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .move_folder(user, id, parent)
            .unwrap_or_else(|f| panic!("user_move_mail_folder: {}", f.message));
    }

    /// A folder's id, from its id or well-known name.
    pub fn mail_folder_id(&self, user: &str, id_or_name: &str) -> Option<String> {
        self.state
            .lock()
            .unwrap()
            .mail
            .folder_id(user, id_or_name)
            .ok()
    }

    /// Every message of the mailbox: (immutable id, folder id, subject, read).
    pub fn messages(&self, user: &str) -> Vec<(String, String, String, bool)> {
        let mut state = self.state.lock().unwrap();
        state
            .mail
            .mailbox(user)
            .messages
            .values()
            .map(|m| {
                (
                    m.id.clone(),
                    m.folder.clone(),
                    m.fields
                        .get("subject")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    m.is_read,
                )
            })
            .collect()
    }

    /// Every mail delta token and page link stops working (410 `syncStateNotFound`).
    pub fn expire_mail_delta_tokens(&self) {
        self.state.lock().unwrap().mail.expire_tokens();
    }

    // --- traffic ---------------------------------------------------------------------------

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.traffic.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.traffic.lock().unwrap().requests.clear();
    }

    /// The most requests ever seen in flight at once for a mailbox (rejected ones included).
    pub fn max_concurrency(&self, user: &str) -> usize {
        self.traffic
            .lock()
            .unwrap()
            .max_in_flight
            .get(user)
            .copied()
            .unwrap_or(0)
    }

    // --- faults ----------------------------------------------------------------------------

    /// The next `n` requests are answered 429 with `Retry-After: retry_after_secs`.
    pub fn throttle_next(&self, n: u32, retry_after_secs: u64) {
        let mut state = self.state.lock().unwrap();
        state.faults.throttle_next = n;
        state.faults.throttle_retry_after = retry_after_secs;
    }

    /// Throttled answers (from [`GraphSim::throttle_next`] and [`GraphSim::fail_batch_item`])
    /// carry this `Retry-After` value instead, e.g. `2.128` as in Graph's throttling sample.
    pub fn set_retry_after(&self, value: Option<&str>) {
        self.state.lock().unwrap().faults.retry_after_text = value.map(str::to_owned);
    }

    /// While on, every request with a valid token is refused with 403 `ErrorAccessDenied`.
    pub fn refuse_access(&self, on: bool) {
        self.state.lock().unwrap().faults.refuse_access = on;
    }

    /// The next `n` requests are answered 503 without `Retry-After`.
    pub fn unavailable_next(&self, n: u32) {
        self.state.lock().unwrap().faults.unavailable_next = n;
    }

    /// Every answer waits this long (wall clock) before it is sent; a `$batch` waits it once per
    /// round of items Outlook would run (four unordered items at a time, a chain one by one).
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().faults.delay = delay;
    }

    /// After `writes` more writes (POST, PATCH, DELETE; a `$batch` is one), every request is still
    /// carried out but its answer is held for an hour: the client hangs mid-run. `None` answers
    /// normally again (answers already held stay held).
    pub fn stall_after_writes(&self, writes: Option<usize>) {
        self.state.lock().unwrap().faults.stall.after_writes(writes);
    }

    /// How many answers are being held by [`GraphSim::stall_after_writes`].
    pub fn held_answers(&self) -> usize {
        self.state.lock().unwrap().faults.stall.held()
    }

    /// Forgets every delta token and page link: the next use gets 410 `syncStateNotFound`.
    pub fn expire_delta_tokens(&self) {
        let mut state = self.state.lock().unwrap();
        state.deltas.clear();
        state.pending.clear();
    }

    /// The next delta page link followed (an `@odata.nextLink`) has expired, and so has every
    /// delta token: answered 410 `syncStateNotFound` mid-round.
    pub fn expire_next_page_link(&self) {
        self.state.lock().unwrap().faults.expire_next_page_link = true;
    }

    /// The `$batch` item with this id is answered `status` the next `times` times it is seen
    /// (429 carries `Retry-After: 1`).
    pub fn fail_batch_item(&self, id: &str, status: u16, times: u32) {
        self.state
            .lock()
            .unwrap()
            .faults
            .batch_items
            .insert(id.to_owned(), (status, times));
    }

    /// Each delta page after the first repeats the previous page's last entry.
    pub fn delta_replays(&self, on: bool) {
        self.state.lock().unwrap().faults.delta_replays = on;
    }

    /// Each delta round starts with an empty page.
    pub fn delta_empty_first_page(&self, on: bool) {
        self.state.lock().unwrap().faults.delta_empty_first_page = on;
    }
}

/// Change notifications: subscriptions, delivery and their faults.
impl GraphSim {
    /// The live subscriptions (expired ones are gone).
    pub fn subscriptions(&self) -> Vec<SimSubscription> {
        let mut state = self.state.lock().unwrap();
        let now = state.now();
        let n = &mut state.notifications;
        n.subscriptions.retain(|_, s| s.expires > now);
        n.subscriptions.values().cloned().collect()
    }

    /// How many validation handshakes Graph ran.
    pub fn validations(&self) -> u32 {
        self.state.lock().unwrap().notifications.validations
    }

    /// Delivers what is queued now, as Graph would: one POST per URL with every notification
    /// for it. Returns (url, notifications, HTTP status or 0 when unreachable) per POST.
    pub async fn deliver_notifications(&self) -> Vec<(String, usize, u16)> {
        let batches = {
            let mut state = self.state.lock().unwrap();
            let now = state.now();
            state.notifications.take_batches(now)
        };
        let results = subscriptions::post_batches(batches).await;
        self.state
            .lock()
            .unwrap()
            .notifications
            .deliveries
            .extend(results.iter().cloned());
        results
    }

    /// Notifications waiting to be delivered (changes, lifecycle events, late duplicates).
    pub fn pending_notifications(&self) -> usize {
        let state = self.state.lock().unwrap();
        let n = &state.notifications;
        n.changes.len() + n.lifecycle.len() + n.late.len()
    }

    /// Delivers on its own every `every` while anything waits, as the service does (for
    /// `mssync serve` and the bench). Stops when the simulator is dropped.
    pub fn deliver_automatically(&self, every: Duration) {
        let state = Arc::downgrade(&self.state);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(state) = state.upgrade() else {
                    return;
                };
                let batches = {
                    let mut state = state.lock().unwrap();
                    let now = state.now();
                    state.notifications.take_batches(now)
                };
                if batches.is_empty() {
                    continue;
                }
                let results = subscriptions::post_batches(batches).await;
                state
                    .lock()
                    .unwrap()
                    .notifications
                    .deliveries
                    .extend(results);
            }
        });
    }

    /// The next `n` change notifications are lost.
    pub fn drop_notifications(&self, n: u32) {
        self.state.lock().unwrap().notifications.drop_next = n;
    }

    /// While on, each change notification is also sent again after the next delivery's.
    pub fn duplicate_notifications_late(&self, on: bool) {
        self.state.lock().unwrap().notifications.duplicate_late = on;
    }

    /// While on, renewals are refused with 403 `ErrorAccessDenied`.
    pub fn refuse_renewals(&self, on: bool) {
        self.state.lock().unwrap().notifications.refuse_renewals = on;
    }

    /// How long a validation answer may take (Graph: 10 seconds).
    pub fn set_validation_timeout(&self, timeout: Duration) {
        self.state.lock().unwrap().notifications.validation_timeout = Some(timeout);
    }

    /// Queues a lifecycle event (`reauthorizationRequired`, `subscriptionRemoved`, `missed`)
    /// for the subscription, with its effect: removed, or paused until renewed.
    pub fn send_lifecycle_event(&self, subscription_id: &str, event: &'static str) {
        self.state
            .lock()
            .unwrap()
            .notifications
            .lifecycle_event(subscription_id, event);
    }
}

fn full_view() -> View {
    View {
        zone: None,
        text_body: false,
        expand_property: None,
    }
}

fn as_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("an event must be a JSON object, got {other}"),
    }
}
