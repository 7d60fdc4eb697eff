//! The Graph `event` resource, as far as the mapping needs it. Unknown fields are ignored when
//! reading; nothing read here is ever sent back as a whole (writes are built field by field in
//! `jobs::calendar::map_graph`), so fields MsSync does not map are never overwritten.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::tz::GraphDateTime;

/// The single-value extended property that holds the ERP.net activity id on every event MsSync
/// creates. The GUID is MsSync's own property set (generated once for this project; never change
/// it, or events created before can no longer be found).
pub const ACTIVITY_ID_PROPERTY: &str =
    "String {b6f1c7a2-3e58-4d0b-9c41-7a2e95d8f310} Name ErpNetActivityId";

/// The `transactionId` of the event created for an ERP.net activity: the same for every attempt,
/// so Graph answers a repeated create with the event it already made. A UUID-shaped SHA-256 of a
/// namespaced activity id.
pub fn transaction_id_for(activity_id: &str) -> String {
    let digest = Sha256::digest(format!("mssync/erpnet-activity/{activity_id}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventType {
    SingleInstance,
    Occurrence,
    Exception,
    SeriesMaster,
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    /// `text` or `html`.
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailAddress {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphAttendee {
    #[serde(default)]
    pub email_address: EmailAddress,
    /// `required`, `optional` or `resource`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub attendee_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperty {
    pub id: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Removed {
    #[serde(default)]
    pub reason: Option<String>,
}

/// One event as Graph returns it. Delta pages may carry occurrences with only id, type, start,
/// end and seriesMasterId: every other field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphEvent {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_master_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<GraphDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<GraphDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_all_day: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reminder_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_minutes_before_start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<GraphAttendee>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_cancelled: Option<bool>,
    /// Kept as JSON: MsSync reads series through their occurrences and never writes patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
    #[serde(default, rename = "@removed", skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removed>,
}

impl GraphEvent {
    /// The ERP.net activity id MsSync stored on this event, if it was read with the property
    /// expanded.
    pub fn activity_id(&self) -> Option<&str> {
        self.single_value_extended_properties
            .as_ref()?
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(ACTIVITY_ID_PROPERTY))?
            .value
            .as_deref()
    }

    /// A delta entry for an occurrence that carries only its identity and times: fetch the
    /// event to map it.
    pub fn is_sparse(&self) -> bool {
        self.subject.is_none() && self.change_key.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_ids_are_stable_and_distinct() {
        let a = transaction_id_for("1234");
        assert_eq!(a, transaction_id_for("1234"));
        assert_ne!(a, transaction_id_for("1235"));
        assert_eq!(a.len(), 36);
        // Pinned: events created before a change could no longer be matched to their creates.
        assert_eq!(a, "a25ff4c5-a1d5-4114-6616-ab6258238ff3");
    }

    #[test]
    fn reads_unknown_fields_and_removed_entries() {
        let json = r#"{"id":"AAMk=","@removed":{"reason":"deleted"},"whatever":{"x":1}}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap();
        assert_eq!(event.removed.unwrap().reason.as_deref(), Some("deleted"));
        let json = r#"{"id":"o1","type":"occurrence","seriesMasterId":"m1",
            "start":{"dateTime":"2026-03-02T09:00:00.0000000","timeZone":"UTC"},
            "end":{"dateTime":"2026-03-02T10:00:00.0000000","timeZone":"UTC"},
            "lastModifiedDateTime":"2026-03-01T10:00:00.1234567Z"}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap();
        assert_eq!(event.event_type, Some(EventType::Occurrence));
        assert!(event.is_sparse());
        let json = r#"{"id":"x","type":"somethingNew"}"#;
        let event: GraphEvent = serde_json::from_str(json).unwrap();
        assert_eq!(event.event_type, Some(EventType::Unknown));
    }
}
