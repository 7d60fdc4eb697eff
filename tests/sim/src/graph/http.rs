//! The HTTP face of the simulator: authorization, faults, concurrency accounting, routing,
//! delta paging and `$batch`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use mssync_core::host::Zone;
use mssync_core::wire::graph as wire;
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::state::{DeltaState, Entry, Failure, PendingPages, State, View};
use super::{Principal, RecordedRequest};

/// Requests Outlook serves at once per mailbox; one more is answered 429 `MailboxConcurrency`.
pub const MAILBOX_CONCURRENCY: usize = 4;

/// Graph's page size for calendarView, instances and listings when none is asked for.
const DEFAULT_PAGE_SIZE: usize = 10;

pub type Authorizer = Arc<dyn Fn(&str) -> Result<Principal, String> + Send + Sync>;

#[derive(Default)]
pub struct Traffic {
    pub requests: Vec<RecordedRequest>,
    /// Per mailbox: the intervals [arrival, arrival + delay) of requests being served, with the
    /// slots each takes (a `$batch` as many as Outlook runs of its items at once).
    in_flight: HashMap<String, Vec<(Instant, Instant, usize)>>,
    pub max_in_flight: HashMap<String, usize>,
}

pub struct Responder {
    pub state: Arc<Mutex<State>>,
    pub traffic: Arc<Mutex<Traffic>>,
    pub authorizer: Arc<Mutex<Authorizer>>,
    pub base: String,
}

struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl From<Failure> for Reply {
    fn from(f: Failure) -> Self {
        Reply::json(f.status, f.body())
    }
}

/// One request to route, top level or inside a `$batch`; `path` starts after `/v1.0`.
struct Call<'a> {
    method: &'a str,
    path: &'a str,
    query: &'a HashMap<String, String>,
    prefs: &'a Prefs,
    body: Option<Value>,
}

/// What the `Prefer` headers asked for.
#[derive(Default, Clone)]
struct Prefs {
    view: View,
    page_size: Option<usize>,
    /// `IdType="ImmutableId"`: mail ids survive moves (events' ids are stable in the simulator
    /// either way).
    immutable_ids: bool,
}

fn parse_prefer<'a>(values: impl Iterator<Item = &'a str>) -> Prefs {
    let mut prefs = Prefs::default();
    for value in values.flat_map(|v| v.split(',')) {
        let Some((name, arg)) = value.trim().split_once('=') else {
            continue;
        };
        let arg = arg.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "outlook.timezone" => prefs.view.zone = Zone::parse(arg).ok(),
            "outlook.body-content-type" => prefs.view.text_body = arg.eq_ignore_ascii_case("text"),
            "odata.maxpagesize" => prefs.page_size = arg.parse().ok().filter(|n| *n > 0),
            "idtype" => prefs.immutable_ids = arg.eq_ignore_ascii_case("ImmutableId"),
            _ => {}
        }
    }
    prefs
}

fn parse_instant(text: Option<&String>) -> Result<DateTime<Utc>, Failure> {
    text.and_then(|t| {
        DateTime::parse_from_rfc3339(t).ok().or_else(|| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc().fixed_offset())
        })
    })
    .map(|t| t.with_timezone(&Utc))
    .ok_or_else(|| {
        Failure::new(
            400,
            "ErrorInvalidParameter",
            "startDateTime and endDateTime are required",
        )
    })
}

/// How a `$filter` compares an extended property's value (G-xget: `eq` or `ne` on strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueTest {
    Eq,
    Ne,
}

/// `(id, test, value)` of `singleValueExtendedProperties/Any(ep: ep/id eq '..' and ep/value
/// eq|ne '..')`, the only filter shape the simulator knows (case and spacing as Graph's examples
/// vary them); anything else is `None`, answered 400 like a filter Graph cannot apply.
pub(crate) fn parse_property_filter(filter: &str) -> Option<(String, ValueTest, String)> {
    #[derive(PartialEq)]
    enum Token {
        Word(String),
        Quoted(String),
    }
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ':' => {
                chars.next();
                tokens.push(Token::Word(c.to_string()));
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        '\'' => break,
                        c => s.push(c),
                    }
                }
                tokens.push(Token::Quoted(s));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ':' | '\'') {
                        break;
                    }
                    word.push(c.to_ascii_lowercase());
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    let word = |w: &str| Token::Word(w.to_owned());
    let [
        any,
        open,
        var,
        colon,
        id_path,
        id_eq,
        Token::Quoted(id),
        and,
        value_path,
        Token::Word(test),
        Token::Quoted(value),
        close,
    ] = <[Token; 12]>::try_from(tokens).ok()?
    else {
        return None;
    };
    let shape = [
        (any, "singlevalueextendedproperties/any"),
        (open, "("),
        (var, "ep"),
        (colon, ":"),
        (id_path, "ep/id"),
        (id_eq, "eq"),
        (and, "and"),
        (value_path, "ep/value"),
        (close, ")"),
    ];
    if shape
        .into_iter()
        .any(|(token, expected)| token != word(expected))
    {
        return None;
    }
    let test = match test.as_str() {
        "eq" => ValueTest::Eq,
        "ne" => ValueTest::Ne,
        _ => return None,
    };
    Some((id, test, value))
}

