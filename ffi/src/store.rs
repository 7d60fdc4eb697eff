//! The host `Store` over three synchronous callbacks. Results travel back through an
//! `MssStoreReply` the library owns and the host fills with setters, which copy: the host keeps
//! ownership of everything it passes, the library of everything it lends.

use std::sync::Arc;

use async_trait::async_trait;
use mssync_core::ErrorCode;
use mssync_core::host::{Expect, Store, StoreError, Versioned, WriteBatch, WriteOp};

use crate::buffer::{bytes_arg, str_arg};
use crate::host::HostCallbacks;
use crate::status::{Failure, MssError, guard};

/// What a write does.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssWriteKind {
    /// Store `value` under `key`.
    Put = 1,
    /// Remove `key` (removing a missing key is not an error, unless an expectation says so).
    Delete = 2,
}

/// What a write expects of its key before the batch; one failed expectation refuses the batch.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MssExpect {
    /// No expectation: last writer wins.
    Any = 0,
    /// The key must not exist.
    Absent = 1,
    /// The key must exist with exactly `expected_version`.
    Version = 2,
}

/// One write of a batch handed to `store_commit`; spans are borrowed for the callback's duration.
#[repr(C)]
pub struct MssStoreWrite {
    /// UTF-8.
    pub key: *const u8,
    pub key_len: usize,
    pub kind: MssWriteKind,
    pub expect: MssExpect,
    /// Meaningful when `expect` is `MSS_EXPECT_VERSION`.
    pub expected_version: u64,
    /// The bytes to put (binary); NULL/0 for a delete or an empty value.
    pub value: *const u8,
    pub value_len: usize,
}

/// Where a store callback writes its result. Owned by the library and valid only during the
/// callback that received it; every setter copies its arguments.
pub struct MssStoreReply {
    value: Option<Versioned>,
    entries: Vec<(String, Versioned)>,
    message: Option<String>,
    unreadable: bool,
}

impl MssStoreReply {
    fn new() -> Self {
        Self {
            value: None,
            entries: Vec::new(),
            message: None,
            unreadable: false,
        }
    }

    /// Turns the callback's status and this reply into the store's answer.
    fn outcome(&self, status: i32, operation: &str) -> Result<(), StoreError> {
        if self.unreadable {
            return Err(StoreError::Backend(format!(
                "the host's {operation} answer was unreadable"
            )));
        }
        match status {
            0 => Ok(()),
            s if s == ErrorCode::StoreConflict.number() as i32 => Err(StoreError::Conflict {
                key: self.message.clone().unwrap_or_default(),
            }),
            s => Err(StoreError::Backend(match &self.message {
                Some(text) => format!("host {operation} failed (status {s}): {text}"),
                None => format!("host {operation} failed (status {s})"),
            })),
        }
    }
}

/// The host `Store` of one engine.
pub(crate) struct CallbackStore {
    host: Arc<HostCallbacks>,
}

impl CallbackStore {
    pub fn new(host: Arc<HostCallbacks>) -> Self {
        Self { host }
    }
}

