//! The wire contract with the ERP.net Domain API: every name the connector sends or reads, each
//! with the public page it comes from, and the table of entity sets the simulator is built from.
//!
//! Sources (the ErpNetDocs repositories; paths map 1:1 onto docs.erp.net pages):
//! - **M** `ErpNetDocs/model`, published as `https://docs.erp.net/model/<path>.html`;
//! - **D** `ErpNetDocs/dev`, published as `https://docs.erp.net/dev/<path>.html`;
//! - **T** `ErpNetDocs/tech`, published as `https://docs.erp.net/tech/<path>.html`.
//!
//! What no page confirms is listed, with its reason, in `docs/wire/erpnet.md` ("Assumptions");
//! the constants below that rest on such an assumption say so.

pub mod mail;

// --- entity sets -----------------------------------------------------------------------------

/// M entities/General.Activities.Activities.md (API section; renamed from
/// General.Contacts.Activities in 24.1.5.35).
pub const ACTIVITIES: &str = "General_Activities_Activities";
/// M entities/General.Activities.ActivityParticipants.md (API section, ReadWrite; renamed in
/// 24.1.5.35).
pub const PARTICIPANTS: &str = "General_Activities_ActivityParticipants";
/// M entities/Systems.Security.Users.md (API section).
pub const USERS: &str = "Systems_Security_Users";
/// M entities/Systems.Documents.DocumentTypes.md (API section; renamed from
/// General.DocumentTypes in 24.1.5.35, M reference/renames.md).
pub const DOCUMENT_TYPES: &str = "Systems_Documents_DocumentTypes";
/// M entities/General.EnterpriseCompanies.md (API section).
pub const ENTERPRISE_COMPANIES: &str = "General_EnterpriseCompanies";
/// M entities/General.Contacts.CompanyLocations.md (API section).
pub const COMPANY_LOCATIONS: &str = "General_Contacts_CompanyLocations";
/// M entities/General.Contacts.Companies.md (API section).
pub const COMPANIES: &str = "General_Contacts_Companies";
/// M entities/General.Contacts.Parties.md (API section).
pub const PARTIES: &str = "General_Contacts_Parties";

