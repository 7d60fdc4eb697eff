//! What a job's failures show publicly: made here, at the application's edge, from the typed
//! errors of the sides and the run.

use super::{ErrorCode, PublicError};
use crate::engine::LeaseError;
use crate::jobs::calendar::{RunError, SideError};

impl From<SideError> for PublicError {
    fn from(error: SideError) -> Self {
        match error {
            SideError::Erp(e) => e.into(),
            SideError::Graph(e) => e.into(),
            SideError::Store(e) => e.into(),
            SideError::LinkedElsewhere => Self::new(
                ErrorCode::EditConflict,
                "another system links this activity",
            ),
        }
    }
}

impl From<LeaseError> for PublicError {
    fn from(error: LeaseError) -> Self {
        match error {
            LeaseError::Held { until } => Self::new(
                ErrorCode::LeaseHeld,
                format!(
                    "another runner is syncing this calendar until {}",
                    until.format("%Y-%m-%d %H:%MZ")
                ),
            ),
            LeaseError::Lost => Self::new(
                ErrorCode::LeaseHeld,
                "another runner took over this calendar; its run will finish the work",
            ),
            LeaseError::Store(e) => e.into(),
        }
    }
}

impl From<RunError> for PublicError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::Side(e) => e.into(),
            RunError::Store(e) => e.into(),
            RunError::Lease(e) => e.into(),
            RunError::EmptyRead { side, links } => Self::new(
                ErrorCode::SafetyGuard,
                format!(
                    "{side} returned no items while {links} linked items are known; nothing was deleted. Check the connection and run Full refresh."
                ),
            ),
        }
    }
}
