//! Activities (`General_Activities_Activities`) with their participants and reminders: reads
//! scoped to a user, incremental pulls by `AggregateLastUpdateTimeUtc`, find-or-create, partial
//! updates under `ObjectVersion`, `MakeVoid` and `ChangeState`.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::filter::Guid;

pub use super::wire::{
    ACTIVITIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, PARTICIPANTS, USERS,
};

mod batched;
mod read;
mod write;

pub use batched::ActivityWrite;

#[cfg(test)]
pub(crate) use read::read_activity;
pub(crate) use read::read_ref;

#[cfg(test)]
mod tests;

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
/// instance's [`TimeBasis`](crate::erp::TimeBasis).
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
