//! MsSync engine: keeps ERP.net activities and Microsoft 365 calendars in step.
//!
//! The crate is host-agnostic: storage, HTTP and time come from the host through the contracts in
//! [`host`]; every rule of the sync lives here, so the C ABI, the WASM build and the command line
//! stay thin. Its public face is [`app`] (every operation and view), [`host`] (what a host
//! supplies), the errors, and [`wire`] (the names MsSync speaks to ERP.net, Graph and Entra ID,
//! for simulators built from the same tables). Everything else is the engine's own: bindings
//! cannot name it.

pub mod app;
pub mod error;
pub mod host;
pub mod wire;

/// Declares the engine's internal modules: crate-private, and public only with the `internals`
/// feature, which the end-to-end suites enable to test connectors against the simulators.
macro_rules! internal_modules {
    ($($name:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $name;
        // Items only the end-to-end suites use would look dead here; with `internals` (the
        // workspace build) the lints see them as before.
        #[cfg(not(feature = "internals"))]
        #[allow(dead_code, unused_imports)]
        mod $name;
    )*};
}

internal_modules!(engine, erp, graph, identity, jobs, model);

#[cfg(test)]
mod fuzz_tests;

pub use error::{ErrorCode, PublicError};
