//! Authentication: client credentials, certificates, token caching, endpoints and the environment variables.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;

mod auth_cache;
mod auth_client_credentials;
mod auth_endpoints;
mod auth_from_env;
