//! The one wiremock responder: records the request, authenticates, applies faults, dispatches.
//! Handlers return `Result<Reply, Reply>`: an error is simply the response to send.

// A refusal is a whole response; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use mssync_core::wire::erp::{self as wire, EntitySet, Kind};

use super::odata::{Expand, Refusal, parse_expand, parse_filter, parse_select};
use super::{
    ACTIVITIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, Fault, HOST_LOGIN,
    MAX_TOP, ODATA_PATH, PARTICIPANTS, RecordedRequest, SERVICE_LOGIN, State, parse_odata_id,
    reference,
};

pub(crate) struct Handler {
    pub state: Arc<Mutex<State>>,
}

/// A response the simulator makes: a `ResponseTemplate` cannot be read back, and a `$batch`
/// answer is made of the answers to its parts.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    delay: Option<std::time::Duration>,
}

impl Reply {
    pub(crate) fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: None,
        }
    }

    pub(crate) fn set_body_json(self, body: impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(&body).expect("a JSON value serializes");
        self.set_body_raw(body, "application/json")
    }

    pub(crate) fn set_body_raw(mut self, body: Vec<u8>, content_type: &str) -> Self {
        self.body = body;
        self.insert_header("Content-Type", content_type)
    }

    pub(crate) fn insert_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn set_delay(mut self, delay: std::time::Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn into_template(self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.status);
        for (name, value) in &self.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        if !self.body.is_empty() {
            let kind = self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "application/octet-stream".into());
            template = template.set_body_raw(self.body, &kind);
        }
        match self.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// ERP.net's error body: HTTP 500 (or the given status) with message, code, type, info.
pub(crate) fn erp_error(status: u16, message: &str, kind: &str) -> Reply {
    Reply::new(status).set_body_json(json!({
        "message": message,
        "code": 0,
        "type": kind,
        "info": null,
        "messageFormat": message,
        "parameters": [],
    }))
}

const STATES: &[&str] = wire::DOCUMENT_STATES;
const PRIORITIES: &[&str] = wire::PRIORITIES;

/// A refused query or body, answered with ERP.net's error body.
pub(crate) fn refused(refusal: Refusal) -> Reply {
    erp_error(refusal.status, &refusal.message, "ODataException")
}

/// Old entity set names and their new ones (M reference/renames.md), for the rename message of
/// D common-tasks/handling-renames.md.
const RENAMED: &[(&str, &str)] = &[
    ("General_DocumentTypes", DOCUMENT_TYPES),
    ("General_Contacts_Activities", ACTIVITIES),
    ("General_Contacts_ActivityParticipants", PARTICIPANTS),
    ("General_Contacts_Reminders", wire::REMINDERS),
];

/// An entity set or segment ERP.net does not know: 404 with the OData routing message; a
/// renamed set with the message D handling-renames.md quotes.
pub(crate) fn unknown_segment(name: &str) -> Reply {
    if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == name) {
        return erp_error(
            404,
            &format!(
                "The provided entity set name '{name}' is no more supported.\nThe new name of this entity is '{new}'."
            ),
            "ODataException",
        );
    }
    erp_error(
        404,
        &format!("{} '{name}'.", wire::UNKNOWN_SEGMENT_MESSAGE),
        "ODataException",
    )
}

fn set_of(name: &str) -> &'static EntitySet {
    wire::entity_set(name).expect("served sets are in the wire table")
}

fn state_rank(state: Option<&str>) -> usize {
    state
        .and_then(|s| STATES.iter().position(|x| *x == s))
        .unwrap_or(0)
}

fn is_read_only(object: &Map<String, Value>) -> bool {
    state_rank(object.get("State").and_then(Value::as_str)) >= 4
}

fn redact_headers(request: &Request) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = value.to_str().unwrap_or("").to_owned();
            match name.as_str() {
                "authorization" => {
                    let scheme = value.split(' ').next().unwrap_or("").to_owned();
                    Some((name, format!("{scheme} [redacted]")))
                }
                "x-api-key" => Some((name, "[redacted]".into())),
                "accept" | "content-type" | "odata-version" | "prefer" => Some((name, value)),
                _ => None,
            }
        })
        .collect();
    headers.sort();
    headers
}

