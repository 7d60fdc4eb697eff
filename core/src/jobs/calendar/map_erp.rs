//! ERP.net activity <-> neutral calendar item.
//!
//! - Start and end are instants; an activity from one local midnight to a later local midnight in
//!   the user's zone is an all-day item (ERP.net has no all-day flag).
//! - `ReminderTime = StartTime - minutes`; no `ReminderTime` means no reminder.
//! - Priority: Lowest/Low <-> low, Medium <-> normal, High/Highest <-> high. Writing keeps
//!   the activity's own priority when it already maps to the wanted importance, so Lowest is
//!   never flattened to Low by a round trip.
//! - Updates carry only the changed mapped fields; ERP.net fields with no Outlook twin are never
//!   written.

use chrono::{DateTime, Utc};

use crate::erp::{Activity, ActivityDefaults, ActivityPatch, ExternalLink, NewActivity, Priority};
use crate::model::tz::{Zone, all_day_to_instants, instants_to_all_day};
use crate::model::{Attendee, CalendarItem, Field, Importance, Sensitivity, When};

/// The calendar item an activity shows as, for a user in `zone`.
pub fn activity_to_item(activity: &Activity, zone: &Zone) -> CalendarItem {
    let start = activity.start_time;
    // An activity without an end is a point in time.
    let end = activity.end_time.unwrap_or(start).max(start);
    let when = match instants_to_all_day(start, end, zone) {
        Some((start, end)) => When::AllDay { start, end },
        None => When::Timed {
            start,
            end,
            zone: None,
        },
    };
    CalendarItem {
        subject: activity.subject.clone(),
        when,
        body: activity.notes.clone().unwrap_or_default(),
        sensitivity: if activity.private {
            Sensitivity::Private
        } else {
            Sensitivity::Normal
        },
        importance: activity.priority.map(importance_of).unwrap_or_default(),
        reminder_minutes_before_start: activity
            .reminder_time
            .map(|reminder| minutes_before(reminder, start)),
        attendees: activity
            .participants
            .iter()
            .map(|p| Attendee {
                email: p.email.clone(),
                name: None,
            })
            .collect(),
        series: None,
    }
}

pub fn importance_of(priority: Priority) -> Importance {
    match priority {
        Priority::Lowest | Priority::Low => Importance::Low,
        Priority::Medium => Importance::Normal,
        Priority::High | Priority::Highest => Importance::High,
    }
}

/// The priority to write for `importance`, keeping `current` when it already means the same.
pub fn priority_for(importance: Importance, current: Option<Priority>) -> Priority {
    if let Some(current) = current
        && importance_of(current) == importance
    {
        return current;
    }
    match importance {
        Importance::Low => Priority::Low,
        Importance::Normal => Priority::Medium,
        Importance::High => Priority::High,
    }
}

/// Whole minutes from the reminder to the start; a reminder after the start reads as 0.
fn minutes_before(reminder: DateTime<Utc>, start: DateTime<Utc>) -> u32 {
    u32::try_from((start - reminder).num_minutes().max(0)).unwrap_or(u32::MAX)
}

/// The instants an item covers for a user in `zone`.
pub fn item_instants(item: &CalendarItem, zone: &Zone) -> (DateTime<Utc>, DateTime<Utc>) {
    match &item.when {
        When::Timed { start, end, .. } => (*start, *end),
        When::AllDay { start, end } => all_day_to_instants(*start, *end, zone),
    }
}

fn reminder_time(item: &CalendarItem, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
    item.reminder_minutes_before_start
        .map(|m| start - chrono::Duration::minutes(i64::from(m)))
}

/// The activity to create for an item that came from Outlook.
pub fn item_to_new_activity(
    item: &CalendarItem,
    zone: &Zone,
    link: ExternalLink,
    defaults: ActivityDefaults,
) -> NewActivity {
    let item = item.normalized();
    let (start, end) = item_instants(&item, zone);
    NewActivity {
        subject: item.subject.clone(),
        start_time: start,
        end_time: end,
        notes: item.body.clone(),
        priority: priority_for(item.importance, None),
        private: item.sensitivity == Sensitivity::Private,
        reminder_time: reminder_time(&item, start),
        participants: item.attendees.iter().map(|a| a.email.clone()).collect(),
        link,
        defaults,
    }
}

