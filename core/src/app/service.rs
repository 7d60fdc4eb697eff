//! Service (administrators): connection settings, admin consent, Connect, Give permissions,
//! domains, and the rights and clients every other part of the application shares.

use std::sync::Arc;

use chrono::Duration as ChronoDuration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::{
    CredentialInput, ErpAccess, OperationMode, ServiceRecord, load_service, open_credential,
    put_service, seal_credential,
};
use super::profile::{self, UserProfile};
use super::{App, update_with_retry};
use crate::erp::{ClientCredentials, ErpAuth, ErpClient, ErpConfig, ErpError, Guid};
use crate::error::{ErrorCode, PublicError};
use crate::graph::{GraphClient, GraphConfig, Mailbox};
use crate::host::{Expect, Host, HttpClient, WriteBatch};
use crate::identity::{
    AppTokenSource, ClientCertificate, ClientCredential, EntraApp, EntraClient, StaticToken,
    TokenSource,
};
use crate::model::tz::Zone;

/// Who asks: the host process itself (its own configuration, e.g. the command line's operator),
/// or a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "user_id")]
pub enum Actor {
    Host,
    User(String),
}

/// What Service shows. The credential is never shown back, only its kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub mode: OperationMode,
    pub credential: Option<String>,
    pub domains: Vec<String>,
    pub meeting_document_type: Option<String>,
    pub connected_at: Option<String>,
}

/// A change to Service; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServiceChange {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub mode: Option<OperationMode>,
    pub credential: Option<CredentialInput>,
}

/// What "Connect to Microsoft Entra ID" found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectReport {
    pub token: bool,
    pub graph: bool,
    /// Graph lets MsSync read and write mail (the Mail job's Mail.ReadWrite).
    pub mail: bool,
    /// What is missing, in words an admin acts on.
    pub missing: Vec<String>,
}

/// What "Give permissions" checked and did in ERP.net.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermissionsReport {
    /// `existed`, `created`, or `missing` (when MsSync may not create it).
    pub meeting_document_type: String,
    pub can_read_activities: bool,
    /// Each signed-in user's default mailbox as the Mail job needs it.
    pub mail_boxes: Vec<MailBoxReport>,
    /// Graph lets the application read and write mail (Mail.ReadWrite), probed on the first
    /// signed-in user's mailbox; none in Delegated mode or before anyone signed in.
    pub mail_permission: Option<bool>,
    pub missing: Vec<String>,
}

/// One user's default mailbox, as "Give permissions" found it (it creates none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailBoxReport {
    pub email: String,
    /// `ready`, `missing`, `wrong_address` or `encrypted`.
    pub state: &'static str,
}

pub(super) const GRAPH_APP_SCOPE: &str = crate::identity::wire::GRAPH_DEFAULT_SCOPE;
/// The local ERP.net sign-in provider; anything else is an external (Microsoft) identity.
pub const LOCAL_PROVIDER: &str = "local";
const ADMIN_CONSENT_PREFIX: &str = "identity/admin-consent/";
/// How long an admin-consent `state` is accepted after the URL was made.
pub const ADMIN_CONSENT_LIFETIME: chrono::Duration = chrono::Duration::minutes(30);

/// What the admin-consent redirect brought back (empty strings for what it did not carry).
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminConsentRedirect<'a> {
    pub state: &'a str,
    /// `True` when consent was granted.
    pub admin_consent: &'a str,
    /// The tenant the consent was given for.
    pub tenant: &'a str,
    pub error: &'a str,
    pub error_description: &'a str,
}

/// How long `IsAdmin` read from ERP.net is trusted for Service operations.
pub(super) const ADMIN_RIGHTS_MAX_AGE: chrono::Duration = chrono::Duration::minutes(5);

pub(super) fn forbidden() -> PublicError {
    PublicError::new(
        ErrorCode::Forbidden,
        "only ERP.net administrators may use Service",
    )
}

pub(super) fn not_configured(what: &str) -> PublicError {
    PublicError::new(
        ErrorCode::NotConfigured,
        format!("MsSync is not set up yet: {what}"),
    )
}

impl App {
    pub(super) fn config(&self) -> Result<&super::config::AppConfig, PublicError> {
        self.config
            .as_deref()
            .ok_or_else(|| not_configured("the host gave no endpoints"))
    }

