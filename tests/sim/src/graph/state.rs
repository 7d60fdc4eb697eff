//! The simulated mailboxes: events, series with their exceptions, delta sync state.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use mssync_core::host::Zone;
use mssync_core::wire::graph::change_type;
use mssync_core::wire::{GraphDateTime, all_day_to_instants};
use serde_json::{Map, Value, json};

use super::recurrence::Recurrence;

/// A failure answered as a Graph error body.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

fn not_found() -> Failure {
    Failure::new(
        404,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

#[derive(Default)]
pub struct Mailbox {
    /// Singles and series masters by id (case-sensitive).
    pub events: BTreeMap<String, Stored>,
}

pub struct Stored {
    pub id: String,
    pub change_key: String,
    pub last_modified: DateTime<Utc>,
    /// The event's fields as last written (Graph names), without id and version stamps.
    pub fields: Map<String, Value>,
    /// Edited or cancelled occurrences of a series, by original start.
    pub exceptions: BTreeMap<DateTime<Utc>, Exception>,
}

pub struct Exception {
    pub id: String,
    pub change_key: String,
    pub last_modified: DateTime<Utc>,
    pub cancelled: bool,
    /// Fields that differ from the master.
    pub overrides: Map<String, Value>,
}

/// Where an event sits in time.
#[derive(Debug, Clone)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// All-day dates (end exclusive), if all-day.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// The zone the event was written in.
    pub zone: Zone,
}

impl Span {
    pub fn read(fields: &Map<String, Value>) -> Result<Span, Failure> {
        let bad =
            |what: &str| Failure::new(400, "ErrorInvalidRequest", format!("bad or missing {what}"));
        let start: GraphDateTime =
            serde_json::from_value(fields.get("start").cloned().unwrap_or_default())
                .map_err(|_| bad("start"))?;
        let end: GraphDateTime =
            serde_json::from_value(fields.get("end").cloned().unwrap_or_default())
                .map_err(|_| bad("end"))?;
        let zone = Zone::parse(&start.time_zone).map_err(|_| bad("start.timeZone"))?;
        if fields.get("isAllDay") == Some(&Value::Bool(true)) {
            let dates = (
                start.date().map_err(|_| bad("start"))?,
                end.date().map_err(|_| bad("end"))?,
            );
            if dates.1 <= dates.0 {
                return Err(bad("end (before start)"));
            }
            let (s, e) = all_day_to_instants(dates.0, dates.1, &zone);
            return Ok(Span {
                start: s,
                end: e,
                dates: Some(dates),
                zone,
            });
        }
        let s = start.to_instant(&zone).map_err(|_| bad("start"))?;
        let e = end.to_instant(&zone).map_err(|_| bad("end"))?;
        if e < s {
            return Err(bad("end (before start)"));
        }
        Ok(Span {
            start: s,
            end: e,
            dates: None,
            zone,
        })
    }

    fn overlaps(&self, window: &(DateTime<Utc>, DateTime<Utc>)) -> bool {
        self.start < window.1
            && (self.end > window.0 || (self.start == self.end && self.start >= window.0))
    }

    fn write(&self, fields: &mut Map<String, Value>) {
        let (s, e) = match self.dates {
            Some((s, e)) => (
                GraphDateTime::all_day(s, &self.zone),
                GraphDateTime::all_day(e, &self.zone),
            ),
            None => (
                GraphDateTime::from_instant(self.start, &self.zone),
                GraphDateTime::from_instant(self.end, &self.zone),
            ),
        };
        fields.insert("start".into(), json!(s));
        fields.insert("end".into(), json!(e));
    }
}

/// One event as a calendar view shows it: a single, an occurrence or an exception.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub kind: &'static str,
    pub change_key: String,
    pub last_modified: DateTime<Utc>,
    pub fields: Map<String, Value>,
    pub span: Span,
    pub series_master_id: Option<String>,
    pub original_start: Option<DateTime<Utc>>,
}

