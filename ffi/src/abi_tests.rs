//! The ABI driven from Rust as a C host would: `extern "C"` callbacks over core's `MemoryStore`,
//! and HTTP answered from another thread. The C suite (`tests/c`) covers the same ground from C
//! under sanitizers; these keep the Rust suite honest on machines without gcc.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use mssync_core::host::{Expect, HttpRequest, MemoryStore, Method, Store, WriteBatch, conformance};

use crate::*;

struct TestHost {
    store: MemoryStore,
    engine: std::sync::atomic::AtomicPtr<MssEngine>,
    releases: Arc<AtomicUsize>,
}

/// # Safety
/// `user_data` is the `TestHost` of `new_engine`, alive until `release`.
unsafe fn host(user_data: *mut c_void) -> &'static TestHost {
    // SAFETY: per this function's contract.
    unsafe { &*(user_data as *const TestHost) }
}

/// # Safety
/// `ptr` is readable for `len` bytes (any value when `len` is 0) while `'a` lasts.
unsafe fn span<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: per this function's contract.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

unsafe extern "C" fn store_get(
    user_data: *mut c_void,
    key: *const u8,
    len: usize,
    reply: *mut MssStoreReply,
) -> i32 {
    // SAFETY: the engine lends the key span and passes back our `user_data`.
    let (key, host) = unsafe { (span(key, len), host(user_data)) };
    let key = std::str::from_utf8(key).unwrap();
    // MemoryStore's futures are ready at once; the engine's executor is already running on this thread.
    match host.store.get(key).now_or_never().unwrap().unwrap() {
        // SAFETY: `reply` is the engine's, valid during this callback; the value outlives the call.
        Some(v) => unsafe {
            mss_store_reply_set_value(
                reply,
                v.value.as_ptr(),
                v.value.len(),
                v.version,
                ptr::null_mut(),
            )
        },
        None => 0,
    }
}

unsafe extern "C" fn store_scan(
    user_data: *mut c_void,
    prefix: *const u8,
    len: usize,
    reply: *mut MssStoreReply,
) -> i32 {
    // SAFETY: the engine lends the prefix span and passes back our `user_data`.
    let (prefix, host) = unsafe { (span(prefix, len), host(user_data)) };
    let prefix = std::str::from_utf8(prefix).unwrap();
    let mut entries = host.store.scan(prefix).now_or_never().unwrap().unwrap();
    entries.reverse(); // any order is fine: the library sorts
    for (k, v) in entries {
        // SAFETY: `reply` is the engine's, valid during this callback; the entry outlives the call.
        unsafe {
            mss_store_reply_add_entry(
                reply,
                k.as_ptr(),
                k.len(),
                v.value.as_ptr(),
                v.value.len(),
                v.version,
                ptr::null_mut(),
            )
        };
    }
    0
}

unsafe extern "C" fn store_commit(
    user_data: *mut c_void,
    writes: *const MssStoreWrite,
    count: usize,
    _: *mut MssStoreReply,
) -> i32 {
    let writes = if count == 0 {
        &[][..]
    } else {
        // SAFETY: the engine lends `count` writes for the duration of this callback.
        unsafe { std::slice::from_raw_parts(writes, count) }
    };
    let mut batch = WriteBatch::new();
    for w in writes {
        // SAFETY: each write's spans are lent with it.
        let (key, value) = unsafe { (span(w.key, w.key_len), span(w.value, w.value_len)) };
        let key = std::str::from_utf8(key).unwrap();
        let expect = match w.expect {
            MssExpect::Any => Expect::Any,
            MssExpect::Absent => Expect::Absent,
            MssExpect::Version => Expect::Version(w.expected_version),
        };
        batch = match w.kind {
            MssWriteKind::Put => batch.put(key, value.to_vec(), expect),
            MssWriteKind::Delete => batch.delete(key, expect),
        };
    }
    // SAFETY: the engine passes back our `user_data`.
    let host = unsafe { host(user_data) };
    match host.store.commit(batch).now_or_never().unwrap() {
        Ok(()) => 0,
        Err(mssync_core::host::StoreError::Conflict { .. }) => MssStatus::StoreConflict as i32,
        Err(_) => MssStatus::StoreFailure as i32,
    }
}

