//! The Mail job: Outlook mail reflected in the user's default ERP.net mailbox, and a message read
//! or deleted in ERP.net read or deleted in Outlook. [`map`] turns one message into its ERP.net
//! row, [`decide`] holds the rules for a linked message, [`run`] is one run.

pub mod decide;
pub mod map;
mod run;
mod state;

pub use run::{JOB_NAME, MailJob, Ran, RunError, RunOptions, run};
pub use state::{FolderState, MailCheckpoint, MessageLink, progress};

use crate::erp::MailBoxCheck;

/// A default-mailbox check as Service reports it: `ready`, `missing`, `wrong_address` or
/// `encrypted`.
pub fn mail_box_state(check: &MailBoxCheck) -> &'static str {
    match check {
        MailBoxCheck::Ready(_) => "ready",
        MailBoxCheck::Missing => "missing",
        MailBoxCheck::WrongAddress { .. } => "wrong_address",
        MailBoxCheck::Encrypted => "encrypted",
    }
}
