//! The sync engine: the decision table (reconcile), leases, and the journal of a run.

pub mod journal;
mod lease;
mod reconcile;
pub(crate) mod subscriptions;

pub use journal::{LogLevel, LogLine};
pub(crate) use lease::process_is_gone;
pub use lease::{Lease, LeaseError, LocalProcess, acquire as acquire_lease, lease_key};

pub use reconcile::{
    ConflictPolicy, Decision, FieldConflict, Observed, Side, SideState, SideWrite,
    reconcile_linked, reconcile_unlinked_pair,
};