    pub(super) fn sealer(&self) -> Result<&crate::identity::Sealer, PublicError> {
        self.sealer
            .as_ref()
            .ok_or_else(|| not_configured("the host gave no sealing key"))
    }

    async fn require_admin(&self, actor: &Actor) -> Result<(), PublicError> {
        match actor {
            Actor::Host => Ok(()),
            Actor::User(user_id) => {
                let profile = self.fresh_rights(user_id, ADMIN_RIGHTS_MAX_AGE).await?;
                if profile.is_admin {
                    Ok(())
                } else {
                    Err(forbidden())
                }
            }
        }
    }

    /// The user's profile with `IsAdmin` as ERP.net says now, re-read when the last reading is
    /// older than `max_age`: a demoted admin loses Service, and a deactivated or removed
    /// ERP.net user, or one pinned to another account, is refused.
    pub(crate) async fn fresh_rights(
        &self,
        user_id: &str,
        max_age: chrono::Duration,
    ) -> Result<UserProfile, PublicError> {
        let store = self.host.store.as_ref();
        let (mut p, version) = profile::require(store, user_id).await?;
        let now = self.host.clock.now();
        if p.rights_checked_at
            .is_some_and(|at| at <= now && now - at < max_age)
        {
            return Ok(p);
        }
        if let Some(pin) = profile::load_pin(store, &p.erp_user_id).await?
            && (pin.tenant_id != p.tenant_id || pin.object_id != p.user_id)
        {
            return Err(PublicError::new(
                ErrorCode::IdentityLinkedElsewhere,
                "this ERP.net user is linked to another Microsoft account",
            ));
        }
        let erp_user_id = Guid::parse(&p.erp_user_id).ok_or_else(|| {
            PublicError::new(ErrorCode::NoErpUser, "the ERP.net user id is not valid")
        })?;
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        let user = erp.user_by_id(&erp_user_id).await?.ok_or_else(|| {
            PublicError::new(
                ErrorCode::NoErpUser,
                "your ERP.net user no longer exists; ask an administrator",
            )
        })?;
        if !user.active {
            return Err(PublicError::new(
                ErrorCode::InactiveErpUser,
                "your ERP.net user is inactive; ask an administrator to activate it",
            ));
        }
        p.is_admin = user.is_admin;
        p.rights_checked_at = Some(now);
        // Best effort: a profile changed meanwhile (Setup) is simply read again next time.
        let _ = store
            .commit(profile::put(
                WriteBatch::new(),
                &p,
                Expect::Version(version),
            ))
            .await;
        Ok(p)
    }

    fn view(record: &ServiceRecord) -> ServiceView {
        ServiceView {
            tenant_id: record.tenant_id.clone(),
            client_id: record.client_id.clone(),
            mode: record.mode,
            credential: record.credential_kind.clone(),
            domains: record.domains.clone(),
            meeting_document_type: record.meeting_document_type.clone(),
            connected_at: record.connected_at.map(super::format_utc),
        }
    }

    /// Service as it is now (admins only).
    pub async fn service(&self, actor: &Actor) -> Result<ServiceView, PublicError> {
        self.require_admin(actor).await?;
        let (record, _) = load_service(self.host.store.as_ref()).await?;
        Ok(Self::view(&record))
    }

    async fn update_service(
        &self,
        change: impl Fn(&mut ServiceRecord) -> Result<(), PublicError>,
    ) -> Result<ServiceView, PublicError> {
        let store = self.host.store.as_ref();
        let change = &change;
        let view = update_with_retry(store, "service", move || async move {
            let (mut record, expect) = load_service(store).await?;
            change(&mut record)?;
            let batch = put_service(WriteBatch::new(), &record, expect);
            Ok(Some((batch, Self::view(&record))))
        })
        .await?;
        Ok(view.expect("every attempt writes"))
    }

