//! Microsoft Graph connector: one mailbox's calendar events, the window's `calendarView/delta`,
//! `$batch` writes, throttling and concurrency limits, idempotent creates.
//!
//! One [`GraphClient`] serves one mailbox; clone it to share (clones share the mailbox's limit of
//! four requests in flight).

mod batch;
mod client;
mod delta;
mod error;
mod event;

pub use batch::{BATCH_LIMIT, BatchItem, BatchItemResult};
pub use client::{GraphClient, GraphConfig, MAX_IN_FLIGHT_PER_MAILBOX, Mailbox};
pub use delta::{DeltaChanges, Window};
pub use error::GraphError;
pub use event::{
    ACTIVITY_ID_PROPERTY, EmailAddress, EventType, ExtendedProperty, GraphAttendee, GraphEvent,
    ItemBody, Removed, transaction_id_for,
};