/// How the caller asked to see events (`Prefer` headers, `$expand`).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub zone: Option<Zone>,
    pub text_body: bool,
    /// The extended property id to include, from `$expand`.
    pub expand_property: Option<String>,
}

fn graph_instant(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Entry {
    /// The event as Graph would return it.
    pub fn render(&self, view: &View) -> Value {
        let mut out = self.fields.clone();
        out.remove("singleValueExtendedProperties");
        if self.kind != "seriesMaster" {
            out.remove("recurrence");
        }
        let zone = view.zone.clone().unwrap_or_else(Zone::utc);
        let shown = Span {
            zone,
            ..self.span.clone()
        };
        shown.write(&mut out);
        if let Some(body) = out.get_mut("body") {
            *body = render_body(body, view.text_body);
        }
        if let Some(id) = &view.expand_property {
            let props: Vec<Value> = self
                .fields
                .get("singleValueExtendedProperties")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| {
                    p["id"]
                        .as_str()
                        .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
                })
                .cloned()
                .collect();
            if !props.is_empty() {
                out.insert("singleValueExtendedProperties".into(), json!(props));
            }
        }
        out.insert("id".into(), json!(self.id));
        out.insert("changeKey".into(), json!(self.change_key));
        out.insert(
            "lastModifiedDateTime".into(),
            json!(graph_instant(&self.last_modified)),
        );
        out.insert("type".into(), json!(self.kind));
        out.entry("isCancelled").or_insert(json!(false));
        out.entry("isAllDay").or_insert(json!(false));
        if let Some(master) = &self.series_master_id {
            out.insert("seriesMasterId".into(), json!(master));
        }
        if let Some(original) = &self.original_start {
            out.insert("originalStart".into(), json!(graph_instant(original)));
        }
        Value::Object(out)
    }

    /// An occurrence as delta pages carry it: identity and times only.
    pub fn render_sparse(&self, view: &View) -> Value {
        let full = self.render(view);
        let mut out = Map::new();
        for key in ["id", "type", "start", "end", "seriesMasterId"] {
            if let Some(v) = full.get(key) {
                out.insert(key.into(), v.clone());
            }
        }
        Value::Object(out)
    }
}

/// Bodies as Outlook serves them: HTML converted to text on request (a crude conversion of its
/// own, on purpose different from the connector's), text wrapped in HTML otherwise.
fn render_body(body: &Value, text: bool) -> Value {
    let kind = body["contentType"]
        .as_str()
        .unwrap_or("text")
        .to_ascii_lowercase();
    let content = body["content"].as_str().unwrap_or_default();
    match (kind.as_str(), text) {
        ("html", true) => json!({"contentType": "text", "content": strip_html(content)}),
        ("html", false) | (_, true) => json!({"contentType": kind, "content": content}),
        (_, false) => {
            let escaped = content
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let html = format!(
                "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n{}\r\n</body>\r\n</html>\r\n",
                escaped.replace('\n', "<br>\r\n")
            );
            json!({"contentType": "html", "content": html})
        }
    }
}

/// Exchange keeps event bodies as HTML whatever was written, as Outlook does.
fn store_body_as_html(fields: &mut Map<String, Value>) {
    if let Some(body) = fields.get_mut("body") {
        *body = render_body(body, false);
    }
}

fn strip_html(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let body = lower
        .find("<body")
        .and_then(|at| html[at..].find('>').map(|gt| at + gt + 1))
        .unwrap_or(0);
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html[body..].chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let t = tag.to_ascii_lowercase();
                if t.starts_with("br") || t.starts_with("/p") || t.starts_with("/div") {
                    out.push_str("\r\n");
                }
            }
            (true, c) => tag.push(c),
            (false, '\r' | '\n') => {}
            (false, c) => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

/// What a delta token remembers: the window and the version of every item the client has seen.
pub struct DeltaState {
    pub mailbox: String,
    pub window: (DateTime<Utc>, DateTime<Utc>),
    pub seen: HashMap<String, String>,
}