    /// Changes the connection (admins only). The credential is sealed before it is stored.
    pub async fn set_service(
        &self,
        actor: &Actor,
        change: ServiceChange,
    ) -> Result<ServiceView, PublicError> {
        self.require_admin(actor).await?;
        for id in [&change.tenant_id, &change.client_id].into_iter().flatten() {
            if Guid::parse(id).is_none() {
                return Err(PublicError::new(
                    ErrorCode::InvalidArgument,
                    "tenant and client ids are GUIDs",
                ));
            }
        }
        let sealed = match &change.credential {
            Some(c) => {
                if let CredentialInput::Certificate {
                    private_key_pem,
                    certificate_pem,
                } = c
                {
                    ClientCertificate::from_pem(
                        private_key_pem.as_bytes(),
                        certificate_pem.as_bytes(),
                    )?;
                }
                Some(seal_credential(self.sealer()?, c)?)
            }
            None => None,
        };
        self.update_service(|record| {
            if let Some(t) = &change.tenant_id {
                record.tenant_id = Some(t.to_lowercase());
                record.connected_at = None;
            }
            if let Some(c) = &change.client_id {
                record.client_id = Some(c.to_lowercase());
                record.connected_at = None;
            }
            if let Some(m) = change.mode {
                record.mode = m;
            }
            if let (Some(sealed), Some(c)) = (&sealed, &change.credential) {
                record.credential = Some(sealed.clone());
                record.credential_kind = Some(
                    match c {
                        CredentialInput::Secret { .. } => "secret",
                        CredentialInput::Certificate { .. } => "certificate",
                    }
                    .into(),
                );
            }
            Ok(())
        })
        .await
    }

    /// Lets users of an e-mail domain sign in (admins only).
    pub async fn grant_domain(
        &self,
        actor: &Actor,
        domain: &str,
    ) -> Result<ServiceView, PublicError> {
        self.require_admin(actor).await?;
        let domain = normalize_domain(domain)?;
        self.update_service(|record| {
            if !record.domains.contains(&domain) {
                record.domains.push(domain.clone());
                record.domains.sort();
            }
            Ok(())
        })
        .await
    }

    /// Stops new sign-ins from an e-mail domain (admins only).
    pub async fn revoke_domain(
        &self,
        actor: &Actor,
        domain: &str,
    ) -> Result<ServiceView, PublicError> {
        self.require_admin(actor).await?;
        let domain = normalize_domain(domain)?;
        self.update_service(|record| {
            record.domains.retain(|d| *d != domain);
            Ok(())
        })
        .await
    }

    fn entra_app(&self, record: &ServiceRecord) -> Result<EntraApp, PublicError> {
        let config = self.config()?;
        let tenant = record
            .tenant_id
            .clone()
            .ok_or_else(|| not_configured("Service has no tenant id"))?;
        let client_id = record
            .client_id
            .clone()
            .ok_or_else(|| not_configured("Service has no client id"))?;
        let credential = match &record.credential {
            None => ClientCredential::None,
            Some(sealed) => match open_credential(self.sealer()?, sealed)? {
                CredentialInput::Secret { secret } => ClientCredential::Secret(secret),
                CredentialInput::Certificate {
                    private_key_pem,
                    certificate_pem,
                } => ClientCredential::Certificate(ClientCertificate::from_pem(
                    private_key_pem.as_bytes(),
                    certificate_pem.as_bytes(),
                )?),
            },
        };
        Ok(
            EntraApp::new(&config.authority, tenant, client_id, credential)
                .with_redirect_uri(&config.redirect_uri),
        )
    }

    pub(super) fn entra_client(
        &self,
        record: &ServiceRecord,
    ) -> Result<Arc<EntraClient>, PublicError> {
        Ok(Arc::new(EntraClient::new(
            self.entra_app(record)?,
            &self.host,
        )?))
    }

