//! A seeded tenant on all three simulators at once, wired together the way the real services
//! are: Graph accepts only tokens Entra ID issued (verified with its keys, application role or
//! delegated scope `Calendars.ReadWrite`), and ERP.net has users with the same e-mail addresses
//! as Entra ID. Tests, the demo and the benchmarks start from here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::entra::{self, EntraSim, SimUser, fixture};
use crate::erp::ErpSim;
use crate::graph::{GraphSim, Principal};

/// One user present in Entra ID, Graph (a mailbox) and ERP.net.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorldUser {
    pub oid: String,
    pub email: String,
    pub name: String,
    pub erp_user_id: String,
    /// The ERP.net `Login` (`CreationUser` of the activities this user creates in ERP.net).
    pub erp_login: String,
}

/// The simulators and what was seeded in them.
pub struct World {
    pub entra: EntraSim,
    pub graph: GraphSim,
    pub erp: ErpSim,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The ERP.net Trusted Application MsSync reads and writes activities with.
    pub erp_client_id: String,
    pub erp_client_secret: String,
    /// ERP.net administrator and ordinary users, all signed up in Entra ID.
    pub admin: WorldUser,
    pub users: Vec<WorldUser>,
    /// The enterprise company and location users are offered in Setup.
    pub company: String,
    pub location: String,
    pub other_location: String,
    /// An enterprise company nobody may use (inactive).
    pub inactive_company: String,
}

/// The loopback redirect URI registered for native hosts (any port).
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/signin";

/// The e-mail domain of the seeded users.
pub const DOMAIN: &str = "contoso.example";

impl World {
    /// Starts the three simulators with one clock (`now`), the fixture tenant and app of the
    /// Entra ID simulator, and `extra_users` ordinary users besides the admin and Alice.
    pub async fn start(
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        extra_users: usize,
    ) -> Self {
        let entra = EntraSim::start_with_fixture(now.clone()).await;
        let graph = GraphSim::start().await;
        graph.set_clock(now.clone());
        let erp = ErpSim::start(now()).await;

        // Graph trusts Entra ID's tokens only, and only with calendar or mail access; which of
        // the two a request needs is checked per path.
        let verifier = entra.verifier();
        graph.set_authorizer(Arc::new(move |bearer: &str| {
            let claims = verifier.verify(bearer)?;
            let delegated = !claims.scopes.is_empty();
            let grants: Vec<String> = claims.roles.into_iter().chain(claims.scopes).collect();
            if !grants
                .iter()
                .any(|g| g == "Calendars.ReadWrite" || g.starts_with("Mail."))
            {
                return Err("the token grants no calendar or mail access".into());
            }
            Ok(Principal {
                oid: delegated.then_some(claims.oid),
                grants: Some(grants),
            })
        }));

        // Native hosts (the command line) sign in through a loopback redirect on any port.
        entra.register_app(entra::SimApp {
            client_id: fixture::CLIENT_ID.into(),
            secret: Some(fixture::CLIENT_SECRET.into()),
            certificate: Some(entra::keys::RegisteredCertificate::from_pem(
                entra::keys::CLIENT_CERT_PEM,
            )),
            redirect_uris: vec![fixture::REDIRECT_URI.into(), LOOPBACK_REDIRECT.into()],
            public_client: false,
        });
        let erp_client_id = "https://mssync.contoso.example/".to_owned();
        let erp_client_secret = "erp-trusted-app-secret-for-tests".to_owned();
        erp.register_client(&erp_client_id, &erp_client_secret);
        erp.require_auth(true);
        let (company, company_party) = erp.add_enterprise_company("Contoso Ltd");
        let location = erp.add_location(&company_party, "Sofia office", true);
        let other_location = erp.add_location(&company_party, "Plovdiv office", true);
        erp.add_location(&company_party, "Closed office", false);
        let (inactive_company, _) = erp.add_enterprise_company("Old Contoso");
        erp.set_enterprise_company_active(&inactive_company, false);

        let mut seeded = Vec::new();
        let people = [
            (
                "ad000000-0000-4000-8000-0000000000ad",
                "admin",
                "Ada Admin",
                true,
            ),
            (fixture::ALICE_OID, "alice", "Alice Adams", false),
        ];
        let extra: Vec<(String, String, String, bool)> = (0..extra_users)
            .map(|i| {
                (
                    format!("0e000000-0000-4000-8000-{:012x}", i + 1),
                    format!("user{}", i + 1),
                    format!("User {}", i + 1),
                    false,
                )
            })
            .collect();
        for (oid, login, name, admin) in people
            .iter()
            .map(|(o, l, n, a)| ((*o).to_owned(), (*l).to_owned(), (*n).to_owned(), *a))
            .chain(extra)
        {
            let email = format!("{login}@{DOMAIN}");
            if oid != fixture::ALICE_OID {
                entra.add_user(SimUser {
                    oid: oid.clone(),
                    tid: fixture::TENANT.into(),
                    preferred_username: email.clone(),
                    email: Some(email.clone()),
                    name: name.clone(),
                });
            }
            graph.add_mailbox(&oid);
            let erp_user_id = erp.add_user(&email, admin, true);
            let erp_login = erp.login_of(&erp_user_id).expect("just added");
            // The Mail job's prerequisite, as an ERP.net administrator makes it.
            erp.add_mail_box(crate::erp::MailBoxSeed::default_for(&erp_user_id, &email));
            seeded.push(WorldUser {
                oid,
                email,
                name,
                erp_user_id,
                erp_login,
            });
        }
        let admin = seeded.remove(0);
        World {
            entra,
            graph,
            erp,
            tenant: fixture::TENANT.into(),
            client_id: fixture::CLIENT_ID.into(),
            client_secret: fixture::CLIENT_SECRET.into(),
            redirect_uri: fixture::REDIRECT_URI.into(),
            erp_client_id,
            erp_client_secret,
            admin,
            users: seeded,
            company,
            location,
            other_location,
            inactive_company,
        }
    }

