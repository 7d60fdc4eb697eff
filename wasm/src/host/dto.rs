//! The shapes that cross the JS boundary, owned here so the JavaScript contract does not move
//! when the core's internal serde shapes do. Field names are camelCase; byte buffers are
//! `Uint8Array` (an `ArrayBuffer` or an array of numbers is accepted on the way in); versions are
//! JS numbers (safe integers).

use mssync_core::host::{Expect, HttpRequest, HttpResponse, Versioned, Write, WriteBatch, WriteOp};
use serde::{Deserialize, Serialize};

/// `HttpRequestJs`: what `host.http` receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequestJs {
    pub method: &'static str,
    pub url: String,
    /// `[name, value]` pairs in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
    /// How long the host may take before failing with a timeout.
    pub timeout_ms: u64,
}

impl From<HttpRequest> for HttpRequestJs {
    fn from(request: HttpRequest) -> Self {
        Self {
            method: request.method.as_str(),
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout_ms: request.timeout.as_millis() as u64,
        }
    }
}

/// `HttpResponseJs`: what `host.http` resolves to, whatever the status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponseJs {
    pub status: u16,
    #[serde(default)]
    pub headers: Option<Vec<(String, String)>>,
    #[serde(default, with = "serde_bytes")]
    pub body: Option<Vec<u8>>,
}

impl From<HttpResponseJs> for HttpResponse {
    fn from(response: HttpResponseJs) -> Self {
        Self {
            status: response.status,
            headers: response.headers.unwrap_or_default(),
            body: response.body.unwrap_or_default(),
        }
    }
}

/// `StoredValueJs`: what `store.get` resolves to when the key exists (`null` otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredValueJs {
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    pub version: u64,
}

impl From<StoredValueJs> for Versioned {
    fn from(stored: StoredValueJs) -> Self {
        Self {
            value: stored.value,
            version: stored.version,
        }
    }
}

/// `ScannedEntryJs`: one element of what `store.scan` resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScannedEntryJs {
    pub key: String,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    pub version: u64,
}

/// `ExpectJs`: `{ kind: "any" } | { kind: "absent" } | { kind: "version", version }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ExpectJs {
    Any,
    Absent,
    Version { version: u64 },
}

impl From<Expect> for ExpectJs {
    fn from(expect: Expect) -> Self {
        match expect {
            Expect::Any => Self::Any,
            Expect::Absent => Self::Absent,
            Expect::Version(version) => Self::Version { version },
        }
    }
}

/// `WriteJs`: `{ op: "put", key, value, expect } | { op: "delete", key, expect }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum WriteJs {
    Put {
        key: String,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        expect: ExpectJs,
    },
    Delete {
        key: String,
        expect: ExpectJs,
    },
}

impl From<Write> for WriteJs {
    fn from(write: Write) -> Self {
        let expect = write.expect.into();
        match write.op {
            WriteOp::Put(value) => Self::Put {
                key: write.key,
                value,
                expect,
            },
            WriteOp::Delete => Self::Delete {
                key: write.key,
                expect,
            },
        }
    }
}

/// `WriteBatchJs`: what `store.commit` receives; all writes or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteBatchJs {
    pub writes: Vec<WriteJs>,
}

impl From<WriteBatch> for WriteBatchJs {
    fn from(batch: WriteBatch) -> Self {
        Self {
            writes: batch.writes.into_iter().map(WriteJs::from).collect(),
        }
    }
}

/// `CommitResultJs`: `{ ok: true } | { ok: false, conflictKey }`. A refused expectation is an
/// answer, not an exception; a rejection means the storage itself failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitResultJs {
    pub ok: bool,
    #[serde(default)]
    pub conflict_key: Option<String>,
}
