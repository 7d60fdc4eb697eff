//! Reference data Setup and "Give permissions" need: enterprise companies, their locations, users
//! by e-mail, and the `Meeting` document type for activities.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::activities::{COMPANY_LOCATIONS, DOCUMENT_TYPES, ENTERPRISE_COMPANIES, USERS, read_ref};
use super::client::{ErpClient, Query, Repeatable};
use super::error::ErpError;
use super::filter::{EntityRef, Filter, Guid};
use crate::host::Method;

/// The entity name document types of activities carry.
pub const ACTIVITY_ENTITY_NAME: &str = "General.Activities.Activities";
/// The document type code activities created from Outlook use.
pub const MEETING_CODE: &str = "Meeting";

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
        .get("Id")
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
        let query = Query {
            filter: Filter::new().eq("IsActive", true),
            select: vec!["Id", "IsActive", "Company"],
            expand: vec!["Company($select=Id,Name)"],
        };
        self.get_all(ENTERPRISE_COMPANIES, &query)
            .await?
            .iter()
            .map(|v| {
                Ok(EnterpriseCompany {
                    id: id_of(v, "enterprise company")?,
                    company: read_ref(v.get("Company")),
                    name: text_of(v.get("Company").and_then(|c| c.get("Name"))),
                    is_active: flag(v, "IsActive"),
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
                    "Company",
                    EntityRef::new("General_Contacts_Companies", company.clone()),
                )
                .eq("IsActive", true),
            select: vec!["Id", "LocationName", "Company", "IsActive"],
            expand: vec![],
        };
        self.get_all(COMPANY_LOCATIONS, &query)
            .await?
            .iter()
            .map(|v| {
                Ok(CompanyLocation {
                    id: id_of(v, "location")?,
                    name: text_of(v.get("LocationName")),
                    company: read_ref(v.get("Company")),
                    is_active: flag(v, "IsActive"),
                })
            })
            .collect()
    }

    /// The ERP.net user with this e-mail (unique in ERP.net), active or not: the caller decides
    /// what an inactive user means.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<ErpUser>, ErpError> {
        let query = Query {
            filter: Filter::new().eq("Email", email.trim()),
            select: vec!["Id", "Email", "Login", "IsAdmin", "Active", "TimeZone"],
            expand: vec![],
        };
        let found = self.get_all(USERS, &query).await?;
        found
            .first()
            .map(|v| {
                Ok(ErpUser {
                    id: id_of(v, "user")?,
                    email: text_of(v.get("Email")),
                    login: v.get("Login").and_then(Value::as_str).map(str::to_owned),
                    is_admin: flag(v, "IsAdmin"),
                    active: flag(v, "Active"),
                    time_zone: v.get("TimeZone").and_then(Value::as_str).map(str::to_owned),
                })
            })
            .transpose()
    }

    /// The `Meeting` document type of activities, if the instance has one.
    pub async fn meeting_document_type(&self) -> Result<Option<DocumentType>, ErpError> {
        let query = Query {
            filter: Filter::new()
                .eq("Code", MEETING_CODE)
                .eq("EntityName", ACTIVITY_ENTITY_NAME),
            select: vec!["Id", "Code", "EntityName"],
            expand: vec![],
        };
        let found = self.get_all(DOCUMENT_TYPES, &query).await?;
        found.first().map(read_document_type).transpose()
    }

    /// Finds the `Meeting` document type, creating it where the credentials allow ("Give
    /// permissions"). Not allowed is [`ErpError::Forbidden`].
    pub async fn ensure_meeting_document_type(&self) -> Result<Ensured, ErpError> {
        if let Some(existing) = self.meeting_document_type().await? {
            return Ok(Ensured::Existed(existing));
        }
        let body = json!({
            "Code": MEETING_CODE,
            "EntityName": ACTIVITY_ENTITY_NAME,
            "Name": {"EN": MEETING_CODE},
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
        code: text_of(value.get("Code")),
        entity_name: text_of(value.get("EntityName")),
    })
}