fn record(request: &Request) -> RecordedRequest {
    let multipart = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    let body = if request.body.is_empty() {
        None
    } else if multipart {
        super::batch::summary(request)
    } else if let Ok(json) = serde_json::from_slice::<Value>(&request.body) {
        Some(json)
    } else {
        let form: Map<String, Value> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| {
                let v = if k == "client_secret" {
                    "[redacted]".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), Value::String(v))
            })
            .collect();
        Some(Value::Object(form))
    };
    RecordedRequest {
        method: request.method.as_str().to_owned(),
        path: request.url.path().to_owned(),
        query: request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers: redact_headers(request),
        body,
    }
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.reply(request).into_template()
    }
}

impl Handler {
    fn reply(&self, request: &Request) -> Reply {
        let mut state = self.state.lock().unwrap();
        state.log.push(record(request));
        let path = request.url.path().to_owned();
        if path == "/id/connect/token" {
            return token(&mut state, request);
        }
        let Some(rest) = path.strip_prefix(ODATA_PATH) else {
            return Reply::new(404);
        };
        let login = match authenticate(&state, request) {
            Ok(login) => login,
            Err(reply) => return reply,
        };
        let dispatch = |state: &mut State, request: &Request, rest: &str| {
            if rest == wire::BATCH {
                super::batch::batch(state, request, |state, request, rest| {
                    dispatch(state, request, rest, &login)
                })
            } else {
                dispatch(state, request, rest, &login)
            }
        };
        let is_write = request.method.as_str() != "GET";
        if let Some(held) = state.stall.hold(is_write) {
            return dispatch(&mut state, request, rest).set_delay(held);
        }
        match state.faults.pop_front() {
            Some(Fault::Status {
                status,
                retry_after,
            }) => {
                let mut reply = erp_error(status, "Injected fault.", "SimulatedFault");
                if let Some(seconds) = retry_after {
                    reply = reply.insert_header("Retry-After", seconds.to_string().as_str());
                }
                reply
            }
            Some(Fault::LostAnswer { status }) => {
                let _ = dispatch(&mut state, request, rest);
                erp_error(status, "Injected fault after the write.", "SimulatedFault")
            }
            Some(Fault::Slow(delay)) => dispatch(&mut state, request, rest).set_delay(delay),
            None => {
                let latency = state.latency;
                dispatch(&mut state, request, rest).set_delay(latency)
            }
        }
    }
}

fn token(state: &mut State, request: &Request) -> Reply {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return Reply::new(400).set_body_json(json!({"error": "unsupported_grant_type"}));
    }
    if state.clients.get(get("client_id")).map(String::as_str) != Some(get("client_secret"))
        || get("client_secret").is_empty()
    {
        return Reply::new(400).set_body_json(json!({"error": "invalid_client"}));
    }
    let scopes: Vec<&str> = get("scope").split(' ').collect();
    if scopes
        .iter()
        .any(|s| !["read", "update", "openid", "profile", "offline_access"].contains(s))
    {
        return Reply::new(400).set_body_json(json!({"error": "invalid_scope"}));
    }
    state.issued += 1;
    let token = format!("sim-access-token-{}", state.issued);
    // A lifetime past the calendar's end (tests send absurd ones) is a token that never expires.
    let expires = chrono::Duration::try_seconds(state.token_lifetime)
        .and_then(|lifetime| state.now.checked_add_signed(lifetime))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let login = state
        .client_logins
        .get(get("client_id"))
        .cloned()
        .unwrap_or_else(|| SERVICE_LOGIN.to_owned());
    state.tokens.insert(token.clone(), (expires, login));
    Reply::new(200).set_body_json(json!({
        "access_token": token,
        "expires_in": state.token_lifetime,
        "token_type": "Bearer",
        "scope": get("scope"),
    }))
}

/// The login of the user the request's token belongs to, or the 401 to answer.
fn authenticate(state: &State, request: &Request) -> Result<String, Reply> {
    if !state.require_auth {
        return Ok(HOST_LOGIN.to_owned());
    }
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let login = if let Some(key) = header("x-api-key") {
        state.pats.get(key).cloned()
    } else if let Some(token) = header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        if state.reject_tokens {
            None
        } else if let Some(login) = state.pats.get(token) {
            Some(login.clone())
        } else {
            state
                .tokens
                .get(token)
                .filter(|(exp, _)| *exp > state.now)
                .map(|(_, login)| login.clone())
        }
    } else {
        None
    };
    login.ok_or_else(|| Reply::new(401).insert_header("WWW-Authenticate", "Bearer"))
}

