//! Many tenants at once: the fleet library, against fakes and the multi-tenant simulator, and the fleet example.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;

mod fleet;
mod fleet_sim;
