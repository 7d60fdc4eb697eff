//! The engine handle: the host's callbacks wrapped as core's `Host`, and the executor that drives
//! core's (non-`Send`) futures on the calling thread.

use std::future::Future;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use mssync_core::app::{App, AppConfig, EngineSettings, SealingKey};
use mssync_core::host::{Host, SystemClock};

use crate::buffer::str_arg;
use crate::host::{HostCallbacks, MssHostVtable};
use crate::http::CallbackHttp;
use crate::ops::EventQueue;
use crate::status::{Failure, MssError, guard, guard_void};
use crate::store::CallbackStore;

/// One MsSync engine bound to one host. Thread-safe: any number of host threads may call engine
/// functions at once; each call blocks its thread until done.
pub struct MssEngine {
    // Read by the test hooks (the application reaches the host through `app`).
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(crate) host: Host,
    pub(crate) http: Arc<CallbackHttp>,
    pub(crate) app: App,
    pub(crate) events: EventQueue,
    /// Response bodies longer than this are refused by `mss_http_complete`.
    pub(crate) max_response_bytes: usize,
}

impl MssEngine {
    fn new(
        callbacks: HostCallbacks,
        app_config: Option<(AppConfig, SealingKey)>,
        max_response_bytes: usize,
    ) -> Self {
        let callbacks = Arc::new(callbacks);
        let http = Arc::new(CallbackHttp::new(callbacks.clone()));
        let host = Host {
            http: http.clone(),
            store: Arc::new(CallbackStore::new(callbacks)),
            clock: Arc::new(SystemClock::new(|d: Duration| futures_timer::Delay::new(d))),
        };
        let app = match app_config {
            Some((config, key)) => App::with_config(host.clone(), config, key)
                .expect("endpoints were checked by EngineSettings::app_config"),
            None => App::new(host.clone()),
        };
        Self {
            host,
            http,
            app,
            events: EventQueue::default(),
            max_response_bytes,
        }
    }

    /// Drives one of core's futures to completion on the calling thread. Host callbacks it
    /// triggers run on this thread too (HTTP answers may come from any thread).
    pub(crate) fn run<F: Future>(&self, future: F) -> F::Output {
        futures::executor::block_on(future)
    }
}

/// Reads an engine argument.
///
/// # Safety
/// `engine` is NULL or a live engine from `mss_engine_new` that outlives `'a`.
pub(crate) unsafe fn engine_arg<'a>(engine: *const MssEngine) -> Result<&'a MssEngine, Failure> {
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
    let body = || {
        // SAFETY: NULL or writable, per the contract.
        let out =
            unsafe { out_engine.as_mut() }.ok_or_else(|| Failure::invalid("out_engine is NULL"))?;
        *out = ptr::null_mut();
        // SAFETY: NULL or valid, per the contract.
        let vtable = unsafe { host.as_ref() }.ok_or_else(|| Failure::invalid("host is NULL"))?;
        // SAFETY: NULL (length 0) or readable for `config_json_len` bytes, per the contract.
        let json = unsafe { str_arg(config_json, config_json_len, "config_json") }?;
        let mut settings = EngineSettings::from_json(json)?;
        let max_response_bytes = settings.max_response_bytes();
        let endpoint = settings.take_notification_endpoint()?;
        let config = settings.app_config()?;
        // Last: from here on the engine owns user_data and will release it.
        let callbacks = HostCallbacks::take(vtable)?;
        let mut engine = MssEngine::new(callbacks, config, max_response_bytes);
        if let Some(endpoint) = endpoint {
            engine.app = engine
                .app
                .with_change_notifications(endpoint)
                .expect("both URLs were checked by EngineSettings");
        }
        *out = Box::into_raw(Box::new(engine));
        Ok(())
    };
    // SAFETY: `out_error` is NULL or a writable slot, per this function's contract.
    unsafe { guard(out_error, body) }
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
