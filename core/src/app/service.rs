//! Service (admins), sign-in (everyone), Setup options, and running jobs against the real
//! services: the parts of the application that talk to Entra ID, Graph and ERP.net.

use std::sync::Arc;

use chrono::Duration as ChronoDuration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::{
    CredentialInput, ErpAccess, OperationMode, ServiceRecord, load_service, open_credential,
    put_service, seal_credential,
};
use super::profile::{self, IdentityPin, UserProfile};
use super::status::{JobKind, load_status};
use super::{App, WRITE_ATTEMPTS};
use crate::engine::ConflictPolicy;
use crate::engine::journal::{self, LogLevel, LogLine};
use crate::erp::{
    ActivityDefaults, ClientCredentials, ErpAuth, ErpClient, ErpConfig, ErpError, Guid,
};
use crate::error::{ErrorCode, PublicError};
use crate::graph::{GraphClient, GraphConfig, Mailbox};
use crate::host::{CountingHttp, Expect, Host, HttpClient, StoreError, WriteBatch};
use crate::identity::{
    AppTokenSource, ClientCertificate, ClientCredential, DelegatedTokenSource, EntraApp,
    EntraClient, SignInStore, StaticToken, TokenSource,
};
use crate::jobs::calendar::{ErpSide, GraphSide, RunReport};
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
    /// What is missing, in words an admin acts on.
    pub missing: Vec<String>,
}

/// What "Give permissions" checked and did in ERP.net.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermissionsReport {
    /// `existed`, `created`, or `missing` (when MsSync may not create it).
    pub meeting_document_type: String,
    pub can_read_activities: bool,
    pub missing: Vec<String>,
}

/// Step one of sign-in: where to send the browser.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignInStart {
    pub authorize_url: String,
    pub state: String,
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    /// True the first time this user signed in (Setup defaults were filled from ERP.net).
    pub first_sign_in: bool,
}

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

const GRAPH_APP_SCOPE: &str = crate::identity::wire::GRAPH_DEFAULT_SCOPE;
const SIGN_IN_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];
const DELEGATED_GRAPH_SCOPES: &[&str] = &["Calendars.ReadWrite", "User.Read"];
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
const ADMIN_RIGHTS_MAX_AGE: chrono::Duration = chrono::Duration::minutes(5);
/// How long a user's being active in ERP.net is trusted for runs: an hour keeps a quiet run
/// at its two ERP.net reads while a deactivated user stops within the hour.
const RUN_RIGHTS_MAX_AGE: chrono::Duration = chrono::Duration::hours(1);

fn forbidden() -> PublicError {
    PublicError::new(
        ErrorCode::Forbidden,
        "only ERP.net administrators may use Service",
    )
}

fn not_configured(what: &str) -> PublicError {
    PublicError::new(
        ErrorCode::NotConfigured,
        format!("MsSync is not set up yet: {what}"),
    )
}

impl App {
    fn config(&self) -> Result<&super::config::AppConfig, PublicError> {
        self.config
            .as_deref()
            .ok_or_else(|| not_configured("the host gave no endpoints"))
    }

