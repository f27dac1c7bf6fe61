//! Faults the simulated service can be made to show, in one place:
//!
//! * [`failure`]: the service's failures and the exact HTTP answers it sends for them
//!   ([`Failure`](failure::Failure), [`HttpAnswer`](failure::HttpAnswer));
//! * `fault`: one injected fault ([`Fault`](crate::Fault));
//! * `plan`: a simulator's fault configuration as plain data ([`FaultPlan`](crate::FaultPlan),
//!   its steps and the named presets);
//! * `chaos`: seeded, data-driven fault profiles ([`ChaosPlan`](crate::ChaosPlan)).
//!
//! Their public types are re-exported at the crate root (and the fault configuration in
//! [`simulator`](crate::simulator)); `failure` keeps its path,
//! `exchange_activesync_testkit::failure`.

pub(crate) mod chaos;
pub mod failure;
pub(crate) mod fault;
pub(crate) mod plan;
