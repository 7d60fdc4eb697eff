//! The Microsoft Graph wire contract: every path segment, query option, header, `Prefer` value,
//! event property, enum value, `$batch` field and error code the connector sends or reads, each
//! with the page that documents it. `docs/wire/graph.md` is the same table with its sources and
//! the list of assumptions no page confirms; the Graph simulator (`tests/sim/src/graph`) reads
//! this module to refuse what Graph would refuse.
//!
//! Sources (microsoftgraph/microsoft-graph-docs-contrib; keys as in docs/wire/graph.md):
//! G-event `api-reference/v1.0/resources/event.md`, G-post `user-post-events.md`, G-patch
//! `event-update.md`, G-get `event-get.md`, G-delta `event-delta.md`, G-dqe
//! `concepts/delta-query-events.md`, G-inst `event-list-instances.md`, G-immut
//! `concepts/outlook-immutable-id.md`, G-batch `concepts/json-batching.md`, G-thr
//! `concepts/throttling.md`, G-thr-ol `includes/throttling-outlook.md`, G-xget
//! `singlevaluelegacyextendedproperty-get.md`, G-xpost
//! `singlevaluelegacyextendedproperty-post-singlevalueextendedproperties.md`, G-xover
//! `extended-properties-overview.md`, G-dttz `resources/datetimetimezone.md`, G-att
//! `resources/attendee.md`, G-err `concepts/errors.md`, G-dqo `concepts/delta-query-overview.md`.
//! Change notifications: N-post `api/subscription-post-subscriptions.md`, N-upd
//! `api/subscription-update.md`, N-del `api/subscription-delete.md`, N-sub
//! `resources/subscription.md`, N-cn `resources/changenotification.md`, N-life
//! `concepts/change-notifications-lifecycle-events.md`, N-hook
//! `concepts/change-notifications-delivery-webhooks.md`, N-ov
//! `concepts/change-notifications-overview.md`.

pub mod mail;

/// Path segments.
pub mod path {
    /// `/users/{id}` (G-post, G-get, G-delta "HTTP request").
    pub const USERS: &str = "users";
    /// `/me`, the signed-in user (G-post, G-get).
    pub const ME: &str = "me";
    /// `/events`, `/events/{id}` (G-post, G-get, G-patch).
    pub const EVENTS: &str = "events";
    /// `/events/{id}/instances` (G-inst).
    pub const INSTANCES: &str = "instances";
    /// `/calendarView/delta` (G-delta).
    pub const CALENDAR_VIEW: &str = "calendarView";
    /// `/calendarView/delta` (G-delta).
    pub const DELTA: &str = "delta";
    /// `{base}/$batch` (G-batch).
    pub const BATCH: &str = "$batch";
}

/// Query options.
pub mod query {
    /// Window start, first delta request and `/instances` (G-delta, G-inst).
    pub const START_DATE_TIME: &str = "startDateTime";
    /// Window end (G-delta, G-inst).
    pub const END_DATE_TIME: &str = "endDateTime";
    /// `$expand=singleValueExtendedProperties($filter=id eq '…')` (G-xget).
    pub const EXPAND: &str = "$expand";
    /// `$filter=singleValueExtendedProperties/Any(…)` (G-xget).
    pub const FILTER: &str = "$filter";
    /// Never sent by the connector (no page shows `$select` beside the extended-property
    /// `$expand` and `$filter`); the simulator checks the names a test selects.
    pub const SELECT: &str = "$select";
}

/// Request and response headers.
pub mod header {
    /// RFC 7240; the preferences below (G-get, G-delta, G-immut).
    pub const PREFER: &str = "Prefer";
    pub const AUTHORIZATION: &str = "Authorization";
    /// G-batch: a batch item with a body names its type.
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// G-thr: seconds (the sample shows `2.128`) or an HTTP date; also on `$batch` items.
    pub const RETRY_AFTER: &str = "Retry-After";
    /// `application/json`.
    pub const JSON: &str = "application/json";
}