/// M entities/General.Activities.Activities.md (API section: Attributes, References, Child
/// Collections, System Attributes).
pub mod activity {
    /// M General.Activities.Activities.md (System Attributes: guid, Equals/EqualsIn).
    pub const ID: &str = "Id";
    /// M General.Activities.Activities.md (System Attributes: int32, "can be used for optimistic
    /// locking"); D domain-api/data-sync/optimistic-locking.md.
    pub const OBJECT_VERSION: &str = "ObjectVersion";
    /// M General.Activities.Activities.md (System Attributes: datetime, Filter(ge;le));
    /// D domain-api/data-sync/incremental-pull.md.
    pub const AGGREGATE_LAST_UPDATE_TIME_UTC: &str = "AggregateLastUpdateTimeUtc";
    /// M General.Activities.Activities.md (string(254), Required, Filter(eq;like)).
    pub const SUBJECT: &str = "Subject";
    /// M General.Activities.Activities.md (datetime, Required, Filter(ge;le)).
    pub const START_TIME: &str = "StartTime";
    /// M General.Activities.Activities.md (datetime nullable, Filter(ge;le)).
    pub const END_TIME: &str = "EndTime";
    /// M General.Activities.Activities.md (string(max) nullable, "Notes for this Activity").
    pub const NOTES: &str = "Notes";
    /// M General.Activities.Activities.md (enum General.Priority, Required, Default(3)).
    pub const PRIORITY: &str = "Priority";
    /// M General.Activities.Activities.md (boolean, Required, Default(false)).
    pub const PRIVATE: &str = "Private";
    /// M General.Activities.Activities.md (datetime nullable, Filter(ge;le)).
    pub const REMINDER_TIME: &str = "ReminderTime";
    /// M General.Activities.Activities.md (DocumentState, ReadOnly, Filter(multi eq;ge;le)).
    pub const STATE: &str = "State";
    /// M General.Activities.Activities.md (boolean, ReadOnly, Filter(eq)).
    pub const VOID: &str = "Void";
    /// M General.Activities.Activities.md (string(254) nullable, ReadOnly).
    pub const VOID_REASON: &str = "VoidReason";
    /// M General.Activities.Activities.md (datetime nullable, ReadOnly, Filter(ge;le)).
    pub const VOID_TIME: &str = "VoidTime";
    /// M General.Activities.Activities.md (enum SystemType, Required).
    pub const SYSTEM_TYPE: &str = "SystemType";
    /// M General.Activities.Activities.md (System Attributes: string, Filter(multi eq), since
    /// 24.1.0.89); max 254 per M entities/Systems.Internal.ExtensibleDataObjects.md.
    pub const EXTERNAL_ID: &str = "ExternalId";
    /// M General.Activities.Activities.md (System Attributes: string, Filter(multi eq), since
    /// 24.1.0.89); max 64 per M entities/Systems.Internal.ExtensibleDataObjects.md.
    pub const EXTERNAL_SYSTEM: &str = "ExternalSystem";
    /// M General.Activities.Activities.md (reference to Users, nullable, Filter(multi eq)).
    pub const ASSIGNED_TO_USER: &str = "AssignedToUser";
    /// M General.Activities.Activities.md: "The login name of the user, who created the
    /// document", string(64), Required, Filter(like), ReadOnly. A login, not a reference.
    pub const CREATION_USER: &str = "CreationUser";
    /// M General.Activities.Activities.md: "The entity name of the document header",
    /// string(64), Required, Filter(eq), ReadOnly.
    pub const ENTITY_NAME: &str = "EntityName";
    /// M General.Activities.Activities.md (reference to Systems.Documents.DocumentTypes, Required).
    pub const DOCUMENT_TYPE: &str = "DocumentType";
    /// M General.Activities.Activities.md (reference to EnterpriseCompanies, Required).
    pub const ENTERPRISE_COMPANY: &str = "EnterpriseCompany";
    /// M General.Activities.Activities.md (reference to CompanyLocations).
    pub const ENTERPRISE_COMPANY_LOCATION: &str = "EnterpriseCompanyLocation";
    /// M General.Activities.Activities.md (reference to Parties, Required).
    pub const FROM_PARTY: &str = "FromParty";
    /// M General.Activities.Activities.md (Child Collections: Participants).
    pub const PARTICIPANTS: &str = "Participants";
    /// M General.Activities.Activities.md (Child Collections: Reminders).
    pub const REMINDERS: &str = "Reminders";
}

/// M entities/General.Activities.ActivityParticipants.md.
pub mod participant {
    /// M General.Activities.ActivityParticipants.md (System Attributes).
    pub const ID: &str = "Id";
    /// M General.Activities.ActivityParticipants.md (string(254) nullable, Filter(multi eq;like),
    /// since 24.1.4.87).
    pub const EMAIL: &str = "Email";
    /// M General.Activities.ActivityParticipants.md (string(255) nullable).
    pub const NOTES: &str = "Notes";
    /// M General.Activities.ActivityParticipants.md (reference to Activities, Required, Owner).
    pub const ACTIVITY: &str = "Activity";
}

/// M entities/General.Activities.Reminders.md.
pub mod reminder {
    /// M General.Activities.Reminders.md (System Attributes).
    pub const ID: &str = "Id";
    /// M General.Activities.Reminders.md (datetime, Required, Filter(ge;le)).
    pub const REMINDER_TIME: &str = "ReminderTime";
    /// M General.Activities.Reminders.md (boolean, Required, Default(false), Filter(eq)).
    pub const IS_DEFAULT: &str = "IsDefault";
    /// M General.Activities.Reminders.md (boolean, Required, Default(false), Filter(eq)).
    pub const IS_DISMISSED: &str = "IsDismissed";
}

