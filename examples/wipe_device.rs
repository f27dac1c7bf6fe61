//! Remote-wipe one device, then follow the wipe through the device statistics.
//!
//! ```text
//! cargo run --example wipe_device -- --identity '<mailbox>\ExchangeActiveSyncDevices\<type>§<id>'
//! cargo run --example wipe_device -- --identity <guid> --account-only --notify helpdesk@contoso.com --yes
//! ```
//!
//! Exit codes (also in `--help`): 0 sent (or dry run), 1 tracking incomplete, 2 invalid input
//! (no `--identity`, a bad `--notify` address, no such device), 3 refused or not sent, 4
//! outcome unknown (check the device's statistics before retrying).
//!
//! `--identity` is required, also against the embedded simulator: the example never picks a
//! device by itself. First it reads the device with Get-MobileDevice naming exactly that
//! identity (no such device: exit 2) and checks every `--notify` address. Without `--yes` it
//! then only prints what it would send. Without `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against
//! an embedded simulator; there the device "syncs" every few seconds so the wipe can be seen
//! going from requested to acknowledged.

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
#[command(after_help = "Exit codes:
  0  the wipe was sent (and, when tracked, acknowledged by the device); or, without --yes,
     the dry run found the device and printed what would be sent
  1  tracking incomplete: sent, but not acknowledged within --track-seconds
  2  invalid input: a usage error (no --identity, a bad --notify address, an unknown
     option or --format), configuration or connection settings, or no device has this
     identity (nothing was sent)
  3  refused or not sent: the service definitely did not act (also: the device could not
     be read before sending)
  4  outcome unknown: the service may have queued the wipe; check the device's statistics
     (DeviceWipeRequestTime / AccountOnlyDeviceWipeRequestTime) before sending it again")]
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
    /// Seconds to follow the wipe after sending it (0: do not follow).
    #[arg(long, default_value_t = 30)]
    track_seconds: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let args = match common::parse_args::<Args>(2) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let identity = match common::device_identity(&args.identity) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let conn = match common::connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
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
            return ExitCode::from(3);
        }
    };
    let Some(device) = device else {
        eprintln!("error: no device has the identity '{identity}' (nothing was sent)");
        return ExitCode::from(2);
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
            return ExitCode::from(4);
        }
        Err(e) => {
            common::report("error", &e);
            return ExitCode::from(3);
        }
    };
    for w in &ticket.outcome.warnings {
        eprintln!("service warning: {}", w.message);
    }
    eprintln!("{kind} queued for {identity}");
    if args.track_seconds == 0 {
        return ExitCode::SUCCESS;
    }
    // In the simulator, the device picks the wipe up on its next syncs.
    let device_task = conn
        .simulator
        .as_ref()
        .and_then(|sim| Some(sim.tenant().find_device(identity.as_str())?.guid));
    let tracking = {
        let client = conn.client.clone();
        let options = PollOptions::new(
            Duration::from_secs(1),
            Duration::from_secs(args.track_seconds),
        );
        let track = track_wipe(client.as_ref(), &ticket, options, |stage, _| {
            eprintln!("  wipe stage: {stage:?}");
        });
        let advance = async {
            if let (Some(guid), Some(sim)) = (device_task, &conn.simulator) {
                for _ in 0..2 {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    sim.tenant_mut().advance_wipe(&guid);
                }
            }
        };
        let (tracking, ()) = tokio::join!(track, advance);
        tracking
    };
    match tracking {
        Ok(t) => {
            if args.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({
                        "identity": identity.as_str(),
                        "account_only": args.account_only,
                        "stage": format!("{:?}", t.stage),
                        "timed_out": t.timed_out,
                        "status": t.statistics.as_ref().and_then(|s| s.status.as_ref()).map(|s| s.to_string()),
                    })
                );
            } else {
                println!(
                    "{identity}: {:?}{}",
                    t.stage,
                    if t.timed_out { " (still waiting)" } else { "" }
                );
            }
            if t.stage == WipeStage::Acknowledged {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            // The wipe was sent; only following it failed.
            common::report("error while tracking", &e);
            ExitCode::from(1)
        }
    }
}