    fn sealer(&self) -> Result<&crate::identity::Sealer, PublicError> {
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
        for _ in 0..WRITE_ATTEMPTS {
            let (mut record, expect) = load_service(store).await?;
            change(&mut record)?;
            match store
                .commit(put_service(WriteBatch::new(), &record, expect))
                .await
            {
                Ok(()) => return Ok(Self::view(&record)),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict {
            key: "service".into(),
        }
        .into())
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

    fn entra_client(&self, record: &ServiceRecord) -> Result<Arc<EntraClient>, PublicError> {
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
            missing: Vec::new(),
        };
        if record.mode == OperationMode::Delegated {
            // Delegated mode needs no app token; each user's sign-in brings their own.
            report.token = true;
            report.graph = true;
        } else {
            let tokens: Arc<dyn TokenSource> = Arc::new(AppTokenSource::new(
                client,
                self.host.store.clone(),
                self.sealer()?.clone(),
                self.host.clock.clone(),
                GRAPH_APP_SCOPE,
            ));
            match tokens.token().await {
                Ok(_) => report.token = true,
                Err(e) => {
                    report.missing.push(match e.code {
                        ErrorCode::Forbidden => "Admin consent for MsSync's application permissions (Calendars.ReadWrite, User.Read.All): open the consent URL as a tenant administrator.".into(),
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
        }
        self.update_service(|r| {
            r.connected_at = Some(self.host.clock.now());
            Ok(())
        })
        .await?;
        Ok(report)
    }

    fn erp_client(
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

    fn graph_client(
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
        Ok(report)
    }

    /// Step one of sign-in: the authorize URL; the pending state is kept (sealed) in the store,
    /// bound to `binding`: a value the host derives from its own session of the browser that
    /// signs in (a session cookie's hash, a random value it keeps for the console). Only that
    /// session can complete the sign-in, so an attacker's sign-in cannot be finished in a
    /// victim's browser.
    pub async fn begin_sign_in(
        &self,
        login_hint: Option<&str>,
        binding: &str,
    ) -> Result<SignInStart, PublicError> {
        if binding.trim().is_empty() {
            return Err(PublicError::new(
                ErrorCode::InvalidArgument,
                "a sign-in needs the host's binding of the browser session",
            ));
        }
        let (record, _) = load_service(self.host.store.as_ref()).await?;
        let client = self.entra_client(&record)?;
        let mut scopes: Vec<&str> = SIGN_IN_SCOPES.to_vec();
        if record.mode == OperationMode::Delegated {
            scopes.extend_from_slice(DELEGATED_GRAPH_SCOPES);
        }
        let request = client.authorization_request(&scopes, login_hint)?;
        let sign_ins = self.sign_ins()?;
        // Anyone who can reach the sign-in page can start one: those never finished are
        // dropped here, so they cannot pile up. Best effort: a purge that races another
        // sign-in is simply done by the next one.
        let _ = sign_ins.purge_abandoned().await;
        sign_ins.put(&request.pending, binding).await?;
        Ok(SignInStart {
            authorize_url: request.url,
            state: request.pending.state,
        })
    }

    fn sign_ins(&self) -> Result<SignInStore, PublicError> {
        Ok(SignInStore::new(
            self.host.store.clone(),
            self.sealer()?.clone(),
            self.host.clock.clone(),
        ))
    }

    /// A session the host authenticated itself: only Microsoft identities may use MsSync.
    pub fn check_host_session(&self, provider: &str) -> Result<(), PublicError> {
        if provider.eq_ignore_ascii_case(LOCAL_PROVIDER) {
            return Err(PublicError::new(
                ErrorCode::LocalCredentials,
                "MsSync needs a Microsoft sign-in: sign out of ERP.net and sign in with Microsoft",
            ));
        }
        Ok(())
    }

    /// Step two of sign-in: the code and state from the redirect, in the browser session
    /// `binding` names (the one that began it). Links the Microsoft identity to the ERP.net user
    /// with the same user principal name, within a granted domain; stores nothing when it
    /// refuses.
    pub async fn complete_sign_in(
        &self,
        state: &str,
        code: &str,
        binding: &str,
    ) -> Result<Session, PublicError> {
        let store = self.host.store.as_ref();
        let (record, _) = load_service(store).await?;
        let pending = self.sign_ins()?.take_bound(state, binding).await?;
        let client = self.entra_client(&record)?;
        let signed_in = client.complete_sign_in(&pending, state, code).await?;
        let claims = signed_in.claims;
        // The user principal name, as the original MsSync links users; never the `email`
        // claim, which Entra ID does not guarantee and says never to authorize with. The name
        // is mutable too, so the link it makes is pinned to the account's tenant and object id.
        let email = claims
            .preferred_username
            .clone()
            .unwrap_or_default()
            .to_lowercase();
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        if domain.is_empty() || !record.domains.contains(&domain) {
            return Err(PublicError::new(
                ErrorCode::DomainNotGranted,
                "your e-mail domain may not use MsSync; ask an administrator to grant it in Service",
            ));
        }
        let erp = self.erp_client(self.host.http.clone(), None, None)?;
        let erp_user = erp.user_by_email(&email).await?.ok_or_else(|| {
            PublicError::new(
                ErrorCode::NoErpUser,
                "no ERP.net user has your e-mail address; ask an administrator to set it",
            )
        })?;
        if !erp_user.active {
            return Err(PublicError::new(
                ErrorCode::InactiveErpUser,
                "your ERP.net user is inactive; ask an administrator to activate it",
            ));
        }
        let existing = profile::load(store, &claims.oid).await?;
        let pin = profile::load_pin(store, erp_user.id.as_str()).await?;
        let ours = IdentityPin {
            tenant_id: claims.tid.clone(),
            object_id: claims.oid.clone(),
        };
        if pin.as_ref().is_some_and(|p| *p != ours) {
            return Err(PublicError::new(
                ErrorCode::IdentityLinkedElsewhere,
                "this ERP.net user is already linked to another Microsoft account",
            ));
        }
        if let Some((p, _)) = &existing
            && p.erp_user_id != erp_user.id.as_str()
        {
            return Err(PublicError::new(
                ErrorCode::IdentityLinkedElsewhere,
                "your Microsoft account is linked to another ERP.net user (was your user name changed?)",
            ));
        }
        let first = existing.is_none();
        let expect = existing
            .as_ref()
            .map_or(Expect::Absent, |(_, v)| Expect::Version(*v));
        let profile = match existing {
            Some((mut p, _)) => {
                p.email = email.clone();
                p.name = claims.name.clone().unwrap_or(p.name);
                p.is_admin = erp_user.is_admin;
                p.erp_user_id = erp_user.id.as_str().to_owned();
                p.erp_login = erp_user.login.clone();
                p
            }
            None => {
                // First sign-in: Setup defaults from ERP.net (the user's zone; the only active
                // company and location when there is exactly one choice).
                let zone = erp_user
                    .time_zone
                    .as_deref()
                    .and_then(|z| Zone::parse(z).ok())
                    .unwrap_or_else(Zone::utc);
                let companies = self.company_options(&erp).await.unwrap_or_default();
                let (company_id, location_id) = match companies.as_slice() {
                    [only] => (
                        Some(only.id.clone()),
                        match only.locations.as_slice() {
                            [l] => Some(l.id.clone()),
                            _ => None,
                        },
                    ),
                    _ => (None, None),
                };
                UserProfile {
                    user_id: claims.oid.clone(),
                    tenant_id: claims.tid.clone(),
                    email: email.clone(),
                    name: claims.name.clone().unwrap_or_else(|| email.clone()),
                    erp_user_id: erp_user.id.as_str().to_owned(),
                    erp_login: erp_user.login.clone(),
                    is_admin: erp_user.is_admin,
                    company_id,
                    location_id,
                    zone,
                    policy: ConflictPolicy::default(),
                    rights_checked_at: None,
                }
            }
        };
        if record.mode == OperationMode::Delegated {
            self.delegated_tokens(&record, &profile.user_id)?
                .save(&signed_in.tokens)
                .await?;
        }
        let now = self.host.clock.now();
        let mut profile = profile;
        profile.rights_checked_at = Some(now);
        let mut batch = profile::put(WriteBatch::new(), &profile, expect);
        if pin.is_none() {
            batch = profile::put_pin(batch, erp_user.id.as_str(), &ours);
        }
        journal::append(
            store,
            &mut batch,
            &profile.user_id,
            &[LogLine::new(
                now,
                LogLevel::Info,
                format!("Signed in ({email})."),
            )],
        )
        .await?;
        store.commit(batch).await?;
        Ok(Session {
            user_id: profile.user_id,
            email,
            name: profile.name,
            is_admin: profile.is_admin,
            first_sign_in: first,
        })
    }

    /// Step two when Entra ID redirected back with an error instead of a code: the pending
    /// sign-in is dropped and the refusal explained.
    pub async fn fail_sign_in(&self, state: &str, error: &str, description: &str) -> PublicError {
        if let Ok(sign_ins) = self.sign_ins() {
            // Unknown or expired states are fine here: there is nothing left to drop.
            let _ = sign_ins.take(state).await;
        }
        let aadsts = |code: &str| description.contains(code);
        if aadsts("AADSTS50020")
            && (description.contains("live.com") || description.contains("MSA"))
        {
            PublicError::new(
                ErrorCode::PersonalAccount,
                "personal Microsoft accounts cannot use MsSync; sign in with your work account",
            )
        } else if aadsts("AADSTS50020") {
            PublicError::new(
                ErrorCode::WrongTenant,
                "your account belongs to another organization than the one MsSync is connected to",
            )
        } else if error == "access_denied" {
            PublicError::new(
                ErrorCode::Unauthorized,
                "the sign-in was cancelled or refused",
            )
        } else {
            PublicError::new(
                ErrorCode::InvalidGrant,
                "Microsoft Entra ID refused the sign-in",
            )
        }
    }

    fn delegated_tokens(
        &self,
        record: &ServiceRecord,
        user_id: &str,
    ) -> Result<DelegatedTokenSource, PublicError> {
        let mut scopes: Vec<String> = DELEGATED_GRAPH_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect();
        scopes.push("offline_access".into());
        Ok(DelegatedTokenSource::new(
            self.entra_client(record)?,
            self.host.store.clone(),
            self.sealer()?.clone(),
            self.host.clock.clone(),
            user_id,
            scopes,
        ))
    }

    async fn company_options(&self, erp: &ErpClient) -> Result<Vec<CompanyOption>, PublicError> {
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
        for _ in 0..WRITE_ATTEMPTS {
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
            match store.commit(batch).await {
                Ok(()) => return self.setup(user_id).await,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict {
            key: user_id.into(),
        }
        .into())
    }

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
        self.run_calendar_with(user_id, &erp, &outlook, &config.runner_id, dry_run)
            .await
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