/// M entities/Systems.Security.Users.md.
pub mod user {
    /// M Systems.Security.Users.md (System Attributes).
    pub const ID: &str = "Id";
    /// M Systems.Security.Users.md (string(254), Filter(multi eq;like)).
    pub const EMAIL: &str = "Email";
    /// M Systems.Security.Users.md (string(64)): what `CreationUser` of a document holds.
    pub const LOGIN: &str = "Login";
    /// M Systems.Security.Users.md (boolean).
    pub const IS_ADMIN: &str = "IsAdmin";
    /// M Systems.Security.Users.md (boolean).
    pub const ACTIVE: &str = "Active";
    /// M Systems.Security.Users.md (string(64), introduced in 27.1.1.11).
    pub const TIME_ZONE: &str = "TimeZone";
}

/// M entities/Systems.Documents.DocumentTypes.md.
pub mod document_type {
    /// M Systems.Documents.DocumentTypes.md (System Attributes).
    pub const ID: &str = "Id";
    /// M Systems.Documents.DocumentTypes.md (string(16), Required, Filter(eq;like)).
    pub const CODE: &str = "Code";
    /// M Systems.Documents.DocumentTypes.md ("System entity, which contains the documents",
    /// string(64), Required, Filter(multi eq)).
    pub const ENTITY_NAME: &str = "EntityName";
    /// M Systems.Documents.DocumentTypes.md ("Name Member: TypeName"; MultilanguageString(254),
    /// Required, Filter(like)).
    pub const TYPE_NAME: &str = "TypeName";
}

/// M entities/General.EnterpriseCompanies.md.
pub mod enterprise_company {
    /// M General.EnterpriseCompanies.md (System Attributes).
    pub const ID: &str = "Id";
    /// M General.EnterpriseCompanies.md (boolean, Filter(multi eq), since 20.1).
    pub const IS_ACTIVE: &str = "IsActive";
    /// M General.EnterpriseCompanies.md (reference to General.Contacts.Companies).
    pub const COMPANY: &str = "Company";
}

/// M entities/General.Contacts.Companies.md.
pub mod company {
    /// M General.Contacts.Companies.md (System Attributes).
    pub const ID: &str = "Id";
    /// M General.Contacts.Companies.md (MultilanguageString(254), nullable).
    pub const NAME: &str = "Name";
}

/// M entities/General.Contacts.CompanyLocations.md.
pub mod location {
    /// M General.Contacts.CompanyLocations.md (System Attributes).
    pub const ID: &str = "Id";
    /// M General.Contacts.CompanyLocations.md (reference to Companies, Equals/EqualsIn).
    pub const COMPANY: &str = "Company";
    /// M General.Contacts.CompanyLocations.md (boolean, Filter(eq)).
    pub const IS_ACTIVE: &str = "IsActive";
    /// M General.Contacts.CompanyLocations.md (MultilanguageString(254), Required).
    pub const LOCATION_NAME: &str = "LocationName";
}

// --- values ----------------------------------------------------------------------------------

/// M General.Activities.Activities.md, State: the Domain API values of General.Documents.
/// DocumentState, in ERP.net's order (0, 5, 10, 20, 30, 40, 50).
pub const DOCUMENT_STATES: &[&str] = &[
    "New",
    "Adjustment",
    "Planned",
    "FirmPlanned",
    "Released",
    "Completed",
    "Closed",
];
/// M General.Activities.Activities.md, Priority: Domain API values (stored 1..5).
pub const PRIORITIES: &[&str] = &["Lowest", "Low", "Medium", "High", "Highest"];
/// M General.Activities.Activities.md, SystemType: Domain API values ('C', 'M', 'T').
pub const SYSTEM_TYPES: &[&str] = &["Communication", "Meeting", "Task"];
/// M General.Activities.Activities.md, MakeVoid `voidType` values (default VoidDocument).
pub const VOID_TYPES: &[&str] = &[
    "VoidDocument",
    "VoidWithSubDocuments",
    "VoidWithReleasedSubDocuments",
];
/// M General.Activities.Activities.md, MakeVoid: `voidType` VoidDocument.
pub const VOID_DOCUMENT: &str = "VoidDocument";
/// T modules/applications/mssync/sync-jobs/calendar.md: "document type with the code
/// *Meeting*"; fits DocumentTypes.Code string(16).
pub const MEETING_CODE: &str = "Meeting";
/// `DocumentTypes.EntityName` of activities when no activity exists to read it from.
/// ASSUMPTION (docs/wire/erpnet.md): M General.Activities.Activities.md gives "Entity:
/// Cm_Activities" (the base table), and the official samples filter document types by base
/// table (D domain-api/samples/.../Samples.cs: `EntityName == "Crm_Sales_Orders"`).
pub const ACTIVITY_ENTITY_NAME_FALLBACK: &str = "Cm_Activities";