/// Graph's answer to a property the event resource does not have, in `$select` (G-iss #8020,
/// #6427) or in a body (G-iss #7213): see the assumptions in docs/wire/graph.md.
fn unknown_property(name: &str, in_body: bool) -> Failure {
    if in_body {
        Failure::new(
            400,
            "RequestBodyRead",
            format!(
                "The property '{name}' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type."
            ),
        )
    } else {
        Failure::new(
            400,
            "RequestBroker--ParseUri",
            format!("Could not find a property named '{name}' on type 'microsoft.graph.event'."),
        )
    }
}

fn is_event_property(name: &str) -> bool {
    wire::event::ALL
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// `$select` names every event property it asks for.
fn check_select(query: &HashMap<String, String>) -> Result<(), Failure> {
    let Some(select) = query.get(wire::query::SELECT) else {
        return Ok(());
    };
    for name in select.split(',').map(str::trim) {
        if !is_event_property(name) {
            return Err(unknown_property(name, false));
        }
    }
    Ok(())
}

/// A POST or PATCH body names only event properties (annotations such as `@odata.type` aside).
fn check_body(body: &Map<String, Value>) -> Result<(), Failure> {
    match body
        .keys()
        .find(|k| !k.starts_with('@') && !is_event_property(k))
    {
        Some(name) => Err(unknown_property(name, true)),
        None => Ok(()),
    }
}

fn parse_expand(expand: Option<&String>) -> Option<String> {
    let e = expand?;
    let start = e.find('\'')? + 1;
    let end = start + e[start..].find('\'')?;
    Some(e[start..end].to_owned())
}

fn collection(entries: Vec<Entry>, view: &View) -> Value {
    json!({"value": entries.iter().map(|e| e.render(view)).collect::<Vec<_>>()})
}

impl Responder {
    /// Routes one request (top level or inside a `$batch`); `path` starts after `/v1.0`.
    fn route(&self, state: &mut State, principal: &Principal, call: Call) -> Reply {
        let Call {
            method,
            path,
            query,
            prefs,
            body,
        } = call;
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (user, mailbox_path, rest) = match segments.as_slice() {
            ["users", user, rest @ ..] => (user.to_string(), format!("users/{user}"), rest),
            ["me", rest @ ..] => match &principal.oid {
                Some(oid) => (oid.clone(), "me".to_owned(), rest),
                None => {
                    return Failure::new(
                        400,
                        "BadRequest",
                        "/me request is only valid with delegated authentication flow.",
                    )
                    .into();
                }
            },
            _ => return Failure::new(400, "BadRequest", "Unsupported request path").into(),
        };
        let denied = || -> Reply {
            Failure::new(
                403,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            )
            .into()
        };
        if matches!(rest.first(), Some(&"mailFolders" | &"messages")) {
            if !principal.may_use_mail(method) {
                return denied();
            }
            if !state.mailboxes.contains_key(&user) {
                return Failure::new(404, "ErrorInvalidUser", "The requested user is invalid.")
                    .into();
            }
            let now = state.now();
            let call = super::mail::MailCall {
                method,
                user: &user,
                mailbox_path: &mailbox_path,
                rest,
                query,
                page_size: prefs.page_size,
                immutable_ids: prefs.immutable_ids,
                body,
                now,
                base: &self.base,
            };
            return match state.mail.route(call) {
                Ok((status, body, headers)) => Reply {
                    status,
                    body,
                    headers,
                },
                Err(failure) => failure.into(),
            };
        }
        if !principal.may_use_calendars() {
            return denied();
        }
        let is_delta = rest == ["calendarView", "delta"];
        if method == "GET"
            && !is_delta
            && let Some(skip) = query.get("$skiptoken")
        {
            return match state.collection_pages.remove(skip) {
                Some(pages) => self.serve_collection(state, path, pages),
                None => Failure::new(400, "ErrorInvalidRequest", "unknown $skiptoken").into(),
            };
        }
        let mut view = prefs.view.clone();
        view.expand_property = parse_expand(query.get("$expand"));
        let object = |body: Option<Value>| -> Result<Map<String, Value>, Failure> {
            match body {
                Some(Value::Object(map)) => {
                    check_body(&map)?;
                    Ok(map)
                }
                _ => Err(Failure::new(
                    400,
                    "ErrorInvalidRequest",
                    "a JSON object body is required",
                )),
            }
        };
        let window = || -> Result<(DateTime<Utc>, DateTime<Utc>), Failure> {
            Ok((
                parse_instant(query.get("startDateTime"))?,
                parse_instant(query.get("endDateTime"))?,
            ))
        };
        let result: Result<Reply, Failure> = (|| {
            if method == "GET" {
                check_select(query)?;
            }
            match (method, rest) {
                ("GET", ["events"]) => {
                    let filter = query.get("$filter").ok_or_else(|| {
                        Failure::new(
                            400,
                            "ErrorInvalidRequest",
                            "only $filter listings are simulated",
                        )
                    })?;
                    let (id, test, value) = parse_property_filter(filter).ok_or_else(|| {
                        Failure::new(400, "ErrorInvalidUrlQueryFilter", "unsupported $filter")
                    })?;
                    Ok(Reply::json(
                        200,
                        collection(state.find_by_property(&user, &id, test, &value)?, &view),
                    ))
                }
                ("POST", ["events"]) => {
                    let entry = state.create(&user, object(body)?)?;
                    Ok(Reply::json(201, entry.render(&view)))
                }
                ("GET", ["events", id]) => {
                    Ok(Reply::json(200, state.get(&user, id)?.render(&view)))
                }
                ("PATCH", ["events", id]) => Ok(Reply::json(
                    200,
                    state.update(&user, id, object(body)?)?.render(&view),
                )),
                ("DELETE", ["events", id]) => {
                    state.delete(&user, id)?;
                    Ok(Reply::empty(204))
                }
                ("GET", ["events", id, "instances"]) => Ok(Reply::json(
                    200,
                    collection(state.instances_of(&user, id, window()?)?, &view),
                )),
                ("GET", ["calendarView"]) => Ok(Reply::json(
                    200,
                    collection(state.calendar_view(&user, window()?)?, &view),
                )),
                ("GET", ["calendarView", "delta"]) => {
                    self.delta(state, &user, &mailbox_path, query, prefs)
                }
                _ => Err(Failure::new(400, "BadRequest", "Unsupported request")),
            }
        })();
        let collection_route = matches!(
            rest,
            ["events"] | ["events", _, "instances"] | ["calendarView"]
        );
        if let Ok(reply) = &result
            && method == "GET"
            && collection_route
            && reply.status == 200
        {
            // Graph pages collections (10 a page unless asked otherwise).
            let size = query
                .get("$top")
                .and_then(|t| t.parse().ok())
                .or(prefs.page_size)
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .max(1);
            let items = reply
                .body
                .as_ref()
                .and_then(|b| b["value"].as_array())
                .cloned()
                .unwrap_or_default();
            let pages: VecDeque<Vec<Value>> = if items.is_empty() {
                VecDeque::from([Vec::new()])
            } else {
                items.chunks(size).map(<[Value]>::to_vec).collect()
            };
            return self.serve_collection(state, path, pages);
        }
        result.unwrap_or_else(Reply::from)
    }

    fn serve_collection(
        &self,
        state: &mut State,
        path: &str,
        mut pages: VecDeque<Vec<Value>>,
    ) -> Reply {
        let page = pages.pop_front().unwrap_or_default();
        let mut body = json!({"value": page});
        if !pages.is_empty() {
            let skip = state.new_token("cp");
            body["@odata.nextLink"] = json!(format!("{}/v1.0{path}?$skiptoken={skip}", self.base));
            state.collection_pages.insert(skip, pages);
        }
        Reply::json(200, body)
    }

    fn delta(
        &self,
        state: &mut State,
        user: &str,
        mailbox_path: &str,
        query: &HashMap<String, String>,
        prefs: &Prefs,
    ) -> Result<Reply, Failure> {
        let link = |param: &str, token: &str| {
            format!(
                "{}/v1.0/{mailbox_path}/calendarView/delta?{param}={token}",
                self.base
            )
        };
        let expired = || {
            Reply::json(
                410,
                Failure::new(
                    410,
                    "syncStateNotFound",
                    "The sync state generation is not found.",
                )
                .body(),
            )
            .header("Location", link("$deltatoken", ""))
        };
        if let Some(skip) = query.get("$skiptoken") {
            if std::mem::take(&mut state.faults.expire_next_page_link) {
                state.deltas.clear();
                state.pending.clear();
                return Ok(expired());
            }
            let Some(pending) = state.pending.remove(skip) else {
                return Ok(expired());
            };
            if pending.mailbox != user {
                return Ok(expired());
            }
            return Ok(self.serve_page(state, pending, &link));
        }
        let (window, seen) = match query.get("$deltatoken") {
            Some(token) => match state.deltas.get(token) {
                Some(d) if d.mailbox == user => (d.window, d.seen.clone()),
                _ => return Ok(expired()),
            },
            None => (
                (
                    parse_instant(query.get("startDateTime"))?,
                    parse_instant(query.get("endDateTime"))?,
                ),
                HashMap::new(),
            ),
        };
        let current = state.calendar_view(user, window)?;
        let mut items = Vec::new();
        for entry in &current {
            if seen.get(&entry.id) != Some(&entry.change_key) {
                items.push(if entry.kind == "occurrence" {
                    entry.render_sparse(&prefs.view)
                } else {
                    entry.render(&prefs.view)
                });
            }
        }
        let now: HashSet<&str> = current.iter().map(|e| e.id.as_str()).collect();
        let mut gone: Vec<&String> = seen
            .keys()
            .filter(|id| !now.contains(id.as_str()))
            .collect();
        gone.sort();
        items.extend(
            gone.into_iter()
                .map(|id| json!({"id": id, "@removed": {"reason": "deleted"}})),
        );
        let delta_token = state.new_token("dt");
        state.deltas.insert(
            delta_token.clone(),
            DeltaState {
                mailbox: user.to_owned(),
                window,
                seen: current
                    .iter()
                    .map(|e| (e.id.clone(), e.change_key.clone()))
                    .collect(),
            },
        );
        let size = prefs.page_size.unwrap_or(100);
        let mut pages: VecDeque<Vec<Value>> = items.chunks(size).map(<[Value]>::to_vec).collect();
        if pages.is_empty() {
            pages.push_back(Vec::new());
        }
        if state.faults.delta_replays {
            for i in 1..pages.len() {
                if let Some(last) = pages[i - 1].last().cloned() {
                    pages[i].insert(0, last);
                }
            }
        }
        if state.faults.delta_empty_first_page {
            pages.push_front(Vec::new());
        }
        let pending = PendingPages {
            pages,
            delta_token,
            mailbox: user.to_owned(),
        };
        Ok(self.serve_page(state, pending, &link))
    }

    fn serve_page(
        &self,
        state: &mut State,
        mut pending: PendingPages,
        link: &dyn Fn(&str, &str) -> String,
    ) -> Reply {
        let page = pending.pages.pop_front().unwrap_or_default();
        let mut body = json!({"value": page});
        if pending.pages.is_empty() {
            body["@odata.deltaLink"] = json!(link("$deltatoken", &pending.delta_token));
        } else {
            let skip = state.new_token("sk");
            body["@odata.nextLink"] = json!(link("$skiptoken", &skip));
            state.pending.insert(skip, pending);
        }
        Reply::json(200, body)
    }

    fn batch(&self, state: &mut State, principal: &Principal, body: Option<Value>) -> Reply {
        let Some(requests) = body
            .as_ref()
            .and_then(|b| b["requests"].as_array())
            .cloned()
        else {
            return Failure::new(400, "BadRequest", "a requests array is required").into();
        };
        if requests.len() > 20 {
            return Failure::new(
                400,
                "BadRequest",
                "Number of requests is over the maximum of 20",
            )
            .into();
        }
        let mut ids = HashSet::new();
        for r in &requests {
            if !ids.insert(r["id"].as_str().unwrap_or_default().to_owned()) {
                return Failure::new(400, "BadRequest", "Batch request ids must be unique").into();
            }
        }
        let mut statuses: HashMap<String, u16> = HashMap::new();
        let mut responses = Vec::new();
        let mut left: Vec<Value> = requests;
        while !left.is_empty() {
            let ready = left.iter().position(|r| {
                r["dependsOn"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|d| statuses.contains_key(d.as_str().unwrap_or_default()))
            });
            let request = match ready {
                Some(i) => left.remove(i),
                None => left.remove(0), // a cycle or an unknown dependency: fails as 424 below
            };
            let id = request["id"].as_str().unwrap_or_default().to_owned();
            let deps_ok = request["dependsOn"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|d| {
                    statuses
                        .get(d.as_str().unwrap_or_default())
                        .is_some_and(|s| (200..300).contains(s))
                });
            let reply = if !deps_ok {
                Failure::new(
                    424,
                    "FailedDependency",
                    "A request this one depends on failed.",
                )
                .into()
            } else if let Some((status, times)) = state
                .faults
                .batch_items
                .get_mut(&id)
                .filter(|(_, t)| *t > 0)
            {
                *times -= 1;
                let reply = Reply::json(
                    *status,
                    Failure::new(*status, "SimulatedFault", "fault injected by the test").body(),
                );
                if *status == 429 {
                    let after = state.faults.retry_after_text.clone();
                    reply.header("Retry-After", after.unwrap_or_else(|| "1".into()))
                } else {
                    reply
                }
            } else {
                let method = request["method"]
                    .as_str()
                    .unwrap_or("GET")
                    .to_ascii_uppercase();
                let url = request["url"].as_str().unwrap_or_default();
                match url::Url::parse(&format!("http://batch/v1.0{url}")) {
                    Ok(parsed) => {
                        let query = parsed.query_pairs().into_owned().collect();
                        let headers = request["headers"].as_object().cloned().unwrap_or_default();
                        let prefer = headers
                            .iter()
                            .filter(|(k, _)| k.eq_ignore_ascii_case("prefer"))
                            .filter_map(|(_, v)| v.as_str());
                        let prefs = parse_prefer(prefer);
                        let path = parsed.path().trim_start_matches("/v1.0").to_owned();
                        let path = percent_decode(&path);
                        let call = Call {
                            method: &method,
                            path: &path,
                            query: &query,
                            prefs: &prefs,
                            body: request.get("body").cloned(),
                        };
                        self.route(state, principal, call)
                    }
                    Err(_) => Failure::new(400, "BadRequest", "bad url").into(),
                }
            };
            statuses.insert(id.clone(), reply.status);
            let mut item = json!({"id": id, "status": reply.status});
            let headers: Map<String, Value> = reply
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            if !headers.is_empty() {
                item["headers"] = Value::Object(headers);
            }
            if let Some(body) = reply.body {
                item["body"] = body;
            }
            responses.push(item);
        }
        Reply::json(200, json!({"responses": responses}))
    }
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mailbox_of(path: &str, principal: Option<&Principal>) -> Option<String> {
    let mut segments = path.trim_start_matches("/v1.0/").split('/');
    match segments.next()? {
        "users" => segments.next().map(percent_decode),
        "me" => principal?.oid.clone(),
        _ => None,
    }
}

/// The mailbox a `$batch` works on (its first item's) and how many of its items Outlook runs at
/// once: up to four for independent items, one for a `dependsOn` chain (G-thr-ol).
/// A `$batch`'s mailbox, the slots it holds (Outlook runs up to four unordered items at once, a
/// `dependsOn` chain one at a time) and how many item latencies it takes to answer.
fn batch_mailbox(
    body: Option<&Value>,
    principal: Option<&Principal>,
) -> (Option<String>, usize, u32) {
    let requests = body
        .and_then(|b| b["requests"].as_array())
        .cloned()
        .unwrap_or_default();
    let mailbox = requests
        .first()
        .and_then(|r| r["url"].as_str())
        .and_then(|url| {
            let path = url.split('?').next().unwrap_or_default();
            mailbox_of(path.trim_start_matches('/'), principal)
        });
    let independent = requests
        .iter()
        .filter(|r| r["dependsOn"].as_array().is_none_or(Vec::is_empty))
        .count();
    let slots = if independent <= 1 {
        1
    } else {
        requests.len().min(MAILBOX_CONCURRENCY)
    };
    let rounds = requests.len().div_ceil(slots).max(1);
    (mailbox, slots, rounds as u32)
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let arrival = Instant::now();
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body: Option<Value> = if request.body.is_empty() {
            None
        } else {
            serde_json::from_slice(&request.body).ok()
        };
        let path = request.url.path().to_owned();
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let method = request.method.as_str().to_owned();

        let bearer = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let authorizer = self.authorizer.lock().unwrap().clone();
        let principal = bearer.as_deref().map(|b| authorizer(b));

        let mut state = self.state.lock().unwrap();
        let who = principal.as_ref().and_then(|p| p.as_ref().ok());
        let (mailbox, slots, rounds) = if percent_decode(&path) == "/v1.0/$batch" {
            batch_mailbox(body.as_ref(), who)
        } else {
            (mailbox_of(&path, who), 1, 1)
        };
        // Each item costs the latency; a batch's items run `slots` at a time.
        let delay = state.faults.delay * rounds;
        {
            let mut traffic = self.traffic.lock().unwrap();
            traffic.requests.push(RecordedRequest {
                method: method.clone(),
                path: percent_decode(&path),
                query: query.clone(),
                headers: headers.clone(),
                body: body.clone(),
            });
            if let Some(mailbox) = &mailbox {
                let intervals = traffic.in_flight.entry(mailbox.clone()).or_default();
                intervals.retain(|(_, end, _)| *end > arrival);
                let concurrent = intervals
                    .iter()
                    .filter(|(start, end, _)| *start <= arrival && arrival < *end)
                    .map(|(_, _, slots)| slots)
                    .sum::<usize>()
                    + slots;
                let max = traffic.max_in_flight.entry(mailbox.clone()).or_default();
                *max = (*max).max(concurrent);
                if concurrent > MAILBOX_CONCURRENCY {
                    return template(
                        Reply::json(
                            429,
                            Failure::new(
                                429,
                                "ApplicationThrottled",
                                "Application is over its MailboxConcurrency limit.",
                            )
                            .body(),
                        )
                        .header("Retry-After", "1"),
                    );
                }
                traffic
                    .in_flight
                    .get_mut(mailbox)
                    .expect("just made")
                    .push((arrival, arrival + delay, slots));
            }
        }
        let reply = (|| {
            let principal = match principal {
                Some(Ok(p)) => p,
                _ => {
                    return Reply::json(
                        401,
                        Failure::new(
                            401,
                            "InvalidAuthenticationToken",
                            "Access token is empty or invalid.",
                        )
                        .body(),
                    );
                }
            };
            if state.faults.refuse_access {
                return Reply::json(
                    403,
                    Failure::new(
                        403,
                        "ErrorAccessDenied",
                        "Access is denied. Check credentials and try again.",
                    )
                    .body(),
                );
            }
            if state.faults.throttle_next > 0 {
                state.faults.throttle_next -= 1;
                let after = state.faults.throttle_retry_after;
                return Reply::json(
                    429,
                    Failure::new(
                        429,
                        "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                    )
                    .body(),
                )
                .header(
                    "Retry-After",
                    state
                        .faults
                        .retry_after_text
                        .clone()
                        .unwrap_or_else(|| after.to_string()),
                );
            }
            if state.faults.unavailable_next > 0 {
                state.faults.unavailable_next -= 1;
                return Reply::json(
                    503,
                    Failure::new(503, "ServiceUnavailable", "Service unavailable").body(),
                );
            }
            let query: HashMap<String, String> = query.into_iter().collect();
            let prefs = parse_prefer(
                headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("prefer"))
                    .map(|(_, v)| v.as_str()),
            );
            let path = percent_decode(&path);
            match path.strip_prefix("/v1.0") {
                Some("/$batch") if method == "POST" => self.batch(&mut state, &principal, body),
                Some(rest)
                    if rest.trim_start_matches('/').split('/').next()
                        == Some(wire::subscription::PATH) =>
                {
                    let segments: Vec<&str> = rest.trim_matches('/').split('/').skip(1).collect();
                    match super::subscriptions::route(
                        &mut state,
                        principal.oid.as_deref(),
                        &method,
                        &segments,
                        body,
                    ) {
                        Ok((status, Some(body))) => Reply::json(status, body),
                        Ok((status, None)) => Reply::empty(status),
                        Err(f) => f.into(),
                    }
                }
                Some(rest) => {
                    let call = Call {
                        method: &method,
                        path: rest,
                        query: &query,
                        prefs: &prefs,
                        body,
                    };
                    self.route(&mut state, &principal, call)
                }
                None => Failure::new(404, "NotFound", "unknown version").into(),
            }
        })();
        let delay = state.faults.stall.hold(method != "GET").unwrap_or(delay);
        template(reply).set_delay(delay)
    }
}

fn template(reply: Reply) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(reply.status);
    for (name, value) in &reply.headers {
        t = t.insert_header(name.as_str(), value.as_str());
    }
    if let Some(body) = reply.body {
        t = t.set_body_json(body);
    }
    t
}
