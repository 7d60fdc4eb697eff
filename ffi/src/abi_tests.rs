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

fn host(user_data: *mut c_void) -> &'static TestHost {
    unsafe { &*(user_data as *const TestHost) }
}

fn span<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

unsafe extern "C" fn store_get(
    user_data: *mut c_void,
    key: *const u8,
    len: usize,
    reply: *mut MssStoreReply,
) -> i32 {
    let key = std::str::from_utf8(span(key, len)).unwrap();
    // MemoryStore's futures are ready at once; the engine's executor is already running on this thread.
    match host(user_data)
        .store
        .get(key)
        .now_or_never()
        .unwrap()
        .unwrap()
    {
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
    let prefix = std::str::from_utf8(span(prefix, len)).unwrap();
    let mut entries = host(user_data)
        .store
        .scan(prefix)
        .now_or_never()
        .unwrap()
        .unwrap();
    entries.reverse(); // any order is fine: the library sorts
    for (k, v) in entries {
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
        unsafe { std::slice::from_raw_parts(writes, count) }
    };
    let mut batch = WriteBatch::new();
    for w in writes {
        let key = std::str::from_utf8(span(w.key, w.key_len)).unwrap();
        let expect = match w.expect {
            MssExpect::Any => Expect::Any,
            MssExpect::Absent => Expect::Absent,
            MssExpect::Version => Expect::Version(w.expected_version),
        };
        batch = match w.kind {
            MssWriteKind::Put => batch.put(key, span(w.value, w.value_len).to_vec(), expect),
            MssWriteKind::Delete => batch.delete(key, expect),
        };
    }
    match host(user_data).store.commit(batch).now_or_never().unwrap() {
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
    let request = unsafe { &*request };
    let url = String::from_utf8(span(request.url, request.url_len).to_vec()).unwrap();
    let engine = host(user_data).engine.load(Ordering::SeqCst) as usize;
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
        let status = unsafe {
            mss_http_complete(engine as *const MssEngine, id, &response, ptr::null_mut())
        };
        assert_eq!(status, 0);
    });
    0
}

unsafe extern "C" fn release(user_data: *mut c_void) {
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
    let status = unsafe { mss_engine_new(&vtable, ptr::null(), 0, &mut engine, ptr::null_mut()) };
    assert_eq!(status, 0);
    unsafe { (*host).engine.store(engine, Ordering::SeqCst) };
    engine
}

#[test]
fn callback_store_passes_conformance_and_release_runs_once() {
    let releases = Arc::new(AtomicUsize::new(0));
    let engine = new_engine(releases.clone());
    let e = unsafe { &*engine };
    e.run(conformance::check_store(e.host.store.as_ref()));
    conformance::check_threaded_race(e.host.store.clone());
    assert_eq!(releases.load(Ordering::SeqCst), 0);
    unsafe { mss_engine_free(engine) };
    assert_eq!(releases.load(Ordering::SeqCst), 1);
}

#[test]
fn http_answered_from_another_thread_and_unknown_ids_are_not_found() {
    let engine = new_engine(Arc::new(AtomicUsize::new(0)));
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
    let status = unsafe { mss_http_complete(engine, 1, &answer, &mut error) };
    assert_eq!(
        status,
        MssStatus::NotFound as i32,
        "request 1 was already answered"
    );
    assert_eq!(unsafe { (*error).code }, MssStatus::NotFound as i32);
    unsafe { mss_error_free(error) };
    unsafe { mss_engine_free(engine) };
}