// --- bound actions and their parameters ------------------------------------------------------

/// M General.Activities.Activities.md (API Methods: MakeVoid, POST); D
/// domain-api/common-tasks/working-with-documents.md.
pub const MAKE_VOID: &str = "MakeVoid";
/// M General.Activities.Activities.md (MakeVoid parameter `reason`, string).
pub const MAKE_VOID_REASON: &str = "reason";
/// M General.Activities.Activities.md (MakeVoid parameter `voidType`, optional).
pub const MAKE_VOID_VOID_TYPE: &str = "voidType";
/// M General.Activities.Activities.md (API Methods: ChangeState, POST).
pub const CHANGE_STATE: &str = "ChangeState";
/// M General.Activities.Activities.md (ChangeState parameter `newState`).
pub const CHANGE_STATE_NEW_STATE: &str = "newState";

// --- annotations -----------------------------------------------------------------------------

/// D domain-api/data-manipulation/erpnet-action.md.
pub const ERPNET_ACTION: &str = "@erpnet.action";
/// D domain-api/data-manipulation/erpnet-action.md (allowed values: findOrCreate).
pub const FIND_OR_CREATE: &str = "findOrCreate";
/// D domain-api/data-manipulation/erpnet-action.md: an OBJECT with ExternalId (+ optional
/// ExternalSystem), Id, Code, Name or DisplayText.
pub const ERPNET_FIND_BY: &str = "@erpnet.findBy";
/// D domain-api/data-manipulation/erpnet-action.md (`@erpnet.findBy` properties).
pub const FIND_BY_KEYS: &[&str] = &[
    "ExternalId",
    "ExternalSystem",
    "Id",
    "Code",
    "Name",
    "DisplayText",
];
/// D domain-api/data-manipulation/create.md, working-with-documents.md (`{"@odata.id": "Set(<id>)"}`).
pub const ODATA_ID: &str = "@odata.id";
/// D domain-api/querying-data/paging.md.
pub const ODATA_NEXT_LINK: &str = "@odata.nextLink";
/// D domain-api/querying-data/paging.md (the page's array).
pub const VALUE: &str = "value";

// --- query options, filter operators and functions -------------------------------------------

/// D domain-api/querying-data/query-options/filter.md.
pub const FILTER: &str = "$filter";
/// D domain-api/querying-data/query-options/select.md.
pub const SELECT: &str = "$select";
/// D domain-api/querying-data/query-options (expand), D domain-api/data-sync/incremental-pull.md.
pub const EXPAND: &str = "$expand";
/// D domain-api/querying-data/paging.md ("use $top=1000 and do not use a value greater").
pub const TOP: &str = "$top";
/// D filter.md "Supported operators": eq, ge, le, and, in (no `or`).
pub const OPERATORS: &[&str] = &["eq", "ge", "le", "and", "in"];
/// D filter.md "Supported non-standard $filter functions": `equalnull(any-type,any-type)`,
/// true when the first argument equals the second or is null. Written with `null` as the
/// second argument it matches null only (ASSUMPTION, docs/wire/erpnet.md).
pub const EQUAL_NULL: &str = "equalnull";
/// D filter.md "Supported standard functions": `startswith(Edm.String, Edm.String)`; used for
/// attributes whose model page says Filter(like) (ASSUMPTION: like = these functions).
pub const STARTS_WITH: &str = "startswith";
/// D filter.md "Supported standard functions".
pub const CONTAINS: &str = "contains";
/// D filter.md "Supported standard functions".
pub const ENDS_WITH: &str = "endswith";

// --- context parameters and headers ---------------------------------------------------------