/// `Set`, `Set(<id>)` or `Set(<id>)/Action`.
fn segments(rest: &str) -> (String, Option<String>, Option<String>) {
    let (head, action) = match rest.split_once('/') {
        Some((h, a)) => (h, Some(a.to_owned())),
        None => (rest, None),
    };
    match parse_odata_id(head) {
        Some((set, id)) => (set, Some(id), action),
        None => (head.to_owned(), None, action),
    }
}

pub(crate) fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

pub(crate) fn body_object(request: &Request) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(erp_error(
            500,
            "The request body is not a JSON object.",
            "ArgumentException",
        )),
    }
}

fn dispatch(state: &mut State, request: &Request, rest: &str, login: &str) -> Reply {
    let (set, id, action) = segments(rest);
    // Only what the wire table names exists.
    if wire::entity_set(&set).is_none() || state.forgotten.contains(&set) {
        return unknown_segment(&set);
    }
    // After a key: an action, or a child collection of the set (a box's `Folders`).
    if let Some(action) = action.as_deref()
        && ![wire::MAKE_VOID, wire::CHANGE_STATE].contains(&action)
        && !set_of(&set)
            .property(action)
            .is_some_and(|p| matches!(p.kind, Kind::Collection(_)))
    {
        return unknown_segment(action);
    }
    let result = match (request.method.as_str(), id, action.as_deref()) {
        ("GET", None, None) => list(state, request, &set),
        ("GET", Some(id), None) => get_one(state, request, &set, &id),
        ("POST", None, None) if set == ACTIVITIES => create_activity(state, request, login),
        ("POST", None, None) if set == PARTICIPANTS => add_participant(state, request),
        ("POST", None, None) if set == DOCUMENT_TYPES => create_document_type(state, request),
        ("PATCH", Some(id), None) if set == ACTIVITIES => patch_activity(state, request, &id),
        ("DELETE", Some(id), None) if set == PARTICIPANTS => remove_participant(state, &id),
        ("POST", Some(id), Some("MakeVoid")) if set == ACTIVITIES => make_void(state, request, &id),
        ("POST", Some(id), Some("ChangeState")) if set == ACTIVITIES => {
            change_state(state, request, &id)
        }
        (method, id, action) if super::mail::serves(&set) => Ok(super::mail::dispatch(
            state,
            request,
            &set,
            method,
            id.as_deref(),
            action,
        )),
        _ => Err(erp_error(
            500,
            "The operation is not supported.",
            "NotSupportedException",
        )),
    };
    result.unwrap_or_else(|reply| reply)
}

/// An object as the API shows it: collections only when expanded, references expanded on
/// request, `$select` applied.
pub(crate) fn project(
    state: &State,
    object: &Map<String, Value>,
    select: &[String],
    expand: &[Expand],
) -> Value {
    let mut out = Map::new();
    for (key, value) in object {
        let expanded = expand.iter().find(|e| &e.property == key);
        let is_collection = value.is_array();
        if let Some(e) = expanded {
            let shown = match value {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|i| project(state, i, &e.select, &[]))
                        .collect(),
                ),
                Value::Object(r) => r
                    .get("@odata.id")
                    .and_then(Value::as_str)
                    .and_then(parse_odata_id)
                    .and_then(|(s, id)| state.find(&s, &id))
                    .map(|target| project(state, target, &e.select, &[]))
                    .unwrap_or(Value::Null),
                other => other.clone(),
            };
            out.insert(key.clone(), shown);
            continue;
        }
        if is_collection || (!select.is_empty() && !select.contains(key)) {
            continue;
        }
        out.insert(key.clone(), value.clone());
    }
    Value::Object(out)
}

/// Every `$select` item must be a property of the set.
fn check_select(set: &EntitySet, select: &[String]) -> Result<(), Reply> {
    for item in select {
        if set.property(item).is_none() {
            return Err(refused(Refusal::unknown_property(set.name, item)));
        }
    }
    Ok(())
}

