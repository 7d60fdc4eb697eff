use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::MaybeSendSync;

/// A stored value and the version it had when read.
///
/// Versions are opaque to callers except for equality: a store gives every successful write of a
/// key a version that key has never had before, so a delete followed by a re-create can never be
/// mistaken for the value read earlier (no ABA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned {
    pub value: Vec<u8>,
    pub version: u64,
}

/// What a write expects of the key's current state; the whole batch fails if any expectation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "version")]
pub enum Expect {
    /// No expectation: last writer wins.
    Any,
    /// The key must not exist.
    Absent,
    /// The key must exist with exactly this version.
    Version(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOp {
    Put(Vec<u8>),
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    pub key: String,
    pub op: WriteOp,
    pub expect: Expect,
}

/// Writes committed together: all of them or none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteBatch {
    pub writes: Vec<Write>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(
        mut self,
        key: impl Into<String>,
        value: impl Into<Vec<u8>>,
        expect: Expect,
    ) -> Self {
        self.writes.push(Write {
            key: key.into(),
            op: WriteOp::Put(value.into()),
            expect,
        });
        self
    }

    pub fn delete(mut self, key: impl Into<String>, expect: Expect) -> Self {
        self.writes.push(Write {
            key: key.into(),
            op: WriteOp::Delete,
            expect,
        });
        self
    }

    pub fn push(&mut self, write: Write) {
        self.writes.push(write);
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StoreError {
    /// An expectation failed; nothing of the batch was written.
    #[error("version conflict on key {key:?}")]
    Conflict { key: String },
    /// The host's storage failed; the text is for the host's own logs.
    #[error("store backend failed: {0}")]
    Backend(String),
}

/// Versioned key-value storage with atomic multi-key commits. Every durable fact of MsSync
/// (settings, grants, sealed tokens, mappings, snapshots, checkpoints, leases, log) goes through it.
///
/// Keys are UTF-8 strings; [`Store::scan`] returns keys in ascending byte order. A batch writing
/// the same key twice is applied in order, and expectations are checked against the state before
/// the batch.
#[async_trait(?Send)]
pub trait Store: MaybeSendSync {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError>;
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError>;
    /// Applies the batch atomically, or refuses it whole with [`StoreError::Conflict`].
    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError>;
}
