//! The Calendar job: ERP.net activities <-> Outlook events.

mod erp_side;
mod graph_side;
pub mod map_erp;
pub mod map_graph;
#[cfg(any(test, feature = "test-support"))]
pub mod memory_side;
pub mod routes;
mod run;
mod side;
mod state;

pub use erp_side::{EXTERNAL_SYSTEM, ErpSide};
pub use graph_side::{CONFLICT_CATEGORY, GraphSide};
pub use run::{
    CalendarJob, Counts, DEFAULT_LEASE_TTL, JOB_NAME, RUN_INTERVAL, Ran, RunError, RunOptions, RunReport, WINDOW_AHEAD_DAYS,
    WINDOW_BACK_DAYS, run, window_for,
};
pub use side::{
    CalendarSide, Pull, RemoteChange, RemoteItem, RemoteWrite, SideError, Window, WriteOutcome,
    item_span,
    twin_of_key,
};
pub use state::{Checkpoint, Link, checkpoint};

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod tests;
