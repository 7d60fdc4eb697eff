//! Microsoft Graph connector: one mailbox's calendar events, the window's `calendarView/delta`,
//! `$batch` writes, throttling and concurrency limits, idempotent creates.
//!
//! One [`GraphClient`] serves one mailbox. Decisions worth knowing:
//! - At most four requests in flight per `/users/{id}` mailbox, process-wide (every client of
//!   the mailbox shares one async semaphore); a permit is held only while a request is out, never
//!   while sleeping out a `Retry-After`. An unordered `$batch` takes as many permits as it has
//!   items, up to all four (Outlook runs up to four of its items at once); a `dependsOn` chain
//!   takes one.
//! - Throttling goes through `host::send_with_retry` (Retry-After, else backoff with jitter,
//!   waits through the host clock); a wait longer than the policy allows is
//!   [`GraphError::Throttled`] with the time to resume. `$batch` items answered 429/503/504 are
//!   sent again alone after their own Retry-After.
//! - A 401 invalidates the token and retries once with a fresh one.
//! - Creates carry `transactionId` = [`transaction_id_for`] the ERP.net activity id and the
//!   [`ACTIVITY_ID_PROPERTY`] extended property; the GUID of that property is MsSync's own and
//!   must never change.
//! - Links from Graph (`@odata.nextLink`, delta links) are followed only to the configured
//!   service, so a token never leaves it.

pub(crate) mod batch;
pub(crate) mod client;
pub(crate) mod delta;
mod error;
mod event;
pub(crate) mod mail;
pub(crate) mod subscriptions;
pub mod wire;

pub use batch::{BATCH_LIMIT, BatchItem, BatchItemResult};
pub use client::{GraphClient, GraphConfig, MAX_IN_FLIGHT_PER_MAILBOX, Mailbox};
pub use delta::{DeltaChanges, Window};
pub use error::GraphError;
pub use mail::{GraphAttachment, GraphMessage, MailChanges, MailFolder, Recipient};
pub use event::{
    ACTIVITY_ID_PROPERTY, EmailAddress, EventType, ExtendedProperty, GraphAttendee, GraphEvent,
    ItemBody, Removed, transaction_id_for,
};
pub use subscriptions::{NewSubscription, SubscriptionInfo};