fn read_options(request: &Request, set: &str) -> Result<(Vec<String>, Vec<Expand>), Reply> {
    let set = set_of(set);
    let select = query_param(request, wire::SELECT)
        .map(|s| parse_select(&s))
        .unwrap_or_default();
    check_select(set, &select)?;
    let expand = match query_param(request, wire::EXPAND) {
        Some(e) => parse_expand(&e).map_err(|m| erp_error(500, &m, "ODataException"))?,
        None => Vec::new(),
    };
    for item in &expand {
        let property = set
            .property(&item.property)
            .ok_or_else(|| refused(Refusal::unknown_property(set.name, &item.property)))?;
        match property.kind {
            Kind::Reference(target) | Kind::Collection(target) => {
                check_select(set_of(target), &item.select)?
            }
            Kind::Value => {
                return Err(refused(Refusal::bad_request(format!(
                    "The property '{}' cannot be expanded.",
                    item.property
                ))));
            }
        }
    }
    Ok((select, expand))
}

/// `$orderby`: each item a property of the set, optionally `asc` or `desc`. Sorts by the
/// property's text.
fn order_by(request: &Request, set: &str) -> Result<Vec<(String, bool)>, Reply> {
    let set = set_of(set);
    let Some(text) = query_param(request, "$orderby") else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|item| {
            let mut words = item.split_whitespace();
            let name = words.next().unwrap_or("");
            let descending = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(refused(Refusal::bad_request(format!(
                        "Invalid $orderby direction '{other}'."
                    ))));
                }
            };
            if set.property(name).is_none() {
                return Err(refused(Refusal::unknown_property(set.name, name)));
            }
            Ok((name.to_owned(), descending))
        })
        .collect()
}

fn list(state: &mut State, request: &Request, set: &str) -> Result<Reply, Reply> {
    let filter = match query_param(request, wire::FILTER) {
        Some(text) => {
            let filter = parse_filter(&text).map_err(|m| erp_error(500, &m, "ODataException"))?;
            filter.check(set_of(set)).map_err(refused)?;
            Some(filter)
        }
        None => None,
    };
    let (select, expand) = read_options(request, set)?;
    let order = order_by(request, set)?;
    let parse_count = |name: &str, default: usize| -> Result<usize, Reply> {
        match query_param(request, name) {
            Some(v) => v
                .parse()
                .map_err(|_| erp_error(500, &format!("Invalid {name}."), "ODataException")),
            None => Ok(default),
        }
    };
    // `$top` is the page size here, as ERP.net pages sync reads: at most 1000 a page.
    let top = parse_count("$top", MAX_TOP)?.min(MAX_TOP);
    let skip = parse_count("$skip", 0)?;
    let mut matching: Vec<&Map<String, Value>> = state
        .sets
        .get(set)
        .map(|objects| {
            objects
                .iter()
                .filter(|o| filter.as_ref().is_none_or(|f| f.matches(o)))
                .collect()
        })
        .unwrap_or_default();
    for (name, descending) in order.iter().rev() {
        let key = |o: &Map<String, Value>| o.get(name).map(Value::to_string).unwrap_or_default();
        matching.sort_by(|a, b| {
            let ordering = key(a).cmp(&key(b));
            if *descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|o| project(state, o, &select, &expand))
        .collect();
    let mut body = json!({
        "@odata.context": format!("$metadata#{set}"),
        "value": page,
    });
    if top > 0 && skip + top < matching.len() {
        // wiremock's request URL has no port: links are built on the server's own address.
        let mut next = url::Url::parse(&format!("{}{}", state.base, request.url.path()))
            .expect("the server's own URL");
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "$skip" && k != "$top")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = next.query_pairs_mut();
            q.clear();
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            q.append_pair("$top", &top.to_string());
            q.append_pair("$skip", &(skip + top).to_string());
        }
        body["@odata.nextLink"] = json!(next.to_string());
    }
    Ok(Reply::new(200).set_body_json(body))
}

fn get_one(state: &mut State, request: &Request, set: &str, id: &str) -> Result<Reply, Reply> {
    let (select, expand) = read_options(request, set)?;
    let object = state.find(set, id).ok_or_else(|| Reply::new(404))?;
    Ok(Reply::new(200).set_body_json(project(state, object, &select, &expand)))
}

