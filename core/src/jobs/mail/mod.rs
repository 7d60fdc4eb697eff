//! The Mail job: Outlook mail reflected in the user's default ERP.net mailbox, and a message read
//! or deleted in ERP.net read or deleted in Outlook. So far: the mapping of one message and its
//! attachments ([`map`]); the run comes with the ERP.net side.

pub mod map;
