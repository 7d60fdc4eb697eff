//! What the calendar job needs of each side, in neutral terms. The Graph and ERP.net adapters
//! implement [`CalendarSide`] over their connectors; the run (`run.rs`) never sees a wire format.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::engine::{Side, SideState};
use crate::erp::ErpError;
use crate::graph::GraphError;
use crate::host::{MaybeSendSync, StoreError};
use crate::model::{CalendarItem, Field};

/// The part of the calendar the job keeps in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Whether an item at these times touches the window.
    pub fn touches(&self, item: &CalendarItem, zone: &crate::model::tz::Zone) -> bool {
        let (start, end) = item_span(item, zone);
        start < self.end && end > self.start
    }
}

/// The instants an item covers, all-day dates read in the user's zone.
pub fn item_span(
    item: &CalendarItem,
    zone: &crate::model::tz::Zone,
) -> (DateTime<Utc>, DateTime<Utc>) {
    match &item.when {
        crate::model::When::Timed { start, end, .. } => (*start, *end),
        crate::model::When::AllDay { start, end } => {
            crate::model::tz::all_day_to_instants(*start, *end, zone)
        }
    }
}

/// One item as a side holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteItem {
    pub id: String,
    /// The id of its twin on the other side as this item records it: an activity's ExternalId
    /// when MsSync set it, an event's activity-id extended property. Found links survive a crash
    /// between a write and the commit that records it.
    pub twin: Option<String>,
    /// The side's version stamp (Graph changeKey, ERP.net ObjectVersion).
    pub version: String,
    pub state: SideState,
}

#[derive(Debug, Clone, PartialEq)]
// Nearly every value is the large variant, so boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum RemoteChange {
    Upsert(RemoteItem),
    /// Deleted in Outlook or voided in ERP.net (or, for Graph, left the window).
    Removed {
        id: String,
    },
}

/// The result of reading one side.
#[derive(Debug, Clone, PartialEq)]
pub struct Pull {
    pub changes: Vec<RemoteChange>,
    /// What to resume from next time (a delta link, a watermark); stored only after the run's
    /// writes are committed.
    pub checkpoint: String,
    /// Everything in the window was read (not only changes): links whose items were not seen
    /// are gone from this side.
    pub complete: bool,
}

/// A write the job asks of a side.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteWrite {
    /// Create `item`; `idempotency_key` is stable across retries and crashes, so a repeated
    /// create returns the first item instead of a duplicate. It is the twin's id, followed by
    /// `#` and the id of the item it replaces when a change re-creates an item the other side
    /// deleted ([`twin_of_key`] gives the twin's id back).
    Create {
        idempotency_key: String,
        item: CalendarItem,
    },
    /// Write only `fields` of `item`.
    Update {
        id: String,
        version: String,
        fields: Vec<Field>,
        item: CalendarItem,
    },
    Remove {
        id: String,
    },
    /// Mark a synchronization conflict where the user will see it (an Outlook category).
    MarkConflict {
        id: String,
    },
    /// Record on item `id` the id of its twin on the other side (an activity's ExternalId), so
    /// the link survives the loss of the host's store.
    Link {
        id: String,
        twin: String,
    },
}

/// Why a side could not read or write, as its connector said it. The run decides on the kind
/// (retried by a later run, or refused for good); the public error is made from it only at the
/// application's edge.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SideError {
    #[error(transparent)]
    Erp(#[from] ErpError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another integration links the item (an activity's ExternalSystem is not ours): MsSync
    /// leaves that link alone.
    #[error("another system links this item")]
    LinkedElsewhere,
}

impl SideError {
    /// The activity is read-only now (Released, Completed or Closed).
    pub fn is_read_only(&self) -> bool {
        matches!(self, SideError::Erp(ErpError::ReadOnlyActivity { .. }))
    }
}

/// How one write ended.
#[derive(Debug, Clone, PartialEq)]
// Nearly every value is the large variant, so boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum WriteOutcome {
    /// Done; the item as it now is (for creates and updates).
    Done(Option<RemoteItem>),
    /// The item is gone on that side already (removing it is then done too).
    Missing,
    /// Refused for good (read-only, stale version): not retried, reported as a conflict.
    Refused(SideError),
    /// Failed for now (throttled, unavailable): retried by a later run.
    Failed(SideError),
}

/// One side of the calendar sync.
#[async_trait(?Send)]
pub trait CalendarSide: MaybeSendSync {
    fn side(&self) -> Side;

    /// Changes in `window` since `checkpoint`, or everything in it when `checkpoint` is `None`.
    /// A checkpoint the server no longer accepts is answered with a complete read.
    async fn pull(&self, window: &Window, checkpoint: Option<&str>) -> Result<Pull, SideError>;

    /// One item by its id on this side; `None` if it does not exist (or is deleted/voided).
    async fn get(&self, id: &str) -> Result<Option<RemoteItem>, SideError>;

    /// The item whose twin is `twin_id`, if this side has one (used after a crash).
    async fn find_by_twin(&self, twin_id: &str) -> Result<Option<RemoteItem>, SideError>;

    /// Every item of this side that records its twin, as (item id, twin id), for rebuilding
    /// links the store lost; `None` when this side's reads already carry the twin of each item
    /// (an activity's ExternalId comes with every read; an event's extended property does not
    /// come with delta).
    async fn recorded_twins(&self) -> Result<Option<Vec<(String, String)>>, SideError>;

    /// Applies writes (batched as the side allows); one outcome per write, in order.
    async fn apply(&self, writes: Vec<RemoteWrite>) -> Vec<WriteOutcome>;

    /// Requests sent so far, for the run report.
    fn requests(&self) -> u64;

    /// Store records this side's pull consumed (changes routed to the user), deleted by the
    /// run's commit when its checkpoints advance.
    fn consumed_records(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The twin's id in an idempotency key (see [`RemoteWrite::Create`]).
pub fn twin_of_key(key: &str) -> &str {
    key.split('#').next().unwrap_or(key)
}
