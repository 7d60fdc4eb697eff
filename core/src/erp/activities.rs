//! Activities (`General_Activities_Activities`) with their participants and reminders: reads
//! scoped to a user, incremental pulls by `AggregateLastUpdateTimeUtc`, find-or-create, partial
//! updates under `ObjectVersion`, `MakeVoid` and `ChangeState`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ErpClient, Query, Repeatable, TimeBasis};
use super::error::ErpError;
use super::filter::{EntityRef, Filter, Guid};
use super::wire::{self, activity as a, participant, reminder};
use crate::host::Method;

pub use super::wire::{
    ACTIVITIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, PARTICIPANTS, USERS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Priority {
    Lowest,
    Low,
    Medium,
    High,
    Highest,
}

/// Document states in ERP.net's order. From `Released` on, an activity cannot be PATCHed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ActivityState {
    New,
    Adjustment,
    Planned,
    FirmPlanned,
    Released,
    Completed,
    Closed,
}

impl ActivityState {
    pub fn is_read_only(self) -> bool {
        self >= ActivityState::Released
    }

    pub fn name(self) -> &'static str {
        match self {
            ActivityState::New => "New",
            ActivityState::Adjustment => "Adjustment",
            ActivityState::Planned => "Planned",
            ActivityState::FirmPlanned => "FirmPlanned",
            ActivityState::Released => "Released",
            ActivityState::Completed => "Completed",
            ActivityState::Closed => "Closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SystemType {
    Communication,
    Meeting,
    Task,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: Option<Guid>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityReminder {
    pub id: Option<Guid>,
    pub reminder_time: Option<DateTime<Utc>>,
    pub is_default: bool,
    pub is_dismissed: bool,
}

/// An activity as the connector reads it; document times already converted to instants by the
/// instance's [`TimeBasis`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: Guid,
    pub object_version: i64,
    pub aggregate_last_update_time_utc: DateTime<Utc>,
    pub subject: String,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub priority: Option<Priority>,
    pub private: bool,
    pub reminder_time: Option<DateTime<Utc>>,
    pub state: ActivityState,
    pub void: bool,
    pub system_type: Option<SystemType>,
    pub external_id: Option<String>,
    pub external_system: Option<String>,
    pub assigned_to_user: Option<Guid>,
    /// The login of the user who created it (`CreationUser` is a login, not a reference).
    pub creation_user: Option<String>,
    pub participants: Vec<Participant>,
    pub reminders: Vec<ActivityReminder>,
}

/// The Outlook event an activity is linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalLink {
    pub external_id: String,
    /// e.g. "MsSync/Graph"
    pub external_system: String,
}

/// What an activity created from Outlook gets from the user's Setup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityDefaults {
    pub enterprise_company: Guid,
    pub enterprise_company_location: Guid,
    /// The `Meeting` document type for activities.
    pub document_type: Guid,
    /// The mailbox's ERP.net user.
    pub assigned_to_user: Option<Guid>,
    /// `FromParty` (required by ERP.net); when absent ERP.net's defaults fill it from the
    /// enterprise company.
    pub from_party: Option<Guid>,
}

/// A new activity, as the mapping builds it from an Outlook event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewActivity {
    pub subject: String,
    pub start_time: DateTime<Utc>,
    pub end_time: DateTime<Utc>,
    pub notes: String,
    pub priority: Priority,
    pub private: bool,
    pub reminder_time: Option<DateTime<Utc>>,
    pub participants: Vec<String>,
    pub link: ExternalLink,
    pub defaults: ActivityDefaults,
}

/// A partial update: `None` leaves the field as ERP.net has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPatch {
    pub subject: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub priority: Option<Priority>,
    pub private: Option<bool>,
    /// `Some(None)` clears the reminder.
    pub reminder_time: Option<Option<DateTime<Utc>>>,
    /// The wanted participant e-mails; the connector adds and removes to match.
    pub participants: Option<Vec<String>>,
}

impl ActivityPatch {
    pub fn is_empty(&self) -> bool {
        self == &ActivityPatch::default()
    }

