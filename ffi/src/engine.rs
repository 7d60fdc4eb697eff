//! The engine handle: the host's callbacks wrapped as core's `Host`, and the executor that drives
//! core's (non-`Send`) futures on the calling thread.

use std::future::Future;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use mssync_core::ErrorCode;
use mssync_core::host::{Host, SystemClock};
use serde::Deserialize;

use crate::buffer::str_arg;
use crate::host::{HostCallbacks, MssHostVtable};
use crate::http::CallbackHttp;
use crate::status::{Failure, MssError, guard, guard_void};
use crate::store::CallbackStore;

/// One MsSync engine bound to one host. Thread-safe: any number of host threads may call engine
/// functions at once; each call blocks its thread until done.
pub struct MssEngine {
    // Read by the test hooks today and by the application-layer operations (sign-in, Setup, Home,
    // run_job) when they land; until then a production build has no reader.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(crate) host: Host,
    pub(crate) http: Arc<CallbackHttp>,
}

/// Engine settings passed to `mss_engine_new` as a JSON object. None are defined yet; unknown
/// fields are refused so a misspelt setting is never silently ignored. The application layer
/// adds its own (instance URLs, seal key) here.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EngineConfig {}

fn parse_config(json: &str) -> Result<EngineConfig, Failure> {
    if json.trim().is_empty() {
        return Ok(EngineConfig::default());
    }
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Failure::new(
            ErrorCode::InvalidJson,
            format!("the engine config is not JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(Failure::new(
            ErrorCode::InvalidJson,
            "the engine config must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        Failure::new(
            ErrorCode::InvalidJson,
            format!("the engine config is not valid: {e}"),
        )
    })
}

impl MssEngine {
    fn new(callbacks: HostCallbacks, _config: EngineConfig) -> Self {
        let callbacks = Arc::new(callbacks);
        let http = Arc::new(CallbackHttp::new(callbacks.clone()));
        let host = Host {
            http: http.clone(),
            store: Arc::new(CallbackStore::new(callbacks)),
            clock: Arc::new(SystemClock::new(|d: Duration| futures_timer::Delay::new(d))),
        };
        Self { host, http }
    }

    /// Drives one of core's futures to completion on the calling thread. Host callbacks it
    /// triggers run on this thread too (HTTP answers may come from any thread).
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(crate) fn run<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
}

/// Reads an engine argument.
pub(crate) fn engine_arg<'a>(engine: *const MssEngine) -> Result<&'a MssEngine, Failure> {
    // SAFETY: NULL or a live engine from `mss_engine_new`, per every function's contract.
    unsafe { engine.as_ref() }.ok_or_else(|| Failure::invalid("engine is NULL"))
}

/// Creates an engine over the host's callbacks. `config_json` is a UTF-8 JSON object (an empty
/// span means all defaults). On success `*out_engine` owns the host's `user_data` until
/// `mss_engine_free` calls `release`; on failure `*out_engine` is NULL, `release` is never called
/// and the host keeps `user_data`.
///
/// # Safety
/// `host` is NULL or a valid vtable; `config_json` is NULL (length 0) or readable;
/// `out_engine` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_engine_new(
    host: *const MssHostVtable,
    config_json: *const u8,
    config_json_len: usize,
    out_engine: *mut *mut MssEngine,
    out_error: *mut *mut MssError,
) -> i32 {
    guard(out_error, || {
        // SAFETY: NULL or writable, per the contract.
        let out =
            unsafe { out_engine.as_mut() }.ok_or_else(|| Failure::invalid("out_engine is NULL"))?;
        *out = ptr::null_mut();
        // SAFETY: NULL or valid, per the contract.
        let vtable = unsafe { host.as_ref() }.ok_or_else(|| Failure::invalid("host is NULL"))?;
        let config =
            parse_config(unsafe { str_arg(config_json, config_json_len, "config_json") }?)?;
        // Last: from here on the engine owns user_data and will release it.
        let callbacks = HostCallbacks::take(vtable)?;
        *out = Box::into_raw(Box::new(MssEngine::new(callbacks, config)));
        Ok(())
    })
}

/// Frees an engine and then calls the host's `release(user_data)` once, on this thread. Accepts
/// NULL. Call it only after every other call on this engine has returned and the host will not
/// answer any more requests (`mss_http_complete` on a freed engine is undefined behaviour).
///
/// # Safety
/// `engine` is NULL or an engine from `mss_engine_new`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mss_engine_free(engine: *mut MssEngine) {
    guard_void(|| {
        if !engine.is_null() {
            // SAFETY: per the contract.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_a_json_object_without_unknown_fields() {
        assert!(parse_config("").is_ok());
        assert!(parse_config(" {} ").is_ok());
        for bad in ["{", "[]", "42", "{\"no_such_setting\": 1}"] {
            let failure = parse_config(bad).expect_err(bad);
            assert_eq!(
                failure.code,
                ErrorCode::InvalidJson.number() as i32,
                "{bad}"
            );
        }
    }
}
