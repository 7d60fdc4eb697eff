//! Reference data Setup and "Give permissions" need: enterprise companies, their locations, users
//! by e-mail, and the `Meeting` document type for activities.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::activities::read_ref;
use super::client::{ErpClient, Query, Repeatable};
use super::error::ErpError;
use super::filter::{EntityRef, Filter, Guid};
use super::wire::{
    self, ACTIVITIES, COMPANIES, COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, USERS,
    activity, company, document_type as dt, enterprise_company as ec, location, user,
};
use crate::host::Method;

/// The document type code activities created from Outlook use (T mssync calendar.md).
pub use super::wire::MEETING_CODE;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseCompany {
    pub id: Guid,
    /// The company (`General_Contacts_Companies`) behind it; its locations hang off this.
    pub company: Option<Guid>,
    pub name: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyLocation {
    pub id: Guid,
    pub name: String,
    pub company: Option<Guid>,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpUser {
    pub id: Guid,
    pub email: String,
    pub login: Option<String>,
    pub is_admin: bool,
    pub active: bool,
    /// Since ERP.net 27.1.
    pub time_zone: Option<String>,
}

/// What MsSync reads of a user.
const USER_ATTRIBUTES: [&str; 6] = [
    user::ID,
    user::EMAIL,
    user::LOGIN,
    user::IS_ADMIN,
    user::ACTIVE,
    user::TIME_ZONE,
];

fn read_user(v: &Value) -> Result<ErpUser, ErpError> {
    Ok(ErpUser {
        id: id_of(v, "user")?,
        email: text_of(v.get(user::EMAIL)),
        login: v
            .get(user::LOGIN)
            .and_then(Value::as_str)
            .map(str::to_owned),
        is_admin: flag(v, user::IS_ADMIN),
        active: flag(v, user::ACTIVE),
        time_zone: v
            .get(user::TIME_ZONE)
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentType {
    pub id: Guid,
    pub code: String,
    pub entity_name: String,
}

/// What `ensure_meeting_document_type` found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    Existed(DocumentType),
    Created(DocumentType),
}

impl Ensured {
    pub fn document_type(&self) -> &DocumentType {
        match self {
            Ensured::Existed(d) | Ensured::Created(d) => d,
        }
    }
}

/// Multi-language strings arrive as `{"EN": "...", "BG": "..."}`; plain strings as themselves.
fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .values()
            .find_map(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

fn id_of(value: &Value, what: &str) -> Result<Guid, ErpError> {
    value
        .get(wire::activity::ID)
        .and_then(Value::as_str)
        .and_then(Guid::parse)
        .ok_or_else(|| ErpError::Malformed(format!("{what} Id")))
}

fn flag(value: &Value, name: &str) -> bool {
    value.get(name).and_then(Value::as_bool).unwrap_or(false)
}

impl ErpClient {
    /// Active enterprise companies.
    pub async fn enterprise_companies(&self) -> Result<Vec<EnterpriseCompany>, ErpError> {
        const EXPAND_COMPANY: &str = "Company($select=Id,Name)";
        debug_assert_eq!(
            EXPAND_COMPANY,
            format!("{}($select={},{})", ec::COMPANY, company::ID, company::NAME)
        );
        let query = Query {
            filter: Filter::new().eq(ec::IS_ACTIVE, true),
            select: vec![ec::ID, ec::IS_ACTIVE, ec::COMPANY],
            expand: vec![EXPAND_COMPANY],
        };
        self.get_all(ENTERPRISE_COMPANIES, &query)
            .await?
            .iter()
            .map(|v| {
                Ok(EnterpriseCompany {
                    id: id_of(v, "enterprise company")?,
                    company: read_ref(v.get(ec::COMPANY)),
                    name: text_of(v.get(ec::COMPANY).and_then(|c| c.get(company::NAME))),
                    is_active: flag(v, ec::IS_ACTIVE),
                })
            })
            .collect()
    }

    /// Active locations of a company (the `company` of an [`EnterpriseCompany`]).
    pub async fn company_locations(
        &self,
        company: &Guid,
    ) -> Result<Vec<CompanyLocation>, ErpError> {
        let query = Query {
            filter: Filter::new()
                .eq(
                    location::COMPANY,
                    EntityRef::new(COMPANIES, company.clone()),
                )
                .eq(location::IS_ACTIVE, true),
            select: vec![
                location::ID,
                location::LOCATION_NAME,
                location::COMPANY,
                location::IS_ACTIVE,
            ],
            expand: vec![],
        };
        self.get_all(COMPANY_LOCATIONS, &query)
            .await?
            .iter()
            .map(|v| {
                Ok(CompanyLocation {
                    id: id_of(v, "location")?,
                    name: text_of(v.get(location::LOCATION_NAME)),
                    company: read_ref(v.get(location::COMPANY)),
                    is_active: flag(v, location::IS_ACTIVE),
                })
            })
            .collect()
    }

    /// The ERP.net user with this e-mail (unique in ERP.net), active or not: the caller decides
    /// what an inactive user means.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<ErpUser>, ErpError> {
        let query = Query {
            filter: Filter::new().eq(user::EMAIL, email.trim()),
            select: USER_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        let found = self.get_all(USERS, &query).await?;
        found.first().map(read_user).transpose()
    }

    /// The ERP.net user with this id as it is now (rights and state are re-read, never trusted
    /// from sign-in for long); `None` if it no longer exists.
    pub async fn user_by_id(&self, id: &Guid) -> Result<Option<ErpUser>, ErpError> {
        let query = Query {
            filter: Filter::new(),
            select: USER_ATTRIBUTES.to_vec(),
            expand: vec![],
        };
        match self.get_one(USERS, id, &query).await {
            Ok(value) => read_user(&value).map(Some),
            Err(ErpError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The `Login` of a user (what `CreationUser` of the documents it creates holds).
    pub async fn user_login(&self, id: &Guid) -> Result<Option<String>, ErpError> {
        let query = Query {
            filter: Filter::new(),
            select: vec![user::LOGIN],
            expand: vec![],
        };
        let value = self.get_one(USERS, id, &query).await?;
        Ok(value
            .get(user::LOGIN)
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// `EntityName` of activities as this instance writes it, read from any activity
    /// (`General_Activities_Activities?$top=1&$select=EntityName`); with no activity at all,
    /// the base table `Cm_Activities` (an assumption: see [`wire::ACTIVITY_ENTITY_NAME_FALLBACK`]).
    pub async fn activity_entity_name(&self) -> Result<String, ErpError> {
        let url = self.url(
            ACTIVITIES,
            &[
                (wire::TOP, "1".to_owned()),
                (wire::SELECT, activity::ENTITY_NAME.to_owned()),
            ],
        );
        let response = self
            .send_ok(Method::Get, url, None, &[], Repeatable::Yes)
            .await?;
        let page: Value = serde_json::from_slice(&response.body)
            .map_err(|_| ErpError::Malformed("a page of results".into()))?;
        let name = page
            .get(wire::VALUE)
            .and_then(Value::as_array)
            .and_then(|v| v.first())
            .and_then(|a| a.get(activity::ENTITY_NAME))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty());
        Ok(name
            .unwrap_or(wire::ACTIVITY_ENTITY_NAME_FALLBACK)
            .to_owned())
    }

    /// The `Meeting` document type of activities, if the instance has one.
    pub async fn meeting_document_type(&self) -> Result<Option<DocumentType>, ErpError> {
        let entity_name = self.activity_entity_name().await?;
        self.meeting_document_type_of(&entity_name).await
    }

    async fn meeting_document_type_of(
        &self,
        entity_name: &str,
    ) -> Result<Option<DocumentType>, ErpError> {
        let query = Query {
            filter: Filter::new()
                .eq(dt::CODE, MEETING_CODE)
                .eq(dt::ENTITY_NAME, entity_name),
            select: vec![dt::ID, dt::CODE, dt::ENTITY_NAME],
            expand: vec![],
        };
        let found = self.get_all(DOCUMENT_TYPES, &query).await?;
        found.first().map(read_document_type).transpose()
    }

    /// Finds the `Meeting` document type, creating it where the credentials allow ("Give
    /// permissions"). Not allowed is [`ErpError::Forbidden`].
    pub async fn ensure_meeting_document_type(&self) -> Result<Ensured, ErpError> {
        let entity_name = self.activity_entity_name().await?;
        if let Some(existing) = self.meeting_document_type_of(&entity_name).await? {
            return Ok(Ensured::Existed(existing));
        }
        // M Systems.Documents.DocumentTypes.md: Code, EntityName and TypeName (multi-language)
        // are required without defaults.
        let body = json!({
            dt::CODE: MEETING_CODE,
            dt::ENTITY_NAME: entity_name,
            dt::TYPE_NAME: {wire::LANGUAGE_EN: MEETING_CODE},
        });
        let response = self
            .send(
                Method::Post,
                self.url(DOCUMENT_TYPES, &[]),
                Some(&body),
                &[],
                Repeatable::No,
            )
            .await?;
        if !response.is_success() {
            return Err(match ErpError::from_response(&response) {
                // ERP.net reports missing rights as a 500 of type SecurityException [INFERRED].
                ErpError::Remote {
                    kind: Some(kind), ..
                } if kind.contains("Security") => ErpError::Forbidden,
                other => other,
            });
        }
        let value: Value = serde_json::from_slice(&response.body)
            .map_err(|_| ErpError::Malformed("created document type".into()))?;
        Ok(Ensured::Created(read_document_type(&value)?))
    }
}

fn read_document_type(value: &Value) -> Result<DocumentType, ErpError> {
    Ok(DocumentType {
        id: id_of(value, "document type")?,
        code: text_of(value.get(dt::CODE)),
        entity_name: text_of(value.get(dt::ENTITY_NAME)),
    })
}
