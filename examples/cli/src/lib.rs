//! The pieces of the `mssync` host that other hosts and the test suites reuse.

pub mod bench;
mod bench_mail;
pub mod bench_nodes;
mod bench_notify;
pub mod commands;
pub mod config;
pub mod demo;
pub mod http;
pub mod redirect;
pub mod serve;
pub mod store;
pub mod web;

pub use store::{
    OpenStoreError, OpenedStore, PostgresStore, PostgresUrl, SqliteStore, StoreLocation,
};
