//! The pieces of the `mssync` host that other hosts and the test suites reuse.

pub mod http;