/// A partial update carrying only `fields` of `item`, for the activity as last read.
pub fn item_to_patch(
    item: &CalendarItem,
    zone: &Zone,
    fields: &[Field],
    current: &Activity,
) -> ActivityPatch {
    let item = item.normalized();
    let (start, end) = item_instants(&item, zone);
    let mut patch = ActivityPatch::default();
    for field in fields {
        match field {
            Field::Subject => patch.subject = Some(item.subject.clone()),
            Field::When => {
                patch.start_time = Some(start);
                patch.end_time = Some(end);
                // The reminder is stored as an instant: moving the start moves it too.
                if item.reminder_minutes_before_start.is_some() {
                    patch.reminder_time = Some(reminder_time(&item, start));
                }
            }
            Field::Body => patch.notes = Some(item.body.clone()),
            Field::Sensitivity => patch.private = Some(item.sensitivity == Sensitivity::Private),
            Field::Importance => {
                patch.priority = Some(priority_for(item.importance, current.priority))
            }
            Field::Reminder => patch.reminder_time = Some(reminder_time(&item, start)),
            Field::Attendees => {
                patch.participants = Some(item.attendees.iter().map(|a| a.email.clone()).collect())
            }
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;
    use crate::erp::{ActivityState, Guid, Participant, SystemType};

    fn sofia() -> Zone {
        Zone::parse("Europe/Sofia").unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn guid(n: u32) -> Guid {
        Guid::parse(&format!("00000000-0000-4000-8000-{n:012}")).unwrap()
    }

    fn activity() -> Activity {
        Activity {
            id: guid(1),
            object_version: 4,
            aggregate_last_update_time_utc: utc(2026, 3, 1, 8, 0),
            subject: "Quarterly review".into(),
            start_time: utc(2026, 3, 30, 6, 0),
            end_time: Some(utc(2026, 3, 30, 7, 0)),
            notes: Some("Agenda:\r\n- numbers".into()),
            priority: Some(Priority::Highest),
            private: true,
            reminder_time: Some(utc(2026, 3, 30, 5, 45)),
            state: ActivityState::Planned,
            void: false,
            system_type: Some(SystemType::Meeting),
            external_id: None,
            external_system: None,
            assigned_to_user: Some(guid(9)),
            creation_user: None,
            participants: vec![Participant {
                id: Some(guid(2)),
                email: "Bea@Example.com".into(),
            }],
            reminders: vec![],
        }
    }

    fn defaults() -> ActivityDefaults {
        ActivityDefaults {
            enterprise_company: guid(20),
            enterprise_company_location: guid(21),
            document_type: guid(22),
            assigned_to_user: Some(guid(9)),
            from_party: None,
        }
    }

    fn link() -> ExternalLink {
        ExternalLink {
            external_id: "AAMkAD=".into(),
            external_system: "MsSync/Graph".into(),
        }
    }

    #[test]
    fn activity_maps_every_field() {
        let item = activity_to_item(&activity(), &sofia());
        assert_eq!(item.subject, "Quarterly review");
        assert_eq!(
            item.when,
            When::Timed {
                start: utc(2026, 3, 30, 6, 0),
                end: utc(2026, 3, 30, 7, 0),
                zone: None
            }
        );
        assert_eq!(item.sensitivity, Sensitivity::Private);
        assert_eq!(item.importance, Importance::High);
        assert_eq!(item.reminder_minutes_before_start, Some(15));
        assert_eq!(item.attendees[0].email, "Bea@Example.com");
    }

    #[test]
    fn priorities_map_five_to_three_and_keep_their_own_on_write() {
        use Priority::*;
        let cases = [
            (Lowest, Importance::Low),
            (Low, Importance::Low),
            (Medium, Importance::Normal),
            (High, Importance::High),
            (Highest, Importance::High),
        ];
        for (priority, importance) in cases {
            assert_eq!(importance_of(priority), importance);
            assert_eq!(priority_for(importance, Some(priority)), priority, "kept");
        }
        assert_eq!(priority_for(Importance::Low, None), Low);
        assert_eq!(priority_for(Importance::Normal, Some(Highest)), Medium);
        assert_eq!(priority_for(Importance::High, Some(Lowest)), High);
        let mut a = activity();
        a.priority = None;
        assert_eq!(
            activity_to_item(&a, &sofia()).importance,
            Importance::Normal
        );
    }

    #[test]
    fn reminders_are_start_minus_minutes() {
        let mut a = activity();
        a.reminder_time = None;
        assert_eq!(
            activity_to_item(&a, &sofia()).reminder_minutes_before_start,
            None
        );
        a.reminder_time = Some(utc(2026, 3, 29, 6, 0));
        assert_eq!(
            activity_to_item(&a, &sofia()).reminder_minutes_before_start,
            Some(1440)
        );
        a.reminder_time = Some(utc(2026, 3, 30, 6, 30));
        assert_eq!(
            activity_to_item(&a, &sofia()).reminder_minutes_before_start,
            Some(0)
        );

        let mut item = activity_to_item(&activity(), &sofia());
        item.reminder_minutes_before_start = Some(30);
        let new = item_to_new_activity(&item, &sofia(), link(), defaults());
        assert_eq!(new.reminder_time, Some(utc(2026, 3, 30, 5, 30)));
        item.reminder_minutes_before_start = None;
        let new = item_to_new_activity(&item, &sofia(), link(), defaults());
        assert_eq!(new.reminder_time, None);
    }

    #[test]
    fn local_midnight_to_midnight_is_all_day_in_the_users_zone() {
        let mut a = activity();
        // 2026-03-29 00:00 to 2026-03-30 00:00 in Sofia (the night clocks move: 23 hours).
        a.start_time = utc(2026, 3, 28, 22, 0);
        a.end_time = Some(utc(2026, 3, 29, 21, 0));
        let item = activity_to_item(&a, &sofia());
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        assert_eq!(
            item.when,
            When::AllDay {
                start: d(29),
                end: d(30)
            }
        );
        // The same instants are timed for a UTC user.
        assert!(matches!(
            activity_to_item(&a, &Zone::utc()).when,
            When::Timed { .. }
        ));
        // And back: the all-day item writes the same instants.
        let new = item_to_new_activity(&item, &sofia(), link(), defaults());
        assert_eq!(
            (new.start_time, new.end_time),
            (a.start_time, a.end_time.unwrap())
        );
    }

    #[test]
    fn round_trips_through_a_new_activity() {
        let zone = sofia();
        for a in [activity(), {
            let mut a = activity();
            a.start_time = utc(2026, 10, 24, 21, 0);
            a.end_time = Some(utc(2026, 10, 26, 22, 0));
            a.priority = Some(Priority::Low);
            a.private = false;
            a.reminder_time = None;
            a.participants.clear();
            a
        }] {
            let item = activity_to_item(&a, &zone);
            let new = item_to_new_activity(&item, &zone, link(), defaults());
            let mut back = a.clone();
            back.subject = new.subject;
            back.start_time = new.start_time;
            back.end_time = Some(new.end_time);
            back.notes = Some(new.notes);
            back.priority = Some(new.priority);
            back.private = new.private;
            back.reminder_time = new.reminder_time;
            back.participants = new
                .participants
                .into_iter()
                .map(|email| Participant { id: None, email })
                .collect();
            let again = activity_to_item(&back, &zone);
            assert!(
                again.changed_fields(&item).is_empty(),
                "{:?}",
                again.changed_fields(&item)
            );
        }
    }

    #[test]
    fn a_patch_carries_only_the_changed_fields() {
        let zone = sofia();
        let current = activity();
        let mut item = activity_to_item(&current, &zone);
        item.subject = "Quarterly review (moved)".into();
        let patch = item_to_patch(&item, &zone, &[Field::Subject], &current);
        assert_eq!(
            patch,
            ActivityPatch {
                subject: Some("Quarterly review (moved)".into()),
                ..ActivityPatch::default()
            }
        );
        assert!(item_to_patch(&item, &zone, &[], &current).is_empty());
        assert!(item_to_patch(&item, &zone, &[], &current).is_empty());
    }

    #[test]
    fn moving_the_start_moves_the_reminder_instant() {
        let zone = sofia();
        let current = activity();
        let mut item = activity_to_item(&current, &zone);
        item.when = When::Timed {
            start: utc(2026, 3, 31, 6, 0),
            end: utc(2026, 3, 31, 7, 0),
            zone: None,
        };
        let patch = item_to_patch(&item, &zone, &[Field::When], &current);
        assert_eq!(patch.start_time, Some(utc(2026, 3, 31, 6, 0)));
        assert_eq!(patch.end_time, Some(utc(2026, 3, 31, 7, 0)));
        assert_eq!(patch.reminder_time, Some(Some(utc(2026, 3, 31, 5, 45))));
        assert_eq!(patch.subject, None);
        item.reminder_minutes_before_start = None;
        let patch = item_to_patch(&item, &zone, &[Field::Reminder], &current);
        assert_eq!(patch.reminder_time, Some(None));
    }

    #[test]
    fn importance_patch_keeps_an_equivalent_priority() {
        let zone = sofia();
        let current = activity(); // Highest
        let item = activity_to_item(&current, &zone);
        let patch = item_to_patch(&item, &zone, &[Field::Importance], &current);
        assert_eq!(patch.priority, Some(Priority::Highest));
        let mut item = item;
        item.importance = Importance::Normal;
        let patch = item_to_patch(
            &item,
            &zone,
            &[Field::Importance, Field::Attendees],
            &current,
        );
        assert_eq!(patch.priority, Some(Priority::Medium));
        assert_eq!(patch.participants, Some(vec!["bea@example.com".to_owned()]));
    }
}
