//! The one wiremock responder: records the request, authenticates, applies faults, dispatches.
//! Handlers return `Result<Reply, Reply>`: an error is simply the response to send.

// A refusal is a whole response; its size does not matter in a test server.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::odata::{Expand, parse_expand, parse_filter, parse_select};
use super::{
    ACTIVITIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, Fault, MAX_TOP,
    ODATA_PATH, PARTICIPANTS, RecordedRequest, State, parse_odata_id, reference,
};

pub(crate) struct Handler {
    pub state: Arc<Mutex<State>>,
}

type Reply = ResponseTemplate;

/// ERP.net's error body: HTTP 500 (or the given status) with message, code, type, info.
pub(crate) fn erp_error(status: u16, message: &str, kind: &str) -> Reply {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": message,
        "code": 0,
        "type": kind,
        "info": null,
        "messageFormat": message,
        "parameters": [],
    }))
}

const STATES: &[&str] = &[
    "New",
    "Adjustment",
    "Planned",
    "FirmPlanned",
    "Released",
    "Completed",
    "Closed",
];
const PRIORITIES: &[&str] = &["Lowest", "Low", "Medium", "High", "Highest"];
/// Properties a create or PATCH of an activity may carry.
const ACTIVITY_WRITABLE: &[&str] = &[
    "Subject",
    "StartTime",
    "EndTime",
    "Notes",
    "Priority",
    "Private",
    "ReminderTime",
    "SystemType",
    "ExternalId",
    "ExternalSystem",
    "DocumentType",
    "EnterpriseCompany",
    "EnterpriseCompanyLocation",
    "AssignedToUser",
    "FromParty",
    "State",
];

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
    let body = if request.body.is_empty() {
        None
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
        let mut state = self.state.lock().unwrap();
        state.log.push(record(request));
        let path = request.url.path().to_owned();
        if path == "/id/connect/token" {
            return token(&mut state, request);
        }
        let Some(rest) = path.strip_prefix(ODATA_PATH) else {
            return ResponseTemplate::new(404);
        };
        if let Some(reply) = authenticate(&state, request) {
            return reply;
        }
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
            None => dispatch(&mut state, request, rest),
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
        return ResponseTemplate::new(400)
            .set_body_json(json!({"error": "unsupported_grant_type"}));
    }
    if state.clients.get(get("client_id")).map(String::as_str) != Some(get("client_secret"))
        || get("client_secret").is_empty()
    {
        return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"}));
    }
    let scopes: Vec<&str> = get("scope").split(' ').collect();
    if scopes
        .iter()
        .any(|s| !["read", "update", "openid", "profile", "offline_access"].contains(s))
    {
        return ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_scope"}));
    }
    state.issued += 1;
    let token = format!("sim-access-token-{}", state.issued);
    let expires = state.now + chrono::Duration::seconds(state.token_lifetime);
    state.tokens.insert(token.clone(), expires);
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "expires_in": state.token_lifetime,
        "token_type": "Bearer",
        "scope": get("scope"),
    }))
}

fn authenticate(state: &State, request: &Request) -> Option<Reply> {
    if !state.require_auth {
        return None;
    }
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let ok = if let Some(key) = header("x-api-key") {
        state.pats.contains(key)
    } else if let Some(token) = header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        !state.reject_tokens
            && (state.pats.contains(token)
                || state.tokens.get(token).is_some_and(|exp| *exp > state.now))
    } else {
        false
    };
    (!ok).then(|| ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Bearer"))
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

fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn body_object(request: &Request) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(erp_error(
            500,
            "The request body is not a JSON object.",
            "ArgumentException",
        )),
    }
}