/// `Prefer` values.
pub mod prefer {
    /// Immutable ids on every request, each `$batch` item included (G-immut).
    pub const IMMUTABLE_ID: &str = r#"IdType="ImmutableId""#;
    /// `outlook.timezone="{zone}"`: times in the user's zone (G-get, G-cv, G-delta, G-post).
    pub const TIMEZONE: &str = "outlook.timezone";
    /// `outlook.body-content-type="text"` (G-get, G-cv; see the assumptions for delta and writes).
    pub const BODY_CONTENT_TYPE: &str = "outlook.body-content-type";
    /// `odata.maxpagesize={n}` on every delta page (G-delta, G-dqe).
    pub const MAX_PAGE_SIZE: &str = "odata.maxpagesize";

    /// `outlook.timezone="{zone}"`.
    pub fn timezone(zone: &str) -> String {
        format!(r#"{TIMEZONE}="{zone}""#)
    }

    /// `outlook.body-content-type="text"`.
    pub fn text_bodies() -> String {
        format!(r#"{BODY_CONTENT_TYPE}="{}""#, super::body_type::TEXT)
    }

    /// `outlook.body-content-type="html"` (M-get: the default, asked for so it is explicit).
    pub fn html_bodies() -> String {
        format!(r#"{BODY_CONTENT_TYPE}="{}""#, super::body_type::HTML)
    }

    /// `odata.maxpagesize={size}`.
    pub fn max_page_size(size: u32) -> String {
        format!("{MAX_PAGE_SIZE}={size}")
    }
}

/// OData annotations and collection fields of responses.
pub mod odata {
    /// A collection's items (G-cv, G-delta).
    pub const VALUE: &str = "value";
    /// The next page (G-dqe, G-dqo).
    pub const NEXT_LINK: &str = "@odata.nextLink";
    /// The end of a delta round (G-dqe, G-dqo).
    pub const DELTA_LINK: &str = "@odata.deltaLink";
    /// A delta entry for a deleted item or one that left the window, with a `reason` (G-dqe,
    /// G-delta).
    pub const REMOVED: &str = "@removed";
    /// `@removed.reason` (G-dqe: `deleted`).
    pub const REASON: &str = "reason";
}

/// Properties of the `event` resource.
pub mod event {
    /// Read-only id (G-event).
    pub const ID: &str = "id";
    pub const CHANGE_KEY: &str = "changeKey";
    pub const LAST_MODIFIED_DATE_TIME: &str = "lastModifiedDateTime";
    /// Read-only [`super::event_type`] (G-event).
    pub const TYPE: &str = "type";
    pub const SERIES_MASTER_ID: &str = "seriesMasterId";
    pub const ORIGINAL_START: &str = "originalStart";
    pub const SUBJECT: &str = "subject";
    /// An itemBody: [`super::item_body`].
    pub const BODY: &str = "body";
    /// A dateTimeTimeZone: [`super::date_time_time_zone`].
    pub const START: &str = "start";
    pub const END: &str = "end";
    pub const IS_ALL_DAY: &str = "isAllDay";
    /// [`super::sensitivity`].
    pub const SENSITIVITY: &str = "sensitivity";
    /// [`super::importance`].
    pub const IMPORTANCE: &str = "importance";
    pub const IS_REMINDER_ON: &str = "isReminderOn";
    pub const REMINDER_MINUTES_BEFORE_START: &str = "reminderMinutesBeforeStart";
    /// Attendee collection: [`super::attendee`].
    pub const ATTENDEES: &str = "attendees";
    pub const CATEGORIES: &str = "categories";
    pub const IS_CANCELLED: &str = "isCancelled";
    pub const RECURRENCE: &str = "recurrence";
    /// Client-set id "to avoid redundant POST operations in case of client retries"; cannot be
    /// changed later (G-event @82e5d12b, G-post).
    pub const TRANSACTION_ID: &str = "transactionId";
    /// Relationship (G-event), written on create (G-xpost), read through `$expand` (G-xget).
    pub const SINGLE_VALUE_EXTENDED_PROPERTIES: &str = "singleValueExtendedProperties";

    /// Every property and relationship the `event` resource documents (G-event "Properties",
    /// "Relationships", and `transactionId`); Graph refuses any other name in `$select` or a body.
    pub const ALL: &[&str] = &[
        "allowNewTimeProposals",
        ATTENDEES,
        BODY,
        "bodyPreview",
        CATEGORIES,
        CHANGE_KEY,
        "createdDateTime",
        END,
        "hasAttachments",
        "hideAttendees",
        "iCalUId",
        ID,
        IMPORTANCE,
        IS_ALL_DAY,
        IS_CANCELLED,
        "isDraft",
        "isOnlineMeeting",
        "isOrganizer",
        IS_REMINDER_ON,
        LAST_MODIFIED_DATE_TIME,
        "location",
        "locations",
        "onlineMeeting",
        "onlineMeetingProvider",
        "onlineMeetingUrl",
        "organizer",
        "originalEndTimeZone",
        ORIGINAL_START,
        "originalStartTimeZone",
        RECURRENCE,
        REMINDER_MINUTES_BEFORE_START,
        "responseRequested",
        "responseStatus",
        SENSITIVITY,
        SERIES_MASTER_ID,
        "showAs",
        START,
        SUBJECT,
        TRANSACTION_ID,
        TYPE,
        "webLink",
        "attachments",
        "calendar",
        "extensions",
        "instances",
        "multiValueExtendedProperties",
        SINGLE_VALUE_EXTENDED_PROPERTIES,
    ];

    /// What the connector reads (`GraphEvent`'s fields).
    pub const READ: &[&str] = &[
        ID,
        CHANGE_KEY,
        LAST_MODIFIED_DATE_TIME,
        TYPE,
        SERIES_MASTER_ID,
        ORIGINAL_START,
        SUBJECT,
        BODY,
        START,
        END,
        IS_ALL_DAY,
        SENSITIVITY,
        IMPORTANCE,
        IS_REMINDER_ON,
        REMINDER_MINUTES_BEFORE_START,
        ATTENDEES,
        CATEGORIES,
        IS_CANCELLED,
        RECURRENCE,
        TRANSACTION_ID,
        SINGLE_VALUE_EXTENDED_PROPERTIES,
    ];

    /// What the connector writes in a POST or PATCH (G-patch request-body table, G-post).
    pub const WRITTEN: &[&str] = &[
        SUBJECT,
        START,
        END,
        IS_ALL_DAY,
        BODY,
        SENSITIVITY,
        IMPORTANCE,
        IS_REMINDER_ON,
        REMINDER_MINUTES_BEFORE_START,
        ATTENDEES,
        CATEGORIES,
        TRANSACTION_ID,
        SINGLE_VALUE_EXTENDED_PROPERTIES,
    ];
}

/// `event.type` values (G-event).
pub mod event_type {
    pub const SINGLE_INSTANCE: &str = "singleInstance";
    pub const OCCURRENCE: &str = "occurrence";
    pub const EXCEPTION: &str = "exception";
    pub const SERIES_MASTER: &str = "seriesMaster";
}

/// `event.sensitivity` values (G-event).
pub mod sensitivity {
    pub const NORMAL: &str = "normal";
    pub const PERSONAL: &str = "personal";
    pub const PRIVATE: &str = "private";
    pub const CONFIDENTIAL: &str = "confidential";
}

/// `event.importance` values (G-event).
pub mod importance {
    pub const LOW: &str = "low";
    pub const NORMAL: &str = "normal";
    pub const HIGH: &str = "high";
}

/// The `itemBody` resource (G-get, G-cv).
pub mod item_body {
    pub const CONTENT_TYPE: &str = "contentType";
    pub const CONTENT: &str = "content";
}

/// `itemBody.contentType` values (G-get, G-cv: "text" or "html").
pub mod body_type {
    pub const TEXT: &str = "text";
    pub const HTML: &str = "html";
}

/// The `dateTimeTimeZone` resource (G-dttz): local time with seven fractional digits and a
/// Windows zone name (or one of the IANA names the page lists).
pub mod date_time_time_zone {
    pub const DATE_TIME: &str = "dateTime";
    pub const TIME_ZONE: &str = "timeZone";
}

/// The `attendee` resource (G-att).
pub mod attendee {
    pub const EMAIL_ADDRESS: &str = "emailAddress";
    /// [`super::attendee_type`].
    pub const TYPE: &str = "type";
    /// `emailAddress.address`.
    pub const ADDRESS: &str = "address";
    /// `emailAddress.name`.
    pub const NAME: &str = "name";
}

/// `attendee.type` values (G-att).
pub mod attendee_type {
    pub const REQUIRED: &str = "required";
    pub const OPTIONAL: &str = "optional";
    pub const RESOURCE: &str = "resource";
}

/// Single-value extended properties (G-xover, G-xget, G-xpost).
pub mod extended {
    /// `{id, value}` of `singleValueLegacyExtendedProperty`.
    pub const ID: &str = "id";
    pub const VALUE: &str = "value";

    /// The events carrying property `id` with value `value` (G-xget: `eq` on a string
    /// property). Quotes in `value` are doubled.
    pub fn filter_eq(id: &str, value: &str) -> String {
        format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{}')",
            value.replace('\'', "''")
        )
    }

    /// The events carrying property `id` with any non-empty value (G-xget: string properties
    /// take `eq`, `ne`, `startswith`, `contains`).
    pub fn filter_present(id: &str) -> String {
        format!("singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value ne '')")
    }

    /// The property `id` expanded into each event (G-xget: the filtered listing does not return
    /// the property itself).
    pub fn expand(id: &str) -> String {
        format!("singleValueExtendedProperties($filter=id eq '{id}')")
    }
}

/// JSON batching (G-batch).
pub mod batch {
    pub const REQUESTS: &str = "requests";
    pub const RESPONSES: &str = "responses";
    pub const ID: &str = "id";
    pub const METHOD: &str = "method";
    /// Relative to the version, e.g. `/users/{id}/events`.
    pub const URL: &str = "url";
    pub const HEADERS: &str = "headers";
    pub const BODY: &str = "body";
    /// Items that must succeed first; otherwise 424 (G-batch; one per item per G-batch-ki).
    pub const DEPENDS_ON: &str = "dependsOn";
    /// A response item's HTTP status.
    pub const STATUS: &str = "status";
    /// At most 20 requests a batch (G-batch).
    pub const MAX_REQUESTS: usize = 20;
    /// A response item whose dependency failed (G-batch).
    pub const FAILED_DEPENDENCY: u16 = 424;
}

/// Error bodies and codes (G-err).
pub mod error {
    /// `{"error":{"code":…,"message":…}}`: the pointer to the code.
    pub const CODE_POINTER: &str = "/error/code";
    /// An expired delta token (G-dqo "40X … `syncStateNotFound`"); also answered 410 Gone.
    pub const SYNC_STATE_NOT_FOUND: &str = "syncStateNotFound";
    /// Listed in G-err's code table: the delta state is no longer valid; synchronize again.
    pub const RESYNC_REQUIRED: &str = "resyncRequired";
    /// The status of an expired delta token or link (G-dqo).
    pub const GONE: u16 = 410;
    /// Statuses to retry after `Retry-After` (G-thr, G-err).
    pub const RETRYABLE: &[u16] = &[429, 503, 504];
}

/// Change-notification subscriptions on a mailbox's events (N-post, N-upd, N-del, N-life).
pub mod subscription {
    /// `POST /subscriptions`, `PATCH|DELETE /subscriptions/{id}` (N-post, N-upd, N-del).
    pub const PATH: &str = "subscriptions";
    /// `POST /subscriptions/{id}/reauthorize` (N-life "Responding to reauthorizationRequired").
    pub const REAUTHORIZE: &str = "reauthorize";
    /// The subscription's id, read from the 201 answer (N-post).
    pub const ID: &str = "id";
    /// Comma-joined [`super::change_type`] values (N-post, N-life).
    pub const CHANGE_TYPE: &str = "changeType";
    pub const NOTIFICATION_URL: &str = "notificationUrl";
    /// Set only when creating; cannot be added later (N-life).
    pub const LIFECYCLE_NOTIFICATION_URL: &str = "lifecycleNotificationUrl";
    /// `/users/{id}/events` or `/me/events` (N-post "Resources examples", N-life sample).
    pub const RESOURCE: &str = "resource";
    /// Also the only property a renewal PATCH sends (N-upd, N-life).
    pub const EXPIRATION_DATE_TIME: &str = "expirationDateTime";
    /// Compared on every notification (N-cn, N-hook).
    pub const CLIENT_STATE: &str = "clientState";
    /// `clientState` is at most 128 characters (N-sub; N-cn allows 255 in notifications).
    pub const MAX_CLIENT_STATE_CHARS: usize = 128;
    /// Outlook events, basic notifications: at most 10,080 minutes (N-ov "Subscription lifetime").
    pub const MAX_LIFETIME_MINUTES: i64 = 10_080;
    /// A create whose notification endpoint fails the validation handshake is answered 400 (N-post).
    pub const VALIDATION_FAILED: u16 = 400;
}

/// `changeType` values (N-cn: `created`, `updated`, `deleted`).
pub mod change_type {
    pub const CREATED: &str = "created";
    pub const UPDATED: &str = "updated";
    pub const DELETED: &str = "deleted";
    /// What MsSync subscribes to.
    pub const ALL: [&str; 3] = [CREATED, UPDATED, DELETED];
}

/// The `changeNotificationCollection` Graph POSTs to the notification URLs (N-cn, N-life):
/// `{"value": [changeNotification, ...]}`, several notifications (and subscriptions) a POST.
pub mod change_notification {
    /// The collection's array (N-life "Structure of a lifecycle notification").
    pub const VALUE: &str = "value";
    pub const SUBSCRIPTION_ID: &str = "subscriptionId";
    pub const SUBSCRIPTION_EXPIRATION_DATE_TIME: &str = "subscriptionExpirationDateTime";
    pub const CHANGE_TYPE: &str = "changeType";
    pub const CLIENT_STATE: &str = "clientState";
    /// Present on lifecycle notifications only: [`super::lifecycle_event`].
    pub const LIFECYCLE_EVENT: &str = "lifecycleEvent";
    /// Relative to `https://graph.microsoft.com` (N-cn).
    pub const RESOURCE: &str = "resource";
    pub const RESOURCE_DATA: &str = "resourceData";
    pub const TENANT_ID: &str = "tenantId";
    /// Every property of `changeNotification` (N-cn); the simulator sends no other.
    pub const ALL: &[&str] = &[
        CHANGE_TYPE,
        CLIENT_STATE,
        "encryptedContent",
        "id",
        LIFECYCLE_EVENT,
        RESOURCE,
        RESOURCE_DATA,
        SUBSCRIPTION_EXPIRATION_DATE_TIME,
        SUBSCRIPTION_ID,
        TENANT_ID,
    ];
}

/// `lifecycleEvent` values (N-cn, N-life).
pub mod lifecycle_event {
    pub const REAUTHORIZATION_REQUIRED: &str = "reauthorizationRequired";
    pub const SUBSCRIPTION_REMOVED: &str = "subscriptionRemoved";
    pub const MISSED: &str = "missed";
}

/// The validation handshake (N-hook "notificationUrl validation"): Graph POSTs
/// `{url}?validationToken=<token>`; the endpoint answers 200, `text/plain`, the decoded token,
/// within 10 seconds. Notifications are answered 2xx (202 when work is queued) within 3 seconds.
pub mod validation {
    pub const TOKEN_QUERY: &str = "validationToken";
    pub const TEXT_PLAIN: &str = "text/plain";
    pub const ANSWER_WITHIN_SECONDS: u64 = 10;
    /// The answer to a notification recorded for later work (N-hook, N-life).
    pub const ACCEPTED: u16 = 202;
    pub const NOTIFICATION_ANSWER_WITHIN_SECONDS: u64 = 3;
}

/// Outlook's limit of concurrent requests per app and mailbox (G-thr-ol "Limits per mailbox").
pub const MAX_CONCURRENT_PER_MAILBOX: usize = 4;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};