    /// The URL an admin opens to consent to MsSync's permissions for the tenant. Its `state` is
    /// random and kept for [`ADMIN_CONSENT_LIFETIME`]: the host gives it back, with the rest of
    /// the redirect, to [`App::complete_admin_consent`], which accepts it once.
    pub async fn consent_url(&self, actor: &Actor) -> Result<String, PublicError> {
        self.require_admin(actor).await?;
        let store = self.host.store.as_ref();
        let (record, _) = load_service(store).await?;
        let client = self.entra_client(&record)?;
        let state = oauth2::CsrfToken::new_random().secret().clone();
        let url = client.admin_consent_url(&state)?;
        let now = self.host.clock.now();
        // Consents begun and never finished go here, as abandoned sign-ins do.
        let mut batch = WriteBatch::new();
        for (key, stored) in store.scan(ADMIN_CONSENT_PREFIX).await? {
            let started = serde_json::from_slice::<DateTime<Utc>>(&stored.value).ok();
            if started.is_none_or(|at| now - at > ADMIN_CONSENT_LIFETIME) {
                batch = batch.delete(key, Expect::Version(stored.version));
            }
        }
        let _ = store.commit(batch).await;
        store
            .commit(WriteBatch::new().put(
                format!("{ADMIN_CONSENT_PREFIX}{state}"),
                serde_json::to_vec(&now).expect("a time serializes"),
                Expect::Absent,
            ))
            .await?;
        Ok(url)
    }

    /// The admin-consent redirect came back to the host: `state`, `admin_consent`, `tenant`, or
    /// `error` and `error_description`, as Entra ID sent them. Accepts only a `state` this app
    /// issued (once, while fresh) and a consent given for the connected tenant; then "Connect"
    /// proves the permissions work.
    pub async fn complete_admin_consent(
        &self,
        actor: &Actor,
        redirect: AdminConsentRedirect<'_>,
    ) -> Result<(), PublicError> {
        self.require_admin(actor).await?;
        let store = self.host.store.as_ref();
        let key = format!("{ADMIN_CONSENT_PREFIX}{}", redirect.state);
        let unknown = || {
            PublicError::new(
                ErrorCode::SignInStateUnknown,
                "this consent response is unknown, already used or expired; open the consent URL again",
            )
        };
        let stored = store.get(&key).await?.ok_or_else(unknown)?;
        store
            .commit(WriteBatch::new().delete(&key, Expect::Version(stored.version)))
            .await
            .map_err(|_| unknown())?;
        let started =
            serde_json::from_slice::<DateTime<Utc>>(&stored.value).map_err(|_| unknown())?;
        if self.host.clock.now() - started > ADMIN_CONSENT_LIFETIME {
            return Err(unknown());
        }
        if !redirect.error.is_empty() {
            return Err(PublicError::new(
                ErrorCode::Unauthorized,
                "the administrator did not grant consent; open the consent URL again",
            ));
        }
        if !redirect.admin_consent.eq_ignore_ascii_case("true") {
            return Err(PublicError::new(
                ErrorCode::Unauthorized,
                "Microsoft Entra ID did not report a consent",
            ));
        }
        let (record, _) = load_service(store).await?;
        if record.tenant_id.as_deref() != Some(redirect.tenant) {
            return Err(PublicError::new(
                ErrorCode::WrongTenant,
                "the consent was given for another tenant than the one MsSync is connected to",
            ));
        }
        Ok(())
    }