fn dispatch(state: &mut State, request: &Request, rest: &str) -> Reply {
    let (set, id, action) = segments(rest);
    let known = [
        ACTIVITIES,
        PARTICIPANTS,
        super::USERS,
        DOCUMENT_TYPES,
        ENTERPRISE_COMPANIES,
        super::COMPANIES,
        COMPANY_LOCATIONS,
    ];
    if !known.contains(&set.as_str()) {
        return ResponseTemplate::new(404);
    }
    let result = match (request.method.as_str(), id, action.as_deref()) {
        ("GET", None, None) => list(state, request, &set),
        ("GET", Some(id), None) => get_one(state, request, &set, &id),
        ("POST", None, None) if set == ACTIVITIES => create_activity(state, request),
        ("POST", None, None) if set == PARTICIPANTS => add_participant(state, request),
        ("POST", None, None) if set == DOCUMENT_TYPES => create_document_type(state, request),
        ("PATCH", Some(id), None) if set == ACTIVITIES => patch_activity(state, request, &id),
        ("DELETE", Some(id), None) if set == PARTICIPANTS => remove_participant(state, &id),
        ("POST", Some(id), Some("MakeVoid")) if set == ACTIVITIES => make_void(state, request, &id),
        ("POST", Some(id), Some("ChangeState")) if set == ACTIVITIES => {
            change_state(state, request, &id)
        }
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
fn project(
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

fn read_options(request: &Request) -> Result<(Vec<String>, Vec<Expand>), Reply> {
    let select = query_param(request, "$select")
        .map(|s| parse_select(&s))
        .unwrap_or_default();
    let expand = match query_param(request, "$expand") {
        Some(e) => parse_expand(&e).map_err(|m| erp_error(500, &m, "ODataException"))?,
        None => Vec::new(),
    };
    Ok((select, expand))
}

fn list(state: &mut State, request: &Request, set: &str) -> Result<Reply, Reply> {
    let filter = match query_param(request, "$filter") {
        Some(text) => Some(parse_filter(&text).map_err(|m| erp_error(500, &m, "ODataException"))?),
        None => None,
    };
    let (select, expand) = read_options(request)?;
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
    let matching: Vec<&Map<String, Value>> = state
        .sets
        .get(set)
        .map(|objects| {
            objects
                .iter()
                .filter(|o| filter.as_ref().is_none_or(|f| f.matches(o)))
                .collect()
        })
        .unwrap_or_default();
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
    Ok(ResponseTemplate::new(200).set_body_json(body))
}

fn get_one(state: &mut State, request: &Request, set: &str, id: &str) -> Result<Reply, Reply> {
    let (select, expand) = read_options(request)?;
    let object = state
        .find(set, id)
        .ok_or_else(|| ResponseTemplate::new(404))?;
    Ok(ResponseTemplate::new(200).set_body_json(project(state, object, &select, &expand)))
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

/// Checks one written property of an activity.
fn check_property(state: &State, key: &str, value: &Value) -> Result<(), Reply> {
    if !ACTIVITY_WRITABLE.contains(&key) {
        return Err(erp_error(
            500,
            &format!("The property '{key}' cannot be written."),
            "ODataException",
        ));
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
        "State" if !value.as_str().is_some_and(|p| STATES.contains(&p)) => return Err(bad()),
        "Private" if !value.is_boolean() => return Err(bad()),
        "DocumentType" | "EnterpriseCompany" | "EnterpriseCompanyLocation" | "AssignedToUser" => {
            if value.is_null() {
                return Ok(());
            }
            let id = value
                .get("@odata.id")
                .and_then(Value::as_str)
                .ok_or_else(bad)?;
            if !state.resolves(id) {
                return Err(erp_error(
                    500,
                    &format!("The object referenced by {key} was not found."),
                    "ObjectNotFoundException",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn find_activity_by(
    state: &State,
    find_by: &str,
    body: &Map<String, Value>,
) -> Result<Option<String>, Reply> {
    let activities = state.sets.get(ACTIVITIES).map(Vec::as_slice).unwrap_or(&[]);
    let field =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
    let found = match find_by {
        "ExternalId" => {
            let external_id = field(body, "ExternalId").ok_or_else(|| {
                erp_error(
                    500,
                    "findBy ExternalId needs ExternalId.",
                    "ArgumentException",
                )
            })?;
            let system = field(body, "ExternalSystem");
            activities.iter().find(|o| {
                field(o, "ExternalId").as_deref() == Some(external_id.as_str())
                    && (system.is_none() || field(o, "ExternalSystem") == system)
            })
        }
        "Id" => {
            let id = field(body, "Id").map(|s| s.to_ascii_lowercase());
            activities.iter().find(|o| field(o, "Id") == id)
        }
        other => {
            return Err(erp_error(
                500,
                &format!("Unsupported @erpnet.findBy '{other}'."),
                "NotSupportedException",
            ));
        }
    };
    Ok(found.and_then(|o| field(o, "Id")))
}

fn create_activity(state: &mut State, request: &Request) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let action = body
        .get("@erpnet.action")
        .and_then(Value::as_str)
        .unwrap_or("create")
        .to_owned();
    let find_by = body
        .get("@erpnet.findBy")
        .and_then(Value::as_str)
        .unwrap_or("Id")
        .to_owned();
    body.retain(|k, _| !k.starts_with('@'));
    match action.as_str() {
        "create" => {}
        "findOrCreate" | "find" | "findOrNull" | "findSingle" => {
            if let Some(id) = find_activity_by(state, &find_by, &body)? {
                let object = state.find(ACTIVITIES, &id).expect("just found");
                return Ok(ResponseTemplate::new(200).set_body_json(project(
                    state,
                    object,
                    &[],
                    &[],
                )));
            }
            match action.as_str() {
                "findOrCreate" => {}
                "findOrNull" => return Ok(ResponseTemplate::new(204)),
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
        "AssignedToUser": null, "CreationUser": null,
    }));
    object.extend(body);
    object.insert("Participants".into(), Value::Array(participant_list));
    object.insert("Reminders".into(), json!([]));
    let shown = project(state, &object, &[], &[]);
    state.set_mut(ACTIVITIES).push(object);
    Ok(ResponseTemplate::new(201).set_body_json(shown))
}

fn patch_activity(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let mut body = body_object(request)?;
    let current = state
        .find(ACTIVITIES, id)
        .ok_or_else(|| ResponseTemplate::new(404))?;
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
        if key == "State" {
            return Err(erp_error(
                500,
                "Use ChangeState to change the state.",
                "ArgumentException",
            ));
        }
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
        return Ok(ResponseTemplate::new(200).set_body_json(project(state, object, &[], &[])));
    }
    Ok(ResponseTemplate::new(204))
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
    Ok(ResponseTemplate::new(201).set_body_json(participant))
}

fn remove_participant(state: &mut State, participant: &str) -> Result<Reply, Reply> {
    let parent =
        parent_of_participant(state, participant).ok_or_else(|| ResponseTemplate::new(404))?;
    writable_parent(state, &parent)?;
    let object = state.find_mut(ACTIVITIES, &parent).expect("found");
    if let Some(Value::Array(list)) = object.get_mut("Participants") {
        list.retain(|p| p.get("Id").and_then(Value::as_str) != Some(participant));
    }
    state.touch(&parent, false);
    Ok(ResponseTemplate::new(204))
}

fn make_void(state: &mut State, request: &Request, id: &str) -> Result<Reply, Reply> {
    let body = body_object(request)?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let void_type = body.get("voidType").and_then(Value::as_str).unwrap_or("");
    if !["VoidDocument", "VoidDocumentAndAdjustments"].contains(&void_type) {
        return Err(erp_error(500, "Invalid voidType.", "ArgumentException"));
    }
    let now = state.stamp();
    let object = state
        .find_mut(ACTIVITIES, id)
        .ok_or_else(|| ResponseTemplate::new(404))?;
    if object.get("Void").and_then(Value::as_bool) == Some(true) {
        // Already void: nothing more to do (a repeated request after a lost answer).
        return Ok(ResponseTemplate::new(204));
    }
    object.insert("Void".into(), json!(true));
    object.insert("VoidReason".into(), json!(reason));
    object.insert("VoidTime".into(), json!(now));
    state.touch(id, true);
    Ok(ResponseTemplate::new(204))
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
        .ok_or_else(|| ResponseTemplate::new(404))?;
    if object.get("Void").and_then(Value::as_bool) == Some(true) {
        return Err(erp_error(
            500,
            "The document is void.",
            "DocumentVoidException",
        ));
    }
    object.insert("State".into(), json!(new_state));
    state.touch(id, true);
    Ok(ResponseTemplate::new(204))
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
    for required in ["Code", "EntityName"] {
        if !body.get(required).is_some_and(Value::is_string) {
            return Err(erp_error(
                500,
                &format!("The property '{required}' is required."),
                "ArgumentException",
            ));
        }
    }
    let id = state.new_id();
    body.insert("Id".into(), json!(id));
    let shown = Value::Object(body.clone());
    state.set_mut(DOCUMENT_TYPES).push(body);
    Ok(ResponseTemplate::new(201).set_body_json(shown))
}
