//! `MsSync`: the core application layer for JavaScript, the same operations the C ABI offers.
//!
//! Views and requests are the core's JSON shapes with camelCase keys (`companyId`, not
//! `company_id`); values such as `"erp_wins"` or `"calendar"` are unchanged. Every method returns
//! a Promise that rejects with an `MsSyncError`.

use js_sys::{Reflect, Uint8Array};
use mssync_core::app::{Actor, App, AppConfig, JobKind, ServiceChange, SetupChange};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::error::{JsResult, invalid_argument, js_error};
use crate::host::{from_js_camel, to_js_camel};
use crate::spawn_guarded;

/// What `new MsSync(host, options)` and the panels take (`MsSyncOptions` in the TypeScript).
#[derive(Default)]
pub struct AppOptions {
    /// Endpoints and ERP.net access; without it only Setup, Home and the schedule work.
    pub config: Option<AppConfig>,
    /// 32 bytes that seal secrets and tokens before they reach the store.
    pub sealing_key: Option<Vec<u8>>,
}

impl AppOptions {
    /// Reads `{ config?, sealingKey? }` from the options the page passed (`undefined`: none).
    pub fn from_js(options: &JsValue) -> JsResult<Self> {
        if options.is_undefined() || options.is_null() {
            return Ok(Self::default());
        }
        let member = |name: &str| Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let config = member("config");
        let key = member("sealingKey");
        Ok(Self {
            config: if config.is_undefined() || config.is_null() {
                None
            } else {
                Some(from_js_camel(&config, "options.config")?)
            },
            sealing_key: if key.is_undefined() || key.is_null() {
                None
            } else if key.is_instance_of::<Uint8Array>() {
                Some(Uint8Array::from(key).to_vec())
            } else {
                return Err(invalid_argument("options.sealingKey must be a Uint8Array"));
            },
        })
    }

    /// The application over `host` these options describe.
    #[cfg(target_arch = "wasm32")]
    pub fn app(self, host: &JsValue) -> JsResult<App> {
        let host = crate::host::host_from_js(host)?;
        match (self.config, self.sealing_key) {
            (None, _) => Ok(App::new(host)),
            (Some(config), Some(key)) => {
                let key = mssync_core::app::SealingKey::from_slice(&key)
                    .map_err(|_| invalid_argument("options.sealingKey must be 32 bytes"))?;
                App::with_config(host, config, key).map_err(|e| crate::error::to_js_error(&e))
            }
            (Some(_), None) => Err(invalid_argument(
                "options.sealingKey (32 bytes) is required with options.config",
            )),
        }
    }
}

/// The application layer for a page: Service, sign-in, Setup, Home and runs.
#[wasm_bindgen(js_name = MsSync)]
pub struct MsSyncJs {
    app: App,
}

