//! A stateful ERP.net Domain API on wiremock: activities (with participants and reminders),
//! enterprise companies, company locations, users and document types, behind the identity
//! server's token endpoint.
//!
//! It is built from the connector's wire table (`mssync_core::wire::erp`) and refuses what the
//! public pages do not name, as the Domain API would: an unknown entity set or segment is a 404
//! "Resource not found for the segment '<name>'." (a renamed one answers with the rename
//! message of D common-tasks/handling-renames.md); an unknown property in `$select`,
//! `$expand`, `$filter`, `$orderby` or a body, a filter the property's model page does not list
//! (`eq` on `CreationUser`), `eq null`, an `@erpnet.findBy` that is not the documented object,
//! and a bind (`@odata.id`) to a set that does not exist are refused. Date-time filter values
//! are truncated to the date (D filter.md). `CreationUser` is the login of the user the access
//! token belongs to.
//!
//! What it holds to, as ERP.net does: `$filter` without `or` (refused with an ERP.net-style 500
//! body), `$top` pages of at most 1000 with `@odata.nextLink`, `@erpnet.action` create and
//! findOrCreate, `ObjectVersion` checked on PATCH, Released and later activities refusing
//! PATCH, `MakeVoid` and `ChangeState`, and `$batch` (`batch.rs`: changesets atomic, faults of
//! their own: a failed item, a lost answer to the whole batch). Every write moves `ObjectVersion` and
//! `AggregateLastUpdateTimeUtc`, the latter from a clock tests set, so overlap windows can be
//! made on purpose. Faults (429, 500, slow answers, an answer lost after the write) come on
//! demand; every request is logged without secrets.

mod batch;
mod handler;
mod mail;

pub use batch::BatchFault;
pub use mail::{MailBoxSeed, SimMailAttachment, SimMailFolder, SimMailMessage};
pub mod odata;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

pub use mssync_core::wire::erp::{
    ACTIVITIES, COMPANIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, PARTICIPANTS,
    USERS,
};
/// The login `CreationUser` gets for a Trusted Application's tokens, unless
/// [`ErpSim::set_client_login`] says otherwise (the application's service user).
pub const SERVICE_LOGIN: &str = "mssync-service";
/// The login of requests made inside the ERP.net host (no token).
pub const HOST_LOGIN: &str = "host";
pub const ODATA_PATH: &str = "/api/domain/odata/";
/// Largest page the simulator serves.
pub const MAX_TOP: usize = 1000;

/// A fault the next API request (not the token endpoint) meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status before doing anything (429 with `Retry-After` seconds).
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Do the work, then answer with this status: the caller never learns it succeeded.
    LostAnswer { status: u16 },
    /// Answer normally, after this long (wall-clock; for timeout demos, not for assertions).
    Slow(Duration),
}

/// One request as the simulator saw it, secrets redacted: what insta snapshots pin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// The decoded `$filter`, if any.
    pub fn filter(&self) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == "$filter")
            .map(|(_, v)| v.as_str())
    }
}

/// An activity to seed, as "a user in ERP.net" would have entered it.
#[derive(Debug, Clone)]
pub struct ActivitySeed {
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub priority: Option<&'static str>,
    pub private: bool,
    pub reminder_time: Option<DateTime<Utc>>,
    pub state: &'static str,
    pub assigned_to: Option<String>,
    /// The creator's login (`CreationUser`); the service user's when `None`.
    pub creation_user: Option<String>,
    pub participants: Vec<String>,
    pub external_id: Option<String>,
    pub external_system: Option<String>,
}

impl ActivitySeed {
    pub fn new(subject: impl Into<String>, start: DateTime<Utc>) -> Self {
        Self {
            subject: subject.into(),
            start,
            end: Some(start + chrono::Duration::hours(1)),
            notes: None,
            priority: Some("Medium"),
            private: false,
            reminder_time: None,
            state: "Planned",
            assigned_to: None,
            creation_user: None,
            participants: Vec::new(),
            external_id: None,
            external_system: None,
        }
    }
}

