//! Access what-if: which device partnerships would change state if the organization's
//! default access level changed, or a device access rule were added or removed, before the
//! change is made. Sends no write.
//!
//! ```text
//! cargo run --example access_whatif -- --default-access-level Quarantine
//! cargo run --example access_whatif -- --add-rule DeviceType=Android:Block --format json
//! cargo run --example access_whatif -- --remove-rule "iPhone15C2 (DeviceModel)" --default-access-level Block
//! ```
//!
//! Reads the organization settings, the device access rules, every mailbox's CAS settings
//! (ActiveSync enabled, allowed / blocked device ids) and the partnerships, and predicts each
//! partnership's state by Exchange's documented sequence: ActiveSync disabled for the user
//! (not listed), blocked then allowed by a personal exemption, blocked then quarantined then
//! allowed by a rule, else the default level. Prints only the partnerships whose state would
//! change, with `certain: false` where the recorded properties cannot settle it (a device
//! still in discovery, a rule on a characteristic the partnership does not record). Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator. Exit codes are in
//! `--help`.

#[path = "common/mod.rs"]
mod common;
use common::ListFormat;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use exchange_activesync::connector::{AccessChanges, PredictedChange, RuleSpec, access_whatif};
use exchange_activesync::models::DeviceAccessLevel;
use serde_json::json;

/// Predict which partnerships an access change would affect (reads only).
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the prediction was printed (listing partnerships that would change is not an
      error); nothing was changed
  1   could not run: configuration, connection, a read failed, or --remove-rule names
      no rule of the tenant
  2   partial data: some partnerships' mailboxes had no CAS settings to read (their
      personal exemptions are unknown: predicted without them, not certain)
  64  usage error: no change given, a bad --default-access-level or --add-rule (expected
      CHARACTERISTIC=QUERY:LEVEL), an unknown option"
))]
struct Args {
    /// The new default access level: Allow, Block or Quarantine.
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    default_access_level: Option<DeviceAccessLevel>,
    /// A rule to add, CHARACTERISTIC=QUERY:LEVEL (e.g. DeviceType=Android:Block;
    /// characteristics DeviceType, DeviceModel, DeviceOS, UserAgent, XMSWLHeader); repeatable.
    #[arg(long, value_name = "RULE", value_parser = parse_rule)]
    add_rule: Vec<RuleSpec>,
    /// A rule to remove, by name (e.g. "Android (DeviceType)") or Guid; repeatable.
    #[arg(long, value_name = "NAME")]
    remove_rule: Vec<String>,
    /// Output format: table or json (one object per partnership a line, then a summary).
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn parse_level(s: &str) -> Result<DeviceAccessLevel, String> {
    let level = DeviceAccessLevel::from(s);
    if level.is_known() {
        Ok(level)
    } else {
        Err(format!("'{s}' is not one of Allow, Block, Quarantine"))
    }
}

fn parse_rule(s: &str) -> Result<RuleSpec, String> {
    RuleSpec::parse(s).map_err(|e| e.to_string())
}

fn text<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into())
}

fn row_json(c: &PredictedChange) -> serde_json::Value {
    serde_json::to_value(c).unwrap_or_else(|_| json!({ "identity": c.identity }))
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut changes = AccessChanges::new();
    if let Some(level) = args.default_access_level.clone() {
        changes = changes.default_access_level(level);
    }
    for rule in &args.add_rule {
        changes = changes.add_rule(rule.clone());
    }
    for name in &args.remove_rule {
        changes = changes.remove_rule(name);
    }
    if changes.is_empty() {
        eprintln!(
            "error: no change given: use --default-access-level, --add-rule or --remove-rule"
        );
        return ExitCode::from(common::EXIT_USAGE);
    }
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    eprintln!("reading the organization settings, rules, CAS mailboxes and partnerships…");
    let report = match access_whatif(&*conn.client, changes).await {
        Ok(r) => r,
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let written = match args.format {
        ListFormat::Json => (|| -> std::io::Result<()> {
            for c in &report.changed {
                writeln!(out, "{}", row_json(c))?;
            }
            let summary = json!({
                "summary": true,
                "default_access_level_before": report.before.default_access_level,
                "default_access_level_after": report.after.default_access_level,
                "rules_before": report.before.rules.iter().map(|(r, _)| r.name()).collect::<Vec<_>>(),
                "rules_after": report.after.rules.iter().map(|(r, _)| r.name()).collect::<Vec<_>>(),
                "devices_seen": report.devices_seen,
                "changed": report.changed.len(),
                "uncertain": report.uncertain(),
                "active_sync_disabled": report.active_sync_disabled,
                "policy_blocked": report.policy_blocked,
                "without_mailbox_settings": report.without_mailbox_settings,
            });
            writeln!(out, "{summary}")
        })(),
        ListFormat::Table => {
            let mut table =
                common::Table::new(&["NOW", "AFTER", "CERTAIN", "MAILBOX", "GUID", "IDENTITY"]);
            for c in &report.changed {
                let now = format!("{} ({})", text(&c.current_state), text(&c.current_reason));
                let mut after = format!("{} ({})", c.predicted_state, c.predicted_reason);
                if let Some(rule) = &c.predicted_rule {
                    after.push_str(&format!(" {rule}"));
                }
                if let Some(alternative) = &c.alternative_state {
                    after.push_str(&format!(", or {alternative}"));
                }
                table.row(vec![
                    now,
                    after,
                    if c.certain { "yes" } else { "no" }.to_string(),
                    text(&c.mailbox),
                    text(&c.guid),
                    c.identity.clone(),
                ]);
            }
            table.write(&mut out).and_then(|()| {
                for c in report.changed.iter().filter(|c| !c.certain) {
                    writeln!(out, "not certain: {}: {}", c.identity, c.notes.join("; "))?;
                }
                Ok(())
            })
        }
    };
    let _ = written.and_then(|()| out.flush());
    eprintln!(
        "{} of {} partnerships would change state ({} not certain); default {} -> {}; {} left \
         as they are (ActiveSync disabled); nothing was changed",
        report.changed.len(),
        report.devices_seen,
        report.uncertain(),
        report.before.default_access_level,
        report.after.default_access_level,
        report.active_sync_disabled
    );
    if report.without_mailbox_settings > 0 {
        eprintln!(
            "warning: {} partnerships' mailboxes had no CAS settings: predicted without \
             personal exemptions (exit 2)",
            report.without_mailbox_settings
        );
        return ExitCode::from(common::EXIT_PARTIAL);
    }
    ExitCode::SUCCESS
}
