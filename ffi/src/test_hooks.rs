//! Entry points for the C and C# test suites only (cargo feature `test-hooks`, off by default;
//! the header guards them with `MSS_TEST_HOOKS`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use mssync_core::ErrorCode;
use mssync_core::host::{HttpRequest, Method, conformance};
use serde::{Deserialize, Serialize};

use crate::buffer::{MssBuffer, fill, out_buffer, str_arg};
use crate::engine::{MssEngine, engine_arg};
use crate::status::{Failure, MssError, guard};

/// Panics inside the library, to prove a panic comes back as `MSS_STATUS_PANIC` with
/// `is_panic == 1` instead of aborting the host.
///
/// # Safety
/// `out_error` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_test_panic(out_error: *mut *mut MssError) -> i32 {
    // SAFETY: `out_error` is NULL or writable, per this function's contract.
    unsafe { guard(out_error, || panic!("mss_test_panic was called")) }
}

/// Runs core's store conformance suite (`check_store`, then `check_threaded_race` from four
/// threads) against the host's store callbacks of `engine`. A failed case returns
/// `MSS_STATUS_STORE_FAILURE` with the case in the message.
///
/// # Safety
/// `engine` is a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_test_store_conformance(
    engine: *const MssEngine,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let engine = unsafe { engine_arg(engine) }?;
        let store = engine.host.store.clone();
        catch_unwind(AssertUnwindSafe(|| {
            engine.run(conformance::check_store(store.as_ref()));
            conformance::check_threaded_race(store);
        }))
        .map_err(|payload| {
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a conformance case failed".into());
            Failure::new(
                ErrorCode::StoreFailure,
                format!("store conformance failed: {text}"),
            )
        })
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}

/// A request for `mss_test_http_send`; the body is text to keep the tests readable.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRequest {
    method: Method,
    url: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: String,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Serialize)]
struct TestResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// Sends one request through the engine's host HTTP (`http_send` + `mss_http_complete`) and
/// returns the response as JSON `{"status": 200, "headers": [["name", "value"]], "body": "text"}`.
/// Request JSON: `{"method": "GET", "url": "...", "headers": [[n, v]], "body": "text",
/// "timeout_ms": 10000}`. A transport failure returns its status (`TRANSPORT_FAILURE`, `TIMEOUT`).
///
/// # Safety
/// `engine` is a live engine; `request_json` is readable; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_test_http_send(
    engine: *const MssEngine,
    request_json: *const u8,
    request_json_len: usize,
    out: *mut MssBuffer,
    out_error: *mut *mut MssError,
) -> i32 {
    let body = || {
        // SAFETY: `out` is NULL or a writable `MssBuffer`, per this function's contract.
        let out = unsafe { out_buffer(out) }?;
        // SAFETY: `engine` is NULL or a live engine, per this function's contract.
        let engine = unsafe { engine_arg(engine) }?;
        // SAFETY: the span is NULL (length 0) or readable for its length, per the contract.
        let json = unsafe { str_arg(request_json, request_json_len, "request_json") }?;
        let request: TestRequest = serde_json::from_str(json).map_err(|e| {
            Failure::new(ErrorCode::InvalidJson, format!("not a test request: {e}"))
        })?;
        let mut http = HttpRequest::new(request.method, request.url);
        http.headers = request.headers;
        http.body = request.body.into_bytes();
        http.timeout = Duration::from_millis(request.timeout_ms);
        let response = engine
            .run(engine.host.http.send(http))
            .map_err(mssync_core::PublicError::from)?;
        let response = TestResponse {
            status: response.status,
            headers: response.headers,
            body: String::from_utf8_lossy(&response.body).into_owned(),
        };
        fill(
            out,
            serde_json::to_vec(&response).expect("response serializes"),
        );
        Ok(())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
}