    /// Alice, the fixture's first user (`alice@contoso.example`).
    pub fn alice(&self) -> &WorldUser {
        &self.users[0]
    }

    /// Grants admin consent for the fixture app, as the tenant admin would in the browser.
    pub fn consent(&self) {
        self.entra
            .grant_admin_consent(&self.tenant, &self.client_id);
    }

    /// What a process of its own needs to drive this world over HTTP (see [`crate::control`]).
    pub fn fixture(&self) -> Fixture {
        Fixture {
            authority: self.entra.authority(),
            graph_base_url: self.graph.base_url(),
            erp_base_url: self.erp.odata_root(),
            erp_identity_base: self.erp.identity_base(),
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            redirect_uri: self.redirect_uri.clone(),
            erp_client_id: self.erp_client_id.clone(),
            erp_client_secret: self.erp_client_secret.clone(),
            admin: self.admin.clone(),
            users: self.users.clone(),
            company: self.company.clone(),
            location: self.location.clone(),
        }
    }

    /// An application configuration for these simulators (see [`Fixture::app_config`]).
    pub fn app_config(&self, runner_id: &str) -> mssync_core::app::AppConfig {
        self.fixture().app_config(runner_id)
    }

    /// Connects the tenant and signs `user` in (see [`Fixture::onboard`]).
    pub async fn onboard(
        &self,
        app: &mssync_core::app::App,
        user: &WorldUser,
    ) -> Result<Onboarded, mssync_core::PublicError> {
        self.fixture().onboard(app, user).await
    }

    /// `user` signs in through the authorize redirect, with this simulator playing the browser.
    pub async fn sign_in(
        &self,
        app: &mssync_core::app::App,
        user: &WorldUser,
    ) -> Result<mssync_core::app::Session, mssync_core::PublicError> {
        sign_in(app, user).await
    }
}

/// The endpoints, credentials and people of a [`World`]: everything an application needs to use
/// it, serializable so that a world in another process can be driven the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub authority: String,
    pub graph_base_url: String,
    pub erp_base_url: String,
    pub erp_identity_base: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub erp_client_id: String,
    pub erp_client_secret: String,
    pub admin: WorldUser,
    pub users: Vec<WorldUser>,
    pub company: String,
    pub location: String,
}

impl Fixture {
    pub fn alice(&self) -> &WorldUser {
        &self.users[0]
    }