    use super::*;
    use crate::graph::GraphEvent;

    fn sample(name: &str) -> Value {
        match name {
            event::LAST_MODIFIED_DATE_TIME | event::ORIGINAL_START => json!("2026-03-01T10:00:00Z"),
            event::TYPE => json!(event_type::OCCURRENCE),
            event::BODY => {
                json!({item_body::CONTENT_TYPE: body_type::TEXT, item_body::CONTENT: "x"})
            }
            event::START | event::END => json!({
                date_time_time_zone::DATE_TIME: "2026-03-02T09:00:00.0000000",
                date_time_time_zone::TIME_ZONE: "UTC",
            }),
            event::IS_ALL_DAY | event::IS_REMINDER_ON | event::IS_CANCELLED => json!(false),
            event::REMINDER_MINUTES_BEFORE_START => json!(15),
            event::ATTENDEES => json!([{
                attendee::EMAIL_ADDRESS: {attendee::ADDRESS: "a@example.com", attendee::NAME: "A"},
                attendee::TYPE: attendee_type::REQUIRED,
            }]),
            event::CATEGORIES => json!(["Blue"]),
            event::RECURRENCE => json!({}),
            event::SINGLE_VALUE_EXTENDED_PROPERTIES => {
                json!([{extended::ID: "String {x} Name y", extended::VALUE: "v"}])
            }
            _ => json!("text"),
        }
    }

