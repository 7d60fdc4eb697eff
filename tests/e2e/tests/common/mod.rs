//! The shared setup of the end-to-end suites: the three simulators, an `App` on them with a
//! manual clock, the tenant connected, a user signed in (the simulator plays the browser) and
//! set up. The host's HTTP client and store are wrapped so suites can inject crashes: a request
//! that never answers (the run future is dropped there) or a commit that fails.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use mssync_cli::http::ReqwestHttp;
use mssync_core::PublicError;
use mssync_core::app::RunView as RunReport;
use mssync_core::app::{
    Actor, App, AppConfig, CredentialInput, ErpAccess, JobKind, OperationMode, ServiceChange,
    SetupChange,
};
use mssync_core::host::{
    Clock, Host, HttpClient, HttpRequest, HttpResponse, ManualClock, MemoryStore, Method, Store,
    StoreError, TransportError, TransportErrorKind, Versioned, WriteBatch,
};
use mssync_sim::world::{DOMAIN, World};
use serde_json::json;

/// The sealing key every `App` of a test shares (two engines on one store must read each
/// other's sealed tokens).
pub const SEALING_KEY: [u8; 32] = [7u8; 32];
/// The host's binding of the test browser's session, for sign-ins.
pub const BROWSER_SESSION: &str = "e2e-browser-session";

pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap()
}

/// What the host's HTTP client does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpFault {
    /// Request `n` (counting from 1) and all after it never answer: the engine is dropped there.
    /// With `deliver`, request `n` reaches the server first, so its answer is what gets lost.
    CrashAt { n: u32, deliver: bool },
    /// Request `n` times out; with `deliver` after the server did the work.
    TimeoutAt { n: u32, deliver: bool },
}

/// Picks a request out of the traffic.
pub type RequestMatcher = Box<dyn Fn(&HttpRequest) -> bool + Send + Sync>;

/// The host's HTTP client with faults on demand, over real HTTP.
pub struct FaultyHttp {
    inner: ReqwestHttp,
    state: Mutex<(u32, Option<HttpFault>)>,
    /// The first request each matcher picks reaches the server, but its answer is lost.
    lose_answers: Mutex<Vec<RequestMatcher>>,
    crashed: tokio::sync::Notify,
}

impl FaultyHttp {
    fn new() -> Self {
        Self {
            inner: ReqwestHttp::new(),
            state: Mutex::new((0, None)),
            lose_answers: Mutex::new(Vec::new()),
            crashed: tokio::sync::Notify::new(),
        }
    }

    /// From the `n`-th request on (counting from now), nothing answers.
    pub fn crash_at(&self, n: u32, deliver: bool) {
        *self.state.lock().unwrap() = (0, Some(HttpFault::CrashAt { n, deliver }));
    }

    /// The `n`-th request (counting from now) times out.
    pub fn timeout_at(&self, n: u32, deliver: bool) {
        *self.state.lock().unwrap() = (0, Some(HttpFault::TimeoutAt { n, deliver }));
    }

    /// The first request `matcher` picks is delivered, and its answer lost (a timeout).
    pub fn lose_answer_of(&self, matcher: impl Fn(&HttpRequest) -> bool + Send + Sync + 'static) {
        self.lose_answers.lock().unwrap().push(Box::new(matcher));
    }

    pub fn heal(&self) {
        *self.state.lock().unwrap() = (0, None);
        self.lose_answers.lock().unwrap().clear();
    }

    /// Resolves when a crash point was reached.
    pub async fn crashed(&self) {
        self.crashed.notified().await
    }
}

#[async_trait::async_trait(?Send)]
impl HttpClient for FaultyHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let fault = {
            let mut state = self.state.lock().unwrap();
            state.0 += 1;
            let count = state.0;
            match state.1 {
                Some(HttpFault::CrashAt { n, deliver }) if count >= n => {
                    Some((true, deliver && count == n))
                }
                Some(HttpFault::TimeoutAt { n, deliver }) if count == n => {
                    state.1 = None;
                    Some((false, deliver))
                }
                _ => None,
            }
        };
        let lose = {
            let mut matchers = self.lose_answers.lock().unwrap();
            let hit = matchers.iter().position(|m| m(&request));
            hit.map(|i| matchers.remove(i)).is_some()
        };
        let fault = fault.or(lose.then_some((false, true)));
        match fault {
            None => self.inner.send(request).await,
            Some((crash, deliver)) => {
                if deliver {
                    let _ = self.inner.send(request).await;
                }
                if crash {
                    self.crashed.notify_one();
                    futures::future::pending::<()>().await;
                }
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    "no answer in time",
                ))
            }
        }
    }
}