    /// `user` signs in through the authorize redirect, with this process playing the browser.
    pub async fn sign_in(
        &self,
        app: &mssync_core::app::App,
        user: &WorldUser,
    ) -> Result<mssync_core::app::Session, mssync_core::PublicError> {
        sign_in(app, user).await
    }

    /// How an MsSync application reaches these simulators (ERP.net through the Trusted
    /// Application, sign-ins back to the fixture's redirect URI).
    pub fn app_config(&self, runner_id: &str) -> mssync_core::app::AppConfig {
        mssync_core::app::AppConfig {
            authority: self.authority.clone(),
            graph_base_url: self.graph_base_url.clone(),
            erp_base_url: self.erp_base_url.clone(),
            erp_access: mssync_core::app::ErpAccess::TrustedApp {
                identity_base: self.erp_identity_base.clone(),
                client_id: self.erp_client_id.clone(),
                client_secret: self.erp_client_secret.clone(),
            },
            redirect_uri: self.redirect_uri.clone(),
            runner_id: runner_id.into(),
            local_process: None,
            lease_ttl: mssync_core::app::DEFAULT_LEASE_TTL,
        }
    }

    /// What happens before a first sync, done through `app` as the people would: the admin sets
    /// the connection (client secret, application mode), consents in the browser, gives ERP.net
    /// permissions and grants the domain; then `user` signs in through the authorize redirect, with
    /// this simulator playing the browser.
    pub async fn onboard(
        &self,
        app: &mssync_core::app::App,
        user: &WorldUser,
    ) -> Result<Onboarded, mssync_core::PublicError> {
        use mssync_core::app::{Actor, CredentialInput, OperationMode, ServiceChange};
        let admin = Actor::Host;
        app.set_service(
            &admin,
            ServiceChange {
                tenant_id: Some(self.tenant.clone()),
                client_id: Some(self.client_id.clone()),
                mode: Some(OperationMode::Application),
                credential: Some(CredentialInput::Secret {
                    secret: self.client_secret.clone(),
                }),
            },
        )
        .await?;
        let consent = app.consent_url(&admin).await?;
        let back = follow(app, &consent).await?;
        let param = |name: &str| {
            back.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default()
        };
        app.complete_admin_consent(
            &admin,
            mssync_core::app::AdminConsentRedirect {
                state: param("state"),
                admin_consent: param("admin_consent"),
                tenant: param("tenant"),
                error: param("error"),
                error_description: param("error_description"),
            },
        )
        .await?;
        let connect = app.connect(&admin, &self.admin.oid).await?;
        let permissions = app.give_permissions(&admin).await?;
        app.grant_domain(&admin, DOMAIN).await?;
        let session = self.sign_in(app, user).await?;
        Ok(Onboarded {
            session,
            connect,
            permissions,
        })
    }
}

/// `user` signs in through the authorize redirect, with the simulator playing the browser (the
/// tenant must be connected and the domain granted, as [`Fixture::onboard`] does).
async fn sign_in(
    app: &mssync_core::app::App,
    user: &WorldUser,
) -> Result<mssync_core::app::Session, mssync_core::PublicError> {
    let begin = app
        .begin_sign_in(Some(&user.email), "simulated-browser")
        .await?;
    let params = follow(app, &begin.authorize_url).await?;
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    app.complete_sign_in(&param("state"), &param("code"), "simulated-browser")
        .await
}

/// What [`Fixture::onboard`] did.
#[derive(Debug, Clone)]
pub struct Onboarded {
    pub session: mssync_core::app::Session,
    pub connect: mssync_core::app::ConnectReport,
    pub permissions: mssync_core::app::PermissionsReport,
}

/// Opens an address as a browser would (through the application's own HTTP client, which does not
/// follow redirects) and returns the query of the redirect it answers with.
async fn follow(
    app: &mssync_core::app::App,
    url: &str,
) -> Result<Vec<(String, String)>, mssync_core::PublicError> {
    use mssync_core::host::{HttpRequest, Method};
    let response = app
        .host()
        .http
        .send(HttpRequest::new(Method::Get, url))
        .await?;
    let location = response
        .header("location")
        .and_then(|l| url::Url::parse(l).ok())
        .ok_or_else(|| {
            mssync_core::PublicError::new(
                mssync_core::ErrorCode::MalformedResponse,
                "no redirect from Entra ID",
            )
        })?;
    Ok(location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}
