//! The fault configuration of a simulator, as plain data: scripted steps, latency, a cap on
//! concurrent requests, seeded chaos, and the named presets.

use std::time::Duration;

use super::chaos::{ChaosMode, ChaosPlan};
use super::failure::Failure;
use super::fault::Fault;
use exchange_activesync::error::{Error, Result};

/// How many times a scripted fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultTimes {
    /// The next matching request.
    Once,
    /// The next `n` matching requests.
    N(u32),
    /// Every matching request.
    Always,
}

/// A scripted fault: for which cmdlet (`None` = any `InvokeCommand`), what, how often.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultStep {
    /// Cmdlet filter (case-insensitive); `None` matches every request.
    pub cmdlet: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// How often.
    pub times: FaultTimes,
    /// Matching requests let through before the fault starts (0: from the next one). With
    /// `after(n)`, a fault fires "from request n + 1 on".
    pub skip: u32,
}

impl FaultStep {
    /// A fault step.
    pub fn new(cmdlet: Option<&str>, fault: Fault, times: FaultTimes) -> Self {
        FaultStep {
            cmdlet: cmdlet.map(str::to_string),
            fault,
            times,
            skip: 0,
        }
    }

    /// Let the first `n` matching requests through before the fault starts.
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }
}

/// The fault configuration, as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultPlan {
    /// Delay before answering every request.
    pub latency: Option<Duration>,
    /// More concurrent requests than this are answered 429 with the plain-text concurrency
    /// message.
    pub max_in_flight: Option<usize>,
    /// Scripted faults, checked in order.
    pub script: Vec<FaultStep>,
    /// Seeded random faults, decided after the scripted ones.
    pub chaos: Option<ChaosPlan>,
}

impl FaultPlan {
    /// No faults.
    pub fn new() -> Self {
        FaultPlan::default()
    }

    /// Delay every request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Cap concurrent requests.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// Append a scripted fault.
    pub fn step(mut self, step: FaultStep) -> Self {
        self.script.push(step);
        self
    }

    /// Add seeded random faults.
    pub fn chaos(mut self, chaos: ChaosPlan) -> Self {
        self.chaos = Some(chaos);
        self
    }
}

/// Named fault presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultProfile {
    /// No faults.
    Calm,
    /// The first two requests are throttled (with and without `Retry-After`), then a 503.
    Throttling,
    /// Seeded transient faults on a few percent of reads and one expired continuation
    /// ([`ChaosMode::Transient`]); never on writes, never twice in a row for one request.
    Transient,
    /// Sustained throttling that a retrying client still gets through
    /// ([`ChaosMode::Storm`]).
    Storm,
    /// At most `n` requests in flight, 5 ms latency.
    Congested(usize),
}

impl FaultProfile {
    /// The plan of this profile (seed 0 for the seeded profiles).
    pub fn plan(self) -> FaultPlan {
        self.plan_seeded(0)
    }

    /// The plan of this profile; `seed` drives [`FaultProfile::Transient`] and
    /// [`FaultProfile::Storm`].
    pub fn plan_seeded(self, seed: u64) -> FaultPlan {
        match self {
            FaultProfile::Transient => {
                FaultPlan::default().chaos(ChaosPlan::new(ChaosMode::Transient, seed))
            }
            FaultProfile::Storm => {
                FaultPlan::default().chaos(ChaosPlan::new(ChaosMode::Storm, seed))
            }
            FaultProfile::Calm => FaultPlan::default(),
            FaultProfile::Throttling => FaultPlan {
                script: vec![
                    FaultStep::new(
                        None,
                        Fault::Fail(Failure::throttled(Some(0.01))),
                        FaultTimes::Once,
                    ),
                    FaultStep::new(
                        None,
                        Fault::Fail(Failure::throttled(None)),
                        FaultTimes::Once,
                    ),
                    FaultStep::new(None, Fault::Fail(Failure::Unavailable), FaultTimes::Once),
                ],
                ..FaultPlan::default()
            },
            FaultProfile::Congested(n) => FaultPlan {
                latency: Some(Duration::from_millis(5)),
                max_in_flight: Some(n),
                script: Vec::new(),
                chaos: None,
            },
        }
    }
}

impl std::str::FromStr for FaultProfile {
    type Err = Error;

    /// `none` (or `calm`), `transient`, `storm`, `throttling`, `congested:<n>`.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "none" | "calm" => Ok(FaultProfile::Calm),
            "transient" => Ok(FaultProfile::Transient),
            "storm" => Ok(FaultProfile::Storm),
            "throttling" => Ok(FaultProfile::Throttling),
            other => other
                .strip_prefix("congested:")
                .and_then(|n| n.parse().ok())
                .map(FaultProfile::Congested)
                .ok_or_else(|| {
                    Error::Config(format!(
                        "unknown fault profile {s:?} (none, transient, storm, throttling, congested:<n>)"
                    ))
                }),
        }
    }
}