/// Runs `operation` on a clone of the app and hands its result to JavaScript in camelCase.
fn call<T, F>(app: &App, operation: impl FnOnce(App) -> F + 'static) -> js_sys::Promise
where
    T: serde::Serialize,
    F: std::future::Future<Output = Result<T, mssync_core::PublicError>> + 'static,
{
    let app = app.clone();
    spawn_guarded(async move {
        let value = operation(app).await.map_err(js_error)?;
        to_js_camel(&value)
    })
}

/// A run that finished, as `runJob` resolves it.
#[derive(serde::Serialize)]
struct RunWithLog {
    report: mssync_core::app::RunView,
    log: Vec<mssync_core::app::LogEntry>,
}

fn job(name: &str) -> JsResult<JobKind> {
    JobKind::parse(name).map_err(js_error)
}

fn parse<T: DeserializeOwned>(value: &JsValue, what: &str) -> JsResult<T> {
    from_js_camel(value, what)
}

#[wasm_bindgen(js_class = MsSync)]
impl MsSyncJs {
    /// `new MsSync(host, options?)`; fails with 101 when the host or options are malformed.
    #[cfg(target_arch = "wasm32")]
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "MsSyncHost")] host: JsValue,
        #[wasm_bindgen(unchecked_param_type = "MsSyncOptions | undefined")] options: JsValue,
    ) -> JsResult<MsSyncJs> {
        Ok(Self {
            app: AppOptions::from_js(&options)?.app(&host)?,
        })
    }

    /// Service as an administrator sees it. `actor` is `{ kind: "host" }` or
    /// `{ kind: "user", userId }`: only ERP.net administrators may use Service.
    #[wasm_bindgen(unchecked_return_type = "Promise<ServiceView>")]
    pub fn service(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            app.service(&actor).await
        }))
    }

    /// Changes tenant, client id, mode or credential (`ServiceChange`).
    #[wasm_bindgen(js_name = setService, unchecked_return_type = "Promise<ServiceView>")]
    pub fn set_service(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ServiceChange")] change: JsValue,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        let change: ServiceChange = parse(&change, "change")?;
        Ok(call(&self.app, move |app| async move {
            app.set_service(&actor, change).await
        }))
    }

    /// Where to send an administrator to consent for the tenant; Entra ID comes back to the
    /// redirect URI with `admin_consent=True`.
    #[wasm_bindgen(js_name = consentUrl, unchecked_return_type = "Promise<string>")]
    pub fn consent_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            app.consent_url(&actor).await
        }))
    }

    /// The admin-consent redirect came back: its `state`, `admin_consent`, `tenant`, `error` and
    /// `error_description` query values (empty strings for absent ones). Resolves when the state
    /// is one `consentUrl` issued (once, while fresh) and consent was granted for the connected
    /// tenant; then call `connect`.
    #[wasm_bindgen(js_name = completeAdminConsent, unchecked_return_type = "Promise<void>")]
    #[allow(clippy::too_many_arguments)] // one argument per redirect parameter
    pub fn complete_admin_consent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
        state: String,
        #[wasm_bindgen(js_name = adminConsent)] admin_consent: String,
        tenant: String,
        error: String,
        #[wasm_bindgen(js_name = errorDescription)] error_description: String,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            let redirect = mssync_core::app::AdminConsentRedirect {
                state: &state,
                admin_consent: &admin_consent,
                tenant: &tenant,
                error: &error,
                error_description: &error_description,
            };
            app.complete_admin_consent(&actor, redirect).await
        }))
    }

    /// "Connect": gets an app token and reads `probeMailbox`'s calendar with it.
    #[wasm_bindgen(unchecked_return_type = "Promise<ConnectReport>")]
    pub fn connect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
        #[wasm_bindgen(js_name = probeMailbox)] probe_mailbox: String,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            app.connect(&actor, &probe_mailbox).await
        }))
    }

    /// "Give permissions": checks and fixes the ERP.net prerequisites.
    #[wasm_bindgen(js_name = givePermissions, unchecked_return_type = "Promise<PermissionsReport>")]
    pub fn give_permissions(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            app.give_permissions(&actor).await
        }))
    }

    /// Lets users of an e-mail domain sign in.
    #[wasm_bindgen(js_name = grantDomain, unchecked_return_type = "Promise<ServiceView>")]
    pub fn grant_domain(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Actor")] actor: JsValue,
        domain: String,
    ) -> JsResult<js_sys::Promise> {
        let actor = actor_from(&actor)?;
        Ok(call(&self.app, move |app| async move {
            app.grant_domain(&actor, &domain).await
        }))
    }

    /// Step one of "Sign in with Microsoft": `{ authorizeUrl, state }`; send the browser there.
    /// `binding` names this browser session (a random value the page keeps in its session
    /// storage): only the same binding completes the sign-in.
    #[wasm_bindgen(js_name = beginSignIn, unchecked_return_type = "Promise<SignInStart>")]
    pub fn begin_sign_in(
        &self,
        binding: String,
        #[wasm_bindgen(js_name = loginHint)] login_hint: Option<String>,
    ) -> js_sys::Promise {
        call(&self.app, move |app| async move {
            app.begin_sign_in(login_hint.as_deref(), &binding).await
        })
    }

    /// Step two, with the `state` and `code` the redirect brought back and the `binding` given
    /// to `beginSignIn`: the signed-in `Session`.
    #[wasm_bindgen(js_name = completeSignIn, unchecked_return_type = "Promise<Session>")]
    pub fn complete_sign_in(
        &self,
        state: String,
        code: String,
        binding: String,
    ) -> js_sys::Promise {
        call(&self.app, move |app| async move {
            app.complete_sign_in(&state, &code, &binding).await
        })
    }

    /// Step two when the redirect brought an `error` instead: rejects with what went wrong.
    #[wasm_bindgen(js_name = failSignIn, unchecked_return_type = "Promise<never>")]
    pub fn fail_sign_in(
        &self,
        state: String,
        error: String,
        description: String,
    ) -> js_sys::Promise {
        let app = self.app.clone();
        spawn_guarded(async move {
            Err(js_error(
                app.fail_sign_in(&state, &error, &description).await,
            ))
        })
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<SetupView>")]
    pub fn setup(&self, #[wasm_bindgen(js_name = userId)] user_id: String) -> js_sys::Promise {
        call(
            &self.app,
            move |app| async move { app.setup(&user_id).await },
        )
    }

    /// The companies and locations ERP.net lets the user pick, zones and policies.
    #[wasm_bindgen(js_name = setupOptions, unchecked_return_type = "Promise<SetupOptions>")]
    pub fn setup_options(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
    ) -> js_sys::Promise {
        call(&self.app, move |app| async move {
            app.setup_options(&user_id).await
        })
    }

    #[wasm_bindgen(js_name = setCompany, unchecked_return_type = "Promise<SetupView>")]
    pub fn set_company(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = companyId)] company_id: String,
        #[wasm_bindgen(js_name = locationId)] location_id: String,
    ) -> js_sys::Promise {
        call(&self.app, move |app| async move {
            app.set_company(&user_id, &company_id, &location_id).await
        })
    }

    /// Changes `{ timeZone?, policy? }`.
    #[wasm_bindgen(js_name = changeSetup, unchecked_return_type = "Promise<SetupView>")]
    pub fn change_setup(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(unchecked_param_type = "SetupChange")] change: JsValue,
    ) -> JsResult<js_sys::Promise> {
        let change: SetupChange = parse(&change, "change")?;
        Ok(call(&self.app, move |app| async move {
            app.change_setup(&user_id, change).await
        }))
    }

    #[wasm_bindgen(js_name = setJobEnabled, unchecked_return_type = "Promise<SetupView>")]
    pub fn set_job_enabled(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = job)] job_name: String,
        enabled: bool,
    ) -> JsResult<js_sys::Promise> {
        let job = job(&job_name)?;
        Ok(call(&self.app, move |app| async move {
            app.set_job_enabled(&user_id, job, enabled).await
        }))
    }

    /// "Full refresh": the next run reads both sides whole.
    #[wasm_bindgen(js_name = requestFullRefresh, unchecked_return_type = "Promise<SetupView>")]
    pub fn request_full_refresh(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = job)] job_name: String,
    ) -> JsResult<js_sys::Promise> {
        let job = job(&job_name)?;
        Ok(call(&self.app, move |app| async move {
            app.request_full_refresh(&user_id, job).await
        }))
    }

    #[wasm_bindgen(unchecked_return_type = "Promise<HomeView>")]
    pub fn home(&self, #[wasm_bindgen(js_name = userId)] user_id: String) -> js_sys::Promise {
        call(
            &self.app,
            move |app| async move { app.home(&user_id).await },
        )
    }

    /// Runs a job now ("Sync now"): the report counts what moved each way, and `log` holds
    /// exactly the lines this run wrote to the user's log.
    #[wasm_bindgen(js_name = runJob, unchecked_return_type = "Promise<JobRun>")]
    pub fn run_job(
        &self,
        #[wasm_bindgen(js_name = userId)] user_id: String,
        #[wasm_bindgen(js_name = job)] job_name: String,
        #[wasm_bindgen(js_name = dryRun)] dry_run: Option<bool>,
    ) -> JsResult<js_sys::Promise> {
        let job = job(&job_name)?;
        Ok(call(&self.app, move |app| async move {
            let run = app.run_job(&user_id, job, dry_run.unwrap_or(false)).await;
            run.result.map(|report| RunWithLog {
                report,
                log: run.log,
            })
        }))
    }

    /// The jobs due now, for a scheduler in the page's backend.
    #[wasm_bindgen(js_name = dueJobs, unchecked_return_type = "Promise<DueJob[]>")]
    pub fn due_jobs(&self) -> js_sys::Promise {
        call(
            &self.app,
            move |app| async move { app.due_jobs_now().await },
        )
    }
}

fn actor_from(actor: &JsValue) -> JsResult<Actor> {
    parse(actor, "actor")
}