pub(crate) struct State {
    base: String,
    now: DateTime<Utc>,
    next_id: u64,
    clients: HashMap<String, String>,
    client_logins: HashMap<String, String>,
    /// Personal access token -> its user's login.
    pats: HashMap<String, String>,
    /// Access token -> (expiry, the login of the user it belongs to).
    tokens: HashMap<String, (DateTime<Utc>, String)>,
    /// `EntityName` of activities (what the instance writes; read back by Give permissions).
    activity_entity_name: String,
    /// Entity sets this instance does not know (an ERP.net older than the version that
    /// introduced them).
    forgotten: Vec<String>,
    token_lifetime: i64,
    issued: u64,
    reject_tokens: bool,
    require_auth: bool,
    allow_document_type_create: bool,
    pub(crate) sets: BTreeMap<String, Vec<Map<String, Value>>>,
    faults: VecDeque<Fault>,
    batch_faults: VecDeque<BatchFault>,
    stall: crate::stall::Stall,
    /// Every Domain API answer waits this long (wall clock).
    latency: std::time::Duration,
    log: Vec<RecordedRequest>,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.next_id)
    }

    pub(crate) fn stamp(&self) -> String {
        self.now.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub(crate) fn set_mut(&mut self, name: &str) -> &mut Vec<Map<String, Value>> {
        self.sets.entry(name.to_owned()).or_default()
    }

    pub(crate) fn find(&self, set: &str, id: &str) -> Option<&Map<String, Value>> {
        self.sets
            .get(set)?
            .iter()
            .find(|o| o.get("Id").and_then(Value::as_str) == Some(id))
    }

    pub(crate) fn find_mut(&mut self, set: &str, id: &str) -> Option<&mut Map<String, Value>> {
        self.sets
            .get_mut(set)?
            .iter_mut()
            .find(|o| o.get("Id").and_then(Value::as_str) == Some(id))
    }

    /// Whether `Set(<guid>)` names an existing object.
    pub(crate) fn resolves(&self, odata_id: &str) -> bool {
        parse_odata_id(odata_id).is_some_and(|(set, id)| self.find(&set, &id).is_some())
    }

    /// A write as ERP.net makes it: the version and the aggregate stamp move.
    pub(crate) fn touch(&mut self, id: &str, bump_version: bool) {
        let stamp = self.stamp();
        if let Some(object) = self.find_mut(ACTIVITIES, id) {
            if bump_version {
                let v = object
                    .get("ObjectVersion")
                    .and_then(Value::as_i64)
                    .unwrap_or(0);
                object.insert("ObjectVersion".into(), json!(v + 1));
            }
            object.insert("AggregateLastUpdateTimeUtc".into(), json!(stamp));
        }
    }
}

/// `Set(<guid>)` -> (set, guid).
pub(crate) fn parse_odata_id(text: &str) -> Option<(String, String)> {
    let (set, rest) = text.rsplit_once('(')?;
    let id = rest.strip_suffix(')')?.trim_matches('\'');
    let set = set.rsplit('/').next()?;
    Some((set.to_owned(), id.to_ascii_lowercase()))
}

pub(crate) fn reference(set: &str, id: &str) -> Value {
    json!({"@odata.id": format!("{set}({id})")})
}

/// The ERP.net Domain API simulator; clones share one state.
#[derive(Clone)]
pub struct ErpSim {
    server: Arc<MockServer>,
    state: Arc<Mutex<State>>,
}