/// The host's store, whose n-th next commit fails as a crash at that point would.
pub struct CrashStore {
    pub inner: MemoryStore,
    crash_in: Mutex<Option<u32>>,
}

impl CrashStore {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            crash_in: Mutex::new(None),
        }
    }

    /// The `n`-th commit from now fails (1 = the next one).
    pub fn fail_commit(&self, n: u32) {
        *self.crash_in.lock().unwrap() = Some(n);
    }

    pub fn heal(&self) {
        *self.crash_in.lock().unwrap() = None;
    }
}

#[async_trait::async_trait(?Send)]
impl Store for CrashStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.inner.get(key).await
    }
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        self.inner.scan(prefix).await
    }
    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        {
            let mut crash = self.crash_in.lock().unwrap();
            if let Some(n) = crash.as_mut() {
                *n -= 1;
                if *n == 0 {
                    *crash = None;
                    return Err(StoreError::Backend("crash".into()));
                }
            }
        }
        self.inner.commit(batch).await
    }
}

/// Opens an authorize URL as the browser would, with the simulated Entra ID signing the user in,
/// and returns where it redirects back to (with `code` and `state`, or `error`).
pub async fn follow_to_redirect(authorize_url: &str) -> url::Url {
    let response = ReqwestHttp::new()
        .send(HttpRequest::new(Method::Get, authorize_url))
        .await
        .unwrap();
    assert_eq!(
        response.status,
        302,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    url::Url::parse(response.header("location").unwrap()).unwrap()
}

pub struct Env {
    pub world: World,
    pub clock: Arc<ManualClock>,
    pub store: Arc<CrashStore>,
    pub http: Arc<FaultyHttp>,
    pub app: App,
}

/// The simulators and an `App` on them; nothing connected yet.
pub async fn env() -> Env {
    let clock = Arc::new(ManualClock::new(start_time()));
    let sim_clock = clock.clone();
    let world = World::start(Arc::new(move || sim_clock.now()), 1).await;
    let store = Arc::new(CrashStore::new());
    let http = Arc::new(FaultyHttp::new());
    let mut env = Env {
        app: App::new(Host {
            http: http.clone(),
            store: store.clone(),
            clock: clock.clone(),
        }),
        world,
        clock,
        store,
        http,
    };
    env.app = env.engine("e2e-node");
    env
}

/// The simulators with the tenant connected and Alice signed in and set up (FLE Standard Time,
/// Calendar on); returns her user id too.
pub async fn alice_env() -> (Env, String) {
    let env = env().await;
    env.connect_tenant().await;
    let alice = env.sign_in(&env.world.alice().email).await.unwrap().user_id;
    env.set_up(&alice).await;
    (env, alice)
}

impl Env {
    /// Another engine on the same host (store, HTTP, clock), as a second node would be.
    pub fn engine(&self, runner_id: &str) -> App {
        let host = Host {
            http: self.http.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        let config = AppConfig {
            authority: self.world.entra.authority(),
            graph_base_url: self.world.graph.base_url(),
            erp_base_url: self.world.erp.odata_root(),
            erp_access: ErpAccess::TrustedApp {
                identity_base: self.world.erp.identity_base(),
                client_id: self.world.erp_client_id.clone(),
                client_secret: self.world.erp_client_secret.clone(),
            },
            redirect_uri: self.world.redirect_uri.clone(),
            runner_id: runner_id.into(),
            local_process: None,
            lease_ttl: mssync_core::app::DEFAULT_LEASE_TTL,
        };
        App::with_config(host, config, SEALING_KEY).expect("the simulators' endpoints are loopback")
    }

    /// Moves every clock (ours and ERP.net's stamps) forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.world.erp.set_now(self.clock.now());
    }

    pub async fn connect_tenant(&self) {
        let host = Actor::Host;
        self.app
            .set_service(
                &host,
                ServiceChange {
                    tenant_id: Some(self.world.tenant.clone()),
                    client_id: Some(self.world.client_id.clone()),
                    mode: Some(OperationMode::Application),
                    credential: Some(CredentialInput::Secret {
                        secret: self.world.client_secret.clone(),
                    }),
                },
            )
            .await
            .unwrap();
        self.world.consent();
        let report = self
            .app
            .connect(&host, &self.world.admin.oid)
            .await
            .unwrap();
        assert!(report.token && report.graph, "{report:?}");
        let permissions = self.app.give_permissions(&host).await.unwrap();
        assert!(permissions.missing.is_empty(), "{permissions:?}");
        self.app.grant_domain(&host, DOMAIN).await.unwrap();
    }

    /// Sign-in with the simulator playing the browser: follow the authorize URL to the redirect.
    pub async fn sign_in(
        &self,
        login_hint: &str,
    ) -> Result<mssync_core::app::Session, PublicError> {
        let start = self
            .app
            .begin_sign_in(Some(login_hint), BROWSER_SESSION)
            .await?;
        let location = follow_to_redirect(&start.authorize_url).await;
        let param = |name: &str| {
            location
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let state = param("state").expect("the state in the redirect");
        match param("code") {
            Some(code) => {
                self.app
                    .complete_sign_in(&state, &code, BROWSER_SESSION)
                    .await
            }
            None => Err(self
                .app
                .fail_sign_in(
                    &state,
                    &param("error").unwrap_or_default(),
                    &param("error_description").unwrap_or_default(),
                )
                .await),
        }
    }

    pub async fn set_up(&self, user_id: &str) {
        self.app
            .set_company(user_id, &self.world.company, &self.world.location)
            .await
            .unwrap();
        self.app
            .change_setup(
                user_id,
                SetupChange {
                    time_zone: Some("FLE Standard Time".into()),
                    policy: None,
                },
            )
            .await
            .unwrap();
        self.app
            .set_job_enabled(user_id, JobKind::Calendar, true)
            .await
            .unwrap();
    }

    /// The host lost MsSync's store: Service, sign-in and Setup are done again on an empty one.
    #[allow(dead_code)] // not every suite loses its store
    pub async fn lose_the_store(&self, user: &str) {
        self.store.inner.restore(&Default::default());
        self.connect_tenant().await;
        let again = self.sign_in(&self.world.alice().email).await.unwrap();
        assert_eq!(again.user_id, user, "the same Microsoft identity");
        self.set_up(user).await;
    }

    /// One calendar run of `user` on the main engine.
    pub async fn run(&self, user: &str) -> Result<RunReport, PublicError> {
        self.app
            .run_job(user, JobKind::Calendar, false)
            .await
            .result
    }

    /// Non-void activities in ERP.net.
    pub fn activities(&self) -> Vec<serde_json::Value> {
        self.world
            .erp
            .list("General_Activities_Activities")
            .into_iter()
            .filter(|a| a["Void"] != json!(true))
            .collect()
    }
}

/// The ERP.net connector on `sim` as a Trusted Application it registers here (client
/// credentials against the simulator's identity endpoint), on `clock`.
pub fn trusted_erp_client(
    sim: &mssync_sim::erp::ErpSim,
    clock: Arc<ManualClock>,
) -> mssync_core::erp::ErpClient {
    use mssync_core::erp::{ClientCredentials, ErpAuth, ErpClient, ErpConfig};
    const CLIENT_ID: &str = "https://mssync.test/trusted-app";
    const CLIENT_SECRET: &str = "s3cret-never-logged";
    sim.register_client(CLIENT_ID, CLIENT_SECRET);
    let http: Arc<dyn HttpClient> = Arc::new(ReqwestHttp::new());
    let tokens = ClientCredentials::new(
        http.clone(),
        clock.clone(),
        &sim.identity_base(),
        CLIENT_ID,
        CLIENT_SECRET,
    );
    ErpClient::new(
        http,
        clock,
        ErpAuth::Bearer(Arc::new(tokens)),
        ErpConfig::new(sim.odata_root()),
    )
    .expect("the simulator's address is a URL")
}

/// The fault suites' seeded generator (xorshift): a seed replays the same story.
#[allow(dead_code)] // only the fault suites draw from it
pub struct Rng(pub u64);

#[allow(dead_code)]
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The id inside an ERP.net reference (`{"@odata.id": "Set(id)"}`), lower-cased as the
/// simulator keeps ids.
#[allow(dead_code)] // only the mail suites read references
pub fn ref_id(v: &serde_json::Value) -> Option<String> {
    let odata = v["@odata.id"].as_str()?;
    let open = odata.find('(')?;
    Some(odata[open + 1..odata.len() - 1].to_ascii_lowercase())
}
