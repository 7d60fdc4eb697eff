//! The C ABI over `mssync-core` (library `libmssync`). Conventions: `docs/architecture.md` and
//! `docs/decisions.md` ("C ABI and .NET bindings"); the generated header `include/mssync.h` states
//! ownership, threading and shutdown order for hosts.
//!
//! One module per concern: `status` (codes, `MssError`, the panic guard), `buffer` (spans in,
//! `MssBuffer` out), `host` (the vtable), `http` (completion-based host HTTP), `store` (callback
//! store and its reply setters), `engine` (the handle), `ops` (the application layer, one module per object, and the
//! engine-free operations),
//! `test_hooks` (feature `test-hooks`).

mod buffer;
mod engine;
mod host;
mod http;
mod ops;
mod status;
mod store;
#[cfg(feature = "test-hooks")]
mod test_hooks;

pub use buffer::{MssBuffer, mss_buffer_free};
pub use engine::{MssEngine, mss_engine_free, mss_engine_new};
pub use host::MssHostVtable;
pub use http::{
    MssHttpHeader, MssHttpRequest, MssHttpResponse, MssTransportErrorKind, mss_http_complete,
    mss_http_fail,
};
pub use ops::{
    mss_events_poll, mss_home_get, mss_job_run, mss_job_run_due, mss_jobs_due,
    mss_notification_receive, mss_service_complete_consent, mss_service_connect,
    mss_service_consent_url, mss_service_get, mss_service_give_permissions,
    mss_service_grant_domain, mss_service_revoke_domain, mss_service_set, mss_session_check,
    mss_setup_change, mss_setup_full_refresh, mss_setup_get, mss_setup_options,
    mss_setup_set_company, mss_setup_set_job, mss_signin_begin, mss_signin_complete,
    mss_signin_fail, mss_time_zones, mss_user_api,
};
pub use status::{MssError, MssStatus, mss_error_free, mss_status_name};
pub use store::{
    MssExpect, MssStoreReply, MssStoreWrite, MssWriteKind, mss_store_reply_add_entry,
    mss_store_reply_set_message, mss_store_reply_set_value,
};
#[cfg(feature = "test-hooks")]
pub use test_hooks::{mss_test_http_send, mss_test_panic, mss_test_store_conformance};

/// Version of the C ABI; bumped on every incompatible change of the header.
pub const MSS_ABI_VERSION: u32 = 1;

/// The ABI version this library implements (`MSS_ABI_VERSION` of the header it was built with);
/// a host checks it before anything else.
#[unsafe(no_mangle)]
pub extern "C" fn mss_abi_version() -> u32 {
    MSS_ABI_VERSION
}

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod header_tests;
