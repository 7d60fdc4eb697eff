//! MsSync engine: keeps ERP.net activities and Microsoft 365 calendars in step.
//!
//! The crate is host-agnostic: storage, HTTP and time come from the host through the contracts in
//! [`host`]; every rule of the sync lives here, so the C ABI, the WASM build and the command line
//! stay thin.

pub mod app;
pub mod engine;
pub mod erp;
pub mod error;
pub mod graph;
pub mod host;
pub mod identity;
pub mod jobs;
pub mod model;

#[cfg(test)]
mod fuzz_tests;

pub use error::{ErrorCode, PublicError};
