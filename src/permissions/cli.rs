//! What the `check_permissions` example does, as a testable function: run the check and turn
//! the report into output text and a process exit code.

use std::str::FromStr;

use super::{PermissionChecker, PermissionReport, Profile};
use crate::client::ExchangeClient;

/// Exit code when every cmdlet is granted.
pub const EXIT_GRANTED: u8 = 0;
/// Exit code when the check itself failed.
pub const EXIT_ERROR: u8 = 1;
/// Exit code when at least one cmdlet is not (or not provably) granted.
pub const EXIT_NOT_GRANTED: u8 = 2;

/// How the report is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// A readable table followed by remediation lines.
    #[default]
    Text,
    /// One JSON object.
    Json,
}

impl FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(OutputFormat::Text),
            "json" => Ok(OutputFormat::Json),
            other => Err(format!("unknown format {other:?} (expected text or json)")),
        }
    }
}

/// The result of [`run_check`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckOutput {
    /// What goes to standard output (the report, rendered).
    pub stdout: String,
    /// Diagnostics for standard error.
    pub stderr: Vec<String>,
    /// [`EXIT_GRANTED`], [`EXIT_NOT_GRANTED`] or [`EXIT_ERROR`].
    pub exit_code: u8,
    /// The report, when the check ran.
    pub report: Option<PermissionReport>,
}

impl PermissionReport {
    /// [`EXIT_GRANTED`] when everything is granted, else [`EXIT_NOT_GRANTED`].
    pub fn exit_code(&self) -> u8 {
        if self.all_granted {
            EXIT_GRANTED
        } else {
            EXIT_NOT_GRANTED
        }
    }

    /// Render the report in `format`.
    pub fn render(&self, format: OutputFormat) -> crate::error::Result<String> {
        match format {
            OutputFormat::Text => Ok(self.to_string()),
            OutputFormat::Json => {
                serde_json::to_string_pretty(self).map_err(|e| crate::error::Error::Decode {
                    cmdlet: "permission report".into(),
                    message: e.to_string(),
                    body_snippet: String::new(),
                })
            }
        }
    }
}

/// Check `profile` against `client` and render the result.
pub async fn run_check(
    client: &dyn ExchangeClient,
    profile: &Profile,
    probe: bool,
    format: OutputFormat,
) -> CheckOutput {
    let report = match PermissionChecker::new(client)
        .probe(probe)
        .check(profile)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            return CheckOutput {
                stdout: String::new(),
                stderr: vec![format!("error: {e}")],
                exit_code: EXIT_ERROR,
                report: None,
            };
        }
    };
    let mut stderr: Vec<String> = report
        .layers
        .iter()
        .map(|l| format!("layer {}: {:?}: {}", l.layer, l.state, l.detail))
        .collect();
    match report.render(format) {
        Ok(stdout) => CheckOutput {
            stdout,
            stderr,
            exit_code: report.exit_code(),
            report: Some(report),
        },
        Err(e) => {
            stderr.push(format!("error: {e}"));
            CheckOutput {
                stdout: String::new(),
                stderr,
                exit_code: EXIT_ERROR,
                report: Some(report),
            }
        }
    }
}
