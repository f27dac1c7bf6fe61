//! Allow, block or reset ONE device through its mailbox's ActiveSync allowed / blocked device
//! id lists (`Set-CASMailbox`), leaving other devices' entries untouched.
//!
//! ```text
//! cargo run --example device_access -- --identity '<mailbox>\ExchangeActiveSyncDevices\<type>§<id>' --block
//! cargo run --example device_access -- --identity <guid> --reset --yes --format json
//! ```
//!
//! Exit codes (also in `--help`, the table shared by every example): 0 done (or dry run), 1
//! could not run (configuration, connection), 3 refused by the service or no such device
//! (nothing changed), 4 outcome unknown, 64 usage error.
//!
//! `--identity` is required, also against the embedded simulator: the example never picks a
//! device by itself. Without `--yes` it resolves the device and prints what it would do; no
//! Set-CASMailbox is sent. Without `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded
//! simulator.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;

use clap::Parser;
use common::Format;
use exchange_activesync::connector::{
    DeviceAccessAction, resolve_device_access, set_device_access,
};
use exchange_activesync::models::{DeviceAccessState, DeviceAccessStateReason};

/// Allow, block or reset one mobile device (per-mailbox device id lists).
#[derive(Debug, Parser)]
#[command(
    group(clap::ArgGroup::new("action").required(true).args(["allow", "block", "reset"])),
    after_help = common::exit_help(
        "  0   done (or, without --yes, the dry run resolved the device)
  1   could not run: configuration, authentication, connection
  2   changed, but the device could not be re-read afterwards: its new state is
      unknown (access_state_after null, after_read_error says why)
  3   refused by the service, no device has this identity, or the device has no
      DeviceId: nothing changed
  4   outcome unknown: the change may have been applied; check the device before
      retrying
  64  usage error: no --identity, a malformed identity, not exactly one of
      --allow/--block/--reset, an unknown option or --format"
    )
)]
struct Args {
    /// The device: `<mailbox>\ExchangeActiveSyncDevices\<type>§<id>`, its GUID or DN
    /// (required: the example never picks a device by itself).
    #[arg(long)]
    identity: String,
    /// Allow the device (allowed list; removed from the blocked list).
    #[arg(long)]
    allow: bool,
    /// Block the device (blocked list; removed from the allowed list).
    #[arg(long)]
    block: bool,
    /// Remove the device from both lists (back to the access rules / organization default).
    #[arg(long)]
    reset: bool,
    /// Really send the change.
    #[arg(long)]
    yes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

fn state(v: &Option<DeviceAccessState>) -> Option<String> {
    v.as_ref().map(|s| s.as_str().to_string())
}

fn reason(v: &Option<DeviceAccessStateReason>) -> Option<String> {
    v.as_ref().map(|s| s.as_str().to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let action = if args.allow {
        DeviceAccessAction::Allow
    } else if args.block {
        DeviceAccessAction::Block
    } else {
        DeviceAccessAction::Reset
    };
    let identity = match common::device_identity(&args.identity) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(common::EXIT_USAGE);
        }
    };
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    // Not found and other refusals: 3; a change that may have been applied: 4; nothing
    // reached the service (connection, authentication): 1. A device without a DeviceId is
    // refused locally before anything is sent: 3 as well.
    let fail = |e: &exchange_activesync::Error| {
        common::report("error", e);
        if e.is_invalid_input() {
            ExitCode::from(common::EXIT_REFUSED)
        } else {
            ExitCode::from(common::exit_code_of(e))
        }
    };
    if !args.yes {
        let target = match resolve_device_access(conn.client.as_ref(), &identity).await {
            Ok(t) => t,
            Err(e) => return fail(&e),
        };
        let now = state(&target.access_state);
        if args.format == Format::Json {
            println!(
                "{}",
                serde_json::json!({
                    "identity": identity.as_str(),
                    "mailbox": target.mailbox.as_str(),
                    "device_id": target.device_id,
                    "action": action.as_str(),
                    "dry_run": true,
                    "access_state_before": now,
                    "access_state_after": null,
                })
            );
        } else {
            println!(
                "Would {action} device {} (DeviceId {}) of mailbox {}; it is {} now.",
                identity,
                target.device_id,
                target.mailbox,
                now.as_deref().unwrap_or("of unknown state")
            );
            println!("Nothing was sent. Add --yes to send it.");
        }
        return ExitCode::SUCCESS;
    }
    let change = match set_device_access(conn.client.as_ref(), &identity, action).await {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    for w in &change.outcome.warnings {
        eprintln!("service warning: {}", w.message);
    }
    let before = state(&change.access_state_before);
    let after = state(&change.access_state_after);
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::json!({
                "identity": identity.as_str(),
                "mailbox": change.mailbox.as_str(),
                "device_id": change.device_id,
                "action": action.as_str(),
                "access_state_before": before,
                "access_state_after": after,
                "access_state_reason_after": reason(&change.access_state_reason_after),
                "after_read_error": change.after_read_error,
            })
        );
    } else {
        println!(
            "{action}: device {} (DeviceId {}) of mailbox {}: {} -> {} ({})",
            identity,
            change.device_id,
            change.mailbox,
            before.as_deref().unwrap_or("?"),
            after.as_deref().unwrap_or("?"),
            reason(&change.access_state_reason_after)
                .as_deref()
                .unwrap_or("?")
        );
    }
    if let Some(why) = &change.after_read_error {
        eprintln!(
            "warning: the change was made, but the device could not be re-read afterwards, so \
             its new state is unknown: {why}"
        );
        return ExitCode::from(common::EXIT_PARTIAL);
    }
    ExitCode::SUCCESS
}
