//! The connector proper: addressing, headers, tokens, retries and the per-mailbox limit.

use std::sync::Arc;

use async_lock::Semaphore;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::GraphError;
use super::event::{ACTIVITY_ID_PROPERTY, GraphEvent, transaction_id_for};
use super::wire::{self, event as prop, extended, header, path, prefer, query};
use crate::error::{ErrorCode, PublicError};
use crate::host::{
    Clock, HttpClient, HttpRequest, HttpResponse, Method, RetryOutcome, RetryPolicy,
    TransportError, send_with_retry,
};
use crate::identity::TokenSource;
use crate::model::tz::Zone;

/// Outlook serves at most four concurrent requests per app and mailbox; more are answered 429.
pub const MAX_IN_FLIGHT_PER_MAILBOX: usize = wire::MAX_CONCURRENT_PER_MAILBOX;

/// Whose calendar: `/users/{id}` with application permissions, `/me` with the user's own token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mailbox {
    User(String),
    Me,
}

impl Mailbox {
    fn segments(&self) -> Vec<&str> {
        match self {
            Mailbox::User(id) => vec![path::USERS, id.as_str()],
            Mailbox::Me => vec![path::ME],
        }
    }

    /// The path `$batch` sub-requests start with, e.g. `/users/42`.
    pub(super) fn batch_prefix(&self) -> String {
        match self {
            Mailbox::User(id) => format!("/{}/{}", path::USERS, encode_segment(id)),
            Mailbox::Me => format!("/{}", path::ME),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// e.g. `https://graph.microsoft.com/v1.0`.
    pub base_url: String,
    pub mailbox: Mailbox,
    /// The user's zone: Graph is asked to express times in it, and all-day dates are written in it.
    pub user_zone: Zone,
    /// `odata.maxpagesize` for delta pages.
    pub max_page_size: u32,
    pub retry: RetryPolicy,
}

impl GraphConfig {
    pub fn new(base_url: impl Into<String>, mailbox: Mailbox, user_zone: Zone) -> Self {
        Self {
            base_url: base_url.into(),
            mailbox,
            user_zone,
            max_page_size: 50,
            retry: RetryPolicy::default(),
        }
    }
}

/// Graph for one mailbox. Cheap to clone; every client of the same `/users/{id}` mailbox in the
/// process shares its in-flight limit.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
    tokens: Arc<dyn TokenSource>,
    config: GraphConfig,
    base: url::Url,
    in_flight: Arc<MailboxGate>,
}

/// Outlook's four request slots of one mailbox. A request takes one; an unordered `$batch`
/// takes as many as it may run at once (up to all four), since Outlook runs up to four of its
/// items concurrently against the mailbox (G-thr-ol, "Outlook service limits for JSON batching").
pub(super) struct MailboxGate {
    permits: Semaphore,
    /// Held while taking several permits, so two batches never each hold part of the slots and
    /// wait on each other forever; single requests do not take it.
    several: async_lock::Mutex<()>,
}

impl MailboxGate {
    fn new() -> Self {
        Self {
            permits: Semaphore::new(MAX_IN_FLIGHT_PER_MAILBOX),
            several: async_lock::Mutex::new(()),
        }
    }

    /// `count` permits (1 to [`MAX_IN_FLIGHT_PER_MAILBOX`]), released when the guards drop.
    pub(super) async fn acquire(&self, count: usize) -> Vec<async_lock::SemaphoreGuard<'_>> {
        let count = count.clamp(1, MAX_IN_FLIGHT_PER_MAILBOX);
        if count == 1 {
            return vec![self.permits.acquire().await];
        }
        let _turn = self.several.lock().await;
        let mut guards = Vec::with_capacity(count);
        for _ in 0..count {
            guards.push(self.permits.acquire().await);
        }
        guards
    }

    #[cfg(test)]
    pub(super) fn available(&self) -> usize {
        (0..MAX_IN_FLIGHT_PER_MAILBOX)
            .map_while(|_| self.permits.try_acquire())
            .collect::<Vec<_>>()
            .len()
    }
}