#[async_trait(?Send)]
impl Store for CallbackStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StoreError> {
        let mut reply = MssStoreReply::new();
        // SAFETY: the host's callback; the key and the reply outlive the call.
        let status = unsafe {
            (self.host.store_get)(self.host.user_data, key.as_ptr(), key.len(), &mut reply)
        };
        reply.outcome(status, "get")?;
        Ok(reply.value)
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, Versioned)>, StoreError> {
        let mut reply = MssStoreReply::new();
        // SAFETY: as in `get`.
        let status = unsafe {
            (self.host.store_scan)(
                self.host.user_data,
                prefix.as_ptr(),
                prefix.len(),
                &mut reply,
            )
        };
        reply.outcome(status, "scan")?;
        let mut entries = reply.entries;
        // The contract is byte order of keys; sorting here spares every host a collation bug.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(entries)
    }

    async fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let writes: Vec<MssStoreWrite> = batch
            .writes
            .iter()
            .map(|w| {
                let (kind, value): (MssWriteKind, &[u8]) = match &w.op {
                    WriteOp::Put(bytes) => (MssWriteKind::Put, bytes),
                    WriteOp::Delete => (MssWriteKind::Delete, &[]),
                };
                let (expect, expected_version) = match w.expect {
                    Expect::Any => (MssExpect::Any, 0),
                    Expect::Absent => (MssExpect::Absent, 0),
                    Expect::Version(v) => (MssExpect::Version, v),
                };
                MssStoreWrite {
                    key: w.key.as_ptr(),
                    key_len: w.key.len(),
                    kind,
                    expect,
                    expected_version,
                    value: if value.is_empty() {
                        std::ptr::null()
                    } else {
                        value.as_ptr()
                    },
                    value_len: value.len(),
                }
            })
            .collect();
        let mut reply = MssStoreReply::new();
        // SAFETY: as in `get`; `writes` and the batch they point into outlive the call.
        let status = unsafe {
            (self.host.store_commit)(
                self.host.user_data,
                writes.as_ptr(),
                writes.len(),
                &mut reply,
            )
        };
        reply.outcome(status, "commit")
    }
}

/// # Safety
/// `reply` is NULL or the reply the library passed to the running callback, alive for `'a`.
unsafe fn reply_arg<'a>(reply: *mut MssStoreReply) -> Result<&'a mut MssStoreReply, Failure> {
    // SAFETY: per this function's contract.
    unsafe { reply.as_mut() }.ok_or_else(|| Failure::invalid("reply is NULL"))
}

/// From `store_get`: the key exists with these bytes and this version. Copies `value`.
///
/// # Safety
/// `reply` is the reply passed to the running callback; `value` is NULL (length 0) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_store_reply_set_value(
    reply: *mut MssStoreReply,
    value: *const u8,
    value_len: usize,
    version: u64,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `reply` is NULL or the running callback\'s reply, per the contract.
        let reply = unsafe { reply_arg(reply) }?;
        // SAFETY: per the contract.
        match unsafe { bytes_arg(value, value_len, "value") } {
            Ok(value) => {
                reply.value = Some(Versioned {
                    value: value.to_vec(),
                    version,
                });
                Ok(())
            }
            Err(bad) => {
                reply.unreadable = true;
                Err(bad)
            }
        }
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// From `store_scan`: one entry under the prefix. Copies `key` (UTF-8) and `value`. Invalid UTF-8
/// returns `MSS_STATUS_INVALID_ARGUMENT` and fails the scan.
///
/// # Safety
/// `reply` is the reply passed to the running callback; the spans are NULL (length 0) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_store_reply_add_entry(
    reply: *mut MssStoreReply,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
    version: u64,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `reply` is NULL or the running callback\'s reply, per the contract.
        let reply = unsafe { reply_arg(reply) }?;
        let read = || -> Result<(String, Versioned), Failure> {
            // SAFETY: per the contract.
            let key = unsafe { str_arg(key, key_len, "key") }?;
            // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
            let value = unsafe { bytes_arg(value, value_len, "value") }?;
            Ok((
                key.to_owned(),
                Versioned {
                    value: value.to_vec(),
                    version,
                },
            ))
        };
        match read() {
            Ok(entry) => {
                reply.entries.push(entry);
                Ok(())
            }
            Err(bad) => {
                reply.unreadable = true;
                Err(bad)
            }
        }
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// From any store callback returning non-zero: a UTF-8 explanation for the host's own logs (for
/// a conflict, the key). Never shown in public errors. Copies `message`.
///
/// # Safety
/// `reply` is the reply passed to the running callback; `message` is NULL (length 0) or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_store_reply_set_message(
    reply: *mut MssStoreReply,
    message: *const u8,
    message_len: usize,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `reply` is NULL or the running callback\'s reply, per the contract.
        let reply = unsafe { reply_arg(reply) }?;
        // SAFETY: per the contract.
        let message = unsafe { str_arg(message, message_len, "message") }?;
        reply.message = Some(message.to_owned());
        Ok(())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}