    fn scalar_body(&self, basis: &TimeBasis) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(v) = &self.subject {
            body.insert(a::SUBJECT.into(), json!(v));
        }
        if let Some(v) = self.start_time {
            body.insert(a::START_TIME.into(), json!(basis.write(v)));
        }
        if let Some(v) = self.end_time {
            body.insert(a::END_TIME.into(), json!(basis.write(v)));
        }
        if let Some(v) = &self.notes {
            body.insert(a::NOTES.into(), json!(v));
        }
        if let Some(v) = self.priority {
            body.insert(a::PRIORITY.into(), json!(v));
        }
        if let Some(v) = self.private {
            body.insert(a::PRIVATE.into(), json!(v));
        }
        if let Some(v) = self.reminder_time {
            body.insert(
                a::REMINDER_TIME.into(),
                v.map(|t| json!(basis.write(t))).unwrap_or(Value::Null),
            );
        }
        body
    }
}

/// Whose activities and which: an activity belongs to its `AssignedToUser`, or to its
/// `CreationUser` when nobody is assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityScope {
    pub user: Guid,
    /// The user's `Login` (what `CreationUser` holds); `None` leaves out the activities the
    /// user created with nobody assigned.
    pub login: Option<String>,
    /// Activities starting within `[from, to]`; `None` for any time.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// How far an incremental pull has come. Stored by the caller and advanced only after the run
/// that processed a [`ChangeBatch`] succeeded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// The newest `AggregateLastUpdateTimeUtc` processed; `None` before the first pull.
    pub at: Option<DateTime<Utc>>,
    /// Versions `(Id, AggregateLastUpdateTimeUtc)` processed within the overlap before `at`,
    /// so the overlap re-delivers them without their being processed twice.
    pub processed: BTreeSet<(Guid, DateTime<Utc>)>,
}

/// The result of an incremental pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBatch {
    /// Activities to process, each version once.
    pub changes: Vec<Activity>,
    /// Activities the overlap delivered again that were processed before.
    pub redelivered: usize,
    /// The watermark to store once `changes` are processed and committed.
    pub next: Watermark,
}

const ACTIVITY_SELECT: &[&str] = &[
    a::ID,
    a::OBJECT_VERSION,
    a::AGGREGATE_LAST_UPDATE_TIME_UTC,
    a::SUBJECT,
    a::START_TIME,
    a::END_TIME,
    a::NOTES,
    a::PRIORITY,
    a::PRIVATE,
    a::REMINDER_TIME,
    a::STATE,
    a::VOID,
    a::SYSTEM_TYPE,
    a::EXTERNAL_ID,
    a::EXTERNAL_SYSTEM,
    a::ASSIGNED_TO_USER,
    a::CREATION_USER,
];
/// `Participants($select=Id,Email)` and `Reminders($select=Id,ReminderTime,IsDefault,IsDismissed)`
/// (the names of `wire::activity`, `wire::participant`, `wire::reminder`; a test checks).
const ACTIVITY_EXPAND: &[&str] = &[
    "Participants($select=Id,Email)",
    "Reminders($select=Id,ReminderTime,IsDefault,IsDismissed)",
];

