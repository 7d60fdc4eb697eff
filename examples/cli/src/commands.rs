//! The commands that act on a configured MsSync: the application layer over the configured store
//! (SQLite or PostgreSQL) and reqwest.
//!
//! The command line is one operator's console: Service runs as the host itself, and the user of
//! Setup, Home and Sync is the one who signed in last with `mssync signin` (kept in the store).

use std::sync::Arc;
use std::time::Duration;

use mssync_core::app::ConflictPolicy;
use mssync_core::app::{
    Actor, App, AppConfig, CredentialInput, DueJob, ErpAccess, HomeView, JobKind, LocalProcess,
    OperationMode, ServiceChange, SetupChange,
};
use mssync_core::host::{Clock, Expect, Host, Store, WriteBatch};
use mssync_core::{ErrorCode, PublicError};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{self, Config, Credentials, EntraCredential, ErpCredential};
use crate::http::{ReqwestHttp, tokio_clock};
use crate::redirect::{RedirectParams, RedirectReceiver, SIGNIN_PATH};
use crate::store::OpenedStore;

/// Where the command line remembers who signed in last.
const SESSION_KEY: &str = "cli/session";

/// The application built from the configuration and its credentials.
pub struct Console {
    pub app: App,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: Config,
    credentials: Credentials,
}

