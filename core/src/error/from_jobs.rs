//! What a job's failures show publicly: made here, at the application's edge, from the typed
//! errors of the sides and the run.

use super::{ErrorCode, PublicError};
use crate::engine::LeaseError;
use crate::erp::MailBoxCheck;
use crate::jobs::calendar::{RunError, SideError};
use crate::jobs::mail;

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
                    "another runner is running this job until {}",
                    until.format("%Y-%m-%d %H:%MZ")
                ),
            ),
            LeaseError::Lost => Self::new(
                ErrorCode::LeaseHeld,
                "another runner took over this job; its run will finish the work",
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

impl From<mail::RunError> for PublicError {
    fn from(error: mail::RunError) -> Self {
        match error {
            mail::RunError::Graph(e) => e.into(),
            mail::RunError::Erp(e) => e.into(),
            mail::RunError::Store(e) => e.into(),
            mail::RunError::Lease(e) => e.into(),
            mail::RunError::MailBox(check) => Self::new(
                ErrorCode::NoMailBox,
                match check {
                    MailBoxCheck::Missing => "There's no default mailbox for the user.".to_owned(),
                    MailBoxCheck::WrongAddress { found } => format!(
                        "The default mailbox's e-mail address ({found}) is not the user's principal name."
                    ),
                    MailBoxCheck::Encrypted => {
                        "The default mailbox is encrypted; encrypted mailboxes are not supported."
                            .to_owned()
                    }
                    MailBoxCheck::Ready(_) => "The default mailbox is ready.".to_owned(),
                },
            ),
        }
    }
}
