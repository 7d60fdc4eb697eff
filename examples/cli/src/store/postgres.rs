//! The host `Store` on PostgreSQL: any number of `mssync` processes, on any number of machines,
//! share one database.
//!
//! Keys are `bytea`, so the B-tree compares them bytewise (no collation) and a prefix scan is a
//! range up to the prefix's successor. Versions come from one sequence: `nextval` is never rolled
//! back and never repeats, even across aborted transactions, restarts and nodes, so a key never
//! gets a version twice (no ABA after delete and re-create).
//!
//! A commit is one READ COMMITTED transaction that first takes a transaction-scoped advisory lock
//! per key of the batch, in ascending order (no deadlock between batches), and only then reads the
//! versions it checks. Every writer of a key queues on that lock, including one creating a key that
//! does not exist yet (a row lock such as `SELECT ... FOR UPDATE` cannot lock an absent row), and
//! each statement after the lock sees every commit made before it: expectations are checked and
//! writes applied as if the batches ran one after another. SERIALIZABLE would be as correct but
//! aborts contended batches with serialization failures that would need retries anyway.
//!
//! The client is async (tokio-postgres with a deadpool pool) on a small runtime of the store's
//! own, so the store works from any caller: a tokio runtime, the conformance suite's
//! `futures::executor::block_on` on plain threads, or a future binding.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use mssync_core::host::{Expect, Store, StoreError, Versioned, WriteBatch, WriteOp};
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;

use super::prefix_successor;

/// The layout written by this code; a database with a newer one is refused rather than misread.
pub const SCHEMA_VERSION: i32 = 1;
/// Connections kept per process: the engine commits one batch at a time per run, and a host runs
/// a few runs at once.
const POOL_SIZE: usize = 8;
/// How long a call waits for a connection (from the pool, or a new one) before failing.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const POOL_WAIT: Duration = Duration::from_secs(30);
/// The server ends a session idle this long inside a transaction, releasing its locks.
const IDLE_IN_TRANSACTION: &str = "-c idle_in_transaction_session_timeout=60000";
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// Advisory lock taken while the schema is created or migrated, so nodes starting together
/// migrate once. Any fixed number; this one spells "mssync" in ASCII.
const MIGRATION_LOCK: i64 = 0x6d73_7379_6e63;
/// A commit that lost a deadlock (a lock order no batch should produce) is retried this often.
const COMMIT_ATTEMPTS: u32 = 5;

/// Each step brings the schema from the version before it to its own (index + 1), in one
/// transaction with the version row that records it.
const MIGRATIONS: &[&str] = &[
    // 1: entries keyed by bytes, one version sequence, the schema-version table.
    "CREATE SCHEMA IF NOT EXISTS mssync;
     CREATE TABLE mssync.schema_version (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
     );
     CREATE TABLE mssync.entries (
         key bytea PRIMARY KEY,
         value bytea NOT NULL,
         version bigint NOT NULL
     );
     CREATE SEQUENCE mssync.versions AS bigint;",
];

/// A PostgreSQL connection URL, checked, with the password kept out of every rendering.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    // Boxed: the client's settings are large, and the configuration holds one beside a path.
    config: Box<tokio_postgres::Config>,
    /// The URL without its password: what messages and `Debug` show.
    shown: String,
    has_password: bool,
}

/// Why a URL was refused. Messages name the problem, never the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostgresUrlError {
    #[error("is not a postgres:// or postgresql:// URL")]
    NotPostgres,
    #[error("is not a valid PostgreSQL URL ({0})")]
    Invalid(String),
    #[error("names no host")]
    NoHost,
    #[error(
        "reaches a server off this machine without TLS: add sslmode=require (the certificate \
         and host name are then verified against this machine's trusted roots)"
    )]
    PlainOffMachine,
}

