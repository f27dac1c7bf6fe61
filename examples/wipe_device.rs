//! Remote-wipe one device; optionally wait for the device to acknowledge it.
//!
//! ```text
//! cargo run --example wipe_device -- --identity '<mailbox>\ExchangeActiveSyncDevices\<type>§<id>'
//! cargo run --example wipe_device -- --identity <guid> --account-only --notify helpdesk@contoso.com --yes
//! cargo run --example wipe_device -- --identity <guid> --yes --wait 10m
//! ```
//!
//! Exit codes (also in `--help`, the table shared by every example): 0 the wipe was accepted
//! by the service (or, without `--yes`, the dry run found the device; with `--wait`, the
//! device acknowledged it), 1 could not run (configuration, connection), 2 with `--wait`: not
//! acknowledged in time (the last state is printed), 3 refused by the service or no device
//! has this identity (nothing was sent), 4 outcome unknown (check the device's statistics
//! before retrying), 64 usage error.
//!
//! `--identity` is required, also against the embedded simulator: the example never picks a
//! device by itself. First it reads the device with Get-MobileDevice naming exactly that
//! identity (no such device: exit 3) and checks every `--notify` address. Without `--yes` it
//! then only prints what it would send. A real phone acknowledges a wipe at its next sync
//! (minutes or hours later), so by default the example does not wait: `--wait 10m` follows
//! the wipe through the device statistics for up to that long. Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator; there the device
//! "syncs" every second so the wipe can be seen going from requested to acknowledged.

#[path = "common/mod.rs"]
mod common;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::{Format, NotifyAddress};
use exchange_activesync::ExchangeClientExt;
use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::connector::{
    PollOptions, WipeConfirmation, WipeError, WipeRequest, WipeStage, remote_wipe, track_wipe,
};

