use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use js_sys::Promise;
use mssync_core::host::Clock;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    // The global `setTimeout` of both browsers and Node, so the same build runs in either.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: f64) -> JsValue;
}

/// Browsers clamp longer timeouts to zero (a 32-bit signed millisecond count).
const LONGEST_TIMEOUT_MS: u128 = i32::MAX as u128;

/// Wall-clock time from `Date.now()` (chrono's own clock panics on `wasm32-unknown-unknown`
/// without `wasm-bindgen` support), and sleeps on `setTimeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserClock;

#[async_trait(?Send)]
impl Clock for BrowserClock {
    fn now(&self) -> DateTime<Utc> {
        let millis = js_sys::Date::now() as i64;
        DateTime::from_timestamp_millis(millis).unwrap_or_default()
    }

    async fn sleep(&self, duration: Duration) {
        let mut remaining = duration.as_millis();
        loop {
            let step = remaining.min(LONGEST_TIMEOUT_MS);
            let timer = Promise::new(&mut |resolve, _reject| {
                set_timeout(&resolve, step as f64);
            });
            // A timer promise only ever resolves.
            let _ = JsFuture::from(timer).await;
            remaining -= step;
            if remaining == 0 {
                break;
            }
        }
    }
}