/// Echoes the request's URL back as the body, answering from a new thread.
unsafe extern "C" fn http_send(
    user_data: *mut c_void,
    id: u64,
    request: *const MssHttpRequest,
) -> i32 {
    // SAFETY: the engine lends the request, its spans and our `user_data` for this callback.
    let (url, host) = unsafe {
        let request = &*request;
        (span(request.url, request.url_len), host(user_data))
    };
    let url = String::from_utf8(url.to_vec()).unwrap();
    let engine = host.engine.load(Ordering::SeqCst) as usize;
    std::thread::spawn(move || {
        let header = MssHttpHeader {
            name: b"X-Echo".as_ptr(),
            name_len: 6,
            value: b"1".as_ptr(),
            value_len: 1,
        };
        let response = MssHttpResponse {
            status: 200,
            headers: &header,
            header_count: 1,
            body: url.as_ptr(),
            body_len: url.len(),
        };
        // SAFETY: the engine is alive until the test frees it after every answer; the response
        // and its spans live on this stack frame during the call.
        let status = unsafe {
            mss_http_complete(engine as *const MssEngine, id, &response, ptr::null_mut())
        };
        assert_eq!(status, 0);
    });
    0
}

unsafe extern "C" fn release(user_data: *mut c_void) {
    // SAFETY: `user_data` is the box `new_engine` leaked; the engine releases it once.
    let host = unsafe { Box::from_raw(user_data as *mut TestHost) };
    host.releases.fetch_add(1, Ordering::SeqCst);
}

fn new_engine(releases: Arc<AtomicUsize>) -> *mut MssEngine {
    let host = Box::into_raw(Box::new(TestHost {
        store: MemoryStore::new(),
        engine: Default::default(),
        releases,
    }));
    let vtable = MssHostVtable {
        user_data: host as *mut c_void,
        http_send: Some(http_send),
        store_get: Some(store_get),
        store_scan: Some(store_scan),
        store_commit: Some(store_commit),
        release: Some(release),
    };
    let mut engine = ptr::null_mut();
    // SAFETY: the vtable and the out slot live on this frame; an empty config span is allowed.
    let status = unsafe { mss_engine_new(&vtable, ptr::null(), 0, &mut engine, ptr::null_mut()) };
    assert_eq!(status, 0);
    // SAFETY: the engine now owns the host box, alive until `release`.
    unsafe { (*host).engine.store(engine, Ordering::SeqCst) };
    engine
}

#[test]
fn callback_store_passes_conformance_and_release_runs_once() {
    let releases = Arc::new(AtomicUsize::new(0));
    let engine = new_engine(releases.clone());
    // SAFETY: a live engine from `new_engine`, freed at the end of the test.
    let e = unsafe { &*engine };
    e.run(conformance::check_store(e.host.store.as_ref()));
    conformance::check_threaded_race(e.host.store.clone());
    assert_eq!(releases.load(Ordering::SeqCst), 0);
    // SAFETY: freed once, after every other call on it returned.
    unsafe { mss_engine_free(engine) };
    assert_eq!(releases.load(Ordering::SeqCst), 1);
}

#[test]
fn http_answered_from_another_thread_and_unknown_ids_are_not_found() {
    let engine = new_engine(Arc::new(AtomicUsize::new(0)));
    // SAFETY: a live engine from `new_engine`, freed at the end of the test.
    let e = unsafe { &*engine };
    let response = e
        .run(
            e.host
                .http
                .send(HttpRequest::new(Method::Get, "http://127.0.0.1/echo")),
        )
        .unwrap();
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"http://127.0.0.1/echo"[..])
    );
    assert_eq!(response.header("x-echo"), Some("1"));

    let answer = MssHttpResponse {
        status: 200,
        headers: ptr::null(),
        header_count: 0,
        body: ptr::null(),
        body_len: 0,
    };
    let mut error = ptr::null_mut();
    // SAFETY: a live engine; the answer and the error slot live on this frame.
    let status = unsafe { mss_http_complete(engine, 1, &answer, &mut error) };
    assert_eq!(
        status,
        MssStatus::NotFound as i32,
        "request 1 was already answered"
    );
    // SAFETY: the failed call left an error in the slot; it is freed once.
    assert_eq!(unsafe { (*error).code }, MssStatus::NotFound as i32);
    // SAFETY: as above.
    unsafe { mss_error_free(error) };
    // SAFETY: freed once, after every other call on it returned.
    unsafe { mss_engine_free(engine) };
}
