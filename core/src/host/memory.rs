use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::store::{Expect, Store, StoreError, Versioned, WriteBatch, WriteOp};

/// An in-memory [`Store`] for tests and examples; the reference the conformance suite is written
/// against.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: BTreeMap<String, Versioned>,
    /// One counter for the whole store, so no key ever gets a version twice.
    last_version: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys held; for tests.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every record, as a host's backup would hold it.
    pub fn backup(&self) -> StoreBackup {
        StoreBackup(self.inner.lock().unwrap().entries.clone())
    }

    /// Puts a backup's records in place of every record held (an empty backup loses them all).
    /// Versions still never repeat: the counter keeps counting from the highest it gave.
    pub fn restore(&self, backup: &StoreBackup) {
        let mut inner = self.inner.lock().unwrap();
        let highest = backup.0.values().map(|v| v.version).max().unwrap_or(0);
        inner.last_version = inner.last_version.max(highest);
        inner.entries = backup.0.clone();
    }
}

/// The records of a [`MemoryStore`] at one moment.
#[derive(Debug, Clone, Default)]
pub struct StoreBackup(BTreeMap<String, Versioned>);

#[async_trait(?Send)]
impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.inner.lock().unwrap().entries.get(key).cloned())
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        let inner = self.inner.lock().unwrap();
        Ok(inner
            .entries
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().unwrap();
        for write in &batch.writes {
            let current = inner.entries.get(&write.key).map(|v| v.version);
            let ok = match write.expect {
                Expect::Any => true,
                Expect::Absent => current.is_none(),
                Expect::Version(v) => current == Some(v),
            };
            if !ok {
                return Err(StoreError::Conflict {
                    key: write.key.clone(),
                });
            }
        }
        for write in batch.writes {
            match write.op {
                WriteOp::Put(value) => {
                    inner.last_version += 1;
                    let version = inner.last_version;
                    inner
                        .entries
                        .insert(write.key, Versioned { value, version });
                }
                WriteOp::Delete => {
                    inner.entries.remove(&write.key);
                }
            }
        }
        Ok(())
    }
}
