//! The typed API without a network: requests, wire encodings, models, decoders under bad input, accessors, send states and behaviour.
//!
//! One test binary for the group (each file is a module), so the suite links the crate a
//! handful of times instead of once per file.

#[path = "../support/mod.rs"]
mod support;
// The wire tests know the HTTP helpers as `http_support`.
use support::http as http_support;

mod api_consistency;
mod behaviour;
mod cmdlets_accessors;
mod cmdlets_requests;
mod cmdlets_wire;
mod models_decode;
mod models_values;
mod robust_decoders;
mod robust_props;
mod robust_security;
mod robust_values;
mod send_state;
mod typed_values;
