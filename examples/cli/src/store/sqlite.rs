//! The host `Store` on SQLite: one file, shared safely by threads and processes.
//!
//! Keys are stored as BLOBs so SQLite compares them with `memcmp`: byte order, no collation, and a
//! prefix scan is a plain range (`prefix <= key < successor(prefix)`) with no `LIKE` wildcards to
//! escape. Versions come from one counter kept in the file, so a key never gets a version twice,
//! even after it is deleted and re-created, and even across processes.
//!
//! Every commit runs in a `BEGIN IMMEDIATE` transaction: it takes the write lock before reading the
//! versions it checks, so two writers (threads or processes) cannot both see the same version and
//! both win. WAL lets readers proceed while a writer commits; a busy timeout makes waiting writers
//! queue instead of failing.
//!
//! The calls block the calling thread for the duration of one SQLite statement or transaction
//! (milliseconds on a local disk), which is what a command-line host wants; a server host that
//! cannot block its event loop should put this store behind `spawn_blocking`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use mssync_core::host::{Expect, Store, StoreError, Versioned, WriteBatch, WriteOp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::prefix_successor;

/// How long a writer waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept for reuse; more are opened when threads need them at once.
const MAX_IDLE_CONNECTIONS: usize = 4;
/// The layout written by this code; a file with a newer one is refused rather than misread.
const SCHEMA_VERSION: i64 = 1;

/// Why a store file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenStoreError {
    #[error("no store file at {0}")]
    Missing(PathBuf),
    #[error(
        "the store file {path} was written by a newer mssync (schema {found}, this build knows {SCHEMA_VERSION})"
    )]
    NewerSchema { path: PathBuf, found: i64 },
    #[error("cannot create the store file {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the store file {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// A [`Store`] in one SQLite file. Cheap to share: wrap it in an `Arc`; each thread borrows a
/// connection of its own from a small pool for the duration of a call.
pub struct SqliteStore {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its tables if needed. A new file is
    /// readable by its owner only (on Unix): it holds sealed tokens and the users' mappings.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenStoreError> {
        let path = path.as_ref();
        create_private_file(path).map_err(|source| OpenStoreError::Create {
            path: path.to_owned(),
            source,
        })?;
        Self::open_with(path, true)
    }

    /// Opens an existing store; a missing file is an error instead of a new empty store.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, OpenStoreError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(OpenStoreError::Missing(path.to_owned()));
        }
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Self, OpenStoreError> {
        let sqlite = |source| OpenStoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let mut connection = connect(path, create).map_err(sqlite)?;
        // Several processes may open a new file at once: create the tables under the write lock.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite)?;
        if found > SCHEMA_VERSION {
            return Err(OpenStoreError::NewerSchema {
                path: path.to_owned(),
                found,
            });
        }
        if found < SCHEMA_VERSION {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS entries (
                     key BLOB PRIMARY KEY NOT NULL,
                     value BLOB NOT NULL,
                     version INTEGER NOT NULL
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS counters (
                     name TEXT PRIMARY KEY NOT NULL,
                     value INTEGER NOT NULL
                 ) WITHOUT ROWID;
                 INSERT OR IGNORE INTO counters (name, value) VALUES ('last_version', 0);
                 PRAGMA user_version = 1;",
            )
            .map_err(sqlite)?;
        }
        tx.commit().map_err(sqlite)?;
        Ok(Self {
            path: path.to_owned(),
            idle: Mutex::new(vec![connection]),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many keys start with `prefix`, grouped by the next path segment (up to and including
    /// the next `/`, or the rest of the key). For `mssync store-info`.
    pub fn count_by_segment(&self, prefix: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        self.with_connection(|connection| {
            let mut counts = BTreeMap::new();
            let (sql, upper) = range_query("SELECT key FROM entries", prefix);
            let mut statement = connection.prepare_cached(&sql)?;
            let mut rows = match &upper {
                Some(upper) => statement.query(params![prefix.as_bytes(), upper])?,
                None => statement.query(params![prefix.as_bytes()])?,
            };
            while let Some(row) = rows.next()? {
                let key: Vec<u8> = row.get(0)?;
                let rest = &key[prefix.len()..];
                let end = rest
                    .iter()
                    .position(|&b| b == b'/')
                    .map_or(rest.len(), |i| i + 1);
                let segment = String::from_utf8_lossy(&rest[..end]).into_owned();
                *counts.entry(segment).or_insert(0) += 1;
            }
            Ok(counts)
        })
    }

    /// Runs `work` on a pooled connection, opening a new one if every pooled one is in use.
    fn with_connection<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let pooled = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => connect(&self.path, false).map_err(backend)?,
        };
        let result = work(&mut connection).map_err(backend);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
        result
    }
}

/// Creates an empty file (a valid empty SQLite database) with owner-only access, unless one exists.
/// SQLite gives its `-wal` and `-shm` files the same permissions as the database file.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn connect(path: &Path, create: bool) -> Result<Connection, rusqlite::Error> {
    // No URI flag: a path that happens to start with `file:` is still a path.
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never wait for the writer. The mode is stored in the file, so setting it again
    // is a no-op. FULL sync: a commit the engine acted on survives a power cut.
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the file refused WAL mode (journal mode is {mode})"
        )));
    }
    connection.pragma_update(None, "synchronous", "FULL")?;
    Ok(connection)
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {error}"))
}

