//! The ERP.net Domain API connector: OData as ERP.net speaks it (filters without `or`, `$top`
//! paging with `@odata.nextLink`), activities with participants and reminders, incremental pulls
//! by `AggregateLastUpdateTimeUtc`, find-or-create writes, and the reference data Setup needs.
//!
//! Every name on the wire comes from [`wire`], each with the public page it is documented on;
//! `docs/wire/erpnet.md` lists them with the assumptions no page confirms. Choices where the
//! public ERP.net documentation is silent (the simulator follows them; check them against a
//! real instance):
//! - the owner fallback "AssignedToUser, else CreationUser" is two queries (`AssignedToUser eq
//!   <user>`, and `equalnull(AssignedToUser,null) and startswith(CreationUser,'<login>')`,
//!   matched exactly on the client), as there is no `or` and `CreationUser` is a login that
//!   filters by `like` only;
//! - date-time filters are truncated to the date by ERP.net: windows are asked for by whole
//!   days and cut on the client;
//! - `$top` is sent as the page size and `@odata.nextLink` followed until absent;
//! - a refused PATCH (HTTP 500/409/412) is classified by reading the activity again: a later
//!   state is `ReadOnlyActivity`, another `ObjectVersion` is `StaleVersion`; ERP.net's error
//!   codes for these are not documented;
//! - participants are changed one by one (`POST`/`DELETE` on `General_Activities_ActivityParticipants`),
//!   not by deep update; a create inserts them deeply;
//! - many writes go in `$batch` (`batch.rs`, documented): each write a changeset of its own, its
//!   result read right after it in the same batch; at most 100 top-level parts per batch (no
//!   page gives a limit);
//! - `@erpnet.findBy: {"ExternalId", "ExternalSystem"}` (documented) with both also in the body;
//! - `ChangeState` takes `{"newState": "<State>"}`; `MakeVoid` `{"reason", "voidType": "VoidDocument"}`;
//! - with a zone time basis, document times are that zone's wall-clock written with a `Z`.
//! - mail (`mail/`): a folder is POSTed to its box's `Folders` collection (its `MailBox` is
//!   ReadOnly), found first by `ServerFolderID`; messages are findOrCreate with attachments
//!   inline, in `$batch` as activities are; no party is related (no e-mail filter on parties).

pub(crate) mod activities;
mod auth;
mod batch;
mod client;
mod error;
mod filter;
pub(crate) mod mail;
mod reference;
pub mod wire;

pub use activities::{
    ACTIVITIES, Activity, ActivityDefaults, ActivityWrite, ActivityPatch, ActivityReminder, ActivityScope,
    ActivityState, COMPANY_LOCATIONS, ChangeBatch, DOCUMENT_TYPES, ENTERPRISE_COMPANIES,
    ExternalLink, NewActivity, PARTICIPANTS, Participant, Priority, SystemType, USERS, Watermark,
};
pub use auth::{ClientCredentials, ErpAuth, REFRESH_MARGIN, SCOPE};
pub use client::{ErpClient, ErpConfig, ErpContext, MAX_PAGE_SIZE, Query, TimeBasis};
pub use error::{ErpError, ErpErrorBody};
pub use filter::{EntityRef, Filter, Guid, Literal};
pub use mail::{
    BoxFolder, MailBox, MailBoxCheck, MailMessageRow, MessageWrite, NewAttachment, NewBoxFolder,
};
pub use reference::{
    CompanyLocation, DocumentType, Ensured, EnterpriseCompany, ErpUser, MEETING_CODE,
};