fn parse_time(value: &Value, name: &str) -> Result<Option<DateTime<Utc>>, Reply> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                erp_error(
                    500,
                    &format!("Invalid value for {name}."),
                    "FormatException",
                )
            }),
        _ => Err(erp_error(
            500,
            &format!("Invalid value for {name}."),
            "FormatException",
        )),
    }
}

/// Checks a bind (`{"@odata.id": "Set(<id>)"}`) to a reference of `target`: the set must exist
/// (else the segment is unknown) and be the reference's, and the object must exist.
pub(crate) fn check_bind(
    state: &State,
    key: &str,
    target: &str,
    value: &Value,
) -> Result<(), Reply> {
    if value.is_null() {
        return Ok(());
    }
    let bad = || {
        erp_error(
            500,
            &format!("Invalid value for {key}."),
            "ArgumentException",
        )
    };
    let odata_id = value
        .get(wire::ODATA_ID)
        .and_then(Value::as_str)
        .ok_or_else(bad)?;
    let (set, _) = parse_odata_id(odata_id).ok_or_else(bad)?;
    if wire::entity_set(&set).is_none() || state.forgotten.contains(&set) {
        return Err(unknown_segment(&set));
    }
    // Parties are the base of companies (M General.Contacts.Parties.md).
    let compatible = set == target || (target == wire::PARTIES && set == wire::COMPANIES);
    if !compatible {
        return Err(refused(Refusal::bad_request(format!(
            "{key} refers to '{target}', not '{set}'."
        ))));
    }
    if !state.resolves(odata_id) {
        return Err(erp_error(
            500,
            &format!("The object referenced by {key} was not found."),
            "ObjectNotFoundException",
        ));
    }
    Ok(())
}

/// Checks a body's property names against the set: each documented and writable (annotations
/// aside).
fn check_body_names(set: &str, body: &Map<String, Value>) -> Result<(), Reply> {
    let set = set_of(set);
    for key in body.keys().filter(|k| !k.starts_with('@')) {
        let property = set
            .property(key)
            .ok_or_else(|| refused(Refusal::unknown_property(set.name, key)))?;
        if !property.writable {
            return Err(erp_error(
                500,
                &format!("The property '{key}' is read-only."),
                "ODataException",
            ));
        }
    }
    Ok(())
}

/// Checks one written property of an activity.
fn check_property(state: &State, key: &str, value: &Value) -> Result<(), Reply> {
    let set = set_of(ACTIVITIES);
    let property = set
        .property(key)
        .ok_or_else(|| refused(Refusal::unknown_property(ACTIVITIES, key)))?;
    if !property.writable {
        return Err(erp_error(
            500,
            &format!("The property '{key}' is read-only."),
            "ODataException",
        ));
    }
    if let Kind::Reference(target) = property.kind {
        return check_bind(state, key, target, value);
    }
    let bad = || {
        erp_error(
            500,
            &format!("Invalid value for {key}."),
            "ArgumentException",
        )
    };
    match key {
        "Subject" => {
            let s = value.as_str().ok_or_else(bad)?;
            if s.trim().is_empty() || s.chars().count() > 254 {
                return Err(bad());
            }
        }
        "StartTime" => {
            parse_time(value, key)?.ok_or_else(bad)?;
        }
        "EndTime" | "ReminderTime" => {
            parse_time(value, key)?;
        }
        "Priority"
            if !value.is_null() && !value.as_str().is_some_and(|p| PRIORITIES.contains(&p)) =>
        {
            return Err(bad());
        }
        "SystemType"
            if !value
                .as_str()
                .is_some_and(|p| wire::SYSTEM_TYPES.contains(&p)) =>
        {
            return Err(bad());
        }
        "Private" if !value.is_boolean() => return Err(bad()),
        _ => {}
    }
    Ok(())
}