/// Pages not served yet of one delta round.
pub struct PendingPages {
    pub pages: VecDeque<Vec<Value>>,
    pub delta_token: String,
    pub mailbox: String,
}

/// Faults switched on by tests.
#[derive(Default)]
pub struct Faults {
    pub throttle_next: u32,
    pub throttle_retry_after: u64,
    /// Replaces the `Retry-After` value of every throttled answer (e.g. Graph's `2.128`).
    pub retry_after_text: Option<String>,
    pub unavailable_next: u32,
    pub delay: std::time::Duration,
    /// Batch item id -> (status, times left).
    pub batch_items: HashMap<String, (u16, u32)>,
    /// Each delta page after the first repeats the previous page's last entry.
    pub delta_replays: bool,
    /// Every delta round starts with an empty page.
    pub delta_empty_first_page: bool,
    /// The next delta page link (`$skiptoken`) used has expired, with every delta token.
    pub expire_next_page_link: bool,
    /// Every mailbox is closed to the caller (403 `ErrorAccessDenied`), as when an application
    /// access policy excludes it or consent was revoked.
    pub refuse_access: bool,
    pub(crate) stall: crate::stall::Stall,
}

#[derive(Default)]
pub struct State {
    pub mailboxes: BTreeMap<String, Mailbox>,
    pub deltas: HashMap<String, DeltaState>,
    pub pending: HashMap<String, PendingPages>,
    /// Unserved pages of calendarView, instances and event listings, by skip token.
    pub collection_pages: HashMap<String, VecDeque<Vec<Value>>>,
    pub faults: Faults,
    ticks: i64,
    next_id: u64,
    next_token: u64,
    /// The shared clock of a world (Graph stamps `lastModifiedDateTime` with real time, which
    /// "newest wins" compares with ERP.net's stamps); without one, stamps tick from a fixed day.
    pub clock: Option<std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>>,
    last_stamp: Option<DateTime<Utc>>,
    /// Change-notification subscriptions and what waits to be delivered.
    pub notifications: super::subscriptions::Notifications,
    /// Mail folders, messages and their delta rounds.
    pub mail: super::mail::Mail,
}

const OCCURRENCE_MARK: &str = "-occ-";

