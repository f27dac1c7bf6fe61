//! The HTTP client and its throttle: redirects, retries, the wire, the per-tenant throttle and the fault suite against the simulator.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;
// The wire tests know the HTTP helpers as `http_support`.
use support::http as http_support;

mod faults;
mod http_redirect;
mod http_retry;
mod http_wire;
mod standalone_wire;
mod throttle;
