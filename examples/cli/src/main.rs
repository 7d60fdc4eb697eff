//! `mssync`: the command-line host of MsSync.
//!
//! Every failure prints `error <code>: <sentence>` on stderr, with the stable numeric code of
//! [`ErrorCode`], and exits with status 1 (clap's own usage errors exit with 2). Credentials are read
//! only from the files the configuration names or from `MSSYNC_*` variables, never from arguments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mssync_cli::config::{
    Config, Credentials, EntraCredential, ErpAuth, ErpCredential, OperationMode, env,
};
use mssync_cli::redirect::SIGNIN_PATH;
use mssync_cli::{OpenedStore, SqliteStore, StoreLocation};
use mssync_core::{ErrorCode, PublicError};

#[derive(Parser)]
#[command(
    name = "mssync",
    version,
    about = "Keeps ERP.net activities and Outlook calendars in step",
    after_help = "Credentials come only from files named in the configuration or from MSSYNC_* \
                  environment variables (MSSYNC_ENTRA_CLIENT_SECRET, MSSYNC_ENTRA_CERTIFICATE_PEM, \
                  MSSYNC_ERP_CLIENT_SECRET, MSSYNC_ERP_PAT, MSSYNC_SEALING_KEY), never from the \
                  command line."
)]
struct Cli {
    /// The configuration file (TOML); see mssync.example.toml. Without it, MSSYNC_CONFIG when
    /// set and not empty, else ./mssync.toml.
    // Not clap's `env`: an empty MSSYNC_CONFIG would fail the parse even with --config given.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Admin: connect this MsSync to the Entra ID tenant and ERP.net, grant e-mail domains.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Sign in with Microsoft in the browser (authorization code with PKCE, loopback redirect).
    Signin {
        /// Print the sign-in address instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// The signed-in user's settings: company, location, time zone, jobs, conflict policy.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Run the jobs that are due once, now.
    Sync {
        /// Only this user (e-mail); all users with jobs on when absent.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// Plan and report the writes without making them.
        #[arg(long)]
        dry_run: bool,
    },
    /// State, checkpoints and the latest log lines of the signed-in user.
    Home {
        /// Print the Home view model as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Keep running jobs on their schedule until interrupted.
    Watch,
    /// Long-running mode: receive Graph change notifications on `listen` (reached by Graph at
    /// `public_url`) and run jobs as they come due, until Ctrl-C or SIGTERM.
    Serve,
    /// Run the whole story on embedded simulators.
    Demo,
    /// Measure requests per change and engine cost on the simulators.
    Bench,
    /// Internal to `mssync bench`: its simulators, in a process of their own.
    #[command(hide = true)]
    BenchSims {
        #[arg(long)]
        extra_users: usize,
        #[arg(long)]
        start: chrono::DateTime<chrono::Utc>,
    },
    /// Measure several nodes on one PostgreSQL database (MSSYNC_TEST_POSTGRES_URL; see
    /// tests/postgres.sh) on the simulators.
    BenchNodes,
    /// List the Windows time zones Setup offers.
    TimeZones,
    /// Show the configuration and which credentials are set (never their values).
    Config,
    /// Show the store and how many keys it holds under each prefix.
    StoreInfo {
        /// Count keys under this prefix, grouped by their next segment.
        #[arg(long, default_value = "")]
        prefix: String,
    },
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Show tenant, client, operation mode, connection state and granted domains.
    Show,
    /// Change tenant id, client id or operation mode.
    Set(ServiceSettings),
    /// Print the admin-consent address for the tenant's administrator.
    ConsentUrl,
    /// Verify a token and Graph access with the configured credential.
    Connect,
    /// Check the ERP.net prerequisites and fix those MsSync may.
    GivePermissions,
    /// Let users of an e-mail domain use MsSync.
    GrantDomain { domain: String },
    /// Stop users of an e-mail domain from using MsSync.
    RevokeDomain { domain: String },
}

#[derive(Args)]
struct ServiceSettings {
    #[arg(long)]
    tenant_id: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Application,
    Delegated,
}

#[derive(Subcommand)]
enum SetupCommand {
    /// Show the user's settings and the companies, locations and zones to choose from.
    Show,
    /// Change default enterprise company, location or time zone.
    Set(SetupSettings),
    /// Turn a job on or off.
    Job {
        /// The job: `calendar` or `mail`.
        name: String,
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Re-read the whole window of a job on its next run.
    FullRefresh {
        #[arg(default_value = "calendar")]
        job: String,
    },
    /// How a field changed on both sides is decided.
    Policy {
        #[arg(value_enum)]
        policy: PolicyArg,
    },
}

#[derive(Args)]
struct SetupSettings {
    #[arg(long)]
    company: Option<String>,
    #[arg(long)]
    location: Option<String>,
    /// A Windows zone id or display name (see `mssync time-zones`).
    #[arg(long)]
    time_zone: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum PolicyArg {
    Newest,
    ErpWins,
    OutlookWins,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error {}: {}", error.code.number(), error.reason);
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), PublicError> {
    match &cli.command {
        Command::TimeZones => {
            for zone in mssync_core::app::time_zone_options() {
                println!("{:<40} {:<34} {}", zone.id, zone.iana, zone.display_name);
            }
            Ok(())
        }
        Command::Config => show_config(&load_config(cli)?),
        Command::StoreInfo { prefix } => store_info(&load_config(cli)?, prefix),
        Command::Service(_)
        | Command::Signin { .. }
        | Command::Setup(_)
        | Command::Sync { .. }
        | Command::Watch
        | Command::Serve
        | Command::Home { .. } => {
            let config = load_config(cli)?;
            block_on(console_command(&cli.command, config))
        }
        Command::Demo => block_on(mssync_cli::demo::run(&mut std::io::stdout())),
        Command::Bench => block_on(mssync_cli::bench::run(&mut std::io::stdout())),
        Command::BenchSims { extra_users, start } => {
            // The simulators' futures are `Send`: let them use both cores, as a service would.
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    PublicError::new(ErrorCode::Internal, format!("no async runtime: {e}"))
                })?
                .block_on(mssync_sim::control::serve(*extra_users, *start));
            Ok(())
        }
        Command::BenchNodes => block_on(mssync_cli::bench_nodes::run(&mut std::io::stdout())),
    }
}

/// Runs a command's future on one current-thread runtime: the engine's futures are not `Send`.
fn block_on(command: impl Future<Output = Result<(), PublicError>>) -> Result<(), PublicError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PublicError::new(ErrorCode::Internal, format!("no async runtime: {e}")))?
        .block_on(command)
}