impl State {
    /// The world's time (subscriptions expire by it); without a clock, the time of the last write.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.clock {
            Some(now) => now(),
            None => self
                .last_stamp
                .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
        }
    }

    /// Queues a change notification for the mailbox's subscriptions.
    /// Only subscriptions live at the time of the change notify it.
    fn changed(&mut self, user: &str, change: &'static str, id: &str) {
        let now = self.now();
        self.notifications.changed(now, user, change, id);
    }

    /// The time of a write: the world's clock when there is one, else one second per write
    /// from a fixed day; never earlier than the write before, so stamps stay ordered.
    fn stamp(&mut self) -> (String, DateTime<Utc>) {
        self.ticks += 1;
        let at = match &self.clock {
            Some(now) => now(),
            None => {
                Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::seconds(self.ticks)
            }
        };
        let at = match self.last_stamp {
            Some(last) if at <= last => last + chrono::Duration::milliseconds(1),
            _ => at,
        };
        self.last_stamp = Some(at);
        (format!("ck{:05}", self.ticks), at)
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("AAMkADk{:04}xYz", self.next_id)
    }

    pub fn new_token(&mut self, prefix: &str) -> String {
        self.next_token += 1;
        format!("{prefix}{:04}", self.next_token)
    }

    pub fn mailbox(&mut self, user: &str) -> &mut Mailbox {
        self.mailboxes.entry(user.to_owned()).or_default()
    }

    fn existing(&self, user: &str) -> Result<&Mailbox, Failure> {
        self.mailboxes
            .get(user)
            .ok_or_else(|| Failure::new(404, "ErrorInvalidUser", "The requested user is invalid."))
    }

    pub fn create(&mut self, user: &str, mut fields: Map<String, Value>) -> Result<Entry, Failure> {
        store_body_as_html(&mut fields);
        Span::read(&fields)?;
        if let Some(r) = fields.get("recurrence").filter(|r| !r.is_null()) {
            Recurrence::parse(r).map_err(|e| Failure::new(400, "ErrorInvalidRequest", e))?;
        }
        if let Some(tx) = fields.get("transactionId").and_then(Value::as_str) {
            let existing = self
                .mailbox(user)
                .events
                .values()
                .find(|e| e.fields.get("transactionId").and_then(Value::as_str) == Some(tx));
            if let Some(e) = existing {
                return Ok(entry_of(e));
            }
        }
        let id = self.new_id();
        let (change_key, last_modified) = self.stamp();
        let stored = Stored {
            id: id.clone(),
            change_key,
            last_modified,
            fields,
            exceptions: BTreeMap::new(),
        };
        let entry = entry_of(&stored);
        self.mailbox(user).events.insert(id.clone(), stored);
        self.changed(user, change_type::CREATED, &id);
        Ok(entry)
    }

    /// Any event by id: a single, a master, an occurrence or an exception.
    pub fn get(&self, user: &str, id: &str) -> Result<Entry, Failure> {
        let mailbox = self.existing(user)?;
        if let Some(e) = mailbox.events.get(id) {
            return Ok(entry_of(e));
        }
        let (master, original) = self.locate_instance(mailbox, id)?;
        instance(master, original).ok_or_else(not_found)
    }

    /// The master and original start of an occurrence or exception id.
    fn locate_instance<'a>(
        &self,
        mailbox: &'a Mailbox,
        id: &str,
    ) -> Result<(&'a Stored, DateTime<Utc>), Failure> {
        if let Some((master_id, stamp)) = id.rsplit_once(OCCURRENCE_MARK) {
            let master = mailbox.events.get(master_id).ok_or_else(not_found)?;
            let original = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S")
                .map_err(|_| not_found())?
                .and_utc();
            return Ok((master, original));
        }
        for master in mailbox.events.values() {
            if let Some((original, _)) = master.exceptions.iter().find(|(_, x)| x.id == id) {
                return Ok((master, *original));
            }
        }
        Err(not_found())
    }

    pub fn update(
        &mut self,
        user: &str,
        id: &str,
        mut patch: Map<String, Value>,
    ) -> Result<Entry, Failure> {
        store_body_as_html(&mut patch);
        let (change_key, last_modified) = self.stamp();
        let mailbox = self.mailboxes.get(user).ok_or_else(not_found)?;
        if mailbox.events.contains_key(id) {
            let mailbox = self.mailboxes.get_mut(user).expect("checked");
            let stored = mailbox.events.get_mut(id).expect("checked");
            let mut fields = stored.fields.clone();
            fields.extend(patch);
            Span::read(&fields)?;
            if let Some(r) = fields.get("recurrence").filter(|r| !r.is_null()) {
                Recurrence::parse(r).map_err(|e| Failure::new(400, "ErrorInvalidRequest", e))?;
            }
            stored.fields = fields;
            stored.change_key = change_key;
            stored.last_modified = last_modified;
            let entry = entry_of(stored);
            self.changed(user, change_type::UPDATED, id);
            return Ok(entry);
        }
        let (master, original) = self.locate_instance(mailbox, id)?;
        let current = instance(master, original).ok_or_else(not_found)?;
        let master_id = master.id.clone();
        // An edited occurrence keeps its id; only its type becomes "exception".
        let exception_id = occurrence_id(&master.id, original);
        let mut merged = current.fields.clone();
        merged.extend(patch.clone());
        Span::read(&merged)?;
        let mailbox = self.mailboxes.get_mut(user).expect("checked");
        let master = mailbox.events.get_mut(&master_id).expect("located");
        let exception = master
            .exceptions
            .entry(original)
            .or_insert_with(|| Exception {
                id: exception_id,
                change_key: String::new(),
                last_modified,
                cancelled: false,
                overrides: Map::new(),
            });
        exception.overrides.extend(patch);
        if exception.overrides.contains_key("start")
            && !exception.overrides.contains_key("isAllDay")
            && let Some(all_day) = merged.get("isAllDay")
        {
            exception
                .overrides
                .insert("isAllDay".into(), all_day.clone());
        }
        exception.change_key = change_key;
        exception.last_modified = last_modified;
        let master = &mailbox.events[&master_id];
        let entry = instance(master, original).ok_or_else(not_found)?;
        self.changed(user, change_type::UPDATED, &entry.id);
        Ok(entry)
    }

    pub fn delete(&mut self, user: &str, id: &str) -> Result<(), Failure> {
        let (change_key, last_modified) = self.stamp();
        let mailbox = self.mailboxes.get(user).ok_or_else(not_found)?;
        if mailbox.events.contains_key(id) {
            self.mailboxes
                .get_mut(user)
                .expect("checked")
                .events
                .remove(id);
            self.changed(user, change_type::DELETED, id);
            return Ok(());
        }
        let (master, original) = self.locate_instance(mailbox, id)?;
        instance(master, original).ok_or_else(not_found)?;
        let master_id = master.id.clone();
        let new_id = occurrence_id(&master_id, original);
        let master = self
            .mailboxes
            .get_mut(user)
            .expect("checked")
            .events
            .get_mut(&master_id)
            .expect("located");
        let exception = master
            .exceptions
            .entry(original)
            .or_insert_with(|| Exception {
                id: new_id,
                change_key: String::new(),
                last_modified,
                cancelled: false,
                overrides: Map::new(),
            });
        exception.cancelled = true;
        exception.change_key = change_key;
        exception.last_modified = last_modified;
        let id = exception.id.clone();
        self.changed(user, change_type::DELETED, &id);
        Ok(())
    }

    /// Singles, occurrences and exceptions overlapping the window, by start.
    pub fn calendar_view(
        &self,
        user: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<Entry>, Failure> {
        let mailbox = self.existing(user)?;
        let mut out = Vec::new();
        for stored in mailbox.events.values() {
            if is_series(stored) {
                out.extend(instances(stored, window));
            } else {
                let entry = entry_of(stored);
                if entry.span.overlaps(&window) {
                    out.push(entry);
                }
            }
        }
        out.sort_by(|a, b| (a.span.start, &a.id).cmp(&(b.span.start, &b.id)));
        Ok(out)
    }

    pub fn instances_of(
        &self,
        user: &str,
        master_id: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<Entry>, Failure> {
        let master = self
            .existing(user)?
            .events
            .get(master_id)
            .ok_or_else(not_found)?;
        if !is_series(master) {
            return Err(Failure::new(
                400,
                "ErrorInvalidRequest",
                "not a series master",
            ));
        }
        Ok(instances(master, window))
    }

    /// Singles and masters whose extended property `property_id` has `value`.
    /// Events whose extended property `property_id` passes `test` against `value` (values
    /// compared case-insensitively, as G-xget says; an event without the property never
    /// matches, `ne` included).
    pub fn find_by_property(
        &self,
        user: &str,
        property_id: &str,
        test: super::http::ValueTest,
        value: &str,
    ) -> Result<Vec<Entry>, Failure> {
        Ok(self
            .existing(user)?
            .events
            .values()
            .filter(|e| {
                e.fields
                    .get("singleValueExtendedProperties")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        p["id"]
                            .as_str()
                            .is_some_and(|id| id.eq_ignore_ascii_case(property_id))
                            && p["value"].as_str().is_some_and(|v| {
                                let equal = v.to_lowercase() == value.to_lowercase();
                                match test {
                                    super::http::ValueTest::Eq => equal,
                                    super::http::ValueTest::Ne => !equal,
                                }
                            })
                    })
            })
            .map(entry_of)
            .collect())
    }

    pub fn all_events(&self, user: &str) -> Vec<Entry> {
        self.mailboxes
            .get(user)
            .map(|m| m.events.values().map(entry_of).collect())
            .unwrap_or_default()
    }
}