impl Console {
    /// Opens the store and builds the application. `redirect_uri` is where sign-ins come back.
    pub fn open(config: Config, redirect_uri: String) -> Result<Self, PublicError> {
        let credentials = Credentials::load(&config)?;
        let store = OpenedStore::open(&config.store, credentials.store_password.as_ref())?.shared();
        let clock = tokio_clock();
        let erp_access = match (&config.erp.auth, &credentials.erp) {
            (
                config::ErpAuth::TrustedApp { client_id, .. },
                ErpCredential::ClientSecret(secret),
            ) => {
                let token = config.erp.token_endpoint.as_str();
                ErpAccess::TrustedApp {
                    identity_base: token
                        .trim_end_matches('/')
                        .trim_end_matches("/connect/token")
                        .to_owned(),
                    client_id: client_id.clone(),
                    client_secret: secret.expose_secret().to_owned(),
                }
            }
            (_, ErpCredential::PersonalAccessToken(token)) => ErpAccess::PersonalAccessToken {
                token: token.expose_secret().to_owned(),
            },
            _ => ErpAccess::Host,
        };
        let host = Host {
            http: Arc::new(ReqwestHttp::with_limit(config.max_response_bytes)),
            store: store.clone(),
            clock: clock.clone(),
        };
        let app = App::with_config(
            host,
            AppConfig {
                authority: config
                    .entra
                    .authority
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                graph_base_url: config
                    .graph
                    .base_url
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
                erp_base_url: config.erp.domain_api_url.to_string(),
                erp_access,
                redirect_uri,
                runner_id: runner_id(&config.node),
                local_process: local_process(),
                lease_ttl: config.lease_ttl,
            },
            credentials.sealing_key.clone(),
        )?;
        Ok(Self {
            app,
            store,
            clock,
            config,
            credentials,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The user who signed in last on this console.
    pub async fn current_user(&self) -> Result<String, PublicError> {
        match self.store.get(SESSION_KEY).await? {
            Some(v) => Ok(String::from_utf8_lossy(&v.value).into_owned()),
            None => Err(PublicError::new(
                ErrorCode::NotFound,
                "nobody has signed in on this console; run `mssync signin` first",
            )),
        }
    }

    /// Writes the configuration's connection (and its credential) into Service.
    pub async fn service_set(
        &self,
        tenant_id: Option<String>,
        client_id: Option<String>,
        mode: Option<OperationMode>,
    ) -> Result<(), PublicError> {
        let credential = match &self.credentials.entra {
            Some(EntraCredential::Secret(s)) => Some(CredentialInput::Secret {
                secret: s.expose_secret().to_owned(),
            }),
            Some(EntraCredential::CertificatePem(pem)) => Some(CredentialInput::Certificate {
                private_key_pem: pem.expose_secret().to_owned(),
                certificate_pem: pem.expose_secret().to_owned(),
            }),
            None => None,
        };
        let mode = mode.or(Some(match self.config.mode {
            config::OperationMode::Application => OperationMode::Application,
            config::OperationMode::Delegated => OperationMode::Delegated,
        }));
        let view = self
            .app
            .set_service(
                &Actor::Host,
                ServiceChange {
                    tenant_id: tenant_id.or(Some(self.config.entra.tenant_id.clone())),
                    client_id: client_id.or(Some(self.config.entra.client_id.clone())),
                    mode,
                    credential,
                },
            )
            .await?;
        print_json(&view)
    }

    /// Sign-in through the browser with a loopback redirect (RFC 8252).
    pub async fn sign_in(
        &self,
        receiver: RedirectReceiver,
        open_browser: bool,
    ) -> Result<(), PublicError> {
        // The console's binding of this sign-in: a random value only this process knows, so
        // only the redirect this process receives can complete it.
        let mut random = [0u8; 16];
        getrandom::getrandom(&mut random).map_err(|_| {
            PublicError::new(ErrorCode::Internal, "no randomness for the sign-in binding")
        })?;
        let binding: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let start = self.app.begin_sign_in(None, &binding).await?;
        // One line on standard output, for the person or a script to open.
        println!("{}", start.authorize_url);
        if open_browser {
            let _ = std::process::Command::new("xdg-open")
                .arg(&start.authorize_url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }
        let session = match receiver
            .wait(&start.state, Duration::from_secs(300))
            .await?
        {
            RedirectParams::Code { code, state } => {
                self.app
                    .complete_sign_in(&state, code.expose_secret(), &binding)
                    .await?
            }
            RedirectParams::Error {
                error,
                description,
                state,
            } => {
                return Err(self
                    .app
                    .fail_sign_in(
                        state.as_deref().unwrap_or_default(),
                        &error,
                        description.as_deref().unwrap_or_default(),
                    )
                    .await);
            }
        };
        self.store
            .commit(WriteBatch::new().put(
                SESSION_KEY,
                session.user_id.clone().into_bytes(),
                Expect::Any,
            ))
            .await?;
        eprintln!("Signed in as {} <{}>.", session.name, session.email);
        Ok(())
    }

    pub async fn setup_set(
        &self,
        company: Option<String>,
        location: Option<String>,
        time_zone: Option<String>,
    ) -> Result<(), PublicError> {
        let user = self.current_user().await?;
        match (company, location) {
            (Some(c), Some(l)) => {
                self.app.set_company(&user, &c, &l).await?;
            }
            (None, None) => {}
            _ => {
                return Err(PublicError::new(
                    ErrorCode::InvalidArgument,
                    "give --company and --location together",
                ));
            }
        }
        if time_zone.is_some() {
            self.app
                .change_setup(
                    &user,
                    SetupChange {
                        time_zone,
                        policy: None,
                    },
                )
                .await?;
        }
        print_json(&self.app.setup(&user).await?)
    }

    pub async fn setup_policy(&self, policy: ConflictPolicy) -> Result<(), PublicError> {
        let user = self.current_user().await?;
        let view = self
            .app
            .change_setup(
                &user,
                SetupChange {
                    time_zone: None,
                    policy: Some(policy),
                },
            )
            .await?;
        print_json(&view)
    }

    /// Runs one user's jobs that are on (by e-mail), or every due job when `user` is `None`. On a
    /// terminal a progress line shows the runs done and the one under way (on standard error;
    /// the reports go to standard output as JSON lines).
    pub async fn sync(&self, user: Option<&str>, dry_run: bool) -> Result<(), PublicError> {
        // The user's own request runs now; due jobs run only if no other node took them.
        let runs: Vec<(String, JobKind, Option<DueJob>)> = if let Some(email) = user {
            let user = self
                .app
                .user_by_email(email)
                .await
                .map_err(|e| match e.code {
                    ErrorCode::NotFound => PublicError::new(
                        ErrorCode::NotFound,
                        format!("{email} has not signed in here; run `mssync signin` first"),
                    ),
                    _ => e,
                })?;
            // Every job the user turned on, in the order Setup lists them.
            let setup = self.app.setup(&user).await?;
            setup
                .jobs
                .iter()
                .filter(|j| j.enabled)
                .map(|j| (user.clone(), j.job, None))
                .collect()
        } else {
            // The tenant's ERP.net feed first: routed users are due first.
            if !dry_run && let Err(e) = self.app.route_erp_changes().await {
                eprintln!("error {}: {}", e.code.number(), e.reason);
            }
            self.app
                .due_jobs(self.clock.now())
                .await?
                .into_iter()
                .map(|d| (d.user_id.clone(), d.job, Some(d)))
                .collect()
        };
        if runs.is_empty() {
            eprintln!("No job is due.");
        }
        let progress = progress_for(runs.len(), indicatif::ProgressDrawTarget::stderr());
        // The spinner and the elapsed time move while a long run is under way.
        progress.enable_steady_tick(Duration::from_millis(120));
        let mut failed = None;
        for (user, job, due) in runs {
            progress.set_message(format!("{} of {user}", job.title()));
            let result = match (due, dry_run) {
                (Some(due), false) => match self.app.run_due_job(&due).await {
                    Ok(Some(run)) => run.result,
                    // Another node ran it since the list was made, or is running it.
                    Ok(None) => {
                        progress.inc(1);
                        continue;
                    }
                    Err(e) => Err(e),
                },
                _ => self.app.run_job(&user, job, dry_run).await.result,
            };
            match result {
                Ok(report) => progress.suspend(|| print_json(&report))?,
                Err(e) => {
                    progress.suspend(|| eprintln!("error {}: {}", e.code.number(), e.reason));
                    failed = Some(e);
                }
            }
            progress.inc(1);
        }
        progress.finish_and_clear();
        failed.map_or(Ok(()), Err)
    }

    /// Runs due jobs on their schedule until Ctrl-C, finishing the run under way first.
    pub async fn watch(&self) -> Result<(), PublicError> {
        eprintln!("Watching for due jobs; Ctrl-C stops after the current run.");
        loop {
            if let Err(e) = self.sync(None, false).await {
                eprintln!("(continuing) error {}: {}", e.code.number(), e.reason);
            }
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("Stopped.");
                    return Ok(());
                }
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }

    pub async fn home(&self, json: bool) -> Result<(), PublicError> {
        let user = self.current_user().await?;
        let home: HomeView = self.app.home(&user).await?;
        if json {
            return print_json(&home);
        }
        let mut out = std::io::stdout();
        crate::demo::print_home(&mut out, &home)
            .map_err(|e| PublicError::new(ErrorCode::Internal, format!("cannot print: {e}")))
    }
}

/// This process in leases: the configured node name, then what tells two processes apart even
/// when they were given the same name (the pid, and a random part for containers where every
/// process is pid 1). A runner renews a live lease of its own name, so no two may share one.
fn runner_id(node: &str) -> String {
    let mut random = [0u8; 4];
    // Without randomness the pid still tells this machine's processes apart.
    let _ = getrandom::getrandom(&mut random);
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{node}/{}/{random}", std::process::id())
}

/// This process as leases record it (host name and pid), so that an `mssync` started after this
/// one was killed half way takes its jobs over at once instead of waiting out their leases.
#[cfg(unix)]
fn local_process() -> Option<LocalProcess> {
    use rustix::process::{Pid, test_kill_process};
    let node = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    Some(LocalProcess {
        node,
        pid: std::process::id(),
        is_running: Arc::new(|pid| {
            let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
                return true;
            };
            // kill(pid, 0): only "no such process" means gone; EPERM is another user's process.
            // A zombie still counts as running, which only makes the lease wait.
            test_kill_process(pid) != Err(rustix::io::Errno::SRCH)
        }),
    })
}

#[cfg(not(unix))]
fn local_process() -> Option<LocalProcess> {
    None
}

/// Prints a view as indented JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<(), PublicError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|_| PublicError::new(ErrorCode::Internal, "a view did not serialize"))?;
    println!("{text}");
    Ok(())
}

/// The loopback receiver for `signin`, bound before the application is built so the redirect
/// URI it announces is the one the application sends.
pub async fn bind_receiver(config: &Config) -> Result<RedirectReceiver, PublicError> {
    Ok(RedirectReceiver::bind(config.redirect_port, SIGNIN_PATH).await?)
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn a_reaped_process_is_gone_and_this_one_runs() {
        let me = super::local_process().unwrap();
        assert!(!me.node.is_empty());
        assert!((me.is_running)(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        assert!(!(me.is_running)(child.id()));
    }
}

/// The progress line of `sync`: a bar over several runs, a spinner with the elapsed time over
/// one (a first sync of a large calendar takes a while). Drawn only on a terminal.
fn progress_for(runs: usize, target: indicatif::ProgressDrawTarget) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressStyle};
    let bar = if runs > 1 {
        ProgressBar::new(runs as u64).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .expect("a valid template"),
        )
    } else {
        ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .expect("a valid template"),
        )
    };
    bar.set_draw_target(target);
    bar
}

#[cfg(test)]
mod progress_tests {
    use indicatif::{InMemoryTerm, ProgressDrawTarget};

    #[test]
    fn several_runs_show_a_bar_with_counts_and_the_run_under_way() {
        let term = InMemoryTerm::new(4, 100);
        let bar = super::progress_for(3, ProgressDrawTarget::term_like(Box::new(term.clone())));
        bar.set_message("Calendar of alice");
        bar.inc(1);
        bar.tick();
        let shown = term.contents();
        assert!(shown.contains("1/3 Calendar of alice"), "{shown:?}");
        bar.finish_and_clear();
        assert_eq!(
            term.contents().trim(),
            "",
            "the line is gone when the runs are"
        );
    }

    #[test]
    fn one_run_shows_a_spinner_with_the_elapsed_time() {
        let term = InMemoryTerm::new(4, 100);
        let bar = super::progress_for(1, ProgressDrawTarget::term_like(Box::new(term.clone())));
        bar.set_message("Calendar of alice");
        bar.abandon();
        let shown = term.contents();
        assert!(shown.contains("[00:00:00] Calendar of alice"), "{shown:?}");
        assert!(
            !shown.contains("/1"),
            "no count for a single run: {shown:?}"
        );
    }
}