/// `base` restricted to keys starting with `prefix`, in byte order; `?1` is the prefix and `?2`,
/// when returned, its successor (the smallest byte string greater than every key with the prefix).
fn range_query(base: &str, prefix: &str) -> (String, Option<Vec<u8>>) {
    match prefix_successor(prefix.as_bytes()) {
        Some(upper) => (
            format!("{base} WHERE key >= ?1 AND key < ?2 ORDER BY key"),
            Some(upper),
        ),
        None => (format!("{base} WHERE key >= ?1 ORDER BY key"), None),
    }
}

fn current_version(
    tx: &rusqlite::Transaction<'_>,
    key: &str,
) -> Result<Option<u64>, rusqlite::Error> {
    tx.prepare_cached("SELECT version FROM entries WHERE key = ?1")?
        .query_row(params![key.as_bytes()], |row| row.get::<_, i64>(0))
        .optional()
        .map(|v| v.map(|v| v as u64))
}

/// What a commit found: done, or the first key whose expectation failed.
enum CommitOutcome {
    Applied,
    Conflict(String),
}

fn apply(
    connection: &mut Connection,
    batch: &WriteBatch,
) -> Result<CommitOutcome, rusqlite::Error> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Expectations are checked against the state before the batch, all of them before any write.
    for write in &batch.writes {
        let current = current_version(&tx, &write.key)?;
        let ok = match write.expect {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        };
        if !ok {
            // Dropping the transaction rolls it back; nothing was written yet anyway.
            return Ok(CommitOutcome::Conflict(write.key.clone()));
        }
    }
    let mut last_version: i64 = tx
        .prepare_cached("SELECT value FROM counters WHERE name = 'last_version'")?
        .query_row([], |row| row.get(0))?;
    for write in &batch.writes {
        match &write.op {
            WriteOp::Put(value) => {
                last_version += 1;
                tx.prepare_cached(
                    "INSERT INTO entries (key, value, version) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version",
                )?
                .execute(params![write.key.as_bytes(), value, last_version])?;
            }
            WriteOp::Delete => {
                tx.prepare_cached("DELETE FROM entries WHERE key = ?1")?
                    .execute(params![write.key.as_bytes()])?;
            }
        }
    }
    tx.prepare_cached("UPDATE counters SET value = ?1 WHERE name = 'last_version'")?
        .execute(params![last_version])?;
    tx.commit()?;
    Ok(CommitOutcome::Applied)
}

fn utf8_key(key: Vec<u8>) -> Result<String, rusqlite::Error> {
    String::from_utf8(key).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Blob, Box::new(e))
    })
}

#[async_trait(?Send)]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.with_connection(|connection| {
            connection
                .prepare_cached("SELECT value, version FROM entries WHERE key = ?1")?
                .query_row(params![key.as_bytes()], |row| {
                    Ok(Versioned {
                        value: row.get(0)?,
                        version: row.get::<_, i64>(1)? as u64,
                    })
                })
                .optional()
        })
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        self.with_connection(|connection| {
            let (sql, upper) = range_query("SELECT key, value, version FROM entries", prefix);
            let mut statement = connection.prepare_cached(&sql)?;
            let read = |row: &rusqlite::Row<'_>| {
                Ok((
                    row.get::<_, Vec<u8>>(0)?,
                    Versioned {
                        value: row.get(1)?,
                        version: row.get::<_, i64>(2)? as u64,
                    },
                ))
            };
            let rows = match &upper {
                Some(upper) => statement
                    .query_map(params![prefix.as_bytes(), upper], read)?
                    .collect::<Result<Vec<_>, _>>()?,
                None => statement
                    .query_map(params![prefix.as_bytes()], read)?
                    .collect::<Result<Vec<_>, _>>()?,
            };
            rows.into_iter()
                .map(|(key, value)| Ok((utf8_key(key)?, value)))
                .collect()
        })
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.with_connection(|connection| apply(connection, &batch))? {
            CommitOutcome::Applied => Ok(()),
            CommitOutcome::Conflict(key) => Err(StoreError::Conflict { key }),
        }
    }
}