/// The in-flight gate of a mailbox, shared by every client of it in this process, so two jobs
/// (or two clients made by mistake) for one mailbox still stay within Outlook's limit. `/me`
/// clients cannot be told apart before a token is read; each keeps a gate of its own.
fn mailbox_gate(base: &url::Url, mailbox: &Mailbox) -> Arc<MailboxGate> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, Weak};
    static GATES: OnceLock<Mutex<HashMap<String, Weak<MailboxGate>>>> = OnceLock::new();
    let Mailbox::User(id) = mailbox else {
        return Arc::new(MailboxGate::new());
    };
    let key = format!("{}|{}", base.as_str(), id.to_ascii_lowercase());
    let mut gates = GATES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    gates.retain(|_, gate| gate.strong_count() > 0);
    if let Some(gate) = gates.get(&key).and_then(Weak::upgrade) {
        return gate;
    }
    let gate = Arc::new(MailboxGate::new());
    gates.insert(key, Arc::downgrade(&gate));
    gate
}

/// Which `Prefer` headers a request carries besides `IdType="ImmutableId"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prefer {
    /// Only the immutable-id preference (deletes).
    IdsOnly,
    /// Times in the user's zone and text bodies (reads and writes of events).
    Events,
    /// As `Events`, plus the delta page size.
    Delta,
    /// Messages and folders: HTML bodies (ERP.net keeps one body and renders HTML), no zone
    /// (message times are UTC instants).
    Mail,
    /// As `Mail`, plus the delta page size.
    MailDelta,
}

