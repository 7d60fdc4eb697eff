//! The host vtable: what a C host supplies, and the one owner that calls `release` exactly once.

use std::ffi::c_void;

use crate::http::MssHttpRequest;
use crate::status::Failure;
use crate::store::{MssStoreReply, MssStoreWrite};

// The callback types as Rust sees them once checked non-NULL (documented on `MssHostVtable`).
pub(crate) type MssHttpSendFn = unsafe extern "C" fn(
    user_data: *mut c_void,
    request_id: u64,
    request: *const MssHttpRequest,
) -> i32;
pub(crate) type MssStoreGetFn = unsafe extern "C" fn(
    user_data: *mut c_void,
    key: *const u8,
    key_len: usize,
    reply: *mut MssStoreReply,
) -> i32;
pub(crate) type MssStoreScanFn = unsafe extern "C" fn(
    user_data: *mut c_void,
    prefix: *const u8,
    prefix_len: usize,
    reply: *mut MssStoreReply,
) -> i32;
pub(crate) type MssStoreCommitFn = unsafe extern "C" fn(
    user_data: *mut c_void,
    writes: *const MssStoreWrite,
    count: usize,
    reply: *mut MssStoreReply,
) -> i32;
pub(crate) type MssReleaseFn = unsafe extern "C" fn(user_data: *mut c_void);

/// What the host supplies to `mss_engine_new`. The library copies the struct; `user_data` is
/// passed back to every callback and released through `release` when the engine is freed. Every
/// callback must be safe to call from several threads at once. All fields are required
/// (`release` may be NULL when there is nothing to release).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MssHostVtable {
    pub user_data: *mut c_void,
    /// Sends one HTTP request. Called on the thread of the engine call that needs it; the host
    /// answers later (or before returning) with `mss_http_complete` or `mss_http_fail` for the same
    /// `request_id`, from any thread. `request` and everything it points to are valid only until
    /// this callback returns: copy what you keep. Return 0 when the request was accepted; any other
    /// value fails the request at once (and `request_id` must then not be answered).
    pub http_send: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            request_id: u64,
            request: *const MssHttpRequest,
        ) -> i32,
    >,
    /// Reads one key (UTF-8). Answer with `mss_store_reply_set_value` when the key exists; return 0
    /// without setting a value when it does not. Any non-zero return is a store failure
    /// (`mss_store_reply_set_message` may explain it for the host's own logs).
    pub store_get: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            key: *const u8,
            key_len: usize,
            reply: *mut MssStoreReply,
        ) -> i32,
    >,
    /// Lists every key starting with `prefix` (in any order: the library sorts by bytes), adding
    /// each with `mss_store_reply_add_entry`. Non-zero return: store failure.
    pub store_scan: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            prefix: *const u8,
            prefix_len: usize,
            reply: *mut MssStoreReply,
        ) -> i32,
    >,
    /// Applies `count` writes atomically: all or none, in order, with every expectation checked
    /// against the state before the batch. Return 0 when applied, `MSS_STATUS_STORE_CONFLICT` (200)
    /// when an expectation failed (nothing written), anything else for a failure. Every successful
    /// put gives its key a version that key never had before (not even before a delete).
    pub store_commit: Option<
        unsafe extern "C" fn(
            user_data: *mut c_void,
            writes: *const MssStoreWrite,
            count: usize,
            reply: *mut MssStoreReply,
        ) -> i32,
    >,
    /// Called exactly once, from `mss_engine_free`, after the last callback; may be NULL.
    pub release: Option<unsafe extern "C" fn(user_data: *mut c_void)>,
}

/// The validated vtable, owned by one engine; its drop calls `release`.
pub(crate) struct HostCallbacks {
    pub user_data: *mut c_void,
    pub http_send: MssHttpSendFn,
    pub store_get: MssStoreGetFn,
    pub store_scan: MssStoreScanFn,
    pub store_commit: MssStoreCommitFn,
    release: Option<MssReleaseFn>,
}

// SAFETY: the header requires every callback to be callable from any thread with this user_data.
unsafe impl Send for HostCallbacks {}
unsafe impl Sync for HostCallbacks {}

impl HostCallbacks {
    /// Checks every required pointer; on failure nothing is owned, so `release` is not called.
    pub fn take(vtable: &MssHostVtable) -> Result<Self, Failure> {
        let missing =
            |name: &str| Failure::invalid(format!("the host vtable has no {name} callback"));
        Ok(Self {
            user_data: vtable.user_data,
            http_send: vtable.http_send.ok_or_else(|| missing("http_send"))?,
            store_get: vtable.store_get.ok_or_else(|| missing("store_get"))?,
            store_scan: vtable.store_scan.ok_or_else(|| missing("store_scan"))?,
            store_commit: vtable.store_commit.ok_or_else(|| missing("store_commit"))?,
            release: vtable.release,
        })
    }
}

impl Drop for HostCallbacks {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            // SAFETY: the host's function, called once with its own user_data.
            unsafe { release(self.user_data) };
        }
    }
}
