//! The command line's stores: a SQLite file (the default: one machine), or a PostgreSQL database
//! that several `mssync` nodes share. Both pass the core store conformance suite; the
//! configuration's `store` chooses (see [`StoreLocation`]).

mod postgres;
mod sqlite;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use mssync_core::error::{ErrorCode, PublicError};
use mssync_core::host::{Store, StoreError};
use secrecy::SecretString;

pub use postgres::{
    OpenPostgresError, PostgresStore, PostgresUrl, PostgresUrlError,
    SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION,
};
pub use sqlite::{OpenStoreError, SqliteStore};

/// Where MsSync keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file on this machine.
    Sqlite(PathBuf),
    /// A PostgreSQL database (its password, if any, from a file or `MSSYNC_STORE_PASSWORD`).
    Postgres(PostgresUrl),
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{} (SQLite)", path.display()),
            Self::Postgres(url) => write!(f, "{url} (PostgreSQL)"),
        }
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Sqlite(#[from] OpenStoreError),
    #[error(transparent)]
    Postgres(#[from] OpenPostgresError),
}

impl From<OpenError> for PublicError {
    fn from(error: OpenError) -> Self {
        PublicError::new(ErrorCode::StoreFailure, error.to_string())
    }
}

/// An open store of either kind.
#[derive(Debug, Clone)]
pub enum OpenedStore {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl OpenedStore {
    /// Opens (and creates or migrates) the store at `location`.
    pub fn open(
        location: &StoreLocation,
        password: Option<&SecretString>,
    ) -> Result<Self, OpenError> {
        Ok(match location {
            StoreLocation::Sqlite(path) => Self::Sqlite(Arc::new(SqliteStore::open(path)?)),
            StoreLocation::Postgres(url) => {
                Self::Postgres(Arc::new(PostgresStore::connect(url, password)?))
            }
        })
    }

    /// The store as the engine takes it.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }

    /// How many keys start with `prefix`, grouped by their next path segment.
    pub async fn count_by_segment(
        &self,
        prefix: &str,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        match self {
            Self::Sqlite(store) => store.count_by_segment(prefix),
            Self::Postgres(store) => store.count_by_segment(prefix).await,
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`, or `None` when
/// there is none (empty prefix, or only 0xFF bytes): the upper bound of a prefix scan.
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < 0xFF {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_bounds_every_key_with_the_prefix() {
        assert_eq!(prefix_successor(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_successor(b"a\xFF"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xFF\xFF"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