/// D domain-api/common-tasks/context-parameters.md.
pub const CURRENT_ENTERPRISE_COMPANY_ID: &str = "CurrentEnterpriseCompanyId";
/// D domain-api/common-tasks/context-parameters.md.
pub const CURRENT_ENTERPRISE_COMPANY_LOCATION_ID: &str = "CurrentEnterpriseCompanyLocationId";
/// D auth/flows/client-credentials/service-apps-token.md (`Authorization: Bearer <token>`).
pub const AUTHORIZATION: &str = "Authorization";
/// Standard HTTP; the Domain API answers JSON (D domain-api pages).
pub const ACCEPT: &str = "Accept";
/// Standard HTTP; the token request is a form (D service-apps-token.md), API bodies JSON.
pub const CONTENT_TYPE: &str = "Content-Type";
/// OData 4 protocol header (ASSUMPTION: the Domain API is "OData 4", D README.md; no page
/// names the header).
pub const ODATA_VERSION: &str = "OData-Version";

// --- $batch (D domain-api/data-manipulation/batch.md) ---------------------------------------

/// D batch.md: `POST /api/domain/odata/$batch`.
pub const BATCH: &str = "$batch";
/// D batch.md: the batch, a changeset and both answers are `multipart/mixed; boundary=...`.
pub const MULTIPART_MIXED: &str = "multipart/mixed";
/// D batch.md: each request or answer is a part of type `application/http`.
pub const APPLICATION_HTTP: &str = "application/http";
/// D batch.md: every part carries `Content-Transfer-Encoding: binary`.
pub const CONTENT_TRANSFER_ENCODING: &str = "Content-Transfer-Encoding";
/// D batch.md (the value of [`CONTENT_TRANSFER_ENCODING`]).
pub const BINARY: &str = "binary";
/// D batch.md: `Content-ID: N` names a request of a changeset (and its answer).
pub const CONTENT_ID: &str = "Content-ID";
/// D batch.md: the request line of a part, `GET <relative url> HTTP/1.1`.
pub const HTTP_1_1: &str = "HTTP/1.1";
/// The most top-level parts (reads and changesets) MsSync puts in one `$batch`. ASSUMPTION
/// (docs/wire/erpnet.md): no ERP.net page gives a limit; 100 is the default `MaxPartsPerBatch`
/// of the Microsoft OData stack the Domain API runs on ("OData 4").
pub const BATCH_MAX_PARTS: usize = 100;

// --- identity server ------------------------------------------------------------------------

/// D auth/flows/client-credentials/service-apps-token.md ("Token endpoint: POST /connect/token"
/// under `https://{instance}/id`).
pub const TOKEN_PATH: &str = "/connect/token";
/// D auth/concepts/scopes.md (`read`, `update`).
pub const SCOPE: &str = "read update";
/// D service-apps-token.md (request parameter `grant_type`).
pub const GRANT_TYPE: &str = "grant_type";
/// D service-apps-token.md (`grant_type=client_credentials`).
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// D service-apps-token.md (request parameter; the Trusted Application's ApplicationUri).
pub const CLIENT_ID: &str = "client_id";
/// D service-apps-token.md (request parameter).
pub const CLIENT_SECRET: &str = "client_secret";
/// D service-apps-token.md (request parameter `scope`).
pub const SCOPE_PARAM: &str = "scope";
/// D service-apps-token.md (response `access_token`; read by the token response's serde field).
pub const ACCESS_TOKEN: &str = "access_token";
/// D service-apps-token.md (response `"expires_in": 3600`; read by a serde field).
pub const EXPIRES_IN: &str = "expires_in";
/// D auth/flows/client-credentials/service-apps-errors.md (OAuth `error`; read by a serde field).
pub const OAUTH_ERROR: &str = "error";
/// Standard media types: JSON bodies (D domain-api pages) and the token request's form
/// (D service-apps-token.md).
pub const JSON: &str = "application/json";
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The `OData-Version` value (ASSUMPTION with [`ODATA_VERSION`]).
pub const ODATA_VERSION_4: &str = "4.0";
/// The language key of multi-language strings (`{"EN": "..."}`), as D
/// data-manipulation/erpnet-action.md and error-handling.md write them.
pub const LANGUAGE_EN: &str = "EN";

// --- error bodies ---------------------------------------------------------------------------