impl PostgresUrl {
    /// Whether `text` names a PostgreSQL server rather than a file.
    pub fn is_postgres(text: &str) -> bool {
        let lower = text.trim_start().to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// Parses and checks `text`. TLS is required for a server off this machine: the connection
    /// carries the password and every user's sealed tokens and mappings. Loopback addresses and
    /// Unix sockets may be plain.
    pub fn parse(text: &str) -> Result<Self, PostgresUrlError> {
        let text = text.trim();
        if !Self::is_postgres(text) {
            return Err(PostgresUrlError::NotPostgres);
        }
        let config: tokio_postgres::Config = text
            .parse()
            // tokio-postgres's parse errors name the option, never its value.
            .map_err(|e: tokio_postgres::Error| PostgresUrlError::Invalid(describe(&e)))?;
        if config.get_hosts().is_empty() {
            return Err(PostgresUrlError::NoHost);
        }
        let local = config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => is_loopback_name(name),
            #[cfg(unix)]
            Host::Unix(_) => true,
        }) && config.get_hostaddrs().iter().all(|ip| ip.is_loopback());
        if !local && config.get_ssl_mode() != SslMode::Require {
            return Err(PostgresUrlError::PlainOffMachine);
        }
        let mut config = config;
        if local && !names_option(text, "sslmode") {
            // tokio-postgres would "prefer" TLS and, on a server that offers it with a
            // certificate no root vouches for (Debian's default snakeoil), fail instead of
            // falling back: on this machine plain is what the URL asked for by saying nothing.
            config.ssl_mode(SslMode::Disable);
        }
        Ok(Self {
            has_password: config.get_password().is_some(),
            shown: without_password(text),
            config: Box::new(config),
        })
    }

    /// Whether the URL itself carries a password (the configuration refuses that: secrets come
    /// only from files or `MSSYNC_*` variables).
    pub fn has_password(&self) -> bool {
        self.has_password
    }

    /// The same server and user with another database, for tools and tests that create one.
    pub fn with_database(&self, name: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(name);
        let shown = match url::Url::parse(&self.shown) {
            Ok(mut url) => {
                url.set_path(&format!("/{name}"));
                url.to_string()
            }
            Err(_) => self.shown.clone(),
        };
        Self {
            config,
            shown,
            has_password: self.has_password,
        }
    }

    /// The settings for the client, with `password` when the URL carries none.
    fn client_config(&self, password: Option<&SecretString>) -> tokio_postgres::Config {
        let mut config = (*self.config).clone();
        if let (None, Some(password)) = (config.get_password(), password) {
            config.password(password.expose_secret());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("mssync");
        }
        // A node cut off mid-commit holds its keys' locks until the server drops its session:
        // our transactions never pause between statements, so a minute idle means it is gone
        // (the URL's own `options` come after, and win). Keepalives find a silent peer sooner
        // than the system's two hours.
        let options = match config.get_options() {
            Some(theirs) => format!("{IDLE_IN_TRANSACTION} {theirs}"),
            None => IDLE_IN_TRANSACTION.to_owned(),
        };
        config.options(options);
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            // tokio-postgres's default: the URL did not choose.
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        config
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({})", self.shown)
    }
}

/// Whether the URL's query sets `option`.
fn names_option(text: &str, option: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| url.query_pairs().any(|(k, _)| k == option))
}

fn is_loopback_name(name: &str) -> bool {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `text` with the password left out, both as the URL's `user:password@` and as a `password`
/// query option. Anything unparsable is shown as a placeholder rather than risk the secret.
fn without_password(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "postgres://<unreadable URL>".into();
    };
    let _ = url.set_password(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "password")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenPostgresError {
    #[error(
        "the PostgreSQL store at {url} was written by a newer mssync (schema {found}, this build \
         knows {SCHEMA_VERSION}); run the newer mssync or restore a database of this version"
    )]
    NewerSchema { url: String, found: i32 },
    #[error("cannot open the PostgreSQL store at {url}: {reason}")]
    Backend { url: String, reason: String },
}

