//! Device list hygiene: find the entries of the mailboxes' allowed / blocked device id lists
//! that name no current partnership (orphans) and the ids on both lists; remove the
//! orphans.
//!
//! ```text
//! cargo run --example device_lists -- audit
//! cargo run --example device_lists -- audit --format json
//! cargo run --example device_lists -- prune --yes
//! ```
//!
//! `audit` prints one line per finding (mailbox, list, device id, why). `prune` removes the
//! orphans with the remove form of `Set-CASMailbox`, ONE call per mailbox, never replacing a
//! list (other entries stay); each mailbox's lists and partnerships are read again first and
//! an entry that is no longer an orphan is skipped. Without `--yes` it prints the plan and
//! sends nothing. Ids on both lists are reported, not changed. Without
//! `EXO_TENANT_ID`/`EXO_ENDPOINT` it runs against an embedded simulator with some orphan
//! entries. Exit codes are in `--help`.

#[path = "common/mod.rs"]
mod common;
use common::ListFormat;

use std::process::ExitCode;

use clap::{Args as ClapArgs, Parser, Subcommand};
use exchange_activesync::connector::{
    ListEntry, PruneConfirmation, PruneOutcome, apply_list_prune, audit_device_lists,
    plan_list_prune,
};
use serde_json::json;

/// Audit and prune the mailboxes' ActiveSync allowed / blocked device id lists.
#[derive(Debug, Parser)]
#[command(after_help = exit_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn exit_help() -> String {
    common::exit_help(
        "  0   done: the audit or the plan was printed, or every orphan was removed
  1   could not run: configuration, authentication, connection, a read failed
  2   prune: some entry was skipped (no longer an orphan since the plan)
  3   refused by the service, or the account lacks the role a step needs (named):
      nothing was sent
  4   outcome unknown: a mailbox's lists may have been changed; check before retrying
  64  usage error: an unknown subcommand, option or value",
    )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the orphan entries and the ids on both lists.
    #[command(after_help = exit_help())]
    Audit(FormatArg),
    /// Remove the orphan entries (the remove form, one Set-CASMailbox per mailbox).
    #[command(after_help = exit_help())]
    Prune(PruneArgs),
}

#[derive(Debug, ClapArgs)]
struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

#[derive(Debug, ClapArgs)]
struct PruneArgs {
    /// Really remove them.
    #[arg(long)]
    yes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

/// The embedded simulator's tenant: the examples' demo tenant with six orphan entries and
/// one device id on both lists.
fn demo() -> exchange_activesync_testkit::Tenant {
    let mut tenant = common::demo_tenant();
    tenant.add_orphan_list_entries(6);
    let both = tenant
        .devices()
        .find(|d| d.access_state_reason != "Individual")
        .map(|d| {
            (
                d.guid,
                d.device_id.clone(),
                tenant.mailboxes()[d.mailbox].name.clone(),
            )
        });
    if let Some((guid, id, mailbox)) = both {
        if let Some(mut m) = tenant.mailbox_mut(&mailbox) {
            m.cas.allowed_device_ids.push(id.clone());
            m.cas.blocked_device_ids.push(id);
        }
        if let Some(mut d) = tenant.device_mut(&guid) {
            d.access_state = "Blocked".into();
            d.access_state_reason = "Individual".into();
        }
    }
    tenant
}

fn fail(e: &exchange_activesync::Error) -> ExitCode {
    common::report("error", e);
    if e.is_invalid_input() {
        ExitCode::from(common::EXIT_REFUSED)
    } else {
        ExitCode::from(common::exit_code_of(e))
    }
}

fn entry_json(e: &ListEntry) -> serde_json::Value {
    json!({
        "mailbox": e.mailbox,
        "list": e.list,
        "device_id": e.device_id,
        "problem": e.problem.as_str(),
        "why": e.why,
        "identity": e.identity,
        "guid": e.guid,
    })
}

fn print_entries(entries: &[&ListEntry], format: ListFormat) {
    if format == ListFormat::Json {
        for e in entries {
            println!("{}", entry_json(e));
        }
        return;
    }
    let mut table = common::Table::new(&["MAILBOX", "LIST", "DEVICE_ID", "WHY", "PARTNERSHIP"]);
    for e in entries {
        table.row(vec![
            e.mailbox.clone(),
            e.list.to_string(),
            e.device_id.clone(),
            format!("{}: {}", e.problem.as_str(), e.why),
            e.identity.clone().unwrap_or_default(),
        ]);
    }
    let _ = table.write(&mut std::io::stdout());
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();
    let cli = match common::parse_args::<Cli>() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let conn = match common::connect_to(demo, |b| b).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(common::EXIT_FAILED);
        }
    };
    let client = conn.client.as_ref();
    match cli.command {
        Command::Audit(a) => {
            let audit = match audit_device_lists(client).await {
                Ok(a) => a,
                Err(e) => return fail(&e),
            };
            print_entries(&audit.entries.iter().collect::<Vec<_>>(), a.format);
            if a.format == ListFormat::Table {
                println!(
                    "{} finding(s) in {} mailbox(es) with list entries ({} mailboxes read).",
                    audit.entries.len(),
                    audit.mailboxes_with_entries,
                    audit.mailboxes
                );
            }
            ExitCode::SUCCESS
        }
        Command::Prune(a) => {
            let (audit, plan) = match plan_list_prune(client).await {
                Ok(p) => p,
                Err(e) => return fail(&e),
            };
            if !a.yes {
                let orphans: Vec<&ListEntry> = audit.orphans().collect();
                if a.format == ListFormat::Json {
                    for e in &orphans {
                        let mut v = entry_json(e);
                        v["action"] = json!("remove");
                        v["dry_run"] = json!(true);
                        println!("{v}");
                    }
                } else {
                    print_entries(&orphans, a.format);
                    println!(
                        "Would remove {} orphan entr(ies) with {} Set-CASMailbox call(s) (one \
                         per mailbox, the remove form). Nothing was sent. Add --yes to send it.",
                        plan.len(),
                        plan.mailboxes.len()
                    );
                }
                return ExitCode::SUCCESS;
            }
            let report = match apply_list_prune(
                client,
                &plan,
                PruneConfirmation::i_remove_these_entries(&plan),
            )
            .await
            {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            let mut table = common::Table::new(&["MAILBOX", "LIST", "DEVICE_ID", "RESULT", "NOTE"]);
            for r in &report.results {
                let outcome = serde_json::to_value(r.outcome).unwrap_or_default();
                if a.format == ListFormat::Json {
                    println!(
                        "{}",
                        json!({
                            "mailbox": r.mailbox,
                            "list": r.list,
                            "device_id": r.device_id,
                            "action": "remove",
                            "result": outcome,
                            "identity": null,
                            "guid": null,
                            "note": r.note,
                        })
                    );
                } else {
                    table.row(vec![
                        r.mailbox.clone(),
                        r.list.to_string(),
                        r.device_id.clone(),
                        outcome.as_str().unwrap_or("").to_string(),
                        r.note.clone().unwrap_or_default(),
                    ]);
                }
            }
            if a.format == ListFormat::Table {
                let _ = table.write(&mut std::io::stdout());
            }
            if report.any(PruneOutcome::Unknown) {
                ExitCode::from(common::EXIT_UNKNOWN)
            } else if report.any(PruneOutcome::Refused) {
                ExitCode::from(common::EXIT_REFUSED)
            } else if report.any(PruneOutcome::Skipped) {
                ExitCode::from(common::EXIT_PARTIAL)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
