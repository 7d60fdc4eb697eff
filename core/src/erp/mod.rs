//! The ERP.net Domain API connector: OData as ERP.net speaks it (filters without `or`, `$top`
//! paging with `@odata.nextLink`), activities with participants and reminders, incremental pulls
//! by `AggregateLastUpdateTimeUtc`, find-or-create writes, and the reference data Setup needs.

mod activities;
mod auth;
mod client;
mod error;
mod filter;
mod reference;

pub use activities::{
    ACTIVITIES, Activity, ActivityDefaults, ActivityPatch, ActivityReminder, ActivityScope,
    ActivityState, COMPANY_LOCATIONS, ChangeBatch, DOCUMENT_TYPES, ENTERPRISE_COMPANIES,
    ExternalLink, NewActivity, PARTICIPANTS, Participant, Priority, SystemType, USERS, Watermark,
};
pub use auth::{ClientCredentials, ErpAuth, REFRESH_MARGIN, SCOPE};
pub use client::{ErpClient, ErpConfig, ErpContext, MAX_PAGE_SIZE, Query, TimeBasis};
pub use error::{ErpError, ErpErrorBody};
pub use filter::{EntityRef, Filter, Guid, Literal};
pub use reference::{
    ACTIVITY_ENTITY_NAME, CompanyLocation, DocumentType, Ensured, EnterpriseCompany, ErpUser,
    MEETING_CODE,
};
