//! What Setup offers a user, read from ERP.net: enterprise companies and their locations.

use serde::Serialize;

use super::profile::{self};
use super::{App, update_with_retry};
use crate::engine::ConflictPolicy;
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::erp::ErpClient;
use crate::error::{ErrorCode, PublicError};
use crate::host::{Expect, WriteBatch};

/// An enterprise company and its locations, as Setup offers them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompanyOption {
    pub id: String,
    pub name: String,
    pub locations: Vec<LocationOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationOption {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetupOptions {
    pub companies: Vec<CompanyOption>,
    pub time_zones: Vec<super::TimeZoneOption>,
    pub policies: Vec<ConflictPolicy>,
}

impl App {
    pub(super) async fn company_options(
        &self,
        erp: &ErpClient,
    ) -> Result<Vec<CompanyOption>, PublicError> {
        let mut options = Vec::new();
        for company in erp.enterprise_companies().await? {
            if !company.is_active {
                continue;
            }
            let locations = match &company.company {
                Some(c) => erp
                    .company_locations(c)
                    .await?
                    .into_iter()
                    .filter(|l| l.is_active)
                    .map(|l| LocationOption {
                        id: l.id.as_str().to_owned(),
                        name: l.name,
                    })
                    .collect(),
                None => Vec::new(),
            };
            options.push(CompanyOption {
                id: company.id.as_str().to_owned(),
                name: company.name,
                locations,
            });
        }
        Ok(options)
    }

    /// The choices Setup offers this user: active enterprise companies and their locations
    /// from ERP.net, every time zone, the conflict policies.
    pub async fn setup_options(&self, user_id: &str) -> Result<SetupOptions, PublicError> {
        profile::require(self.host.store.as_ref(), user_id).await?;
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        Ok(SetupOptions {
            companies: self.company_options(&erp).await?,
            time_zones: super::time_zone_options(),
            policies: vec![
                ConflictPolicy::Newest,
                ConflictPolicy::ErpWins,
                ConflictPolicy::OutlookWins,
            ],
        })
    }

    /// Sets the user's enterprise company and location; a choice ERP.net does not offer the
    /// user is refused.
    pub async fn set_company(
        &self,
        user_id: &str,
        company_id: &str,
        location_id: &str,
    ) -> Result<super::SetupView, PublicError> {
        let options = self.setup_options(user_id).await?;
        let company = options
            .companies
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(company_id))
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::CompanyNotAllowed,
                    "that enterprise company is not one you may use",
                )
            })?;
        let location = company
            .locations
            .iter()
            .find(|l| l.id.eq_ignore_ascii_case(location_id))
            .ok_or_else(|| {
                PublicError::new(
                    ErrorCode::LocationNotAllowed,
                    "that location does not belong to the company or is inactive",
                )
            })?;
        let store = self.host.store.as_ref();
        update_with_retry(store, user_id, move || async move {
            let (mut p, version) = profile::require(store, user_id).await?;
            p.company_id = Some(company.id.clone());
            p.location_id = Some(location.id.clone());
            let mut batch = profile::put(WriteBatch::new(), &p, Expect::Version(version));
            let line = LogLine::new(
                self.host.clock.now(),
                LogLevel::Info,
                format!(
                    "Enterprise company set to '{}', location '{}'.",
                    company.name, location.name
                ),
            );
            journal::append(store, &mut batch, user_id, &[line]).await?;
            Ok(Some((batch, ())))
        })
        .await?;
        self.setup(user_id).await
    }
}
