//! Running a job for a user against Graph and ERP.net, and wiring its two sides.

use std::sync::Arc;

use super::App;
use super::config::{OperationMode, ServiceRecord, load_service};
use super::profile::{self, UserProfile};
use super::service::{GRAPH_APP_SCOPE, not_configured};
use super::status::{JobKind, load_status};
use crate::erp::{ActivityDefaults, Guid};
use crate::error::{ErrorCode, PublicError};
use crate::graph::Mailbox;
use crate::host::CountingHttp;
use crate::identity::{AppTokenSource, TokenSource};
use crate::jobs::calendar::{ErpSide, GraphSide, RunReport};

/// How long a user's being active in ERP.net is trusted for runs: an hour keeps a quiet run
/// at its two ERP.net reads while a deactivated user stops within the hour.
const RUN_RIGHTS_MAX_AGE: chrono::Duration = chrono::Duration::hours(1);

impl App {
    /// Runs a job for a user against Graph and ERP.net and records the outcome.
    pub async fn run_job(
        &self,
        user_id: &str,
        job: JobKind,
        dry_run: bool,
    ) -> Result<RunReport, PublicError> {
        let store = self.host.store.as_ref();
        profile::require(store, user_id).await?;
        let (status, _) = load_status(store, user_id, job).await?;
        if !status.enabled && !dry_run {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "the job is turned off; turn it on in Setup",
            ));
        }
        // A deactivated ERP.net user stops syncing: the job shows the error and its fix.
        let p = match self.fresh_rights(user_id, RUN_RIGHTS_MAX_AGE).await {
            Ok(p) => p,
            Err(e) => {
                if !dry_run {
                    self.record_outcome(user_id, job, &Err(e.clone())).await?;
                }
                return Err(e);
            }
        };
        let (record, _) = load_service(store).await?;
        let config = self.config()?;
        let sides = self.calendar_sides(&record, &p).await;
        let (erp, outlook) = match sides {
            Ok(s) => s,
            Err(e) => {
                // A setup problem is the job's error state, shown on Home with its fix.
                if !dry_run {
                    self.record_outcome(user_id, job, &Err(e.clone())).await?;
                }
                return Err(e);
            }
        };
        // The subscription first: changes from here on are notified, earlier ones are in the delta.
        let mark = match dry_run {
            true => None,
            false => self.keep_subscription(user_id, job).await,
        };
        let outcome = self
            .run_calendar_with(user_id, &erp, &outlook, &config.runner_id, dry_run)
            .await;
        if !dry_run {
            self.after_subscribed_run(user_id, job, mark, outcome.is_ok())
                .await?;
        }
        outcome
    }

    async fn calendar_sides(
        &self,
        record: &ServiceRecord,
        p: &UserProfile,
    ) -> Result<(ErpSide, GraphSide), PublicError> {
        let (Some(company), Some(location)) = (
            p.company_id.as_deref().and_then(Guid::parse),
            p.location_id.as_deref().and_then(Guid::parse),
        ) else {
            return Err(PublicError::new(
                ErrorCode::NoEnterpriseCompany,
                "There's no enterprise company defined.",
            ));
        };
        let document_type = record
            .meeting_document_type
            .as_deref()
            .and_then(Guid::parse)
            .ok_or_else(|| {
                not_configured("an administrator must run 'Give permissions' in Service")
            })?;
        let erp_user = Guid::parse(&p.erp_user_id).ok_or_else(|| {
            PublicError::new(ErrorCode::NoErpUser, "the ERP.net user id is not valid")
        })?;
        let erp_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let erp = self.erp_client(
            erp_http.clone(),
            Some(company.clone()),
            Some(location.clone()),
        )?;
        // Profiles stored before the login was kept: ask ERP.net once per run.
        let login = match &p.erp_login {
            Some(login) => Some(login.clone()),
            None => erp.user_login(&erp_user).await?,
        };
        let erp_side = ErpSide::new(
            erp,
            erp_http,
            erp_user.clone(),
            login,
            p.zone.clone(),
            ActivityDefaults {
                enterprise_company: company,
                enterprise_company_location: location,
                document_type,
                assigned_to_user: Some(erp_user),
                from_party: None,
            },
        );
        let (tokens, mailbox): (Arc<dyn TokenSource>, Mailbox) = match record.mode {
            OperationMode::Application => (
                Arc::new(AppTokenSource::new(
                    self.entra_client(record)?,
                    self.host.store.clone(),
                    self.sealer()?.clone(),
                    self.host.clock.clone(),
                    GRAPH_APP_SCOPE,
                )),
                Mailbox::User(p.user_id.clone()),
            ),
            OperationMode::Delegated => (
                Arc::new(self.delegated_tokens(record, &p.user_id)?),
                Mailbox::Me,
            ),
        };
        let graph_http = Arc::new(CountingHttp::new(self.host.http.clone()));
        let graph = self.graph_client(tokens, mailbox, p.zone.clone(), graph_http.clone())?;
        Ok((erp_side, GraphSide::new(graph, graph_http, p.zone.clone())))
    }
}