async fn console_command(command: &Command, config: Config) -> Result<(), PublicError> {
    use mssync_cli::commands::{Console, bind_receiver, print_json};
    use mssync_core::app::{Actor, JobKind};
    // Sign-in binds its loopback receiver first: its address is the redirect URI.
    let (receiver, redirect_uri) = match command {
        Command::Signin { .. } => {
            let receiver = bind_receiver(&config).await?;
            let uri = receiver.redirect_uri().to_owned();
            (Some(receiver), uri)
        }
        // `serve` with a site: browsers sign in there and come back to it.
        Command::Serve if config.web.is_some() => (
            None,
            config
                .web
                .as_ref()
                .map(mssync_cli::web::WebSite::redirect_uri)
                .unwrap_or_default(),
        ),
        _ => (
            None,
            format!("http://127.0.0.1:{}{SIGNIN_PATH}", config.redirect_port),
        ),
    };
    let console = Console::open(config, redirect_uri)?;
    let app = &console.app;
    let host = Actor::Host;
    match command {
        Command::Service(ServiceCommand::Show) => print_json(&app.service(&host).await?),
        Command::Service(ServiceCommand::Set(s)) => {
            let mode = s.mode.map(|m| match m {
                ModeArg::Application => mssync_core::app::OperationMode::Application,
                ModeArg::Delegated => mssync_core::app::OperationMode::Delegated,
            });
            console
                .service_set(s.tenant_id.clone(), s.client_id.clone(), mode)
                .await
        }
        Command::Service(ServiceCommand::ConsentUrl) => {
            println!("{}", app.consent_url(&host).await?);
            Ok(())
        }
        Command::Service(ServiceCommand::Connect) => {
            let mailbox = console.current_user().await?;
            print_json(&app.connect(&host, &mailbox).await?)
        }
        Command::Service(ServiceCommand::GivePermissions) => {
            print_json(&app.give_permissions(&host).await?)
        }
        Command::Service(ServiceCommand::GrantDomain { domain }) => {
            print_json(&app.grant_domain(&host, domain).await?)
        }
        Command::Service(ServiceCommand::RevokeDomain { domain }) => {
            print_json(&app.revoke_domain(&host, domain).await?)
        }
        Command::Signin { no_browser } => {
            let receiver = receiver.expect("bound above");
            console.sign_in(receiver, !no_browser).await
        }
        Command::Setup(SetupCommand::Show) => {
            let user = console.current_user().await?;
            print_json(&serde_json::json!({
                "setup": app.setup(&user).await?,
                "options": app.setup_options(&user).await?,
            }))
        }
        Command::Setup(SetupCommand::Set(s)) => {
            console
                .setup_set(s.company.clone(), s.location.clone(), s.time_zone.clone())
                .await
        }
        Command::Setup(SetupCommand::Job { name, state }) => {
            let user = console.current_user().await?;
            let job = JobKind::parse(name)?;
            print_json(
                &app.set_job_enabled(&user, job, matches!(state, OnOff::On))
                    .await?,
            )
        }
        Command::Setup(SetupCommand::FullRefresh { job }) => {
            let user = console.current_user().await?;
            print_json(
                &app.request_full_refresh(&user, JobKind::parse(job)?)
                    .await?,
            )
        }
        Command::Setup(SetupCommand::Policy { policy }) => {
            use mssync_core::app::ConflictPolicy;
            console
                .setup_policy(match policy {
                    PolicyArg::Newest => ConflictPolicy::Newest,
                    PolicyArg::ErpWins => ConflictPolicy::ErpWins,
                    PolicyArg::OutlookWins => ConflictPolicy::OutlookWins,
                })
                .await
        }
        Command::Sync { user, dry_run } => console.sync(user.as_deref(), *dry_run).await,
        Command::Watch => console.watch().await,
        Command::Serve => mssync_cli::serve::serve(&console).await,
        Command::Home { json } => console.home(*json).await,
        _ => unreachable!("only console commands come here"),
    }
}