fn is_series(stored: &Stored) -> bool {
    stored
        .fields
        .get("recurrence")
        .is_some_and(|r| !r.is_null())
}

fn entry_of(stored: &Stored) -> Entry {
    let span = Span::read(&stored.fields).expect("stored events have valid times");
    Entry {
        id: stored.id.clone(),
        kind: if is_series(stored) {
            "seriesMaster"
        } else {
            "singleInstance"
        },
        change_key: stored.change_key.clone(),
        last_modified: stored.last_modified,
        fields: stored.fields.clone(),
        span,
        series_master_id: None,
        original_start: None,
    }
}

/// The series' occurrence starts (UTC) through `until`, at the master's wall-clock time in its zone.
fn occurrence_spans(master: &Stored, until: DateTime<Utc>) -> Vec<Span> {
    let Some(recurrence) = master
        .fields
        .get("recurrence")
        .and_then(|r| Recurrence::parse(r).ok())
    else {
        return Vec::new();
    };
    let span = Span::read(&master.fields).expect("valid");
    let last_date = span.zone.to_local(until).date() + Days::new(1);
    recurrence
        .dates(last_date)
        .into_iter()
        .map(|date| match span.dates {
            Some((s, e)) => {
                let end = date + Days::new((e - s).num_days() as u64);
                let (a, b) = all_day_to_instants(date, end, &span.zone);
                Span {
                    start: a,
                    end: b,
                    dates: Some((date, end)),
                    zone: span.zone.clone(),
                }
            }
            None => {
                let time = span.zone.to_local(span.start).time();
                let start = span.zone.to_instant(date.and_time(time));
                Span {
                    start,
                    end: start + (span.end - span.start),
                    dates: None,
                    zone: span.zone.clone(),
                }
            }
        })
        .collect()
}

