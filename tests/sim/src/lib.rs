//! Simulators of the services MsSync talks to, for tests, the demo and the benchmarks.
