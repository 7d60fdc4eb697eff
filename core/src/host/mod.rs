//! Host contracts: what the embedding host supplies (HTTP, storage, time, and in the browser
//! the time-zone rules of `Intl`).
//!
//! Futures here are not `Send`: each binding drives them on its own thread or event loop (a
//! blocking executor in the C ABI, the browser's microtasks in WASM). Host objects themselves are
//! `Send + Sync` on native targets so one engine can be shared by several host threads; in the
//! browser nothing is shared across threads, so the bound disappears there.

mod clock;
mod counting;
mod http;
pub(crate) mod retry;
mod store;

#[cfg(any(test, feature = "test-support"))]
pub mod conformance;
#[cfg(any(test, feature = "test-support"))]
mod memory;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

/// Zone rules a host may supply instead of the bundled tz data (the browser's `Intl`).
pub use crate::model::tz::{Zone, ZoneRules, install_zone_rules};
pub use clock::{Clock, ManualClock, SystemClock};
pub use counting::CountingHttp;
pub use http::{
    HttpClient, HttpRequest, HttpResponse, MAX_RESPONSE_BYTES, Method, TransportError,
    TransportErrorKind,
};
pub(crate) use retry::parse_retry_after;
pub use retry::{
    Backoff, MAX_SERVER_WAIT, MAX_TOKEN_LIFETIME, RetryOutcome, RetryPolicy, later_by,
    send_with_retry,
};
pub use store::{Expect, Store, StoreError, Versioned, Write, WriteBatch, WriteOp};

#[cfg(any(test, feature = "test-support"))]
pub use memory::{MemoryStore, StoreBackup};

use std::sync::Arc;

/// `Send + Sync` on native targets, nothing in the browser (see the module comment).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// Everything the host supplies, bundled once and handed to the engine.
#[derive(Clone)]
pub struct Host {
    pub http: Arc<dyn HttpClient>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
}