fn occurrence_id(master_id: &str, original: DateTime<Utc>) -> String {
    format!(
        "{master_id}{OCCURRENCE_MARK}{}",
        original.format("%Y%m%d%H%M%S")
    )
}

/// One instance of a series by its original start; `None` if there is none or it was cancelled.
fn instance(master: &Stored, original: DateTime<Utc>) -> Option<Entry> {
    let span = occurrence_spans(master, original + chrono::Duration::days(1))
        .into_iter()
        .find(|s| s.start == original)?;
    build_instance(master, span)
}

fn build_instance(master: &Stored, span: Span) -> Option<Entry> {
    let original = span.start;
    let mut fields = master.fields.clone();
    fields.remove("recurrence");
    fields.remove("transactionId");
    span.write(&mut fields);
    match master.exceptions.get(&original) {
        Some(x) if x.cancelled => None,
        Some(x) => {
            fields.extend(x.overrides.clone());
            let span = Span::read(&fields).ok()?;
            // An exception inherits what it does not override from the master, so a master
            // edit may change it too: its version moves when its own content does.
            let content = {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                Value::Object(fields.clone()).to_string().hash(&mut hasher);
                hasher.finish()
            };
            Some(Entry {
                id: x.id.clone(),
                kind: "exception",
                change_key: format!("{}.{content:x}", x.change_key),
                last_modified: x.last_modified.max(master.last_modified),
                fields,
                span,
                series_master_id: Some(master.id.clone()),
                original_start: Some(original),
            })
        }
        None => Some(Entry {
            id: occurrence_id(&master.id, original),
            kind: "occurrence",
            change_key: master.change_key.clone(),
            last_modified: master.last_modified,
            fields,
            span,
            series_master_id: Some(master.id.clone()),
            original_start: Some(original),
        }),
    }
}

fn instances(master: &Stored, window: (DateTime<Utc>, DateTime<Utc>)) -> Vec<Entry> {
    // Exceptions may have moved into the window from an occurrence outside it: look a year wider.
    let until = window.1 + chrono::Duration::days(366);
    occurrence_spans(master, until)
        .into_iter()
        .filter_map(|span| build_instance(master, span))
        .filter(|e| e.span.overlaps(&window))
        .collect()
}