/// Remote-wipe a mobile device.
#[derive(Debug, Parser)]
#[command(after_help = common::exit_help(
    "  0   the service accepted the wipe (with --wait: and the device acknowledged it);
      or, without --yes, the dry run found the device and printed what would be sent
  1   could not run: configuration, authentication, connection (nothing was sent)
  2   with --wait: the wipe was accepted but not acknowledged in time (the last stage
      is printed), or following it failed
  3   refused by the service, or no device has this identity: nothing was sent
  4   outcome unknown: the service may have queued the wipe; check the device's
      statistics (DeviceWipeRequestTime / AccountOnlyDeviceWipeRequestTime) before
      sending it again
  64  usage error: no --identity, a malformed identity, a bad --notify address or
      --wait duration, an unknown option or --format"
))]
struct Args {
    /// The device: `<mailbox>\ExchangeActiveSyncDevices\<type>§<id>`, its GUID or DN
    /// (required: the example never picks a device by itself).
    #[arg(long)]
    identity: String,
    /// Wipe only the mailbox data, not the whole device.
    #[arg(long)]
    account_only: bool,
    /// Who gets the confirmation mail (repeatable; each must be an email address).
    #[arg(long, value_name = "ADDRESS", value_parser = NotifyAddress::parse)]
    notify: Vec<NotifyAddress>,
    /// Really send the wipe.
    #[arg(long)]
    yes: bool,
    /// After sending, wait up to this long for the device to acknowledge the wipe (30s,
    /// 10m, 2h; default: do not wait, exit once the service accepted it).
    #[arg(long, value_name = "DURATION", value_parser = common::parse_duration)]
    wait: Option<Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>() {
        Ok(a) => a,
        Err(code) => return code,
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
    // The device must exist: read exactly this identity before anything is sent.
    let device = match conn
        .client
        .call(GetMobileDevice::new().identity(identity.clone()))
        .await
    {
        Ok(r) if !r.items.is_empty() => r.items.into_iter().next(),
        Ok(_) => None,
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            common::report("error: could not read the device (nothing was sent)", &e);
            // A read that failed changed nothing, whatever its send state.
            return ExitCode::from(match common::exit_code_of(&e) {
                common::EXIT_UNKNOWN => common::EXIT_FAILED,
                code => code,
            });
        }
    };
    let Some(device) = device else {
        eprintln!("error: no device has the identity '{identity}' (nothing was sent)");
        return ExitCode::from(common::EXIT_REFUSED);
    };
    let notify: Vec<String> = args.notify.iter().map(|a| a.as_str().to_string()).collect();
    let request = if args.account_only {
        WipeRequest::account_only(identity.clone())
    } else {
        WipeRequest::full(identity.clone())
    }
    .notify(notify.clone());
    let kind = if args.account_only {
        "ACCOUNT-ONLY wipe (mailbox data only)"
    } else {
        "FULL wipe (factory reset)"
    };
    if !args.yes {
        if args.format == Format::Json {
            println!(
                "{}",
                serde_json::json!({
                    "identity": identity.as_str(),
                    "guid": device.guid,
                    "device_type": device.device_type,
                    "device_model": device.device_model,
                    "account_only": args.account_only,
                    "notify": notify,
                    "dry_run": true,
                })
            );
        } else {
            println!("Would send a {kind} to {identity}");
            println!(
                "  device: {} {} ({})",
                device.device_type.as_deref().unwrap_or("?"),
                device.device_model.as_deref().unwrap_or("?"),
                device
                    .guid
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "no GUID".into())
            );
            if !notify.is_empty() {
                println!("  confirmation mail to: {}", notify.join(", "));
            }
            println!("Nothing was sent. Add --yes to send it.");
        }
        return ExitCode::SUCCESS;
    }
    let ticket = match remote_wipe(
        conn.client.as_ref(),
        &request,
        WipeConfirmation::i_understand_this_erases(&identity),
    )
    .await
    {
        Ok(t) => t,
        Err(e @ WipeError::OutcomeUnknown { .. }) => {
            common::report("warning", &e);
            return ExitCode::from(common::EXIT_UNKNOWN);
        }
        Err(WipeError::Failed { source, .. }) => {
            common::report("error", &source);
            return ExitCode::from(match common::exit_code_of(&source) {
                // `Failed` means the service did not act.
                common::EXIT_UNKNOWN => common::EXIT_REFUSED,
                code => code,
            });
        }
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    for w in &ticket.outcome.warnings {
        eprintln!("service warning: {}", w.message);
    }
    eprintln!("{kind} accepted for {identity}");
    let Some(wait) = args.wait else {
        if args.format == Format::Json {
            println!(
                "{}",
                serde_json::json!({
                    "identity": identity.as_str(),
                    "account_only": args.account_only,
                    "accepted": true,
                    "stage": null,
                    "timed_out": null,
                    "status": null,
                })
            );
        } else {
            println!(
                "{identity}: wipe accepted; the device acknowledges it at its next sync \
                 (--wait 10m to follow it)"
            );
        }
        return ExitCode::SUCCESS;
    };
    // In the simulator, the device picks the wipe up on its next syncs.
    let device_task = conn
        .simulator
        .as_ref()
        .and_then(|sim| Some(sim.tenant().find_device(identity.as_str())?.guid));
    let tracking = {
        let client = conn.client.clone();
        // The embedded simulator's device moves a stage a second; it is read twice as often.
        let interval = if device_task.is_some() {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(1)
        };
        let options = PollOptions::new(interval.min(wait), wait);
        let track = track_wipe(client.as_ref(), &ticket, options, |stage, _| {
            eprintln!("  wipe stage: {stage:?}");
        });
        let advance = async {
            if let (Some(guid), Some(sim)) = (device_task, &conn.simulator) {
                for _ in 0..2 {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    sim.tenant_mut().advance_wipe(&guid);
                }
            }
        };
        let (tracking, ()) = tokio::join!(track, advance);
        tracking
    };
    match tracking {
        Ok(t) => {
            let acknowledged = t.stage == WipeStage::Acknowledged;
            if args.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({
                        "identity": identity.as_str(),
                        "account_only": args.account_only,
                        "accepted": true,
                        "stage": format!("{:?}", t.stage),
                        "timed_out": t.timed_out,
                        "status": t.statistics.as_ref().and_then(|s| s.status.as_ref()).map(|s| s.to_string()),
                    })
                );
            } else {
                println!(
                    "{identity}: {:?}{}",
                    t.stage,
                    if acknowledged {
                        String::new()
                    } else {
                        format!(
                            " (not acknowledged within {}s; the wipe stays queued)",
                            wait.as_secs()
                        )
                    }
                );
            }
            if acknowledged {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(common::EXIT_PARTIAL)
            }
        }
        Err(e) => {
            // The wipe was accepted; only following it failed.
            common::report("error while following the wipe (it was accepted)", &e);
            ExitCode::from(common::EXIT_PARTIAL)
        }
    }
}