    #[test]
    fn the_event_type_reads_exactly_the_listed_properties() {
        let all: Value = event::READ
            .iter()
            .map(|name| ((*name).to_owned(), sample(name)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let event: GraphEvent = serde_json::from_value(all.clone()).unwrap();
        let back = serde_json::to_value(&event).unwrap();
        let names = |v: &Value| {
            v.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(names(&back), names(&all));
        assert_eq!(
            back, all,
            "every listed property is read under its wire name"
        );
    }

    #[test]
    fn read_and_written_properties_are_event_properties() {
        for name in event::READ.iter().chain(event::WRITTEN) {
            assert!(event::ALL.contains(name), "{name}");
        }
    }

    #[test]
    fn what_the_mapping_writes_is_listed() {
        use crate::jobs::calendar::map_graph;
        use crate::model::{Attendee, CalendarItem, Field, Importance, Sensitivity, When};
        let zone = crate::model::tz::Zone::utc();
        let t = |h: i64| chrono::DateTime::from_timestamp(1_772_442_000 + h * 3600, 0).unwrap();
        let item = CalendarItem {
            subject: "s".into(),
            when: When::Timed {
                start: t(0),
                end: t(1),
                zone: None,
            },
            body: "b".into(),
            sensitivity: Sensitivity::Private,
            importance: Importance::High,
            reminder_minutes_before_start: Some(5),
            attendees: vec![Attendee {
                email: "a@example.com".into(),
                name: None,
            }],
            series: None,
        };
        let mut body = map_graph::create_body(&item, &zone);
        crate::graph::client::stamp_activity(&mut body, "42");
        for name in body.as_object().unwrap().keys() {
            assert!(event::WRITTEN.contains(&name.as_str()), "{name}");
        }
        let patch = map_graph::patch_body(&item, &Field::ALL, &zone);
        for name in patch.as_object().unwrap().keys() {
            assert!(event::WRITTEN.contains(&name.as_str()), "{name}");
        }
    }
}
