//! The connector workflows over the fake and the simulator: actions, cleanup, inventory, status, sync, per-mailbox lists and permissions.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;

mod cas_mailbox;
mod connector_actions;
mod connector_cleanup;
mod connector_inventory;
mod connector_status;
mod connector_sync;
mod inventory_pages;
mod permissions_sim;
mod validator_throttled;
