//! The engine handle: the host's callbacks wrapped as core's `Host`, and the executor that drives
//! core's (non-`Send`) futures on the calling thread.

use std::future::Future;
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mssync_core::ErrorCode;
use mssync_core::app::{App, AppConfig, ErpAccess, NotificationEndpoint, check_endpoint};
use mssync_core::host::{Host, MAX_RESPONSE_BYTES, SystemClock};
use serde::Deserialize;

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

/// Engine settings passed to `mss_engine_new` as a JSON object; unknown fields are refused so a
/// misspelt setting is never silently ignored. With no fields the engine has no connection to
/// the services (Setup, Home and the schedule work; Service, sign-in and runs answer
/// `NotConfigured`). With the endpoints, `erp_access`, `redirect_uri` and `sealing_key` (base64
/// of 32 bytes) it is the full application (`mssync_core::app::AppConfig`).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EngineConfig {
    authority: Option<String>,
    graph_base_url: Option<String>,
    erp_base_url: Option<String>,
    erp_access: Option<ErpAccess>,
    redirect_uri: Option<String>,
    runner_id: Option<String>,
    sealing_key: Option<String>,
    /// At most `mssync_core::host::MAX_RESPONSE_BYTES`, which is also the default.
    max_response_bytes: Option<usize>,
    /// Where Graph reaches the host's `mss_notification_receive`; with it, runs keep a change
    /// subscription per user and job and poll only as a backstop.
    notification_endpoint: Option<NotificationEndpoint>,
}

impl EngineConfig {
    fn is_empty(&self) -> bool {
        self.authority.is_none()
            && self.graph_base_url.is_none()
            && self.erp_base_url.is_none()
            && self.erp_access.is_none()
            && self.redirect_uri.is_none()
            && self.runner_id.is_none()
            && self.sealing_key.is_none()
    }

    /// The application's settings and sealing key, or `None` for an unconnected engine.
    pub(crate) fn into_app_config(self) -> Result<Option<(AppConfig, [u8; 32])>, Failure> {
        if self.is_empty() {
            return Ok(None);
        }
        fn required<T>(value: Option<T>, name: &str) -> Result<T, Failure> {
            value.ok_or_else(|| {
                Failure::new(
                    ErrorCode::InvalidJson,
                    format!("the engine config lacks `{name}`"),
                )
            })
        }
        let key = required(self.sealing_key, "sealing_key")?;
        let key: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                Failure::new(
                    ErrorCode::InvalidJson,
                    "`sealing_key` must be the base64 of exactly 32 bytes",
                )
            })?;
        let config = AppConfig {
            authority: required(self.authority, "authority")?,
            graph_base_url: required(self.graph_base_url, "graph_base_url")?,
            erp_base_url: required(self.erp_base_url, "erp_base_url")?,
            erp_access: required(self.erp_access, "erp_access")?,
            redirect_uri: required(self.redirect_uri, "redirect_uri")?,
            runner_id: self.runner_id.unwrap_or_else(|| "mssync".into()),
            local_process: None,
        };
        // Checked here, before the engine takes the host's user_data.
        config.validate()?;
        Ok(Some((config, key)))
    }
}

pub(crate) fn parse_config(json: &str) -> Result<EngineConfig, Failure> {
    if json.trim().is_empty() {
        return Ok(EngineConfig::default());
    }
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        Failure::new(
            ErrorCode::InvalidJson,
            format!(
                "the engine config is not JSON: {}",
                mssync_core::error::argument_error_without_values(&e.to_string())
            ),
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
            format!(
                "the engine config is not valid: {}",
                mssync_core::error::argument_error_without_values(&e.to_string())
            ),
        )
    })
}

impl MssEngine {
    fn new(
        callbacks: HostCallbacks,
        app_config: Option<(AppConfig, [u8; 32])>,
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
                .expect("endpoints were checked by into_app_config"),
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
        let mut config =
            parse_config(unsafe { str_arg(config_json, config_json_len, "config_json") }?)?;
        let max_response_bytes = config
            .max_response_bytes
            .take()
            .unwrap_or(MAX_RESPONSE_BYTES)
            .min(MAX_RESPONSE_BYTES);
        let endpoint = config.notification_endpoint.take();
        for url in endpoint.iter().flat_map(|e| {
            [
                ("notification_url", &e.notification_url),
                ("lifecycle_notification_url", &e.lifecycle_notification_url),
            ]
        }) {
            check_endpoint(url.1).map_err(|reason| {
                Failure::new(ErrorCode::InvalidArgument, format!("`{}` {reason}", url.0))
            })?;
        }
        let config = config.into_app_config()?;
        // Last: from here on the engine owns user_data and will release it.
        let callbacks = HostCallbacks::take(vtable)?;
        let mut engine = MssEngine::new(callbacks, config, max_response_bytes);
        if let Some(endpoint) = endpoint {
            engine.app = engine
                .app
                .with_change_notifications(endpoint)
                .expect("both URLs were checked above");
        }
        *out = Box::into_raw(Box::new(engine));
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
        let full = format!(
            "{{\"authority\": \"https://login.example\", \"graph_base_url\": \"https://graph.example/v1.0\", \"erp_base_url\": \"https://erp.example/api/domain/odata/\", \"erp_access\": {{\"kind\": \"host\"}}, \"redirect_uri\": \"http://127.0.0.1:1/signin\", \"sealing_key\": \"{}\"}}",
            base64::engine::general_purpose::STANDARD.encode([7u8; 32])
        );
        let (config, key) = parse_config(&full)
            .and_then(EngineConfig::into_app_config)
            .unwrap()
            .expect("a full config");
        assert_eq!((config.runner_id.as_str(), key), ("mssync", [7u8; 32]));
        assert!(parse_config(" {} ").is_ok());
        for bad in [
            "{",
            "[]",
            "42",
            "{\"no_such_setting\": 1}",
            "{\"authority\": \"https://login.example\"}",
            "{\"authority\": \"a\", \"graph_base_url\": \"g\", \"erp_base_url\": \"e\", \"erp_access\": {\"kind\": \"host\"}, \"redirect_uri\": \"r\", \"sealing_key\": \"c2hvcnQ=\"}",
        ] {
            let failure = parse_config(bad)
                .and_then(EngineConfig::into_app_config)
                .map(|_| ())
                .expect_err(bad);
            assert_eq!(
                failure.code,
                ErrorCode::InvalidJson.number() as i32,
                "{bad}"
            );
        }
    }
}