impl GraphClient {
    pub fn new(
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
        tokens: Arc<dyn TokenSource>,
        config: GraphConfig,
    ) -> Result<Self, PublicError> {
        let base = url::Url::parse(config.base_url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| PublicError::new(ErrorCode::InvalidArgument, "bad Graph base URL"))?;
        let in_flight = mailbox_gate(&base, &config.mailbox);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                clock,
                tokens,
                config,
                base,
                in_flight,
            }),
        })
    }

    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    pub(super) fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// `{base}/{mailbox}/{segments...}?{query}`, each part percent-encoded.
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> String {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().expect("checked in new");
            path.pop_if_empty();
            path.extend(self.inner.config.mailbox.segments());
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url.into()
    }

    /// `{base}/{segments...}`, outside any mailbox (e.g. `/subscriptions/{id}`).
    pub(super) fn service_url(&self, segments: &[&str]) -> String {
        let mut url = self.inner.base.clone();
        {
            let mut path = url.path_segments_mut().expect("checked in new");
            path.pop_if_empty();
            path.extend(segments);
        }
        url.into()
    }

    /// The mailbox's path as a subscription names it, e.g. `/users/42`.
    pub(super) fn mailbox_path(&self) -> String {
        self.inner.config.mailbox.batch_prefix()
    }

    /// A link Graph gave us (`@odata.nextLink`, a stored delta link) is followed only if it
    /// points at the configured service, so a token never goes anywhere else.
    pub(super) fn check_link(&self, link: &str) -> Result<(), GraphError> {
        let url = url::Url::parse(link)
            .map_err(|_| GraphError::Malformed("a link that is not a URL".into()))?;
        let base = &self.inner.base;
        if url.origin() != base.origin() || !url.path().starts_with(base.path()) {
            return Err(GraphError::UntrustedLink("a link to another address"));
        }
        Ok(())
    }

    pub(super) fn prefer_values(&self, prefer: Prefer) -> Vec<String> {
        let mut values = vec![prefer::IMMUTABLE_ID.to_owned()];
        if matches!(prefer, Prefer::Events | Prefer::Delta) {
            values.push(prefer::timezone(&self.inner.config.user_zone.graph_name()));
            values.push(prefer::text_bodies());
        }
        if matches!(prefer, Prefer::Mail | Prefer::MailDelta) {
            values.push(prefer::html_bodies());
        }
        if matches!(prefer, Prefer::Delta | Prefer::MailDelta) {
            values.push(prefer::max_page_size(self.inner.config.max_page_size));
        }
        values
    }

    pub(super) fn request(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        prefer: Prefer,
    ) -> HttpRequest {
        let mut request = HttpRequest::new(method, url);
        for value in self.prefer_values(prefer) {
            request = request.header(header::PREFER, value);
        }
        match body {
            Some(body) => request.json_body(body),
            None => request,
        }
    }

    /// Sends with a bearer token, retrying throttled answers (through the host clock) and a 401
    /// once with a fresh token. Error statuses come back as [`GraphError`].
    pub(super) async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, GraphError> {
        self.execute_holding(request, 1).await
    }

    /// As [`Self::execute`], holding `permits` of the mailbox's slots while the request is out
    /// (an unordered `$batch` holds as many as it may run at once).
    pub(super) async fn execute_holding(
        &self,
        request: HttpRequest,
        permits: usize,
    ) -> Result<HttpResponse, GraphError> {
        let inner = &self.inner;
        let gated = Gated {
            http: inner.http.as_ref(),
            gate: inner.in_flight.as_ref(),
            permits,
        };
        let mut refreshed = false;
        loop {
            let token = inner.tokens.token().await.map_err(GraphError::Token)?;
            let mut attempt = request.clone();
            attempt
                .headers
                .insert(0, (header::AUTHORIZATION.into(), format!("Bearer {token}")));
            let response =
                send_with_retry(&gated, inner.clock.as_ref(), &inner.config.retry, attempt)
                    .await
                    .map_err(|outcome| match outcome {
                        RetryOutcome::Throttled { status, until } => {
                            GraphError::Throttled { status, until }
                        }
                        RetryOutcome::Transport(error) => GraphError::Transport(error),
                    })?;
            if response.status == 401 && !refreshed {
                inner.tokens.invalidate(&token).await;
                refreshed = true;
                continue;
            }
            return if response.is_success() {
                Ok(response)
            } else {
                Err(error_from(response.status, &response.body))
            };
        }
    }

    pub(super) async fn execute_json<T: DeserializeOwned>(
        &self,
        request: HttpRequest,
    ) -> Result<T, GraphError> {
        let response = self.execute(request).await?;
        parse_json(&response.body)
    }

    /// One event by id, with MsSync's activity-id property expanded.
    pub async fn get_event(&self, id: &str) -> Result<GraphEvent, GraphError> {
        let url = self.url(
            &[path::EVENTS, id],
            &[(query::EXPAND, &extended::expand(ACTIVITY_ID_PROPERTY))],
        );
        self.execute_json(self.request(Method::Get, url, None, Prefer::Events))
            .await
    }

    /// The series master of an occurrence or exception.
    pub async fn get_series_master(
        &self,
        series_master_id: &str,
    ) -> Result<GraphEvent, GraphError> {
        self.get_event(series_master_id).await
    }

    /// Creates an event for an ERP.net activity. `body` is the mapped event
    /// (`map_graph::create_body`); the activity's transaction id and property are added here, so
    /// a repeated create (after a crash or a lost answer) returns the event made the first time.
    pub async fn create_event(
        &self,
        activity_id: &str,
        mut body: Value,
    ) -> Result<GraphEvent, GraphError> {
        stamp_activity(&mut body, activity_id);
        let url = self.url(&[path::EVENTS], &[]);
        self.execute_json(self.request(Method::Post, url, Some(&body), Prefer::Events))
            .await
    }

    /// Changes only the fields in `patch` (`map_graph::patch_body`).
    pub async fn update_event(&self, id: &str, patch: &Value) -> Result<GraphEvent, GraphError> {
        let url = self.url(&[path::EVENTS, id], &[]);
        self.execute_json(self.request(Method::Patch, url, Some(patch), Prefer::Events))
            .await
    }

    /// Deletes an event (an occurrence: cancels it in its series). `Ok(false)` if it was
    /// already gone, so a repeated delete is not an error.
    pub async fn delete_event(&self, id: &str) -> Result<bool, GraphError> {
        let url = self.url(&[path::EVENTS, id], &[]);
        match self
            .execute(self.request(Method::Delete, url, None, Prefer::IdsOnly))
            .await
        {
            Ok(_) => Ok(true),
            Err(GraphError::NotFound { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// The occurrences and exceptions of a series within a window.
    pub async fn instances(
        &self,
        series_master_id: &str,
        window: &super::Window,
    ) -> Result<Vec<GraphEvent>, GraphError> {
        let (start, end) = window.query_values();
        let url = self.url(
            &[path::EVENTS, series_master_id, path::INSTANCES],
            &[
                (query::START_DATE_TIME, &start),
                (query::END_DATE_TIME, &end),
            ],
        );
        self.collect_pages(url).await
    }

    /// The event MsSync created for an ERP.net activity, found by its extended property.
    pub async fn find_by_activity_id(
        &self,
        activity_id: &str,
    ) -> Result<Option<GraphEvent>, GraphError> {
        let filter = extended::filter_eq(ACTIVITY_ID_PROPERTY, activity_id);
        let url = self.url(
            &[path::EVENTS],
            &[
                (query::FILTER, &filter),
                (query::EXPAND, &extended::expand(ACTIVITY_ID_PROPERTY)),
            ],
        );
        let found = self.collect_pages(url).await?;
        Ok(found.into_iter().next())
    }

    /// Every event of the mailbox that carries MsSync's activity-id property, as (event id,
    /// activity id): the links to recover when a host lost its store. Follows
    /// `@odata.nextLink` pages within the configured service; immutable ids.
    pub async fn list_linked_events(&self) -> Result<Vec<(String, String)>, GraphError> {
        let filter = extended::filter_present(ACTIVITY_ID_PROPERTY);
        let url = self.url(
            &[path::EVENTS],
            &[
                (query::FILTER, &filter),
                (query::EXPAND, &extended::expand(ACTIVITY_ID_PROPERTY)),
            ],
        );
        let events = self.collect_pages_with(url, Prefer::IdsOnly).await?;
        Ok(events
            .into_iter()
            .filter_map(|event| {
                let value = event.activity_id()?.to_owned();
                (!value.is_empty()).then_some((event.id, value))
            })
            .collect())
    }

    /// Follows `@odata.nextLink` through a collection.
    async fn collect_pages(&self, first: String) -> Result<Vec<GraphEvent>, GraphError> {
        self.collect_pages_with(first, Prefer::Events).await
    }

    async fn collect_pages_with(
        &self,
        first: String,
        prefer: Prefer,
    ) -> Result<Vec<GraphEvent>, GraphError> {
        let mut events = Vec::new();
        let mut url = first;
        let mut followed = std::collections::HashSet::new();
        for _ in 0..MAX_COLLECTION_PAGES {
            let page: Page = self
                .execute_json(self.request(Method::Get, url, None, prefer))
                .await?;
            events.extend(page.value);
            match page.next_link {
                Some(next) => {
                    self.check_link(&next)?;
                    if !followed.insert(next.clone()) {
                        return Err(GraphError::UntrustedLink("a page linking back to itself"));
                    }
                    url = next;
                }
                None => return Ok(events),
            }
        }
        Err(GraphError::UntrustedLink("more pages than MsSync reads"))
    }
}

/// The most pages of one listing MsSync follows (a mailbox's events carrying one property, an
/// event's instances): far beyond any real calendar, so a paging that never ends is stopped.
const MAX_COLLECTION_PAGES: usize = 1_000;

#[derive(serde::Deserialize)]
struct Page {
    #[serde(default)]
    value: Vec<GraphEvent>,
    #[serde(rename = "@odata.nextLink")] // wire::odata::NEXT_LINK
    next_link: Option<String>,
}

/// Adds the idempotency key and the activity-id property to a create body.
pub(super) fn stamp_activity(body: &mut Value, activity_id: &str) {
    if let Value::Object(map) = body {
        map.insert(
            prop::TRANSACTION_ID.into(),
            Value::String(transaction_id_for(activity_id)),
        );
        map.insert(
            prop::SINGLE_VALUE_EXTENDED_PROPERTIES.into(),
            serde_json::json!([{
                extended::ID: ACTIVITY_ID_PROPERTY,
                extended::VALUE: activity_id,
            }]),
        );
    }
}

pub(super) fn encode_segment(segment: &str) -> String {
    let mut url = url::Url::parse("http://x/").expect("static URL");
    url.path_segments_mut().expect("base").push(segment);
    url.path()[1..].to_owned()
}

pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, GraphError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the position and expected shape, never the payload.
        GraphError::Malformed(format!("unreadable JSON ({e})"))
    })
}