/// D domain-api/data-manipulation/error-handling.md: errors are HTTP 500 with `message`,
/// `code`, `type`, `info`, `messageFormat`, `parameters`.
pub const ERROR_FIELDS: &[&str] = &[
    "message",
    "code",
    "type",
    "info",
    "messageFormat",
    "parameters",
];
/// D domain-api/common-tasks/handling-renames.md: the message a renamed entity set answers with
/// ("The provided entity set name '<old>' is no more supported. The new name of this entity is
/// '<new>'."). Its HTTP status is not documented.
pub const RENAMED_MESSAGE: &str = "is no more supported";
/// D error-handling.md: the error body's user-readable `message` (read only to classify).
pub const ERROR_MESSAGE: &str = "message";
/// OData's error envelope `{"error": {...}}` (as D's `$batch` page shows failed parts).
pub const ERROR_ENVELOPE: &str = "error";
/// The OData routing message for an unknown resource segment ("Resource not found for the
/// segment '<name>'.", HTTP 404). ASSUMPTION (docs/wire/erpnet.md): no ERP.net page quotes it;
/// it is the message of the Microsoft OData stack the Domain API runs on ("OData 4").
pub const UNKNOWN_SEGMENT_MESSAGE: &str = "Resource not found for the segment";

// --- the table the simulator is built from ---------------------------------------------------

/// A `$filter` form a property supports, per its model page (`Filter(...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `eq` (`Filter(eq)`, `Equals`).
    Eq,
    /// `in` (`Filter(multi eq)`, `EqualsIn`).
    In,
    Ge,
    Le,
    /// `Filter(like)`: `contains`, `startswith`, `endswith` (D filter.md, ASSUMPTION on the form).
    Like,
}

/// `eq` + `in`: `Filter(multi eq)`.
const MULTI_EQ: &[FilterOp] = &[FilterOp::Eq, FilterOp::In];
const EQ: &[FilterOp] = &[FilterOp::Eq];
const RANGE: &[FilterOp] = &[FilterOp::Ge, FilterOp::Le];
const LIKE: &[FilterOp] = &[FilterOp::Like];
const EQ_LIKE: &[FilterOp] = &[FilterOp::Eq, FilterOp::Like];
const MULTI_EQ_LIKE: &[FilterOp] = &[FilterOp::Eq, FilterOp::In, FilterOp::Like];
const MULTI_EQ_RANGE: &[FilterOp] = &[FilterOp::Eq, FilterOp::In, FilterOp::Ge, FilterOp::Le];
const NONE: &[FilterOp] = &[];

/// What a property is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value (string, number, date-time, enum, multi-language string).
    Value,
    /// A reference to an object of this entity set (`{"@odata.id": "Set(<id>)"}`).
    Reference(&'static str),
    /// A child collection whose items are objects of this entity set.
    Collection(&'static str),
}

/// One documented property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub filters: &'static [FilterOp],
    /// Not `ReadOnly` on its model page: a create or PATCH body may carry it.
    pub writable: bool,
}

const fn value(name: &'static str, filters: &'static [FilterOp], writable: bool) -> Property {
    Property {
        name,
        kind: Kind::Value,
        filters,
        writable,
    }
}

const fn reference(
    name: &'static str,
    target: &'static str,
    filters: &'static [FilterOp],
    writable: bool,
) -> Property {
    Property {
        name,
        kind: Kind::Reference(target),
        filters,
        writable,
    }
}

const fn collection(name: &'static str, target: &'static str) -> Property {
    Property {
        name,
        kind: Kind::Collection(target),
        filters: NONE,
        writable: true,
    }
}

/// One documented entity set with the properties MsSync uses of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntitySet {
    pub name: &'static str,
    /// The ERP.net version that introduced this name ("" when the pages give none: older).
    pub introduced: &'static str,
    /// The model page.
    pub source: &'static str,
    pub properties: &'static [Property],
}