impl ErpSim {
    /// Starts on a loopback port of its own, the clock at `now`.
    pub async fn start(now: DateTime<Utc>) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            base: server.uri(),
            now,
            next_id: 0,
            clients: HashMap::new(),
            client_logins: HashMap::new(),
            pats: HashMap::new(),
            tokens: HashMap::new(),
            activity_entity_name: mssync_core::wire::erp::ACTIVITY_ENTITY_NAME_FALLBACK.into(),
            forgotten: Vec::new(),
            token_lifetime: 3600,
            issued: 0,
            reject_tokens: false,
            require_auth: true,
            allow_document_type_create: true,
            sets: BTreeMap::new(),
            faults: VecDeque::new(),
            batch_faults: VecDeque::new(),
            stall: Default::default(),
            latency: std::time::Duration::ZERO,
            log: Vec::new(),
        }));
        Mock::given(any())
            .respond_with(crate::cors::Cors(handler::Handler {
                state: state.clone(),
            }))
            .mount(&server)
            .await;
        Self {
            server: Arc::new(server),
            state,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The OData service root, as `ErpConfig::base_url` takes it.
    pub fn odata_root(&self) -> String {
        format!("{}{ODATA_PATH}", self.server.uri())
    }

    /// The identity server's base (`.../id`).
    pub fn identity_base(&self) -> String {
        format!("{}/id", self.server.uri())
    }

    // --- clock --------------------------------------------------------------------------

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    pub fn set_now(&self, now: DateTime<Utc>) {
        self.lock().now = now;
    }

    pub fn advance(&self, by: Duration) {
        self.lock().now += chrono::Duration::from_std(by).expect("short duration");
    }

    // --- identity -----------------------------------------------------------------------

    /// A Trusted Application allowed to use client credentials.
    pub fn register_client(&self, client_id: &str, secret: &str) {
        self.lock()
            .clients
            .insert(client_id.to_owned(), secret.to_owned());
    }

    /// The login of the service user behind a Trusted Application: `CreationUser` of what it
    /// creates ([`SERVICE_LOGIN`] by default).
    pub fn set_client_login(&self, client_id: &str, login: &str) {
        self.lock()
            .client_logins
            .insert(client_id.to_owned(), login.to_owned());
    }

    /// A personal access token (`enrt_...`), accepted as Bearer or `X-Api-Key`, of the
    /// service user.
    pub fn add_personal_token(&self, token: &str) {
        self.add_personal_token_for(token, SERVICE_LOGIN);
    }

    /// A personal access token of the user with this login.
    pub fn add_personal_token_for(&self, token: &str, login: &str) {
        self.lock().pats.insert(token.to_owned(), login.to_owned());
    }

    /// Plays an ERP.net older than the version that introduced `entity_set`: requests to it
    /// (and binds to it) answer as for an unknown segment.
    pub fn forget_entity_set(&self, entity_set: &str) {
        self.lock().forgotten.push(entity_set.to_owned());
    }

    /// `EntityName` the instance gives activities (`Cm_Activities` by default).
    pub fn set_activity_entity_name(&self, name: &str) {
        self.lock().activity_entity_name = name.to_owned();
    }

    /// Lifetime of issued access tokens (3600 s by default).
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.lock().token_lifetime = seconds;
    }

    /// Forgets every issued token, as a key rollover would: the next API call gets 401.
    pub fn revoke_tokens(&self) {
        self.lock().tokens.clear();
    }

    /// Answer 401 to every token, fresh or not.
    pub fn reject_all_tokens(&self, reject: bool) {
        self.lock().reject_tokens = reject;
    }

    /// `false` runs as inside the ERP.net host: requests need no token.
    pub fn require_auth(&self, require: bool) {
        self.lock().require_auth = require;
    }

    /// How many access tokens the token endpoint has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.lock().issued
    }

    /// Whether the credentials may create document types ("Give permissions").
    pub fn allow_document_type_create(&self, allow: bool) {
        self.lock().allow_document_type_create = allow;
    }

    // --- faults and log -----------------------------------------------------------------

    /// Every Domain API answer waits this long (wall clock), as a distant service would.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.lock().latency = latency;
    }

    pub fn push_fault(&self, fault: Fault) {
        self.lock().faults.push_back(fault);
    }

    /// A fault the next `$batch` meets (other requests leave it waiting).
    pub fn push_batch_fault(&self, fault: BatchFault) {
        self.lock().batch_faults.push_back(fault);
    }

    /// Drops the batch faults no batch met.
    pub fn clear_batch_faults(&self) {
        self.lock().batch_faults.clear();
    }

    /// How many `$batch` requests the log holds.
    pub fn batches(&self) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.path.ends_with(mssync_core::wire::erp::BATCH))
            .count()
    }

    /// After `writes` more API writes (POST, PATCH, ...), every API request is still carried out
    /// but its answer is held for an hour: the client hangs mid-run. `None` answers normally
    /// again (answers already held stay held).
    pub fn stall_after_writes(&self, writes: Option<usize>) {
        self.lock().stall.after_writes(writes);
    }

    /// How many answers are being held by [`ErpSim::stall_after_writes`].
    pub fn held_answers(&self) -> usize {
        self.lock().stall.held()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().log.clear();
    }

    // --- reference data -----------------------------------------------------------------

    /// A user whose `Login` is the local part of `email` (see [`ErpSim::login_of`]).
    pub fn add_user(&self, email: &str, is_admin: bool, active: bool) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        let login = email.split('@').next().unwrap_or(email).to_owned();
        s.set_mut(USERS).push(obj(json!({
            "Id": id, "Email": email, "Login": login, "IsAdmin": is_admin, "Active": active,
            "TimeZone": null,
        })));
        id
    }

    /// An enterprise company and the company behind it: (enterprise company id, company id).
    pub fn add_enterprise_company(&self, name: &str) -> (String, String) {
        let mut s = self.lock();
        let company = s.new_id();
        s.set_mut(COMPANIES)
            .push(obj(json!({"Id": company, "Name": {"EN": name}})));
        let enterprise = s.new_id();
        s.set_mut(ENTERPRISE_COMPANIES).push(obj(json!({
            "Id": enterprise, "IsActive": true, "Company": reference(COMPANIES, &company),
        })));
        (enterprise, company)
    }

    /// The `Login` of a user.
    pub fn login_of(&self, user: &str) -> Option<String> {
        self.lock()
            .find(USERS, user)
            .and_then(|u| u.get("Login"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Changes a user's e-mail, as an ERP.net admin would.
    pub fn set_user_email(&self, id: &str, email: &str) {
        if let Some(user) = self.lock().find_mut(USERS, id) {
            user.insert("Email".into(), json!(email));
        }
    }

    /// Makes a user an ERP.net administrator or takes that away.
    pub fn set_user_admin(&self, id: &str, is_admin: bool) {
        if let Some(user) = self.lock().find_mut(USERS, id) {
            user.insert("IsAdmin".into(), json!(is_admin));
        }
    }

    pub fn set_user_active(&self, id: &str, active: bool) {
        if let Some(user) = self.lock().find_mut(USERS, id) {
            user.insert("Active".into(), json!(active));
        }
    }

    /// Marks an enterprise company active or not (inactive ones are offered to nobody).
    pub fn set_enterprise_company_active(&self, id: &str, active: bool) {
        let mut s = self.lock();
        if let Some(object) = s.find_mut(ENTERPRISE_COMPANIES, id) {
            object.insert("IsActive".into(), json!(active));
        }
    }

    pub fn add_location(&self, company: &str, name: &str, active: bool) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        s.set_mut(COMPANY_LOCATIONS).push(obj(json!({
            "Id": id, "LocationName": {"EN": name}, "Company": reference(COMPANIES, company),
            "IsActive": active,
        })));
        id
    }

    pub fn add_document_type(&self, code: &str, entity_name: &str) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        s.set_mut(DOCUMENT_TYPES).push(obj(json!({
            "Id": id, "Code": code, "EntityName": entity_name, "TypeName": {"EN": code},
        })));
        id
    }

    pub fn list(&self, entity_set: &str) -> Vec<Value> {
        self.lock()
            .sets
            .get(entity_set)
            .map(|v| v.iter().cloned().map(Value::Object).collect())
            .unwrap_or_default()
    }

    // --- activities ---------------------------------------------------------------------

    /// Seeds an activity stamped with the sim clock's now.
    pub fn seed_activity(&self, seed: ActivitySeed) -> String {
        let mut s = self.lock();
        let id = s.new_id();
        let stamp = s.stamp();
        let time = |t: DateTime<Utc>| json!(t.to_rfc3339_opts(SecondsFormat::Secs, true));
        let participants: Vec<Value> = seed
            .participants
            .iter()
            .map(|email| {
                let pid = s.new_id();
                json!({"Id": pid, "Email": email, "Notes": null})
            })
            .collect();
        let reminders: Vec<Value> = seed
            .reminder_time
            .map(|t| vec![json!({"Id": s.new_id(), "ReminderTime": time(t), "IsDefault": true, "IsDismissed": false})])
            .unwrap_or_default();
        let user_ref = |u: &Option<String>| {
            u.as_deref()
                .map(|u| reference(USERS, u))
                .unwrap_or(Value::Null)
        };
        let creator = seed
            .creation_user
            .clone()
            .unwrap_or_else(|| SERVICE_LOGIN.to_owned());
        let entity_name = s.activity_entity_name.clone();
        let object = obj(json!({
            "Id": id,
            "ObjectVersion": 1,
            "AggregateLastUpdateTimeUtc": stamp,
            "Subject": seed.subject,
            "StartTime": time(seed.start),
            "EndTime": seed.end.map(time),
            "Notes": seed.notes,
            "Priority": seed.priority,
            "Private": seed.private,
            "ReminderTime": seed.reminder_time.map(time),
            "State": seed.state,
            "Void": false,
            "VoidReason": null,
            "SystemType": "Meeting",
            "ExternalId": seed.external_id,
            "ExternalSystem": seed.external_system,
            "AssignedToUser": user_ref(&seed.assigned_to),
            "CreationUser": creator,
            "EntityName": entity_name,
            "Participants": participants,
            "Reminders": reminders,
        }));
        s.set_mut(ACTIVITIES).push(object);
        id
    }

    /// One activity as stored (participants and reminders inline).
    pub fn activity(&self, id: &str) -> Option<Value> {
        self.lock().find(ACTIVITIES, id).cloned().map(Value::Object)
    }

    pub fn activities(&self) -> Vec<Value> {
        self.list(ACTIVITIES)
    }

    /// Edits an activity as a user in ERP.net would: the version and the stamp move.
    pub fn edit_activity(&self, id: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
        let mut s = self.lock();
        let object = s.find_mut(ACTIVITIES, id).expect("no such activity");
        edit(object);
        s.touch(id, true);
    }

    /// Edits any object as an administrator would in ERP.net (a mailbox's address, say): the
    /// version moves.
    pub fn edit(&self, entity_set: &str, id: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
        let mut s = self.lock();
        let object = s.find_mut(entity_set, id).expect("no such object");
        edit(object);
        let v = object
            .get("ObjectVersion")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        object.insert("ObjectVersion".into(), json!(v + 1));
    }

    /// Changes the state as a user would (Released, Closed, ...).
    pub fn set_state(&self, id: &str, state: &str) {
        self.edit_activity(id, |o| {
            o.insert("State".into(), json!(state));
        });
    }
}

pub(crate) fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("object literal"),
    }
}
