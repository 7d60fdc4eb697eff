//! Stateful simulators of the services MsSync talks to, built on wiremock, for the tests, the demo
//! and the benchmarks. Each runs on its own loopback port.

pub mod control;
pub mod cors;
pub mod entra;
pub mod erp;
pub mod graph;
mod stall;
pub mod world;