    /// "Connect to Microsoft Entra ID": gets an app token and reads a calendar with it,
    /// reporting what is missing.
    pub async fn connect(
        &self,
        actor: &Actor,
        probe_mailbox: &str,
    ) -> Result<ConnectReport, PublicError> {
        self.require_admin(actor).await?;
        let store = self.host.store.as_ref();
        let (record, _) = load_service(store).await?;
        let client = self.entra_client(&record)?;
        let mut report = ConnectReport {
            token: false,
            graph: false,
            mail: false,
            missing: Vec::new(),
        };
        if record.mode == OperationMode::Delegated {
            // Delegated mode needs no app token; each user's sign-in brings their own.
            report.token = true;
            report.graph = true;
            report.mail = true;
        } else {
            let tokens: Arc<dyn TokenSource> = Arc::new(AppTokenSource::new(
                client,
                self.host.store.clone(),
                self.sealer()?.clone(),
                self.host.clock.clone(),
                GRAPH_APP_SCOPE,
            ));
            match tokens.token().await.map_err(PublicError::from) {
                Ok(_) => report.token = true,
                Err(e) => {
                    report.missing.push(match e.code {
                        ErrorCode::Forbidden => "Admin consent for MsSync's application permissions (Calendars.ReadWrite, Mail.ReadWrite, User.Read.All): open the consent URL as a tenant administrator.".into(),
                        ErrorCode::ServiceNotSubscribed => "A Microsoft 365 service the tenant has not subscribed to or enabled (Exchange Online): ask a Microsoft 365 administrator to enable it.".into(),
                        ErrorCode::AppNotInTenant => "The app registration in this tenant: check the tenant id and client id, then open the consent URL as a tenant administrator.".into(),
                        _ => format!("A token from Entra ID ({}): check the tenant id, client id and credential.", e.code),
                    });
                    return Ok(report);
                }
            }
            let graph = self.graph_client(
                tokens,
                Mailbox::User(probe_mailbox.to_owned()),
                Zone::utc(),
                self.host.http.clone(),
            )?;
            let now = self.host.clock.now();
            let window = crate::graph::Window {
                start: now,
                end: now + ChronoDuration::minutes(1),
            };
            match graph.delta(&window, None).await {
                Ok(_) => report.graph = true,
                Err(e) => {
                    let e: PublicError = e.into();
                    report.missing.push(match e.code {
                        ErrorCode::Forbidden | ErrorCode::Unauthorized => "Graph access to calendars (application permission Calendars.ReadWrite, admin-consented).".into(),
                        _ => format!("Graph could not be reached ({}).", e.code),
                    });
                    return Ok(report);
                }
            }
            // The Mail job's access, probed on the same mailbox; without it Calendar still runs.
            match graph
                .mail_folder(crate::graph::wire::mail::well_known::INBOX)
                .await
            {
                Ok(_) => report.mail = true,
                Err(e) => {
                    let e: PublicError = e.into();
                    report.missing.push(match e.code {
                        ErrorCode::Forbidden | ErrorCode::Unauthorized => "Graph access to mail (application permission Mail.ReadWrite, admin-consented) for the Mail job.".into(),
                        _ => format!("Graph's mail could not be reached ({}).", e.code),
                    });
                }
            }
        }
        self.update_service(|r| {
            r.connected_at = Some(self.host.clock.now());
            Ok(())
        })
        .await?;
        Ok(report)
    }

    pub(super) fn erp_client(
        &self,
        http: Arc<dyn HttpClient>,
        company: Option<Guid>,
        location: Option<Guid>,
    ) -> Result<ErpClient, PublicError> {
        let config = self.config()?;
        let auth = match &config.erp_access {
            ErpAccess::Host => ErpAuth::Host,
            ErpAccess::PersonalAccessToken { token } => {
                ErpAuth::Bearer(Arc::new(StaticToken(token.clone())))
            }
            ErpAccess::TrustedApp { .. } => ErpAuth::Bearer(
                self.erp_tokens
                    .clone()
                    .ok_or_else(|| not_configured("no ERP.net credentials"))?,
            ),
        };
        let mut erp = ErpConfig::new(&config.erp_base_url);
        erp.context.enterprise_company = company;
        erp.context.enterprise_company_location = location;
        Ok(ErpClient::new(http, self.host.clock.clone(), auth, erp)?)
    }

    pub(super) fn graph_client(
        &self,
        tokens: Arc<dyn TokenSource>,
        mailbox: Mailbox,
        zone: Zone,
        http: Arc<dyn HttpClient>,
    ) -> Result<GraphClient, PublicError> {
        let config = self.config()?;
        GraphClient::new(
            http,
            self.host.clock.clone(),
            tokens,
            GraphConfig::new(&config.graph_base_url, mailbox, zone),
        )
    }

    /// "Give permissions": checks the ERP.net prerequisites and fixes what MsSync may.
    pub async fn give_permissions(&self, actor: &Actor) -> Result<PermissionsReport, PublicError> {
        self.require_admin(actor).await?;
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        let mut report = PermissionsReport {
            meeting_document_type: "missing".into(),
            can_read_activities: false,
            mail_boxes: Vec::new(),
            mail_permission: None,
            missing: Vec::new(),
        };
        match erp.ensure_meeting_document_type().await {
            Ok(ensured) => {
                report.meeting_document_type = match &ensured {
                    crate::erp::Ensured::Existed(_) => "existed",
                    crate::erp::Ensured::Created(_) => "created",
                }
                .into();
                let id = ensured.document_type().id.as_str().to_owned();
                self.update_service(|r| {
                    r.meeting_document_type = Some(id.clone());
                    Ok(())
                })
                .await?;
            }
            Err(ErpError::Forbidden) => report.missing.push(
                "Document type 'Meeting' for activities: MsSync may not create it; create it in ERP.net or give the service user the right.".into(),
            ),
            Err(e) => return Err(e.into()),
        }
        match erp.enterprise_companies().await {
            Ok(_) => report.can_read_activities = true,
            Err(ErpError::Forbidden) => report
                .missing
                .push("The service user may not read enterprise companies and activities.".into()),
            Err(e) => return Err(e.into()),
        }
        self.check_mail_boxes(&erp, &mut report).await?;
        Ok(report)
    }