/// A [`Store`] in a PostgreSQL database (tables in the schema `mssync`). Cheap to share: wrap it
/// in an `Arc`; calls borrow a pooled connection.
pub struct PostgresStore {
    pool: Pool,
    runtime: OwnRuntime,
    url: PostgresUrl,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The store's runtime, shut down without waiting when the store goes: dropping a runtime
/// normally blocks, which a caller inside another async runtime may not do.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl OwnRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("present until drop").handle()
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (with `password` unless the URL carries one), creates the schema or
    /// migrates it to this build's version, and refuses a newer one. Blocks the calling thread
    /// until then (any thread, inside an async runtime or not).
    pub fn connect(
        url: &PostgresUrl,
        password: Option<&SecretString>,
    ) -> Result<Self, OpenPostgresError> {
        let backend = |reason: String| OpenPostgresError::Backend {
            url: url.to_string(),
            reason,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mssync-postgres")
            .enable_all()
            .build()
            .map_err(|e| backend(format!("no async runtime: {e}")))?;
        let runtime = OwnRuntime(Some(runtime));
        let tls = tls_connector().map_err(backend)?;
        let manager = Manager::from_config(
            url.client_config(password),
            tls,
            ManagerConfig {
                // A connection is checked (a round trip) before reuse: a server restart or a
                // dropped connection costs a reconnect, not a failed commit.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| backend(describe(&e)))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        let migrating = pool.clone();
        let shown = url.to_string();
        runtime.handle().spawn(async move {
            let _ = sender.send(migrate(&migrating, &shown).await);
        });
        receiver
            .recv()
            .map_err(|_| backend("the migration task stopped".into()))??;
        Ok(Self {
            pool,
            runtime,
            url: url.clone(),
        })
    }

    /// The database this store lives in (without its password).
    pub fn url(&self) -> &PostgresUrl {
        &self.url
    }

    /// How many keys start with `prefix`, grouped by the next path segment (up to and including
    /// the next `/`, or the rest of the key). For `mssync store-info`.
    pub async fn count_by_segment(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let skip = prefix.len();
        let prefix = prefix.to_owned();
        let keys = self
            .on_runtime(move |pool: Pool| async move {
                let client = pool.get().await.map_err(pool_error)?;
                let (sql, upper) = range_query("SELECT key FROM mssync.entries", &prefix);
                let rows = match &upper {
                    Some(upper) => client.query(&sql, &[&prefix.as_bytes(), upper]).await,
                    None => client.query(&sql, &[&prefix.as_bytes()]).await,
                }
                .map_err(backend)?;
                Ok(rows
                    .iter()
                    .map(|row| row.get::<_, Vec<u8>>(0))
                    .collect::<Vec<_>>())
            })
            .await?;
        let mut counts = BTreeMap::new();
        for key in keys {
            let rest = &key[skip..];
            let end = rest
                .iter()
                .position(|&b| b == b'/')
                .map_or(rest.len(), |i| i + 1);
            *counts
                .entry(String::from_utf8_lossy(&rest[..end]).into_owned())
                .or_insert(0) += 1;
        }
        Ok(counts)
    }

    /// Runs `work` on the store's runtime, where the pool's connections live, and waits for it
    /// from whatever executor polls the caller.
    async fn on_runtime<T, F>(&self, work: impl FnOnce(Pool) -> F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        self.runtime
            .handle()
            .spawn(work(self.pool.clone()))
            .await
            .map_err(|e| StoreError::Backend(format!("postgres: the call was lost: {e}")))?
    }
}

/// TLS through rustls, verifying the server's certificate and name with the operating system's
/// trusted roots (as the command line's HTTP client does). Used only when the URL's `sslmode`
/// asks for TLS (or prefers it: then a server without TLS is still reached in plain, which
/// [`PostgresUrl::parse`] allows only on this machine).
fn tls_connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let config =
        rustls::ClientConfig::with_platform_verifier().map_err(|e| format!("no TLS roots: {e}"))?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Creates the schema or brings it to [`SCHEMA_VERSION`], under an advisory lock so nodes that
/// start together migrate once. A database at this version sees no DDL at all (a role without
/// the right to create may then run the store).
async fn migrate(pool: &Pool, url: &str) -> Result<(), OpenPostgresError> {
    let backend = |e: &dyn std::error::Error| OpenPostgresError::Backend {
        url: url.to_owned(),
        reason: describe(e),
    };
    let mut client = pool.get().await.map_err(|e| backend(&e))?;
    let found = schema_version(&client).await.map_err(|e| backend(&e))?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    if found > SCHEMA_VERSION {
        return Err(OpenPostgresError::NewerSchema {
            url: url.to_owned(),
            found,
        });
    }
    // A session lock, and the migration in a transaction begun after it: a transaction started
    // before the wait could still see the catalog without the schema another node created.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| backend(&e))?;
    let result = migrate_locked(&mut client, url).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    if unlocked.is_err() {
        // Closing the connection releases the lock: never hand it back to the pool.
        drop(deadpool_postgres::Object::take(client));
    }
    result
}

async fn migrate_locked(
    client: &mut deadpool_postgres::Object,
    url: &str,
) -> Result<(), OpenPostgresError> {
    let backend = |e: &dyn std::error::Error| OpenPostgresError::Backend {
        url: url.to_owned(),
        reason: describe(e),
    };
    let tx = client.transaction().await.map_err(|e| backend(&e))?;
    // Another node may have migrated while this one waited for the lock.
    let found = schema_version(&tx).await.map_err(|e| backend(&e))?;
    if found > SCHEMA_VERSION {
        return Err(OpenPostgresError::NewerSchema {
            url: url.to_owned(),
            found,
        });
    }
    for (index, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i32 + 1;
        tx.batch_execute(step).await.map_err(|e| backend(&e))?;
        tx.execute(
            "INSERT INTO mssync.schema_version (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(|e| backend(&e))?;
    }
    tx.commit().await.map_err(|e| backend(&e))
}

/// An error with its causes (tokio-postgres shows the server's message only as a cause). Its
/// texts name options, servers and users, never a password.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// The highest version recorded, 0 for a database without the schema.
async fn schema_version(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<i32, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('mssync.schema_version') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM mssync.schema_version",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

fn backend(error: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(format!("postgres: {}", describe(&error)))
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(format!("postgres: no connection: {}", describe(&error)))
}

/// `base` restricted to keys starting with `prefix`, in byte order; `$1` is the prefix and `$2`,
/// when returned, its successor.
fn range_query(base: &str, prefix: &str) -> (String, Option<Vec<u8>>) {
    match prefix_successor(prefix.as_bytes()) {
        Some(upper) => (
            format!("{base} WHERE key >= $1 AND key < $2 ORDER BY key"),
            Some(upper),
        ),
        None => (format!("{base} WHERE key >= $1 ORDER BY key"), None),
    }
}

/// The advisory lock of a key: 64 bits of its SHA-256, the same in every process and build. Two
/// keys sharing a lock only wait for each other.
fn key_lock(key: &str) -> i64 {
    let digest = sha2::Sha256::digest(key.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// What a commit found: done, or the first key whose expectation failed.
enum CommitOutcome {
    Applied,
    Conflict(String),
}

async fn apply(
    client: &mut deadpool_postgres::Object,
    batch: &WriteBatch,
) -> Result<CommitOutcome, tokio_postgres::Error> {
    let mut locks: Vec<i64> = batch.writes.iter().map(|w| key_lock(&w.key)).collect();
    locks.sort_unstable();
    locks.dedup();
    let mut keys: Vec<&str> = batch.writes.iter().map(|w| w.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let key_bytes: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();

    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
        .start()
        .await?;
    // One statement for the locks, taken in the array's (ascending) order; the next statement
    // gets a snapshot that includes every batch committed by the previous holders.
    let lock = tx
        .prepare_cached("SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS t(k)")
        .await?;
    tx.query_one(&lock, &[&locks]).await?;
    let read = tx
        .prepare_cached("SELECT key, version FROM mssync.entries WHERE key = ANY($1::bytea[])")
        .await?;
    let current: HashMap<Vec<u8>, i64> = tx
        .query(&read, &[&key_bytes])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    // Expectations are checked against the state before the batch, all before any write.
    for write in &batch.writes {
        let version = current.get(write.key.as_bytes()).map(|v| *v as u64);
        let ok = match write.expect {
            Expect::Any => true,
            Expect::Absent => version.is_none(),
            Expect::Version(v) => version == Some(v),
        };
        if !ok {
            // Dropping the transaction rolls it back; nothing was written.
            return Ok(CommitOutcome::Conflict(write.key.clone()));
        }
    }
    // Writes to one key apply in order, so only the last one of each key matters.
    let mut last: BTreeMap<&[u8], &WriteOp> = BTreeMap::new();
    for write in &batch.writes {
        last.insert(write.key.as_bytes(), &write.op);
    }
    let (mut put_keys, mut put_values, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    for (key, op) in last {
        match op {
            WriteOp::Put(value) => {
                put_keys.push(key);
                put_values.push(value.as_slice());
            }
            WriteOp::Delete => deleted.push(key),
        }
    }
    if !deleted.is_empty() {
        let delete = tx
            .prepare_cached("DELETE FROM mssync.entries WHERE key = ANY($1::bytea[])")
            .await?;
        tx.execute(&delete, &[&deleted]).await?;
    }
    if !put_keys.is_empty() {
        let upsert = tx
            .prepare_cached(
                "INSERT INTO mssync.entries (key, value, version)
                 SELECT k, v, nextval('mssync.versions') FROM unnest($1::bytea[], $2::bytea[]) AS t(k, v)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version",
            )
            .await?;
        tx.execute(&upsert, &[&put_keys, &put_values]).await?;
    }
    tx.commit().await?;
    Ok(CommitOutcome::Applied)
}

#[async_trait(?Send)]
impl Store for PostgresStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let key = key.to_owned();
        self.on_runtime(move |pool: Pool| async move {
            let client = pool.get().await.map_err(pool_error)?;
            let statement = client
                .prepare_cached("SELECT value, version FROM mssync.entries WHERE key = $1")
                .await
                .map_err(backend)?;
            let row = client
                .query_opt(&statement, &[&key.as_bytes()])
                .await
                .map_err(backend)?;
            Ok(row.map(|row| Versioned {
                value: row.get(0),
                version: row.get::<_, i64>(1) as u64,
            }))
        })
        .await
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        let prefix = prefix.to_owned();
        self.on_runtime(move |pool: Pool| async move {
            let client = pool.get().await.map_err(pool_error)?;
            let (sql, upper) =
                range_query("SELECT key, value, version FROM mssync.entries", &prefix);
            let statement = client.prepare_cached(&sql).await.map_err(backend)?;
            let rows = match &upper {
                Some(upper) => client.query(&statement, &[&prefix.as_bytes(), upper]).await,
                None => client.query(&statement, &[&prefix.as_bytes()]).await,
            }
            .map_err(backend)?;
            rows.iter()
                .map(|row| {
                    let key = String::from_utf8(row.get(0)).map_err(|_| {
                        StoreError::Backend("postgres: a stored key is not UTF-8".into())
                    })?;
                    Ok((
                        key,
                        Versioned {
                            value: row.get(1),
                            version: row.get::<_, i64>(2) as u64,
                        },
                    ))
                })
                .collect()
        })
        .await
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.on_runtime(move |pool: Pool| async move {
            let mut attempt = 1;
            loop {
                let mut client = pool.get().await.map_err(pool_error)?;
                match apply(&mut client, &batch).await {
                    Ok(CommitOutcome::Applied) => return Ok(()),
                    Ok(CommitOutcome::Conflict(key)) => return Err(StoreError::Conflict { key }),
                    Err(e)
                        if attempt < COMMIT_ATTEMPTS
                            && matches!(
                                e.code(),
                                Some(&SqlState::T_R_DEADLOCK_DETECTED)
                                    | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
                            ) =>
                    {
                        // The transaction was rolled back whole: trying again is safe.
                        attempt += 1;
                    }
                    Err(e) => return Err(backend(e)),
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        for text in [
            "postgres://mssync:s3cret@127.0.0.1:5432/mssync",
            "postgresql://mssync:s3cret@localhost/mssync?password=s3cret&sslmode=prefer",
            "postgres://mssync@db.example.com/mssync?sslmode=require&password=s3cret",
        ] {
            let url = PostgresUrl::parse(text).unwrap();
            assert!(url.has_password(), "{text}");
            for shown in [url.to_string(), format!("{url:?}")] {
                assert!(!shown.contains("s3cret"), "{shown}");
                assert!(shown.contains("mssync@"), "{shown}");
            }
        }
        let plain = PostgresUrl::parse("postgres://u@127.0.0.1/db?sslmode=disable").unwrap();
        assert!(!plain.has_password());
        assert_eq!(
            plain.to_string(),
            "postgres://u@127.0.0.1/db?sslmode=disable"
        );
    }

    #[test]
    fn tls_is_required_off_this_machine() {
        for local in [
            "postgres://u@127.0.0.1:5433/db",
            "postgres://u@localhost/db?sslmode=disable",
            "postgres://u@[::1]:5433/db",
            "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
        ] {
            assert!(PostgresUrl::parse(local).is_ok(), "{local}");
        }
        for remote in [
            "postgres://u@db.example.com/db",
            "postgres://u@db.example.com/db?sslmode=prefer",
            "postgres://u@10.0.0.5/db?sslmode=disable",
            "postgres://u@localhost/db?hostaddr=10.0.0.5",
            "postgres://u@127.0.0.1,db.example.com/db",
        ] {
            assert_eq!(
                PostgresUrl::parse(remote).err(),
                Some(PostgresUrlError::PlainOffMachine),
                "{remote}"
            );
        }
        assert!(PostgresUrl::parse("postgres://u@db.example.com/db?sslmode=require").is_ok());
        assert_eq!(
            PostgresUrl::parse("mssync.db").err(),
            Some(PostgresUrlError::NotPostgres)
        );
        assert!(matches!(
            PostgresUrl::parse("postgres://u@localhost/db?sslmode=sometimes"),
            Err(PostgresUrlError::Invalid(_))
        ));
    }

    #[test]
    fn loopback_is_plain_unless_the_url_asks_for_tls() {
        let mode = |text: &str| PostgresUrl::parse(text).unwrap().config.get_ssl_mode();
        assert_eq!(mode("postgres://u@127.0.0.1/db"), SslMode::Disable);
        assert_eq!(
            mode("postgres://u@localhost/db?sslmode=require"),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://u@localhost/db?sslmode=prefer"),
            SslMode::Prefer
        );
        assert_eq!(
            mode("postgres://u@db.example.com/db?sslmode=require"),
            SslMode::Require
        );
    }

    #[test]
    fn key_locks_are_stable() {
        // Pinned: processes of different builds must take the same lock for a key.
        assert_eq!(key_lock("lease/u1/calendar"), key_lock("lease/u1/calendar"));
        assert_ne!(key_lock("lease/u1/calendar"), key_lock("lease/u2/calendar"));
        assert_eq!(
            key_lock(""),
            i64::from_be_bytes(*b"\xe3\xb0\xc4\x42\x98\xfc\x1c\x14")
        );
    }
}