/// Graph's error code from an error body (`{"error":{"code":...}}`), if any. Codes are
/// identifiers; anything else a server puts there is replaced, so no content reaches a public
/// error.
fn error_code(body: &[u8]) -> String {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer(wire::error::CODE_POINTER)?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let identifier = code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if identifier {
        code
    } else {
        "unrecognized".to_owned()
    }
}

pub(super) fn error_from(status: u16, body: &[u8]) -> GraphError {
    let code = error_code(body);
    let resync = [
        wire::error::SYNC_STATE_NOT_FOUND,
        wire::error::RESYNC_REQUIRED,
    ]
    .iter()
    .any(|c| code.eq_ignore_ascii_case(c));
    if status == wire::error::GONE || resync {
        return GraphError::ResyncRequired;
    }
    match status {
        401 => GraphError::Unauthorized,
        403 => GraphError::Forbidden { code },
        404 => GraphError::NotFound { code },
        _ => GraphError::Service { status, code },
    }
}

/// The host client behind the mailbox's in-flight limit: a permit is held only while a request
/// is out, never while waiting out a `Retry-After`.
struct Gated<'a> {
    http: &'a dyn HttpClient,
    gate: &'a MailboxGate,
    permits: usize,
}

#[async_trait(?Send)]
impl HttpClient for Gated<'_> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let _permits = self.gate.acquire(self.permits).await;
        self.http.send(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_statuses_and_codes_map_to_typed_errors() {
        let body = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#);
        assert_eq!(error_from(410, b""), GraphError::ResyncRequired);
        assert_eq!(
            error_from(400, body("syncStateNotFound").as_bytes()),
            GraphError::ResyncRequired
        );
        assert_eq!(
            error_from(400, body("resyncRequired").as_bytes()),
            GraphError::ResyncRequired
        );
        assert_eq!(error_from(401, b"not json"), GraphError::Unauthorized);
        assert_eq!(
            error_from(404, body("ErrorItemNotFound").as_bytes()),
            GraphError::NotFound {
                code: "ErrorItemNotFound".into()
            }
        );
        assert!(matches!(error_from(403, b""), GraphError::Forbidden { .. }));
    }

    #[test]
    fn public_errors_carry_no_remote_text() {
        let sneaky =
            r#"{"error":{"code":"Bad <subject: Salary talk> token=abc","message":"Salary talk"}}"#;
        let err = error_from(400, sneaky.as_bytes());
        let public = PublicError::from(err);
        assert_eq!(public.code, ErrorCode::GraphError);
        assert!(!public.reason.contains("Salary"), "{}", public.reason);
        assert!(!public.reason.contains("abc"), "{}", public.reason);
        let public = PublicError::from(GraphError::Malformed("near 'Salary talk'".into()));
        assert_eq!(public.code, ErrorCode::MalformedResponse);
        assert!(!public.reason.contains("Salary"));
        let public = PublicError::from(error_from(503, b""));
        assert_eq!(public.code, ErrorCode::RemoteUnavailable);
    }

    #[test]
    fn a_gate_hands_out_several_permits_without_deadlock() {
        use futures::FutureExt;
        let gate = MailboxGate::new();
        futures::executor::block_on(async {
            let one = gate.acquire(1).await;
            assert_eq!(gate.available(), 3);
            // Four are not available while one is out.
            let mut four = Box::pin(gate.acquire(4));
            assert!((&mut four).now_or_never().is_none());
            drop(one);
            let all = four.await;
            assert_eq!(all.len(), 4);
            assert_eq!(gate.available(), 0);
            drop(all);
            assert_eq!(gate.available(), 4);
            assert_eq!(
                gate.acquire(9).await.len(),
                4,
                "clamped to the mailbox limit"
            );
        });
    }

    #[test]
    fn mailboxes_address_users_and_me() {
        assert_eq!(
            Mailbox::User("a/b c".into()).batch_prefix(),
            "/users/a%2Fb%20c"
        );
        assert_eq!(Mailbox::Me.batch_prefix(), "/me");
    }
}
