//! The test kit itself: the fake against the simulator, the simulator over HTTP, many tenants, the test kit API and the standalone server.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;

mod sim_fake;
mod sim_http;
mod sim_tenants;
mod standalone_process;
mod testkit;