impl EntitySet {
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// Every entity set the connector uses, with the properties it sends or reads (and the
/// documented read-only ones the simulator shows). The ERP.net simulator serves these and
/// nothing else.
pub const ENTITY_SETS: &[EntitySet] = &[
    EntitySet {
        name: ACTIVITIES,
        introduced: "24.1.5.35",
        source: "M entities/General.Activities.Activities.md",
        properties: &[
            value(activity::ID, MULTI_EQ, false),
            value(activity::OBJECT_VERSION, NONE, false),
            value(activity::AGGREGATE_LAST_UPDATE_TIME_UTC, RANGE, false),
            value(activity::SUBJECT, EQ_LIKE, true),
            value(activity::START_TIME, RANGE, true),
            value(activity::END_TIME, RANGE, true),
            value(activity::NOTES, NONE, true),
            value(activity::PRIORITY, NONE, true),
            value(activity::PRIVATE, NONE, true),
            value(activity::REMINDER_TIME, RANGE, true),
            value(activity::STATE, MULTI_EQ_RANGE, false),
            value(activity::VOID, EQ, false),
            value(activity::VOID_REASON, NONE, false),
            value(activity::VOID_TIME, RANGE, false),
            value(activity::SYSTEM_TYPE, NONE, true),
            value(activity::EXTERNAL_ID, MULTI_EQ, true),
            value(activity::EXTERNAL_SYSTEM, MULTI_EQ, true),
            value(activity::CREATION_USER, LIKE, false),
            value(activity::ENTITY_NAME, EQ, false),
            reference(activity::ASSIGNED_TO_USER, USERS, MULTI_EQ, true),
            reference(activity::DOCUMENT_TYPE, DOCUMENT_TYPES, MULTI_EQ, true),
            reference(
                activity::ENTERPRISE_COMPANY,
                ENTERPRISE_COMPANIES,
                MULTI_EQ,
                true,
            ),
            reference(
                activity::ENTERPRISE_COMPANY_LOCATION,
                COMPANY_LOCATIONS,
                MULTI_EQ,
                true,
            ),
            reference(activity::FROM_PARTY, PARTIES, MULTI_EQ, true),
            collection(activity::PARTICIPANTS, PARTICIPANTS),
            collection(activity::REMINDERS, REMINDERS),
        ],
    },
    EntitySet {
        name: PARTICIPANTS,
        introduced: "24.1.5.35",
        source: "M entities/General.Activities.ActivityParticipants.md",
        properties: &[
            value(participant::ID, MULTI_EQ, false),
            value(participant::EMAIL, MULTI_EQ_LIKE, true),
            value(participant::NOTES, NONE, true),
            reference(participant::ACTIVITY, ACTIVITIES, MULTI_EQ, true),
        ],
    },
    EntitySet {
        name: REMINDERS,
        introduced: "24.1.5.35",
        source: "M entities/General.Activities.Reminders.md",
        properties: &[
            value(reminder::ID, MULTI_EQ, false),
            value(reminder::REMINDER_TIME, RANGE, true),
            value(reminder::IS_DEFAULT, EQ, true),
            value(reminder::IS_DISMISSED, EQ, true),
        ],
    },
    EntitySet {
        name: USERS,
        introduced: "",
        source: "M entities/Systems.Security.Users.md",
        properties: &[
            value(user::ID, MULTI_EQ, false),
            value(user::EMAIL, MULTI_EQ_LIKE, true),
            value(user::LOGIN, NONE, true),
            value(user::IS_ADMIN, NONE, true),
            value(user::ACTIVE, NONE, true),
            value(user::TIME_ZONE, NONE, true),
        ],
    },
    EntitySet {
        name: DOCUMENT_TYPES,
        introduced: "24.1.5.35",
        source: "M entities/Systems.Documents.DocumentTypes.md",
        properties: &[
            value(document_type::ID, MULTI_EQ, false),
            value(document_type::CODE, EQ_LIKE, true),
            value(document_type::ENTITY_NAME, MULTI_EQ, true),
            value(document_type::TYPE_NAME, LIKE, true),
        ],
    },
    EntitySet {
        name: ENTERPRISE_COMPANIES,
        introduced: "",
        source: "M entities/General.EnterpriseCompanies.md",
        properties: &[
            value(enterprise_company::ID, MULTI_EQ, false),
            value(enterprise_company::IS_ACTIVE, MULTI_EQ, true),
            reference(enterprise_company::COMPANY, COMPANIES, MULTI_EQ, true),
        ],
    },
    EntitySet {
        name: COMPANIES,
        introduced: "",
        source: "M entities/General.Contacts.Companies.md",
        properties: &[
            value(company::ID, MULTI_EQ, false),
            value(company::NAME, LIKE, true),
        ],
    },
    EntitySet {
        name: COMPANY_LOCATIONS,
        introduced: "",
        source: "M entities/General.Contacts.CompanyLocations.md",
        properties: &[
            value(location::ID, MULTI_EQ, false),
            reference(location::COMPANY, COMPANIES, MULTI_EQ, true),
            value(location::IS_ACTIVE, EQ, true),
            value(location::LOCATION_NAME, LIKE, true),
        ],
    },
    EntitySet {
        name: PARTIES,
        introduced: "",
        source: "M entities/General.Contacts.Parties.md",
        properties: &[value("Id", MULTI_EQ, false)],
    },
];

/// M entities/General.Activities.Reminders.md (API section; renamed in 24.1.5.35). Read only as
/// the `Reminders` child collection.
pub const REMINDERS: &str = "General_Activities_Reminders";

/// The documented entity set of this name, if any (the Calendar's or the Mail job's).
pub fn entity_set(name: &str) -> Option<&'static EntitySet> {
    ENTITY_SETS
        .iter()
        .chain(mail::ENTITY_SETS)
        .find(|s| s.name == name)
}