    /// Whether the application's token may use a user's mail; none in Delegated mode (each
    /// user's own sign-in carries the scope).
    async fn probe_mail_permission(&self, user_id: &str) -> Result<Option<bool>, PublicError> {
        let (record, _) = load_service(self.host.store.as_ref()).await?;
        if record.mode == OperationMode::Delegated {
            return Ok(None);
        }
        // What cannot be probed now (no connection yet, Graph unreachable) is left unknown:
        // Give permissions is about ERP.net, and Connect reports Graph's own problems.
        let Ok((tokens, mailbox)) = self.mailbox_access(&record, user_id) else {
            return Ok(None);
        };
        let Ok(graph) = self.graph_client(tokens, mailbox, Zone::utc(), self.host.http.clone())
        else {
            return Ok(None);
        };
        match graph
            .mail_folder(crate::graph::wire::mail::well_known::INBOX)
            .await
        {
            Ok(_) => Ok(Some(true)),
            Err(crate::graph::GraphError::Forbidden { .. }) => Ok(Some(false)),
            Err(_) => Ok(None),
        }
    }

    /// The Mail job's prerequisite for each signed-in user: a default mailbox at the user's
    /// principal name, not encrypted. Checked only: mailboxes are the ERP.net admin's to make.
    async fn check_mail_boxes(
        &self,
        erp: &crate::erp::ErpClient,
        report: &mut PermissionsReport,
    ) -> Result<(), PublicError> {
        let mut profiles = super::profile::all(self.host.store.as_ref()).await?;
        profiles.sort_by(|a, b| a.email.cmp(&b.email));
        if let Some(first) = profiles.first() {
            report.mail_permission = self.probe_mail_permission(&first.user_id).await?;
            if report.mail_permission == Some(false) {
                report.missing.push(
                    "The Graph application permission Mail.ReadWrite, admin-consented: the Mail job cannot read or mark mail."
                        .into(),
                );
            }
        }
        for p in profiles {
            let Some(erp_user) = Guid::parse(&p.erp_user_id) else {
                continue;
            };
            let state = match erp.check_default_mail_box(&erp_user, &p.email).await {
                Ok(check) => crate::jobs::mail::mail_box_state(&check),
                Err(ErpError::Forbidden) => {
                    report.missing.push(
                        "The service user may not read mailboxes (Applications.Mail.Boxes): the Mail job cannot run."
                            .into(),
                    );
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            if state != "ready" {
                report.missing.push(format!(
                    "A default, unencrypted mailbox at {} for the Mail job ({}).",
                    p.email,
                    state.replace('_', " ")
                ));
            }
            report.mail_boxes.push(MailBoxReport {
                email: p.email.clone(),
                state,
            });
        }
        Ok(())
    }
}

fn normalize_domain(domain: &str) -> Result<String, PublicError> {
    let d = domain.trim().trim_start_matches('@').to_lowercase();
    let valid = !d.is_empty()
        && d.contains('.')
        && d.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if valid {
        Ok(d)
    } else {
        Err(PublicError::new(
            ErrorCode::InvalidArgument,
            "not an e-mail domain",
        ))
    }
}

/// Builds the ERP.net token source for a Trusted Application once per application, so its
/// token is reused across runs.
pub(crate) fn erp_token_source(host: &Host, access: &ErpAccess) -> Option<Arc<dyn TokenSource>> {
    match access {
        ErpAccess::TrustedApp {
            identity_base,
            client_id,
            client_secret,
        } => Some(Arc::new(ClientCredentials::new(
            host.http.clone(),
            host.clock.clone(),
            identity_base,
            client_id.clone(),
            client_secret.clone(),
        ))),
        _ => None,
    }
}