/// `--config`, else `MSSYNC_CONFIG` when set and not empty (an empty variable counts as unset),
/// else `mssync.toml`.
fn config_path(flag: Option<&Path>, variable: Option<std::ffi::OsString>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| variable.filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("mssync.toml"))
}

fn load_config(cli: &Cli) -> Result<Config, PublicError> {
    let path = config_path(cli.config.as_deref(), std::env::var_os(env::CONFIG));
    Config::load(&path).map_err(|error| {
        let mut public = PublicError::from(error);
        if public.code == ErrorCode::NotConfigured {
            public.reason.push_str(&format!(
                "; pass --config PATH or set {} (see mssync.example.toml)",
                env::CONFIG
            ));
        }
        public
    })
}

fn show_config(config: &Config) -> Result<(), PublicError> {
    let credentials = Credentials::load(config)?;
    println!("config:           {}", config.source.display());
    let mode = match config.mode {
        OperationMode::Application => "application",
        OperationMode::Delegated => "delegated",
    };
    println!("mode:             {mode}");
    println!("entra authority:  {}", config.entra.authority);
    println!("tenant id:        {}", config.entra.tenant_id);
    println!("client id:        {}", config.entra.client_id);
    println!("graph:            {}", config.graph.base_url);
    println!("erp domain api:   {}", config.erp.domain_api_url);
    println!("erp token:        {}", config.erp.token_endpoint);
    match &config.erp.auth {
        ErpAuth::TrustedApp { client_id, .. } => {
            println!("erp auth:         trusted application {client_id}")
        }
        ErpAuth::PersonalAccessToken { .. } => println!("erp auth:         personal access token"),
        ErpAuth::None => println!("erp auth:         none"),
    }
    println!("store:            {}", config.store);
    if matches!(config.store, StoreLocation::Postgres(_)) {
        let password = match &credentials.store_password {
            Some(_) => "set",
            None => "none",
        };
        println!("store password:   {password}");
    }
    println!("node:             {}", config.node);
    println!("lease ttl:        {} s", config.lease_ttl.as_secs());
    println!("concurrent jobs:  {}", config.concurrent_jobs);
    match config.redirect_port {
        0 => println!("redirect:         http://127.0.0.1:<any free port>{SIGNIN_PATH}"),
        port => println!("redirect:         http://127.0.0.1:{port}{SIGNIN_PATH}"),
    }
    // Which credentials are present, never what they are.
    let entra = match &credentials.entra {
        Some(EntraCredential::Secret(_)) => "client secret (set)",
        Some(EntraCredential::CertificatePem(_)) => "certificate (set)",
        None => "none (public client)",
    };
    println!("entra credential: {entra}");
    let erp = match &credentials.erp {
        ErpCredential::ClientSecret(_) => "client secret (set)",
        ErpCredential::PersonalAccessToken(_) => "personal access token (set)",
        ErpCredential::None => "none",
    };
    println!("erp credential:   {erp}");
    println!("sealing key:      32 bytes (set)");
    Ok(())
}

fn store_info(config: &Config, prefix: &str) -> Result<(), PublicError> {
    let store = match &config.store {
        // An existing file only: looking must not create one.
        StoreLocation::Sqlite(path) => OpenedStore::Sqlite(Arc::new(
            SqliteStore::open_existing(path).map_err(|error| match error {
                mssync_cli::OpenStoreError::Missing(_) => PublicError::new(
                    ErrorCode::NotFound,
                    format!(
                        "no store file at {}; MsSync creates it on its first write",
                        path.display()
                    ),
                ),
                other => PublicError::new(ErrorCode::StoreFailure, other.to_string()),
            })?,
        )),
        StoreLocation::Postgres(_) => {
            let password = mssync_cli::config::store_password(config)?;
            OpenedStore::open(&config.store, password.as_ref())?
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PublicError::new(ErrorCode::Internal, format!("no async runtime: {e}")))?;
    let counts = runtime.block_on(store.count_by_segment(prefix))?;
    let total: u64 = counts.values().sum();
    println!("store: {}", config.store);
    if prefix.is_empty() {
        println!("keys:  {total}");
    } else {
        println!("keys under {prefix:?}: {total}");
    }
    let width = counts.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (segment, count) in &counts {
        println!("  {prefix}{segment:<width$}  {count}");
    }
    Ok(())
}