/// The search criteria of `@erpnet.findBy` (D erpnet-action.md): an object of string
/// properties among ExternalId, ExternalSystem, Id, Code, Name, DisplayText; when absent, taken
/// from the body (ExternalId if it has one, else Id).
pub(crate) fn find_criteria(
    annotation: Option<&Value>,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, Reply> {
    let shape = || {
        refused(Refusal::bad_request(format!(
            "The value of {} must be an object with string properties among {}.",
            wire::ERPNET_FIND_BY,
            wire::FIND_BY_KEYS.join(", ")
        )))
    };
    match annotation {
        None => {
            let keys: &[&str] = if body.contains_key(wire::activity::EXTERNAL_ID) {
                &[wire::activity::EXTERNAL_ID, wire::activity::EXTERNAL_SYSTEM]
            } else {
                &[wire::activity::ID]
            };
            Ok(keys
                .iter()
                .filter_map(|k| body.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                .collect())
        }
        Some(Value::Object(criteria)) => {
            let ok = !criteria.is_empty()
                && criteria
                    .iter()
                    .all(|(k, v)| wire::FIND_BY_KEYS.contains(&k.as_str()) && v.is_string());
            if ok {
                Ok(criteria.clone())
            } else {
                Err(shape())
            }
        }
        Some(_) => Err(shape()),
    }
}

fn find_activity_by(state: &State, criteria: &Map<String, Value>) -> Result<Option<String>, Reply> {
    let activities = state.sets.get(ACTIVITIES).map(Vec::as_slice).unwrap_or(&[]);
    let field =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    // The first criterion in the documented priority order is used.
    let found = if let Some(external_id) = field(criteria, "ExternalId") {
        let system = field(criteria, "ExternalSystem");
        activities.iter().find(|o| {
            field(o, "ExternalId").as_deref() == Some(external_id.as_str())
                && (system.is_none() || field(o, "ExternalSystem") == system)
        })
    } else if let Some(id) = field(criteria, "Id") {
        let id = id.to_ascii_lowercase();
        activities
            .iter()
            .find(|o| field(o, "Id").as_deref() == Some(id.as_str()))
    } else if criteria.is_empty() {
        None
    } else {
        return Err(erp_error(
            500,
            "The simulator finds activities by ExternalId or Id only.",
            "NotSupportedException",
        ));
    };
    Ok(found.and_then(|o| field(o, "Id")))
}

fn create_activity(state: &mut State, request: &Request, login: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let action = body
        .get(wire::ERPNET_ACTION)
        .and_then(Value::as_str)
        .unwrap_or("create")
        .to_owned();
    let criteria = find_criteria(body.get(wire::ERPNET_FIND_BY), &body)?;
    body.retain(|k, _| !k.starts_with('@'));
    check_body_names(ACTIVITIES, &body)?;
    match action.as_str() {
        "create" => {}
        "findOrCreate" | "find" | "findOrNull" | "findSingle" => {
            if let Some(id) = find_activity_by(state, &criteria)? {
                let object = state.find(ACTIVITIES, &id).expect("just found");
                return Ok(Reply::new(200).set_body_json(project(state, object, &[], &[])));
            }
            match action.as_str() {
                "findOrCreate" => {}
                "findOrNull" => return Ok(Reply::new(204)),
                _ => {
                    return Err(erp_error(
                        500,
                        "The object was not found.",
                        "ObjectNotFoundException",
                    ));
                }
            }
        }
        other => {
            return Err(erp_error(
                500,
                &format!("Unsupported @erpnet.action '{other}'."),
                "NotSupportedException",
            ));
        }
    }
    // Context parameters fill what the body leaves out.
    for (key, param, set) in [
        (
            "EnterpriseCompany",
            "CurrentEnterpriseCompanyId",
            ENTERPRISE_COMPANIES,
        ),
        (
            "EnterpriseCompanyLocation",
            "CurrentEnterpriseCompanyLocationId",
            COMPANY_LOCATIONS,
        ),
    ] {
        if body.get(key).is_none_or(Value::is_null)
            && let Some(id) = query_param(request, param)
        {
            body.insert(key.into(), reference(set, &id));
        }
    }
    let participants = body.remove("Participants").unwrap_or(json!([]));
    for p in participants.as_array().cloned().unwrap_or_default() {
        let Value::Object(p) = p else {
            return Err(erp_error(
                500,
                "Invalid value for Participants.",
                "ArgumentException",
            ));
        };
        check_body_names(PARTICIPANTS, &p)?;
    }
    for (key, value) in &body {
        check_property(state, key, value)?;
    }
    for required in [
        "Subject",
        "StartTime",
        "DocumentType",
        "EnterpriseCompany",
        "EnterpriseCompanyLocation",
    ] {
        if body.get(required).is_none_or(Value::is_null) {
            return Err(erp_error(
                500,
                &format!("The property '{required}' is required."),
                "ArgumentException",
            ));
        }
    }
    let id = state.new_id();
    let stamp = state.stamp();
    let mut participant_list = Vec::new();
    for p in participants.as_array().cloned().unwrap_or_default() {
        let email = p
            .get("Email")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        participant_list.push(json!({"Id": state.new_id(), "Email": email, "Notes": null}));
    }
    // FromParty defaults to the enterprise company's own company, as ERP.net's defaults do.
    if body.get("FromParty").is_none_or(Value::is_null) {
        let company = body["EnterpriseCompany"]["@odata.id"]
            .as_str()
            .and_then(parse_odata_id)
            .and_then(|(s, id)| state.find(&s, &id))
            .and_then(|ec| ec.get("Company").cloned());
        body.insert("FromParty".into(), company.unwrap_or(Value::Null));
    }
    let mut object = super::obj(json!({
        "Id": id, "ObjectVersion": 1, "AggregateLastUpdateTimeUtc": stamp,
        "Subject": null, "StartTime": null, "EndTime": null, "Notes": null, "Priority": "Medium",
        "Private": false, "ReminderTime": null, "State": "New", "Void": false, "VoidReason": null,
        "SystemType": "Meeting", "ExternalId": null, "ExternalSystem": null,
        "AssignedToUser": null, "CreationUser": login, "EntityName": state.activity_entity_name,
    }));
    object.extend(body);
    object.insert("Participants".into(), Value::Array(participant_list));
    object.insert("Reminders".into(), json!([]));
    let shown = project(state, &object, &[], &[]);
    state.set_mut(ACTIVITIES).push(object);
    Ok(Reply::new(201).set_body_json(shown))
}

fn patch_activity(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let current = state.find(ACTIVITIES, id).ok_or_else(|| Reply::new(404))?;
    if current.get("Void").and_then(Value::as_bool) == Some(true) {
        return Err(erp_error(
            500,
            "The document is void and cannot be modified.",
            "DocumentVoidException",
        ));
    }
    if is_read_only(current) {
        let state_name = current.get("State").and_then(Value::as_str).unwrap_or("");
        return Err(erp_error(
            500,
            &format!("The document is in state {state_name} and cannot be modified."),
            "DocumentReadOnlyException",
        ));
    }
    if let Some(expected) = body.remove("ObjectVersion")
        && expected.as_i64() != current.get("ObjectVersion").and_then(Value::as_i64)
    {
        return Err(erp_error(
            500,
            "The object was changed by another user.",
            "ObjectVersionConflictException",
        ));
    }
    for (key, value) in &body {
        check_property(state, key, value)?;
    }
    let object = state.find_mut(ACTIVITIES, id).expect("found above");
    object.extend(body);
    state.touch(id, true);
    let prefer = request
        .headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if prefer.contains("return=representation") {
        let object = state.find(ACTIVITIES, id).expect("still there");
        return Ok(Reply::new(200).set_body_json(project(state, object, &[], &[])));
    }
    Ok(Reply::new(204))
}

fn parent_of_participant(state: &State, participant: &str) -> Option<String> {
    state.sets.get(ACTIVITIES)?.iter().find_map(|a| {
        a.get("Participants")?
            .as_array()?
            .iter()
            .any(|p| p.get("Id").and_then(Value::as_str) == Some(participant))
            .then(|| a.get("Id").and_then(Value::as_str).map(str::to_owned))?
    })
}

fn writable_parent(state: &State, id: &str) -> Result<(), Reply> {
    let parent = state.find(ACTIVITIES, id).ok_or_else(|| {
        erp_error(
            500,
            "The activity was not found.",
            "ObjectNotFoundException",
        )
    })?;
    if is_read_only(parent) || parent.get("Void").and_then(Value::as_bool) == Some(true) {
        return Err(erp_error(
            500,
            "The document cannot be modified.",
            "DocumentReadOnlyException",
        ));
    }
    Ok(())
}

fn add_participant(state: &mut State, request: &Request) -> Result<Reply, Reply> {
    let body = body_object(request)?;
    check_body_names(PARTICIPANTS, &body)?;
    if let Some(activity) = body.get(wire::participant::ACTIVITY) {
        check_bind(state, wire::participant::ACTIVITY, ACTIVITIES, activity)?;
    }
    let parent = body
        .get("Activity")
        .and_then(|a| a.get("@odata.id"))
        .and_then(Value::as_str)
        .and_then(parse_odata_id)
        .filter(|(set, _)| set == ACTIVITIES)
        .map(|(_, id)| id)
        .ok_or_else(|| {
            erp_error(
                500,
                "The property 'Activity' is required.",
                "ArgumentException",
            )
        })?;
    writable_parent(state, &parent)?;
    let email = body
        .get("Email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let participant = json!({"Id": state.new_id(), "Email": email, "Notes": null});
    let object = state.find_mut(ACTIVITIES, &parent).expect("checked");
    if let Some(Value::Array(list)) = object.get_mut("Participants") {
        list.push(participant.clone());
    }
    state.touch(&parent, false);
    Ok(Reply::new(201).set_body_json(participant))
}

fn remove_participant(state: &mut State, participant: &str) -> Result<Reply, Reply> {
    let parent = parent_of_participant(state, participant).ok_or_else(|| Reply::new(404))?;
    writable_parent(state, &parent)?;
    let object = state.find_mut(ACTIVITIES, &parent).expect("found");
    if let Some(Value::Array(list)) = object.get_mut("Participants") {
        list.retain(|p| p.get("Id").and_then(Value::as_str) != Some(participant));
    }
    state.touch(&parent, false);
    Ok(Reply::new(204))
}

fn make_void(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let body = body_object(request)?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let void_type = body.get("voidType").and_then(Value::as_str).unwrap_or("");
    if !wire::VOID_TYPES.contains(&void_type) {
        return Err(erp_error(500, "Invalid voidType.", "ArgumentException"));
    }
    let now = state.stamp();
    let object = state
        .find_mut(ACTIVITIES, id)
        .ok_or_else(|| Reply::new(404))?;
    if object.get("Void").and_then(Value::as_bool) == Some(true) {
        // Already void: nothing more to do (a repeated request after a lost answer).
        return Ok(Reply::new(204));
    }
    object.insert("Void".into(), json!(true));
    object.insert("VoidReason".into(), json!(reason));
    object.insert("VoidTime".into(), json!(now));
    state.touch(id, true);
    Ok(Reply::new(204))
}

fn change_state(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let body = body_object(request)?;
    let new_state = body
        .get("newState")
        .and_then(Value::as_str)
        .filter(|s| STATES.contains(s))
        .ok_or_else(|| erp_error(500, "Invalid newState.", "ArgumentException"))?
        .to_owned();
    let object = state
        .find_mut(ACTIVITIES, id)
        .ok_or_else(|| Reply::new(404))?;
    if object.get("Void").and_then(Value::as_bool) == Some(true) {
        return Err(erp_error(
            500,
            "The document is void.",
            "DocumentVoidException",
        ));
    }
    object.insert("State".into(), json!(new_state));
    state.touch(id, true);
    Ok(Reply::new(204))
}

fn create_document_type(state: &mut State, request: &Request) -> Result<Reply, Reply> {
    if !state.allow_document_type_create {
        return Err(erp_error(
            500,
            "Insufficient permissions to create document types.",
            "SecurityException",
        ));
    }
    let mut body = body_object(request)?;
    body.retain(|k, _| !k.starts_with('@'));
    check_body_names(DOCUMENT_TYPES, &body)?;
    // M Systems.Documents.DocumentTypes.md: Code, EntityName and TypeName are required.
    use wire::document_type as dt;
    for required in [dt::CODE, dt::ENTITY_NAME] {
        if !body.get(required).is_some_and(Value::is_string) {
            return Err(erp_error(
                500,
                &format!("The property '{required}' is required."),
                "ArgumentException",
            ));
        }
    }
    let multilanguage = body
        .get(dt::TYPE_NAME)
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty() && m.values().all(Value::is_string));
    if !multilanguage {
        return Err(erp_error(
            500,
            &format!("The property '{}' is required.", dt::TYPE_NAME),
            "ArgumentException",
        ));
    }
    let id = state.new_id();
    body.insert("Id".into(), json!(id));
    let shown = Value::Object(body.clone());
    state.set_mut(DOCUMENT_TYPES).push(body);
    Ok(Reply::new(201).set_body_json(shown))
}