/// Names MsSync relies on that a given ERP.net version introduced: what a "does not know"
/// answer is explained with. Entity sets come from [`ENTITY_SETS`]; these are the properties.
pub const INTRODUCED: &[(&str, &str)] = &[
    (DOCUMENT_TYPES, "24.1.5.35"),
    (ACTIVITIES, "24.1.5.35"),
    (PARTICIPANTS, "24.1.5.35"),
    (REMINDERS, "24.1.5.35"),
    (activity::EXTERNAL_ID, "24.1.0.89"),
    (activity::EXTERNAL_SYSTEM, "24.1.0.89"),
    (participant::EMAIL, "24.1.4.87"),
    (user::TIME_ZONE, "27.1.1.11"),
];

/// The version that introduced `name`, if MsSync knows it.
pub fn introduced_in(name: &str) -> Option<&'static str> {
    INTRODUCED.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_enums_serialize_to_the_documented_values() {
        use crate::erp::{ActivityState, Priority, SystemType};
        let names = |values: Vec<serde_json::Value>| -> Vec<String> {
            values
                .into_iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let states = [
            ActivityState::New,
            ActivityState::Adjustment,
            ActivityState::Planned,
            ActivityState::FirmPlanned,
            ActivityState::Released,
            ActivityState::Completed,
            ActivityState::Closed,
        ];
        assert_eq!(
            names(states.iter().map(|s| serde_json::json!(s)).collect()),
            DOCUMENT_STATES
        );
        for s in states {
            assert_eq!(serde_json::json!(s), s.name());
        }
        let priorities = [
            Priority::Lowest,
            Priority::Low,
            Priority::Medium,
            Priority::High,
            Priority::Highest,
        ];
        assert_eq!(
            names(priorities.iter().map(|s| serde_json::json!(s)).collect()),
            PRIORITIES
        );
        let types = [
            SystemType::Communication,
            SystemType::Meeting,
            SystemType::Task,
        ];
        assert_eq!(
            names(types.iter().map(|s| serde_json::json!(s)).collect()),
            SYSTEM_TYPES
        );
    }

    #[test]
    fn every_reference_points_at_a_set_of_the_table() {
        for set in ENTITY_SETS.iter().chain(mail::ENTITY_SETS) {
            for p in set.properties {
                if let Kind::Reference(target) | Kind::Collection(target) = p.kind {
                    assert!(entity_set(target).is_some(), "{}.{}", set.name, p.name);
                }
            }
        }
        assert_eq!(introduced_in(DOCUMENT_TYPES), Some("24.1.5.35"));
        assert_eq!(entity_set("General_DocumentTypes"), None);
    }
}
