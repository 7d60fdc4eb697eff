//! Reading activities: the scoped pulls (two queries, cut exactly on the client), incremental
//! pulls by `AggregateLastUpdateTimeUtc`, lookups by id and by external link, and the parsing of
//! an activity as ERP.net writes it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::erp::client::{ErpClient, Query, TimeBasis};
use crate::erp::error::ErpError;
use crate::erp::filter::{EntityRef, Filter, Guid};
use crate::erp::wire::{self, activity as a, participant, reminder};

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
pub(super) const ACTIVITY_EXPAND: &[&str] = &[
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

pub(super) fn activity_query(filter: Filter) -> Query {
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
                crate::erp::filter::Literal::Instant(i) => date_of(i),
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
        let (filter, overlap) = self.changed_since(since)?;
        let pulled = self.pull_scoped(scope, filter).await?;
        Ok(since.take_new(pulled, overlap))
    }

    /// The tenant's change feed: every activity changed since `since` (less the overlap),
    /// whoever owns it, in one paged query with no `or` and no `like`; the caller routes them
    /// to their owners ([`ActivityScope::contains`]).
    pub async fn pull_feed(&self, since: &Watermark) -> Result<ChangeBatch, ErpError> {
        let (filter, overlap) = self.changed_since(since)?;
        let mut pulled = Vec::new();
        for value in self.get_all(ACTIVITIES, &activity_query(filter)).await? {
            pulled.push(read_activity(&value, &self.config.time_basis)?);
        }
        Ok(since.take_new(pulled, overlap))
    }

    fn changed_since(&self, since: &Watermark) -> Result<(Filter, chrono::Duration), ErpError> {
        let overlap = chrono::Duration::from_std(self.config.overlap)
            .map_err(|_| ErpError::BadConfig("overlap too long".into()))?;
        let mut filter = Filter::new();
        if let Some(at) = since.at {
            // D incremental-pull.md filters this attribute with a time; if ERP.net truncates
            // it to the date as D filter.md says of date-time filters, more comes back, which
            // is cut by `take_new`: the overlap stays what the settings say.
            filter = filter.ge(a::AGGREGATE_LAST_UPDATE_TIME_UTC, at - overlap);
        }
        Ok((filter, overlap))
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
}

/// Whether an activity ERP.net returned is really in the scope: inside the window (the filter
/// asked for whole days) and, when nobody is assigned, created by exactly this login (the
/// filter asked for a prefix).
pub(super) fn in_scope(activity: &Activity, scope: &ActivityScope) -> bool {
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

impl Watermark {
    /// The versions of `pulled` not processed yet (older than the overlap before `at`, or
    /// processed within it, are re-deliveries), and the watermark that covers them.
    pub fn take_new(&self, pulled: Vec<Activity>, overlap: chrono::Duration) -> ChangeBatch {
        let from = self.at.map(|at| at - overlap);
        let mut redelivered = 0;
        let mut changes = Vec::new();
        let mut next = self.clone();
        for activity in pulled {
            let version = (activity.id.clone(), activity.aggregate_last_update_time_utc);
            if from.is_some_and(|from| version.1 < from) || self.processed.contains(&version) {
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
        ChangeBatch {
            changes,
            redelivered,
            next,
        }
    }
}

impl ActivityScope {
    /// Whether the activity is this user's (the owner rule) and inside the window.
    pub fn contains(&self, activity: &Activity) -> bool {
        in_scope(activity, self)
    }
}
