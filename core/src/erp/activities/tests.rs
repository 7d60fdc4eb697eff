use chrono::Utc;
use serde_json::json;

use super::read::{ACTIVITY_EXPAND, in_scope};
use super::*;
use crate::erp::client::TimeBasis;
use crate::erp::error::ErpError;
use crate::erp::wire::{activity as a, participant, reminder};

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
