use async_trait::async_trait;
use js_sys::Function;
use mssync_core::host::{Store, StoreError, Versioned, WriteBatch};
use wasm_bindgen::JsValue;

use super::call::{call_async, describe, method};
use super::dto::{CommitResultJs, ScannedEntryJs, StoredValueJs, WriteBatchJs};
use super::to_js;
use crate::error::JsResult;

/// `host.store` as the core's [`Store`]. The JS side promises what the core's contract says:
/// versions new for every write of a key, atomic batches checked against the state before the
/// batch, and `scan` in ascending UTF-8 byte order (not JS string order; see
/// `js/memory-store.js`). The conformance suite (`checkStore`) checks all of it.
pub struct JsStore {
    store: JsValue,
    get: Function,
    scan: Function,
    commit: Function,
}

impl JsStore {
    pub fn from_host(host: &JsValue) -> JsResult<Self> {
        let store = js_sys::Reflect::get(host, &JsValue::from_str("store"))
            .map_err(|_| crate::error::invalid_argument("host.store must be an object"))?;
        Self::new(store)
    }

    /// A store object on its own: `{ get, scan, commit }`.
    pub fn new(store: JsValue) -> JsResult<Self> {
        Ok(Self {
            get: method(&store, "get", "host.store.get")?,
            scan: method(&store, "scan", "host.store.scan")?,
            commit: method(&store, "commit", "host.store.commit")?,
            store,
        })
    }
}

fn backend(operation: &str, thrown: &JsValue) -> StoreError {
    StoreError::Backend(format!("store.{operation} failed: {}", describe(thrown)))
}

fn malformed(operation: &str, expected: &str, error: serde_wasm_bindgen::Error) -> StoreError {
    StoreError::Backend(format!(
        "store.{operation} resolved to something other than {expected}: {error}"
    ))
}

#[async_trait(?Send)]
impl Store for JsStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let answer = call_async(&self.store, &self.get, &JsValue::from_str(key))
            .await
            .map_err(|e| backend("get", &e))?;
        let stored: Option<StoredValueJs> = serde_wasm_bindgen::from_value(answer)
            .map_err(|e| malformed("get", "null or { value, version }", e))?;
        Ok(stored.map(Versioned::from))
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        let answer = call_async(&self.store, &self.scan, &JsValue::from_str(prefix))
            .await
            .map_err(|e| backend("scan", &e))?;
        let entries: Vec<ScannedEntryJs> = serde_wasm_bindgen::from_value(answer)
            .map_err(|e| malformed("scan", "an array of { key, value, version }", e))?;
        Ok(entries
            .into_iter()
            .map(|e| {
                (
                    e.key,
                    Versioned {
                        value: e.value,
                        version: e.version,
                    },
                )
            })
            .collect())
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let batch = to_js(&WriteBatchJs::from(batch)).map_err(|e| backend("commit", &e))?;
        let answer = call_async(&self.store, &self.commit, &batch)
            .await
            .map_err(|e| backend("commit", &e))?;
        let result: CommitResultJs = serde_wasm_bindgen::from_value(answer)
            .map_err(|e| malformed("commit", "{ ok, conflictKey? }", e))?;
        match (result.ok, result.conflict_key) {
            (true, _) => Ok(()),
            (false, Some(key)) => Err(StoreError::Conflict { key }),
            (false, None) => Err(StoreError::Backend(
                "store.commit refused a batch without naming the conflictKey".to_owned(),
            )),
        }
    }
}
