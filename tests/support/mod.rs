//! Helpers shared by the test binaries, included by each as
//! `#[path = "../support/mod.rs"] mod support;` (`#[path = "support/mod.rs"]` from a file
//! directly in `tests/`).
//!
//! * [`http`]: a mock server, a client pointed at it, tokens and envelopes (the wire tests);
//! * [`process`]: the examples as processes (their binaries, scratch directories, output);
//! * [`lookup`]: an injected environment for the `EXO_*` readers.
//!
//! Each binary uses only part of it.
#![allow(dead_code)]

pub mod http;
pub mod process;

use std::collections::HashMap;

/// A lookup over exactly these variables, for the `*_from_lookup` readers.
pub fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}