/// The date (midnight) of a filter instant: what ERP.net compares with, as it truncates
/// date-time filter values to the date (D filter.md).
fn date_of(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

fn activity_query(filter: Filter) -> Query {
    Query {
        filter,
        select: ACTIVITY_SELECT.to_vec(),
        expand: ACTIVITY_EXPAND.to_vec(),
    }
}

fn user_ref(id: &Guid) -> EntityRef {
    EntityRef::new(USERS, id.clone())
}

impl ErpClient {
    /// The user's activities within the scope: those assigned to the user, and those nobody is
    /// assigned to that the user created. Two queries, because ERP.net has no `or`.
    ///
    /// ERP.net truncates date-time filter values to the date (D filter.md), so the window is
    /// asked for by whole days (from the start's date to the day after the end's) and cut
    /// exactly here; `CreationUser` filters by `like` only, so it is asked for with
    /// `startswith` and matched exactly here.
    pub async fn pull_activities(&self, scope: &ActivityScope) -> Result<Vec<Activity>, ErpError> {
        self.pull_scoped(scope, Filter::new()).await
    }

    async fn pull_scoped(
        &self,
        scope: &ActivityScope,
        extra: Filter,
    ) -> Result<Vec<Activity>, ErpError> {
        let mut base = extra;
        if let Some((from, to)) = scope.window {
            let basis = &self.config.time_basis;
            let literal_date = |t| match basis.literal(t) {
                super::filter::Literal::Instant(i) => date_of(i),
                _ => unreachable!("a time basis gives instants"),
            };
            base = base
                .ge(a::START_TIME, literal_date(from))
                .le(a::START_TIME, literal_date(to) + chrono::Duration::days(1));
        }
        let assigned = base.clone().eq(a::ASSIGNED_TO_USER, user_ref(&scope.user));
        let mut queries = vec![assigned];
        if let Some(login) = scope.login.as_deref().filter(|l| !l.trim().is_empty()) {
            queries.push(
                base.is_null(a::ASSIGNED_TO_USER)
                    .starts_with(a::CREATION_USER, login),
            );
        }
        let mut by_id = BTreeMap::new();
        for filter in queries {
            for value in self.get_all(ACTIVITIES, &activity_query(filter)).await? {
                let activity = read_activity(&value, &self.config.time_basis)?;
                if !in_scope(&activity, scope) {
                    continue;
                }
                by_id.insert(activity.id.clone(), activity);
            }
        }
        Ok(by_id.into_values().collect())
    }

    /// Activities changed since `since` (less the configured overlap), minus the versions
    /// already processed. The caller stores `next` after processing the batch.
    pub async fn pull_changes(
        &self,
        scope: &ActivityScope,
        since: &Watermark,
    ) -> Result<ChangeBatch, ErpError> {
        let overlap = chrono::Duration::from_std(self.config.overlap)
            .map_err(|_| ErpError::BadConfig("overlap too long".into()))?;
        let mut filter = Filter::new();
        let from = since.at.map(|at| at - overlap);
        if let Some(from) = from {
            // D incremental-pull.md filters this attribute with a time; if ERP.net truncates
            // it to the date as D filter.md says of date-time filters, more comes back, which
            // is cut here: the overlap stays what the settings say.
            filter = filter.ge(a::AGGREGATE_LAST_UPDATE_TIME_UTC, from);
        }
        let pulled = self.pull_scoped(scope, filter).await?;
        let mut redelivered = 0;
        let mut changes = Vec::new();
        let mut next = since.clone();
        for activity in pulled {
            let version = (activity.id.clone(), activity.aggregate_last_update_time_utc);
            if from.is_some_and(|from| version.1 < from) || since.processed.contains(&version) {
                redelivered += 1;
                continue;
            }
            next.at = next.at.max(Some(version.1));
            next.processed.insert(version);
            changes.push(activity);
        }
        // Only versions the next overlap can re-deliver need remembering.
        if let Some(at) = next.at {
            next.processed.retain(|(_, stamp)| *stamp >= at - overlap);
        }
        Ok(ChangeBatch {
            changes,
            redelivered,
            next,
        })
    }

    pub async fn get_activity(&self, id: &Guid) -> Result<Activity, ErpError> {
        let value = self
            .get_one(ACTIVITIES, id, &activity_query(Filter::new()))
            .await?;
        read_activity(&value, &self.config.time_basis)
    }

    /// The activity linked to an Outlook event, if any.
    pub async fn find_by_external_id(
        &self,
        link: &ExternalLink,
    ) -> Result<Option<Activity>, ErpError> {
        let filter = Filter::new()
            .eq(a::EXTERNAL_ID, link.external_id.as_str())
            .eq(a::EXTERNAL_SYSTEM, link.external_system.as_str());
        let found = self.get_all(ACTIVITIES, &activity_query(filter)).await?;
        found
            .first()
            .map(|v| read_activity(v, &self.config.time_basis))
            .transpose()
    }

    /// Creates the activity, or finds the one a previous attempt created (by `ExternalId` and
    /// `ExternalSystem`), so a retried create never duplicates.
    pub async fn create_activity(&self, new: &NewActivity) -> Result<Activity, ErpError> {
        let basis = &self.config.time_basis;
        let d = &new.defaults;
        let reference = |set: &'static str, id: &Guid| json!({wire::ODATA_ID: EntityRef::new(set, id.clone()).odata_id()});
        let mut body = Map::new();
        let mut put = |name: &str, value: Value| {
            body.insert(name.to_owned(), value);
        };
        put(wire::ERPNET_ACTION, json!(wire::FIND_OR_CREATE));
        // D erpnet-action.md: the value is an object; ExternalId (+ ExternalSystem) is tried first.
        put(
            wire::ERPNET_FIND_BY,
            json!({
                a::EXTERNAL_ID: new.link.external_id,
                a::EXTERNAL_SYSTEM: new.link.external_system,
            }),
        );
        put(a::EXTERNAL_ID, json!(new.link.external_id));
        put(a::EXTERNAL_SYSTEM, json!(new.link.external_system));
        put(a::SUBJECT, json!(new.subject));
        put(a::START_TIME, json!(basis.write(new.start_time)));
        put(a::END_TIME, json!(basis.write(new.end_time)));
        put(a::NOTES, json!(new.notes));
        put(a::PRIORITY, json!(new.priority));
        put(a::PRIVATE, json!(new.private));
        put(
            a::REMINDER_TIME,
            json!(new.reminder_time.map(|t| basis.write(t))),
        );
        put(a::SYSTEM_TYPE, json!(SystemType::Meeting));
        put(
            a::DOCUMENT_TYPE,
            reference(DOCUMENT_TYPES, &d.document_type),
        );
        put(
            a::ENTERPRISE_COMPANY,
            reference(ENTERPRISE_COMPANIES, &d.enterprise_company),
        );
        put(
            a::ENTERPRISE_COMPANY_LOCATION,
            reference(COMPANY_LOCATIONS, &d.enterprise_company_location),
        );
        put(
            a::PARTICIPANTS,
            Value::Array(
                new.participants
                    .iter()
                    .map(|e| json!({participant::EMAIL: e}))
                    .collect(),
            ),
        );
        if let Some(user) = &d.assigned_to_user {
            put(a::ASSIGNED_TO_USER, reference(USERS, user));
        }
        if let Some(party) = &d.from_party {
            put(a::FROM_PARTY, reference(wire::PARTIES, party));
        }
        let body = Value::Object(body);
        let url = self.url(ACTIVITIES, &[]);
        let response = self
            .send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        // What a POST answers is not documented (assumption: the created object, with `Id`);
        // without it the activity is found by its link.
        let id = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get(a::ID).and_then(Value::as_str).and_then(Guid::parse));
        match id {
            // Read back with participants and reminders in the connector's usual shape.
            Some(id) => self.get_activity(&id).await,
            None => self
                .find_by_external_id(&new.link)
                .await?
                .ok_or_else(|| ErpError::Malformed("create answered without the activity".into())),
        }
    }

    /// Applies `patch` to `current` (as last read) under its `ObjectVersion`. Released and later
    /// activities are refused without a request; a version conflict is [`ErpError::StaleVersion`].
    pub async fn update_activity(
        &self,
        current: &Activity,
        patch: &ActivityPatch,
    ) -> Result<Activity, ErpError> {
        if current.state.is_read_only() {
            return Err(ErpError::ReadOnlyActivity {
                state: current.state.name().into(),
            });
        }
        let mut body = patch.scalar_body(&self.config.time_basis);
        if !body.is_empty() {
            // D optimistic-locking.md: "providing the data + the previously read Object
            // version"; as a body property is an assumption (docs/wire/erpnet.md).
            body.insert(a::OBJECT_VERSION.into(), json!(current.object_version));
            let url = self.url(&format!("{ACTIVITIES}({})", current.id), &[]);
            let response = self
                .send(
                    Method::Patch,
                    url,
                    Some(&Value::Object(body)),
                    &[],
                    Repeatable::No,
                )
                .await?;
            if !response.is_success() {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        if let Some(wanted) = &patch.participants {
            self.set_participants(current, wanted).await?;
        }
        self.get_activity(&current.id).await
    }

    /// Links the activity to an Outlook event: PATCHes `ExternalId` and `ExternalSystem` (no
    /// `ObjectVersion`: the link is ours alone, so no lock is asked for, D
    /// optimistic-locking.md). A Released or Closed activity refuses it:
    /// [`ErpError::ReadOnlyActivity`].
    pub async fn set_external_link(&self, id: &Guid, link: &ExternalLink) -> Result<(), ErpError> {
        let body = json!({
            a::EXTERNAL_ID: link.external_id,
            a::EXTERNAL_SYSTEM: link.external_system,
        });
        let url = self.url(&format!("{ACTIVITIES}({id})"), &[]);
        // Setting the same link twice is harmless, so a lost answer may be repeated.
        let response = self
            .send(Method::Patch, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        if response.is_success() {
            return Ok(());
        }
        Err(self.classify_failure_of(id, None, &response).await)
    }

    /// Why a write was refused: ERP.net's error body does not say in a documented way, so the
    /// activity is read again and its version and state tell.
    async fn classify_write_failure(
        &self,
        current: &Activity,
        response: &crate::host::HttpResponse,
    ) -> ErpError {
        self.classify_failure_of(&current.id, Some(current.object_version), response)
            .await
    }

    async fn classify_failure_of(
        &self,
        id: &Guid,
        version: Option<i64>,
        response: &crate::host::HttpResponse,
    ) -> ErpError {
        let reported = ErpError::from_response(response);
        if !matches!(response.status, 409 | 412 | 500)
            || matches!(reported, ErpError::VersionMismatch { .. })
        {
            return reported;
        }
        match self.get_activity(id).await {
            Ok(now) if now.state.is_read_only() => ErpError::ReadOnlyActivity {
                state: now.state.name().into(),
            },
            Ok(now) if version.is_some_and(|v| v != now.object_version) => ErpError::StaleVersion,
            _ => reported,
        }
    }

    async fn set_participants(
        &self,
        current: &Activity,
        wanted: &[String],
    ) -> Result<(), ErpError> {
        let wanted: BTreeSet<String> = wanted.iter().map(|e| e.trim().to_lowercase()).collect();
        let have: BTreeSet<String> = current
            .participants
            .iter()
            .map(|p| p.email.trim().to_lowercase())
            .collect();
        for participant in &current.participants {
            if wanted.contains(&participant.email.trim().to_lowercase()) {
                continue;
            }
            let Some(id) = &participant.id else { continue };
            let url = self.url(&format!("{PARTICIPANTS}({id})"), &[]);
            let response = self
                .send(Method::Delete, url, None, &[], Repeatable::No)
                .await?;
            // Already gone is what we wanted (but not an entity set ERP.net does not know).
            let gone = response.status == 404
                && !matches!(
                    ErpError::from_response(&response),
                    ErpError::VersionMismatch { .. }
                );
            if !response.is_success() && !gone {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        for email in wanted.difference(&have) {
            let body = json!({
                participant::ACTIVITY: {wire::ODATA_ID: EntityRef::new(ACTIVITIES, current.id.clone()).odata_id()},
                participant::EMAIL: email,
            });
            let url = self.url(PARTICIPANTS, &[]);
            let response = self
                .send(Method::Post, url, Some(&body), &[], Repeatable::No)
                .await?;
            if !response.is_success() {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        Ok(())
    }

    /// Voids the activity (`MakeVoid`), as deleting its Outlook event asks.
    pub async fn void_activity(&self, id: &Guid, reason: &str) -> Result<(), ErpError> {
        let url = self.url(&format!("{ACTIVITIES}({id})/{}", wire::MAKE_VOID), &[]);
        let body = json!({
            wire::MAKE_VOID_REASON: reason,
            wire::MAKE_VOID_VOID_TYPE: wire::VOID_DOCUMENT,
        });
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await
            .map(drop)
    }

    /// Moves the activity to another document state (`ChangeState`).
    pub async fn change_state(&self, id: &Guid, state: ActivityState) -> Result<(), ErpError> {
        let url = self.url(&format!("{ACTIVITIES}({id})/{}", wire::CHANGE_STATE), &[]);
        let body = json!({wire::CHANGE_STATE_NEW_STATE: state.name()});
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::No)
            .await
            .map(drop)
    }
}

/// Whether an activity ERP.net returned is really in the scope: inside the window (the filter
/// asked for whole days) and, when nobody is assigned, created by exactly this login (the
/// filter asked for a prefix).
fn in_scope(activity: &Activity, scope: &ActivityScope) -> bool {
    if let Some((from, to)) = scope.window
        && !(from <= activity.start_time && activity.start_time <= to)
    {
        return false;
    }
    match &activity.assigned_to_user {
        Some(user) => *user == scope.user,
        None => match (&activity.creation_user, &scope.login) {
            // Logins compare as ERP.net's filter does, without regard to case [assumption].
            (Some(creator), Some(login)) => creator.trim().eq_ignore_ascii_case(login.trim()),
            _ => false,
        },
    }
}

/// The id of a reference property: `{"@odata.id": "Set(<guid>)"}` or an expanded `{"Id": ...}`.
pub(crate) fn read_ref(value: Option<&Value>) -> Option<Guid> {
    let value = value?;
    if let Some(id) = value.get(a::ID).and_then(Value::as_str) {
        return Guid::parse(id);
    }
    let odata_id = value.get(wire::ODATA_ID).and_then(Value::as_str)?;
    let inner = odata_id.rsplit_once('(')?.1.strip_suffix(')')?;
    Guid::parse(inner)
}

pub(crate) fn read_activity(value: &Value, basis: &TimeBasis) -> Result<Activity, ErpError> {
    let bad = |what: &str| ErpError::Malformed(format!("activity {what}"));
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    let enum_of = |name: &str| -> Result<Option<Value>, ErpError> {
        Ok(value.get(name).filter(|v| !v.is_null()).cloned())
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ErpError> {
        text(name).map(|t| basis.read(t)).transpose()
    };
    let aggregate = text(a::AGGREGATE_LAST_UPDATE_TIME_UTC)
        .ok_or_else(|| bad(a::AGGREGATE_LAST_UPDATE_TIME_UTC))?;
    let aggregate = DateTime::parse_from_rfc3339(aggregate)
        .map_err(|_| bad(a::AGGREGATE_LAST_UPDATE_TIME_UTC))?
        .with_timezone(&Utc);
    let participants = value
        .get(a::PARTICIPANTS)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    let email = p.get(participant::EMAIL).and_then(Value::as_str)?.trim();
                    (!email.is_empty()).then(|| Participant {
                        id: p
                            .get(participant::ID)
                            .and_then(Value::as_str)
                            .and_then(Guid::parse),
                        email: email.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let reminders = value
        .get(a::REMINDERS)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|r| ActivityReminder {
                    id: r
                        .get(reminder::ID)
                        .and_then(Value::as_str)
                        .and_then(Guid::parse),
                    reminder_time: r
                        .get(reminder::REMINDER_TIME)
                        .and_then(Value::as_str)
                        .and_then(|t| basis.read(t).ok()),
                    is_default: r
                        .get(reminder::IS_DEFAULT)
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    is_dismissed: r
                        .get(reminder::IS_DISMISSED)
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Activity {
        id: text(a::ID)
            .and_then(Guid::parse)
            .ok_or_else(|| bad(a::ID))?,
        object_version: value
            .get(a::OBJECT_VERSION)
            .and_then(Value::as_i64)
            .ok_or_else(|| bad(a::OBJECT_VERSION))?,
        aggregate_last_update_time_utc: aggregate,
        subject: text(a::SUBJECT).unwrap_or_default().to_owned(),
        start_time: time(a::START_TIME)?.ok_or_else(|| bad(a::START_TIME))?,
        end_time: time(a::END_TIME)?,
        notes: text(a::NOTES).map(str::to_owned),
        priority: enum_of(a::PRIORITY)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad(a::PRIORITY))?,
        private: value
            .get(a::PRIVATE)
            .and_then(Value::as_bool)
            .unwrap_or(false),
        reminder_time: time(a::REMINDER_TIME)?,
        state: enum_of(a::STATE)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad(a::STATE))?
            .unwrap_or(ActivityState::New),
        void: value.get(a::VOID).and_then(Value::as_bool).unwrap_or(false),
        system_type: enum_of(a::SYSTEM_TYPE)?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad(a::SYSTEM_TYPE))?,
        external_id: text(a::EXTERNAL_ID).map(str::to_owned),
        external_system: text(a::EXTERNAL_SYSTEM).map(str::to_owned),
        assigned_to_user: read_ref(value.get(a::ASSIGNED_TO_USER)),
        creation_user: text(a::CREATION_USER)
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
        participants,
        reminders,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_activity_as_erp_net_writes_it() {
        let value = json!({
            "Id": "00000000-0000-4000-8000-000000000001",
            "ObjectVersion": 3,
            "AggregateLastUpdateTimeUtc": "2026-03-01T08:00:00.123Z",
            "Subject": "Review",
            "StartTime": "2026-03-30T06:00:00Z",
            "EndTime": null,
            "Priority": "Highest",
            "State": "FirmPlanned",
            "SystemType": "Meeting",
            "AssignedToUser": {"@odata.id": "Systems_Security_Users(00000000-0000-4000-8000-000000000009)"},
            "CreationUser": "jdoe",
            "Participants": [{"Id": "00000000-0000-4000-8000-000000000002", "Email": "a@x.test"}, {"Email": ""}],
        });
        let a = read_activity(&value, &TimeBasis::Utc).unwrap();
        assert_eq!(a.object_version, 3);
        assert_eq!(a.priority, Some(Priority::Highest));
        assert_eq!(a.state, ActivityState::FirmPlanned);
        assert!(!a.state.is_read_only());
        assert_eq!(
            a.assigned_to_user.unwrap().as_str(),
            "00000000-0000-4000-8000-000000000009"
        );
        assert_eq!(a.creation_user.as_deref(), Some("jdoe"));
        assert_eq!(a.participants.len(), 1);
        assert!(ActivityState::Released.is_read_only() && ActivityState::Completed.is_read_only());
    }

    #[test]
    fn the_expand_items_use_the_wire_names() {
        assert_eq!(
            ACTIVITY_EXPAND[0],
            format!(
                "{}($select={},{})",
                a::PARTICIPANTS,
                participant::ID,
                participant::EMAIL
            )
        );
        assert_eq!(
            ACTIVITY_EXPAND[1],
            format!(
                "{}($select={},{},{},{})",
                a::REMINDERS,
                reminder::ID,
                reminder::REMINDER_TIME,
                reminder::IS_DEFAULT,
                reminder::IS_DISMISSED
            )
        );
    }

    #[test]
    fn the_scope_is_cut_exactly_on_the_client() {
        use chrono::TimeZone;
        let value = json!({
            "Id": "00000000-0000-4000-8000-000000000001", "ObjectVersion": 1,
            "AggregateLastUpdateTimeUtc": "2026-03-01T08:00:00Z", "StartTime": "2026-03-30T18:00:00Z",
            "AssignedToUser": null, "CreationUser": "Alice",
        });
        let activity = read_activity(&value, &TimeBasis::Utc).unwrap();
        let scope = |login: &str, to_hour: u32| ActivityScope {
            user: Guid::parse("00000000-0000-4000-8000-000000000009").unwrap(),
            login: Some(login.into()),
            window: Some((
                Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 30, to_hour, 0, 0).unwrap(),
            )),
        };
        assert!(in_scope(&activity, &scope("alice", 20)));
        assert!(
            !in_scope(&activity, &scope("alice", 17)),
            "after the window's end"
        );
        assert!(
            !in_scope(&activity, &scope("ali", 20)),
            "a prefix is not the login"
        );
        assert!(!in_scope(&activity, &scope("alice2", 20)));
    }

    #[test]
    fn unknown_enum_members_are_a_typed_error() {
        let value = json!({
            "Id": "00000000-0000-4000-8000-000000000001", "ObjectVersion": 1,
            "AggregateLastUpdateTimeUtc": "2026-03-01T08:00:00Z", "StartTime": "2026-03-30T06:00:00Z",
            "State": "Exploded",
        });
        assert_eq!(
            read_activity(&value, &TimeBasis::Utc),
            Err(ErpError::Malformed("activity State".into()))
        );
    }
}
