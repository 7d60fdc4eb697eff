//! Activities (`General_Activities_Activities`) with their participants and reminders: reads
//! scoped to a user, incremental pulls by `AggregateLastUpdateTimeUtc`, find-or-create, partial
//! updates under `ObjectVersion`, `MakeVoid` and `ChangeState`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::{ErpClient, Query, Repeatable, TimeBasis};
use super::error::ErpError;
use super::filter::{EntityRef, Filter, Guid, Literal};
use crate::host::Method;

pub const ACTIVITIES: &str = "General_Activities_Activities";
pub const PARTICIPANTS: &str = "General_Activities_ActivityParticipants";
pub const USERS: &str = "Systems_Security_Users";
pub const DOCUMENT_TYPES: &str = "General_DocumentTypes";
pub const ENTERPRISE_COMPANIES: &str = "General_EnterpriseCompanies";
pub const COMPANY_LOCATIONS: &str = "General_Contacts_CompanyLocations";

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
    pub creation_user: Option<Guid>,
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
            body.insert("Subject".into(), json!(v));
        }
        if let Some(v) = self.start_time {
            body.insert("StartTime".into(), json!(basis.write(v)));
        }
        if let Some(v) = self.end_time {
            body.insert("EndTime".into(), json!(basis.write(v)));
        }
        if let Some(v) = &self.notes {
            body.insert("Notes".into(), json!(v));
        }
        if let Some(v) = self.priority {
            body.insert("Priority".into(), json!(v));
        }
        if let Some(v) = self.private {
            body.insert("Private".into(), json!(v));
        }
        if let Some(v) = self.reminder_time {
            body.insert(
                "ReminderTime".into(),
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
    "Id",
    "ObjectVersion",
    "AggregateLastUpdateTimeUtc",
    "Subject",
    "StartTime",
    "EndTime",
    "Notes",
    "Priority",
    "Private",
    "ReminderTime",
    "State",
    "Void",
    "SystemType",
    "ExternalId",
    "ExternalSystem",
    "AssignedToUser",
    "CreationUser",
];
const ACTIVITY_EXPAND: &[&str] = &[
    "Participants($select=Id,Email)",
    "Reminders($select=Id,ReminderTime,IsDefault,IsDismissed)",
];

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
            base = base
                .ge("StartTime", basis.literal(from))
                .le("StartTime", basis.literal(to));
        }
        let assigned = base.clone().eq("AssignedToUser", user_ref(&scope.user));
        let created = base
            .eq("AssignedToUser", Literal::Null)
            .eq("CreationUser", user_ref(&scope.user));
        let mut by_id = BTreeMap::new();
        for filter in [assigned, created] {
            for value in self.get_all(ACTIVITIES, &activity_query(filter)).await? {
                let activity = read_activity(&value, &self.config.time_basis)?;
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
        if let Some(at) = since.at {
            filter = filter.ge("AggregateLastUpdateTimeUtc", at - overlap);
        }
        let pulled = self.pull_scoped(scope, filter).await?;
        let mut redelivered = 0;
        let mut changes = Vec::new();
        let mut next = since.clone();
        for activity in pulled {
            let version = (activity.id.clone(), activity.aggregate_last_update_time_utc);
            if since.processed.contains(&version) {
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
            .eq("ExternalId", link.external_id.as_str())
            .eq("ExternalSystem", link.external_system.as_str());
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
        let reference = |set: &'static str, id: &Guid| json!({"@odata.id": EntityRef::new(set, id.clone()).odata_id()});
        let mut body = json!({
            "@erpnet.action": "findOrCreate",
            "@erpnet.findBy": "ExternalId",
            "ExternalId": new.link.external_id,
            "ExternalSystem": new.link.external_system,
            "Subject": new.subject,
            "StartTime": basis.write(new.start_time),
            "EndTime": basis.write(new.end_time),
            "Notes": new.notes,
            "Priority": new.priority,
            "Private": new.private,
            "ReminderTime": new.reminder_time.map(|t| basis.write(t)),
            "SystemType": SystemType::Meeting,
            "DocumentType": reference(DOCUMENT_TYPES, &d.document_type),
            "EnterpriseCompany": reference(ENTERPRISE_COMPANIES, &d.enterprise_company),
            "EnterpriseCompanyLocation": reference(COMPANY_LOCATIONS, &d.enterprise_company_location),
            "Participants": new.participants.iter().map(|e| json!({"Email": e})).collect::<Vec<_>>(),
        });
        if let Some(user) = &d.assigned_to_user {
            body["AssignedToUser"] = reference(USERS, user);
        }
        if let Some(party) = &d.from_party {
            body["FromParty"] = reference("General_Contacts_Parties", party);
        }
        let url = self.url(ACTIVITIES, &[]);
        let response = self
            .send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        let id = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| v.get("Id").and_then(Value::as_str).and_then(Guid::parse));
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
            body.insert("ObjectVersion".into(), json!(current.object_version));
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

    /// Records `link` in the activity's ExternalId and ExternalSystem.
    pub async fn set_external_link(&self, id: &Guid, link: &ExternalLink) -> Result<(), ErpError> {
        let body = json!({
            "ExternalId": link.external_id,
            "ExternalSystem": link.external_system,
        });
        let url = self.url(&format!("{ACTIVITIES}({id})"), &[]);
        let response = self
            .send(Method::Patch, url, Some(&body), &[], Repeatable::Yes)
            .await?;
        if response.is_success() {
            return Ok(());
        }
        let current = self.get_activity(id).await?;
        Err(self.classify_write_failure(&current, &response).await)
    }

    /// Why a write was refused: ERP.net's error body does not say in a documented way, so the
    /// activity is read again and its version and state tell.
    async fn classify_write_failure(
        &self,
        current: &Activity,
        response: &crate::host::HttpResponse,
    ) -> ErpError {
        let reported = ErpError::from_response(response);
        if !matches!(response.status, 409 | 412 | 500) {
            return reported;
        }
        match self.get_activity(&current.id).await {
            Ok(now) if now.state.is_read_only() => ErpError::ReadOnlyActivity {
                state: now.state.name().into(),
            },
            Ok(now) if now.object_version != current.object_version => ErpError::StaleVersion,
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
            // Already gone is what we wanted.
            if !response.is_success() && response.status != 404 {
                return Err(self.classify_write_failure(current, &response).await);
            }
        }
        for email in wanted.difference(&have) {
            let body = json!({
                "Activity": {"@odata.id": EntityRef::new(ACTIVITIES, current.id.clone()).odata_id()},
                "Email": email,
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
        let url = self.url(&format!("{ACTIVITIES}({id})/MakeVoid"), &[]);
        let body = json!({"reason": reason, "voidType": "VoidDocument"});
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::Yes)
            .await
            .map(drop)
    }

    /// Moves the activity to another document state (`ChangeState`).
    pub async fn change_state(&self, id: &Guid, state: ActivityState) -> Result<(), ErpError> {
        let url = self.url(&format!("{ACTIVITIES}({id})/ChangeState"), &[]);
        let body = json!({"newState": state.name()});
        self.send_ok(Method::Post, url, Some(&body), &[], Repeatable::No)
            .await
            .map(drop)
    }
}

/// The id of a reference property: `{"@odata.id": "Set(<guid>)"}` or an expanded `{"Id": ...}`.
pub(crate) fn read_ref(value: Option<&Value>) -> Option<Guid> {
    let value = value?;
    if let Some(id) = value.get("Id").and_then(Value::as_str) {
        return Guid::parse(id);
    }
    let odata_id = value.get("@odata.id").and_then(Value::as_str)?;
    let inner = odata_id.rsplit_once('(')?.1.strip_suffix(')')?;
    Guid::parse(inner)
}

fn read_activity(value: &Value, basis: &TimeBasis) -> Result<Activity, ErpError> {
    let bad = |what: &str| ErpError::Malformed(format!("activity {what}"));
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    let enum_of = |name: &str| -> Result<Option<Value>, ErpError> {
        Ok(value.get(name).filter(|v| !v.is_null()).cloned())
    };
    let time = |name: &str| -> Result<Option<DateTime<Utc>>, ErpError> {
        text(name).map(|t| basis.read(t)).transpose()
    };
    let aggregate =
        text("AggregateLastUpdateTimeUtc").ok_or_else(|| bad("AggregateLastUpdateTimeUtc"))?;
    let aggregate = DateTime::parse_from_rfc3339(aggregate)
        .map_err(|_| bad("AggregateLastUpdateTimeUtc"))?
        .with_timezone(&Utc);
    let participants = value
        .get("Participants")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|p| {
                    let email = p.get("Email").and_then(Value::as_str)?.trim();
                    (!email.is_empty()).then(|| Participant {
                        id: p.get("Id").and_then(Value::as_str).and_then(Guid::parse),
                        email: email.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let reminders = value
        .get("Reminders")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|r| ActivityReminder {
                    id: r.get("Id").and_then(Value::as_str).and_then(Guid::parse),
                    reminder_time: r
                        .get("ReminderTime")
                        .and_then(Value::as_str)
                        .and_then(|t| basis.read(t).ok()),
                    is_default: r.get("IsDefault").and_then(Value::as_bool).unwrap_or(false),
                    is_dismissed: r
                        .get("IsDismissed")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Activity {
        id: text("Id").and_then(Guid::parse).ok_or_else(|| bad("Id"))?,
        object_version: value
            .get("ObjectVersion")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("ObjectVersion"))?,
        aggregate_last_update_time_utc: aggregate,
        subject: text("Subject").unwrap_or_default().to_owned(),
        start_time: time("StartTime")?.ok_or_else(|| bad("StartTime"))?,
        end_time: time("EndTime")?,
        notes: text("Notes").map(str::to_owned),
        priority: enum_of("Priority")?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad("Priority"))?,
        private: value
            .get("Private")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        reminder_time: time("ReminderTime")?,
        state: enum_of("State")?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad("State"))?
            .unwrap_or(ActivityState::New),
        void: value.get("Void").and_then(Value::as_bool).unwrap_or(false),
        system_type: enum_of("SystemType")?
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| bad("SystemType"))?,
        external_id: text("ExternalId").map(str::to_owned),
        external_system: text("ExternalSystem").map(str::to_owned),
        assigned_to_user: read_ref(value.get("AssignedToUser")),
        creation_user: read_ref(value.get("CreationUser")),
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
            "CreationUser": null,
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
        assert_eq!(a.creation_user, None);
        assert_eq!(a.participants.len(), 1);
        assert!(ActivityState::Released.is_read_only() && ActivityState::Completed.is_read_only());
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
