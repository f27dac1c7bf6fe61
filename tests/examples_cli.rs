//! The connector examples as processes, the way an administrator runs them: the targets of
//! destructive or policy-changing examples are never picked by the example itself, the dry
//! run of `wipe_device` checks the device and the `--notify` addresses, `--format` offers only
//! what an example prints, piped output carries no colour codes, and every `--help` lists
//! the exit codes.
//!
//! The binaries are the ones `cargo test` builds next to the tests
//! (`$CARGO_TARGET_DIR/debug/examples/<name>`, default target dir `target/`). With neither
//! `EXO_TENANT_ID` nor `EXO_ENDPOINT` set, each example starts its embedded simulator.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use exchange_activesync_testkit::{
    BlockingSimulator, Failure, Fault, FaultStep, FaultTimes, RbacProfile, Simulator,
    SimulatorConfig, Tenant, TenantBuilder,
};

/// The examples' shared module: the exit codes are checked against its constants.
#[path = "../examples/common/mod.rs"]
mod common;

use common::{EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_REFUSED, EXIT_UNKNOWN, EXIT_USAGE};

fn example(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let target = if target.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(target)
    } else {
        target
    };
    let bin = target
        .join("debug")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the {name} example is not built at {}; run `cargo test` (which builds examples) or \
         `cargo build --examples --all-features` first",
        bin.display()
    );
    bin
}

/// Run an example with exactly these `EXO_*` variables (none of the caller's), stdout and
/// stderr piped (not terminals). With neither `EXO_TENANT_ID` nor `EXO_ENDPOINT` the
/// example starts its embedded simulator.
fn run_with(name: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(example(name));
    cmd.args(args).env_remove("NO_COLOR").stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("EXO_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("run the example")
}

/// Run an example against its embedded simulator.
fn run(name: &str, args: &[&str]) -> Output {
    run_with(name, args, &[])
}

/// Assert the exit code, showing the output when it differs.
#[track_caller]
fn assert_code(out: &Output, code: u8, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(i32::from(code)),
        "{what}: stdout {}\nstderr {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A small tenant (12 devices, all stale by today's date) on a loopback simulator, with
/// these scripted faults.
fn simulator(rbac: RbacProfile, faults: Vec<FaultStep>) -> BlockingSimulator {
    let tenant = TenantBuilder::new()
        .seed(3)
        .mailboxes(4)
        .devices(12)
        .rbac_profile(rbac)
        .build();
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    for f in faults {
        sim.push_fault(f);
    }
    sim
}

/// The `EXO_*` variables that point an example at `sim` with its token.
fn env_of(sim: &BlockingSimulator) -> Vec<(&'static str, String)> {
    vec![
        (
            "EXO_ENDPOINT",
            sim.base_url().as_str().trim_end_matches('/').to_string(),
        ),
        ("EXO_TENANT_ID", sim.tenant_id().to_string()),
        ("EXO_ACCESS_TOKEN", sim.token().to_string()),
    ]
}

/// `EXO_*` variables naming a loopback port that refuses connections.
fn refused_env() -> Vec<(&'static str, String)> {
    let url = exchange_activesync_testkit::refused_endpoint().expect("a refused port");
    vec![
        (
            "EXO_ENDPOINT",
            url.as_str().trim_end_matches('/').to_string(),
        ),
        ("EXO_TENANT_ID", "contoso.onmicrosoft.com".to_string()),
        ("EXO_ACCESS_TOKEN", "token".to_string()),
    ]
}

fn fault(cmdlet: &str, fault: Fault, times: FaultTimes) -> FaultStep {
    FaultStep::new(Some(cmdlet), fault, times)
}

/// The identity of the `n`th device of the simulator's tenant.
fn device_of(sim: &BlockingSimulator, n: usize) -> String {
    let tenant = sim.tenant();
    let device = tenant.devices().nth(n).expect("a device");
    tenant.device_identity(device)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The tenant the examples' embedded simulator serves (`examples/common::demo_tenant`).
fn demo_tenant() -> Tenant {
    TenantBuilder::new()
        .seed(2024)
        .mailboxes(120)
        .devices(300)
        .rbac_profile(RbacProfile::Full)
        .build()
}

#[test]
fn wipe_device_without_identity_refuses_and_picks_no_device() {
    for args in [&[][..], &["--yes"][..]] {
        let out = run("wipe_device", args);
        assert_code(&out, EXIT_USAGE, "no --identity");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--identity"), "{stderr}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        // Refused before any connection: no simulator was started, no device was named.
        assert!(!stderr.contains("embedded simulator"), "{stderr}");
        assert!(!stderr.contains("ExchangeActiveSyncDevices"), "{stderr}");
    }
}

#[test]
fn wipe_device_with_an_unknown_identity_is_refused_with_its_exit_code() {
    for extra in [&[][..], &["--yes"][..]] {
        let mut args = vec![
            "--identity",
            "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE",
        ];
        args.extend_from_slice(extra);
        let out = run("wipe_device", &args);
        assert_code(&out, EXIT_REFUSED, "no such device");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(
                "no device has the identity 'nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE'"
            ),
            "{stderr}"
        );
        assert!(!text(&out.stdout).contains("Would send"), "{out:?}");
    }
}

#[test]
fn wipe_device_refuses_a_bad_notify_address_and_names_it() {
    let tenant = demo_tenant();
    let identity = tenant.device_identity(tenant.devices().next().unwrap());
    for bad in [
        "helpdesk",
        "helpdesk@",
        "a b@contoso.com",
        "x@contoso",
        "a@@contoso.com",
    ] {
        let out = run(
            "wipe_device",
            &[
                "--identity",
                &identity,
                "--notify",
                "ok@contoso.com",
                "--notify",
                bad,
            ],
        );
        assert_code(&out, EXIT_USAGE, bad);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("'{bad}'")), "{bad}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad}: {}", text(&out.stdout));
    }
}

#[test]
fn wipe_device_dry_run_reads_exactly_the_named_device() {
    let tenant = demo_tenant();
    // Not the first device: the dry run must describe the one named.
    let device = tenant.devices().nth(5).unwrap();
    let identity = tenant.device_identity(device);
    let out = run(
        "wipe_device",
        &[
            "--identity",
            &identity,
            "--notify",
            "helpdesk@contoso.com",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["identity"], identity.as_str());
    assert_eq!(v["guid"], device.guid.to_string());
    assert_eq!(v["device_type"], device.device_type.as_str());
    assert_eq!(v["notify"], serde_json::json!(["helpdesk@contoso.com"]));
    assert_eq!(v["dry_run"], true);
}

#[test]
fn device_access_without_identity_refuses_and_picks_no_device() {
    let out = run("device_access", &["--block", "--yes"]);
    assert_code(&out, EXIT_USAGE, "no --identity");
    assert!(text(&out.stderr).contains("--identity"), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn format_accepts_only_what_each_example_prints() {
    // The examples that print text or JSON only.
    for name in [
        "org_settings",
        "connector_check",
        "check_permissions",
        "cleanup_stale",
        "device_access",
        "wipe_device",
    ] {
        let mut args = vec!["--format", "csv"];
        match name {
            "cleanup_stale" => args.extend(["--older-than", "90d"]),
            "device_access" => args.extend(["--identity", "x", "--block"]),
            "wipe_device" => args.extend(["--identity", "x"]),
            _ => {}
        }
        let out = run(name, &args);
        assert_code(&out, EXIT_USAGE, name);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("'csv'") && stderr.contains("text, json"),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}: {}", text(&out.stdout));
        let help = text(&run(name, &["-h"]).stdout);
        assert!(
            help.contains("text, json") && !help.contains("csv"),
            "{name}: {help}"
        );
    }
    let help = text(&run("inventory", &["-h"]).stdout);
    assert!(help.contains("text, csv, json"), "{help}");
}

#[test]
fn piped_output_carries_no_colour_codes() {
    let out = Command::new(example("org_settings"))
        .env_remove("EXO_TENANT_ID")
        .env_remove("EXO_ENDPOINT")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .output()
        .expect("run org_settings");
    assert!(out.status.success(), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("DEBUG"), "logs were written: {stderr}");
    assert!(
        !out.stderr.contains(&0x1b),
        "ANSI escape in piped stderr: {stderr:?}"
    );
    assert!(!out.stdout.contains(&0x1b), "ANSI escape in piped stdout");
}

#[test]
fn text_tables_are_aligned() {
    let out = run("inventory", &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 301, "header and one line per device");
    // The last column (Identity) starts at the same character offset on every line.
    let header = lines[0].find("Identity").expect("header");
    for line in &lines[1..] {
        let chars: Vec<char> = line.chars().collect();
        assert!(
            chars[header - 2..header].iter().all(|c| *c == ' '),
            "{line}"
        );
        assert_ne!(chars[header], ' ', "{line}");
        assert!(
            chars[header..]
                .iter()
                .collect::<String>()
                .contains("\\ExchangeActiveSyncDevices\\"),
            "{line}"
        );
    }
}

/// Every example that takes options, and the `--help` arguments that show its codes.
const WITH_HELP: &[&[&str]] = &[
    &["access_whatif"],
    &["check_permissions"],
    &["cleanup_stale"],
    &["connector_check"],
    &["device_access"],
    &["device_lists"],
    &["device_lists", "audit"],
    &["device_lists", "prune"],
    &["fleet"],
    &["fleet", "check"],
    &["fleet", "inventory"],
    &["inventory"],
    &["offboard"],
    &["org_settings"],
    &["readiness"],
    &["quarantine"],
    &["quarantine", "list"],
    &["quarantine", "allow"],
    &["quarantine", "block"],
    &["simulator"],
    &["stream_to_sink"],
    &["wipe_device"],
];

#[test]
fn every_help_prints_the_one_exit_code_table_and_what_each_code_means_there() {
    let table_codes: Vec<&str> = common::EXIT_CODES
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .collect();
    assert_eq!(table_codes, ["0", "1", "2", "3", "4", "64"]);
    for words in WITH_HELP {
        let (name, sub) = words.split_first().unwrap();
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--help");
        let out = run(name, &args);
        assert_code(&out, EXIT_OK, name);
        let help = text(&out.stdout);
        assert!(help.contains(common::EXIT_CODES), "{words:?}: {help}");
        // Then the codes this example uses, each one of the table.
        let notes = help
            .split("In this example:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{words:?}: no notes: {help}"));
        let mut used = 0;
        for line in notes.lines().take_while(|l| !l.is_empty()) {
            if let Some(code) = line
                .strip_prefix("  ")
                .and_then(|l| l.split_whitespace().next())
                .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
            {
                assert!(table_codes.contains(&code), "{words:?}: {line}");
                used += 1;
            }
        }
        assert!(used >= 2, "{words:?}: {notes}");
        assert!(
            notes.contains("  0   ") && notes.contains("  64  "),
            "{words:?}: {notes}"
        );
    }
}

// --- Each example as a process, for each code it documents ------------------------------

#[test]
fn check_permissions_exit_codes() {
    assert_code(
        &run("check_permissions", &[]),
        EXIT_OK,
        "embedded, full RBAC",
    );
    let sim = simulator(RbacProfile::ReadOnly, vec![]);
    let out = run_with("check_permissions", &[], &env_of(&sim));
    assert_code(&out, EXIT_PARTIAL, "read-only RBAC");
    let out = run_with("check_permissions", &[], &refused_env());
    assert_code(&out, EXIT_FAILED, "refused connection");
    for args in [&["--profile", "nope"][..], &["--bogus"][..]] {
        assert_code(&run("check_permissions", args), EXIT_USAGE, "usage");
    }
}

fn state_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exo-examples-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

#[test]
fn connector_check_exit_codes() {
    let dir = state_dir("check");
    let dir_arg = dir.to_str().unwrap();
    let out = run("connector_check", &["--state-dir", dir_arg]);
    assert_code(&out, EXIT_OK, "healthy");
    let sim = simulator(RbacProfile::ReadOnly, vec![]);
    let out = run_with(
        "connector_check",
        &["--state-dir", dir_arg, "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "degraded");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["connection"]["status"], "degraded");
    let out = run_with("connector_check", &["--state-dir", dir_arg], &refused_env());
    assert_code(&out, EXIT_FAILED, "failed");
    let out = run("connector_check", &["--profile", "nope"]);
    assert_code(&out, EXIT_USAGE, "bad profile");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn org_settings_exit_codes() {
    assert_code(&run("org_settings", &[]), EXIT_OK, "embedded");
    let out = run_with("org_settings", &[], &refused_env());
    assert_code(&out, EXIT_FAILED, "refused connection");
    assert_code(&run("org_settings", &["--bogus"]), EXIT_USAGE, "usage");
}

#[test]
fn inventory_exit_codes() {
    let out = run("inventory", &["--format", "json", "--with-statistics"]);
    assert_code(&out, EXIT_OK, "complete");
    // Every mailbox's statistics refused: the devices are listed, the run is partial.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Get-MobileDeviceStatistics",
            Fault::Fail(Failure::PermissionDenied),
            FaultTimes::Always,
        )],
    );
    let out = run_with(
        "inventory",
        &["--format", "json", "--with-statistics"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "statistics failed");
    assert_eq!(text(&out.stdout).lines().count(), 12, "every device listed");
    assert!(
        text(&out.stderr).contains("statistics failed for"),
        "{out:?}"
    );
    let out = run_with("inventory", &[], &refused_env());
    assert_code(&out, EXIT_FAILED, "refused connection");
    assert_code(&run("inventory", &["--bogus"]), EXIT_USAGE, "usage");
}

#[test]
fn stream_to_sink_exit_codes() {
    let sim = simulator(RbacProfile::Full, vec![]);
    let out = run_with("stream_to_sink", &[], &env_of(&sim));
    assert_code(&out, EXIT_OK, "streamed");
    assert!(text(&out.stdout).starts_with("devices=12 "), "{out:?}");
    // No embedded simulator: without the variables it cannot run.
    assert_code(&run("stream_to_sink", &[]), EXIT_FAILED, "no variables");
    let out = run_with("stream_to_sink", &[], &refused_env());
    assert_code(&out, EXIT_FAILED, "refused connection");
    assert_code(&run("stream_to_sink", &["--bogus"]), EXIT_USAGE, "usage");
}

#[test]
fn cleanup_stale_exit_codes() {
    let plan = ["--older-than", "30d", "--max", "1000"];
    let apply = ["--older-than", "30d", "--max", "1000", "--yes"];
    // A complete plan, printed (0), then applied (0): the tenant's devices are all stale
    // by today's date.
    let sim = simulator(RbacProfile::Full, vec![]);
    assert_code(
        &run_with("cleanup_stale", &plan, &env_of(&sim)),
        EXIT_OK,
        "plan",
    );
    let out = run_with("cleanup_stale", &apply, &env_of(&sim));
    assert_code(&out, EXIT_OK, "applied");
    assert!(
        text(&out.stderr).contains(" removed, 0 already gone, 0 skipped, 0 refused, 0 unknown"),
        "{out:?}"
    );
    // Statistics that fail leave devices out of the plan: 2, printed or applied.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Get-MobileDeviceStatistics",
            Fault::Fail(Failure::PermissionDenied),
            FaultTimes::Always,
        )],
    );
    for args in [&plan[..], &apply[..]] {
        let out = run_with("cleanup_stale", args, &env_of(&sim));
        assert_code(&out, EXIT_PARTIAL, "incomplete plan");
        assert!(
            text(&out.stderr).contains("the plan is not complete"),
            "{out:?}"
        );
    }
    // One removal refused, the others done: 2.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Remove-MobileDevice",
            Fault::Fail(Failure::PermissionDenied),
            FaultTimes::Once,
        )],
    );
    let out = run_with("cleanup_stale", &apply, &env_of(&sim));
    assert_code(&out, EXIT_PARTIAL, "one refused");
    // Every removal refused: 3.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Remove-MobileDevice",
            Fault::Fail(Failure::PermissionDenied),
            FaultTimes::Always,
        )],
    );
    let out = run_with("cleanup_stale", &apply, &env_of(&sim));
    assert_code(&out, EXIT_REFUSED, "all refused");
    assert!(text(&out.stderr).contains("0 removed"), "{out:?}");
    // A removal whose answer was lost after it ran, proved by reading the device back: 0.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::BadGateway),
            FaultTimes::Once,
        )],
    );
    let out = run_with("cleanup_stale", &apply, &env_of(&sim));
    assert_code(&out, EXIT_OK, "verified by reading back");
    // ... and without a read-back that proves it (Get-MobileDevice refused after the plan's
    // one page): 4.
    let sim = simulator(
        RbacProfile::Full,
        vec![
            fault(
                "Remove-MobileDevice",
                Fault::AfterRun(Failure::BadGateway),
                FaultTimes::Once,
            ),
            fault(
                "Get-MobileDevice",
                Fault::Fail(Failure::PermissionDenied),
                FaultTimes::Always,
            )
            .after(1),
        ],
    );
    let out = run_with("cleanup_stale", &apply, &env_of(&sim));
    assert_code(&out, EXIT_UNKNOWN, "unknown");
    // More candidates than --max, or no connection: 1, nothing sent.
    let sim = simulator(RbacProfile::Full, vec![]);
    for args in [
        &["--older-than", "30d", "--max", "1"][..],
        &["--older-than", "30d", "--max", "1", "--yes"][..],
    ] {
        let out = run_with("cleanup_stale", args, &env_of(&sim));
        assert_code(&out, EXIT_FAILED, "over --max");
    }
    assert_eq!(sim.tenant().device_count(), 12, "nothing was removed");
    let out = run_with("cleanup_stale", &plan, &refused_env());
    assert_code(&out, EXIT_FAILED, "refused connection");
    for args in [&[][..], &["--older-than", "90x"][..]] {
        assert_code(&run("cleanup_stale", args), EXIT_USAGE, "usage");
    }
}

#[test]
fn wipe_device_exit_codes() {
    // Accepted: 0 at once, no waiting for the device.
    let sim = simulator(RbacProfile::Full, vec![]);
    let id = device_of(&sim, 2);
    let out = run_with(
        "wipe_device",
        &["--identity", &id, "--yes", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "accepted");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["accepted"], true);
    // With --wait, a device that never syncs: 2, with the stage printed.
    let id = device_of(&sim, 3);
    let out = run_with(
        "wipe_device",
        &["--identity", &id, "--yes", "--wait", "2s"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "not acknowledged");
    assert!(
        text(&out.stdout).contains("Requested (not acknowledged"),
        "{out:?}"
    );
    // The embedded simulator's device syncs: acknowledged, 0.
    let tenant = demo_tenant();
    let id = tenant.device_identity(tenant.devices().nth(7).unwrap());
    let out = run("wipe_device", &["--identity", &id, "--yes", "--wait", "2m"]);
    assert_code(&out, EXIT_OK, "acknowledged");
    assert!(text(&out.stdout).contains("Acknowledged"), "{out:?}");
    // Refused: 3; outcome unknown: 4.
    for (step, code) in [
        (Fault::Fail(Failure::PermissionDenied), EXIT_REFUSED),
        (Fault::AfterRun(Failure::BadGateway), EXIT_UNKNOWN),
    ] {
        let sim = simulator(
            RbacProfile::Full,
            vec![fault("Clear-MobileDevice", step, FaultTimes::Always)],
        );
        let id = device_of(&sim, 1);
        let out = run_with("wipe_device", &["--identity", &id, "--yes"], &env_of(&sim));
        assert_code(&out, code, "refused / unknown");
    }
    // No connection: 1.
    let out = run_with(
        "wipe_device",
        &[
            "--identity",
            "alice\\ExchangeActiveSyncDevices\\iPhone§X",
            "--yes",
        ],
        &refused_env(),
    );
    assert_code(&out, EXIT_FAILED, "refused connection");
    // A bad --wait: 64, before anything is read.
    let out = run("wipe_device", &["--identity", &id, "--wait", "10x"]);
    assert_code(&out, EXIT_USAGE, "bad --wait");
    assert!(!text(&out.stderr).contains("embedded simulator"), "{out:?}");
}

#[test]
fn device_access_exit_codes() {
    let sim = simulator(RbacProfile::Full, vec![]);
    let id = device_of(&sim, 4);
    assert_code(
        &run_with(
            "device_access",
            &["--identity", &id, "--block"],
            &env_of(&sim),
        ),
        EXIT_OK,
        "dry run",
    );
    assert_code(
        &run_with(
            "device_access",
            &["--identity", &id, "--block", "--yes"],
            &env_of(&sim),
        ),
        EXIT_OK,
        "blocked",
    );
    let out = run_with(
        "device_access",
        &[
            "--identity",
            "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE",
            "--block",
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_REFUSED, "no such device");
    for (step, code) in [
        (Fault::Fail(Failure::PermissionDenied), EXIT_REFUSED),
        (Fault::AfterRun(Failure::BadGateway), EXIT_UNKNOWN),
    ] {
        let sim = simulator(
            RbacProfile::Full,
            vec![fault("Set-CASMailbox", step, FaultTimes::Always)],
        );
        let id = device_of(&sim, 4);
        let out = run_with(
            "device_access",
            &["--identity", &id, "--allow", "--yes"],
            &env_of(&sim),
        );
        assert_code(&out, code, "refused / unknown");
    }
    let out = run_with(
        "device_access",
        &["--identity", &id, "--reset"],
        &refused_env(),
    );
    assert_code(&out, EXIT_FAILED, "refused connection");
    for args in [
        &["--identity", &id][..],
        &["--identity", &id, "--allow", "--block"][..],
    ] {
        assert_code(&run("device_access", args), EXIT_USAGE, "usage");
    }
}

#[test]
fn fleet_exit_codes() {
    // The embedded demo has a tenant without consent, one without permissions and one that
    // throttles hard: 2 for both subcommands.
    assert_code(&run("fleet", &["check"]), EXIT_PARTIAL, "demo check");
    assert_code(
        &run("fleet", &["inventory"]),
        EXIT_PARTIAL,
        "demo inventory",
    );
    // Two healthy tenants through the real OAuth code: 0.
    let sim = Simulator::start_blocking(SimulatorConfig::tenants_from(2, |i| {
        TenantBuilder::new()
            .seed(40 + i as u64)
            .devices(6)
            .mailboxes(3)
    }))
    .expect("simulator");
    let dir = state_dir("fleet");
    let tenants = dir.join("tenants.txt");
    std::fs::write(&tenants, sim.tenant_ids().join("\n")).unwrap();
    let tenants = tenants.to_str().unwrap();
    let endpoint = sim.base_url().as_str().trim_end_matches('/').to_string();
    let env = vec![
        ("EXO_ENDPOINT", endpoint.clone()),
        ("EXO_AUTHORITY", endpoint.clone()),
        ("EXO_CLIENT_ID", sim.app().client_id.clone()),
        ("EXO_CLIENT_SECRET", sim.app().client_secret.clone()),
    ];
    for sub in ["check", "inventory"] {
        let out = run_with("fleet", &[sub, "--tenants", tenants], &env);
        assert_code(&out, EXIT_OK, sub);
    }
    // Configuration: no credentials, or a bad tenants file line: 1.
    let out = run_with("fleet", &["check", "--tenants", tenants], &env[..1]);
    assert_code(&out, EXIT_FAILED, "no credentials");
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "not a tenant!\n").unwrap();
    let out = run_with(
        "fleet",
        &["check", "--tenants", bad.to_str().unwrap()],
        &env,
    );
    assert_code(&out, EXIT_FAILED, "bad tenants file");
    // Usage: 64.
    for args in [
        &["check", "--with-statistics"][..],
        &["check", "--profile", "nope"][..],
        &["nothing"][..],
    ] {
        assert_code(&run("fleet", args), EXIT_USAGE, "usage");
    }
    let out = run_with("fleet", &["check"], &env);
    assert_code(&out, EXIT_USAGE, "no --tenants outside the demo");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn simulator_and_mock_in_tests_exit_codes() {
    assert_code(&run("mock_in_tests", &[]), EXIT_OK, "mock_in_tests");
    assert_code(&run("simulator", &["--bogus"]), EXIT_USAGE, "usage");
    let out = run("simulator", &["--tenants", "2", "--limited-tenant", "3"]);
    assert_code(&out, EXIT_USAGE, "no tenant 3");
    // A port that is taken: 1 (exit 0 after SIGTERM is checked by standalone_process.rs).
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_code(
        &run("simulator", &["--port", &port, "--devices", "10"]),
        EXIT_FAILED,
        "port taken",
    );
}

// --- EAS readiness and access what-if ---------------------------------------------------

/// A tenant with enough EAS partnerships for every protocol version of the generated spread.
fn preview_simulator() -> BlockingSimulator {
    let tenant = TenantBuilder::new()
        .seed(27)
        .mailboxes(15)
        .devices(120)
        .build();
    Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator")
}

/// The JSON lines of stdout, split into rows and summaries.
fn json_lines(out: &Output) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .partition(|v| v["summary"] != true)
}

#[test]
fn readiness_json_names_exactly_the_eas_partnerships_below_16_1() {
    let sim = preview_simulator();
    let out = run_with(
        "readiness",
        &["--min-version", "16.1", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "readiness");
    let (rows, summaries) = json_lines(&out);
    let named: std::collections::BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["verdict"], "below", "{r}");
            assert!(
                r["identity"]
                    .as_str()
                    .unwrap()
                    .contains("\\ExchangeActiveSyncDevices\\")
            );
            assert!(
                r["mailbox"].is_string() && r["device_model"].is_string(),
                "{r}"
            );
            (
                r["guid"].as_str().unwrap().to_string(),
                r["client_version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let tenant = sim.tenant();
    let expected: std::collections::BTreeSet<(String, String)> = tenant
        .devices()
        .filter(|d| d.client_type == "EAS")
        .filter_map(|d| {
            let v = d.client_version.clone()?;
            ["12.1", "14.1", "16.0"]
                .contains(&v.as_str())
                .then(|| (d.guid.to_string(), v))
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(named, expected);
    assert_eq!(summaries.len(), 1);
    let s = &summaries[0];
    assert_eq!(s["below"], expected.len());
    assert!(s["by_version"]["16.1"].as_u64().unwrap() > 0, "{s}");
    assert!(s["rest_excluded"].as_u64().unwrap() > 0, "{s}");
    assert!(s.get("Tenant").is_none(), "{s}");
    // Reads only.
    assert!(sim.calls().iter().all(|c| c.cmdlet.starts_with("Get-")));
}

#[test]
fn readiness_exit_codes() {
    assert_code(&run("readiness", &[]), EXIT_OK, "embedded");
    let out = run("readiness", &["--min-version", "14.1"]);
    assert_code(&out, EXIT_OK, "embedded, 14.1");
    assert!(
        text(&out.stdout).contains("below 14.1"),
        "{}",
        text(&out.stdout)
    );
    // Statistics that cannot be read: the list is printed, the data is partial.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Get-MobileDeviceStatistics",
            Fault::Fail(Failure::NotFound {
                identity: "x".into(),
                scope: "y".into(),
            }),
            FaultTimes::Always,
        )],
    );
    let out = run_with("readiness", &["--format", "json"], &env_of(&sim));
    assert_code(&out, EXIT_PARTIAL, "statistics failing");
    assert_code(
        &run_with("readiness", &[], &refused_env()),
        EXIT_FAILED,
        "refused connection",
    );
    for args in [
        &["--min-version", "16.x"][..],
        &["--format", "csv"][..],
        &["--format", "text"][..],
        &["--bogus"][..],
    ] {
        let out = run("readiness", args);
        assert_code(&out, EXIT_USAGE, "usage");
        assert!(out.stdout.is_empty());
    }
    // A fleet: every row and summary carries its tenant.
    let sim = Simulator::start_blocking(SimulatorConfig::tenants_from(2, |i| {
        TenantBuilder::new()
            .seed(60 + i as u64)
            .devices(40)
            .mailboxes(8)
    }))
    .expect("simulator");
    let dir = state_dir("readiness");
    let tenants = dir.join("tenants.txt");
    std::fs::write(&tenants, sim.tenant_ids().join("\n")).unwrap();
    let endpoint = sim.base_url().as_str().trim_end_matches('/').to_string();
    let env = vec![
        ("EXO_ENDPOINT", endpoint.clone()),
        ("EXO_AUTHORITY", endpoint),
        ("EXO_CLIENT_ID", sim.app().client_id.clone()),
        ("EXO_CLIENT_SECRET", sim.app().client_secret.clone()),
    ];
    let out = run_with(
        "readiness",
        &["--tenants", tenants.to_str().unwrap(), "--format", "json"],
        &env,
    );
    assert_code(&out, EXIT_OK, "fleet");
    let (rows, summaries) = json_lines(&out);
    assert_eq!(summaries.len(), 2, "{}", text(&out.stdout));
    let ids = sim.tenant_ids();
    for v in rows.iter().chain(&summaries) {
        assert!(ids.iter().any(|t| v["Tenant"] == t.as_str()), "{v}");
    }
    let out = run_with(
        "readiness",
        &["--tenants", tenants.to_str().unwrap()],
        &env[..1],
    );
    assert_code(&out, EXIT_FAILED, "fleet without credentials");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn access_whatif_block_by_default_lists_the_default_governed_and_sends_no_write() {
    use exchange_activesync_testkit::{Device, Mailbox};
    // Besides the generated partnerships (by the default, by a rule, in discovery): two
    // governed by their mailbox's personal lists.
    let tenant = TenantBuilder::new()
        .seed(27)
        .mailboxes(15)
        .devices(120)
        .with_mailbox(
            Mailbox::builder("listed.user")
                .allowed_device_ids(vec!["ALLOWEDPHONE1".into()])
                .blocked_device_ids(vec!["BLOCKEDPHONE1".into()]),
        )
        .with_device(
            Device::builder("listed.user")
                .device_type("iPhone")
                .device_id("ALLOWEDPHONE1")
                .access_state("Allowed", "Individual"),
        )
        .with_device(
            Device::builder("listed.user")
                .device_type("Android")
                .device_id("BLOCKEDPHONE1")
                .access_state("Blocked", "Individual"),
        )
        .build();
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    let individual = sim
        .tenant()
        .devices()
        .filter(|d| d.access_state_reason == "Individual")
        .count();
    assert_eq!(individual, 2);
    let out = run_with(
        "access_whatif",
        &["--default-access-level", "Block", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "access_whatif");
    let (rows, summaries) = json_lines(&out);
    assert_eq!(summaries.len(), 1);
    let listed: std::collections::BTreeMap<String, serde_json::Value> = rows
        .into_iter()
        .map(|r| (r["guid"].as_str().unwrap().to_string(), r))
        .collect();
    let tenant = sim.tenant();
    let mut by_default = 0;
    for d in tenant.devices() {
        let row = listed.get(&d.guid.to_string());
        match (d.access_state.as_str(), d.access_state_reason.as_str()) {
            ("Blocked", _) => assert!(row.is_none(), "already blocked: {row:?}"),
            (_, "Global") => {
                let row = row.unwrap_or_else(|| panic!("{d:?} is not listed"));
                assert_eq!(row["predicted_state"], "Blocked", "{row}");
                assert_eq!(row["predicted_reason"], "Global", "{row}");
                assert_eq!(row["current_state"], d.access_state.as_str(), "{row}");
                assert_eq!(row["identity"], tenant.device_identity(d).as_str());
                assert!(row["mailbox"].is_string() && row["certain"].is_boolean());
                by_default += 1;
            }
            (_, "DeviceRule" | "Individual") => {
                assert!(row.is_none(), "governed by a rule or a list: {row:?}")
            }
            // In discovery: listed, not certain.
            _ => assert!(row.is_none_or(|r| r["certain"] == false), "{row:?}"),
        }
    }
    assert!(by_default > 50, "{by_default}");
    let calls = sim.calls();
    assert!(calls.iter().any(|c| c.cmdlet == "Get-CASMailbox"));
    assert!(
        calls.iter().all(|c| c.cmdlet.starts_with("Get-")),
        "a write was sent: {calls:?}"
    );
}

#[test]
fn access_whatif_exit_codes() {
    assert_code(
        &run(
            "access_whatif",
            &["--add-rule", "DeviceType=Android:Quarantine"],
        ),
        EXIT_OK,
        "embedded",
    );
    // A partnership whose owner has no CAS mailbox (a mail user): partial data.
    let tenant = TenantBuilder::new()
        .seed(5)
        .mailboxes(4)
        .devices(10)
        .with_mailbox(
            exchange_activesync_testkit::Mailbox::builder("guest1")
                .recipient_type_details("MailUser"),
        )
        .with_device(exchange_activesync_testkit::Device::builder("guest1"))
        .build();
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    let out = run_with(
        "access_whatif",
        &["--default-access-level", "Quarantine"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "a device without CAS settings");
    let out = run_with(
        "access_whatif",
        &["--remove-rule", "Nokia (DeviceType)"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_FAILED, "no such rule");
    assert!(text(&out.stderr).contains("Nokia (DeviceType)"));
    assert!(sim.calls().iter().all(|c| c.cmdlet.starts_with("Get-")));
    assert_code(
        &run_with(
            "access_whatif",
            &["--default-access-level", "Block"],
            &refused_env(),
        ),
        EXIT_FAILED,
        "refused connection",
    );
    for args in [
        &[][..],
        &["--default-access-level", "Deny"][..],
        &["--add-rule", "DeviceType=Android"][..],
        &["--add-rule", "Colour=Red:Block"][..],
        &["--default-access-level", "Block", "--format", "csv"][..],
        &["--bogus"][..],
    ] {
        let out = run("access_whatif", args);
        assert_code(&out, EXIT_USAGE, "usage");
        assert!(out.stdout.is_empty());
        assert!(
            !text(&out.stderr).contains("embedded simulator"),
            "{args:?}"
        );
    }
}

// --- The README against the code ------------------------------------------------------
//
// The README names environment variables, examples and their flags, and figures; each test
// below fails when one of them no longer exists (or a figure has no command to reproduce it).

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md")
}

/// The README's lines, with shell continuations (`\` at the end) joined.
fn readme_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in readme.lines() {
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    lines.push(pending);
    lines
}

/// The examples of `examples/` (one `.rs` file each).
fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Every `--flag` in `text`, in order, with its byte offset (`--` alone is not a flag).
fn flags_in(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
            end += 1;
        }
        let name = text[start + 2..end].trim_end_matches('-');
        let prefixed = before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !prefixed && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push((start, format!("--{name}")));
        }
        i = end.max(start + 2);
    }
    out
}

/// Words naming an example in `line`: `--example NAME`, `examples/NAME`, or a code span that
/// starts with the example's name (`` `fleet check --format json` ``). Each with the byte range
/// of the text its flags come from: up to the next such mention, or the end of the code span.
fn example_mentions(line: &str, names: &[String]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut found: Vec<(usize, usize, String, bool)> = Vec::new(); // (start, after name, name, span)
    for marker in ["--example ", "examples/"] {
        let mut i = 0;
        while let Some(at) = line[i..].find(marker) {
            let from = i + at + marker.len();
            let name: String = line[from..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((i + at, from + name.len(), name, false));
            i = from;
        }
    }
    // Code spans that start with an example's name, then a blank or the span's end.
    let mut in_span = false;
    let mut span_start = 0;
    for (i, c) in line.char_indices() {
        if c == '`' {
            if !in_span {
                span_start = i + 1;
            } else {
                let span = &line[span_start..i];
                let first = span.split(' ').next().unwrap_or("");
                if names.iter().any(|n| n == first) {
                    found.push((span_start, i, first.to_string(), true));
                }
            }
            in_span = !in_span;
        }
    }
    found.sort_by_key(|f| f.0);
    let mut out = Vec::new();
    for (k, (start, after, name, span)) in found.iter().enumerate() {
        let end = if *span {
            *after
        } else {
            found
                .iter()
                .skip(k + 1)
                .find(|f| !f.3 || f.0 > *after)
                .map_or(line.len(), |f| f.0)
        };
        let begin = if *span { *start + name.len() } else { *after };
        out.push((name.clone(), begin..end.max(begin)));
    }
    out
}

/// Whether `help` (an example's `--help` output) names `flag`.
fn help_has(help: &str, flag: &str) -> bool {
    flags_in(help).iter().any(|(_, f)| f == flag)
}

/// The `--help` output of an example (for `fleet`, of each subcommand too).
fn helps() -> std::collections::BTreeMap<String, String> {
    let mut helps = std::collections::BTreeMap::new();
    for words in WITH_HELP {
        let (name, sub) = words.split_first().unwrap();
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--help");
        let out = run(name, &args);
        assert_code(&out, EXIT_OK, name);
        helps.insert(words.join(" "), text(&out.stdout));
    }
    helps
}

/// Which README lines fall in which `## ` section.
fn section_of(lines: &[String]) -> Vec<String> {
    let mut current = String::new();
    let mut in_code = false;
    lines
        .iter()
        .map(|l| {
            if l.starts_with("```") {
                in_code = !in_code;
            } else if !in_code && l.starts_with("## ") {
                current = l.trim_start_matches("## ").to_string();
            }
            current.clone()
        })
        .collect()
}

/// The README problems: variables, examples and flags it names that do not exist.
fn readme_problems(readme: &str) -> Vec<String> {
    let names = example_names();
    let helps = helps();
    let mut problems = Vec::new();

    // Every EXO_* variable exists in the source of the library or of an example.
    let mut sources = String::new();
    for dir in ["src", "examples"] {
        let mut stack = vec![manifest_dir().join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("source dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
    }
    let mut i = 0;
    while let Some(at) = readme[i..].find("EXO_") {
        let start = i + at;
        let var: String = readme[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if var.len() > 4 && !sources.contains(&format!("\"{var}\"")) && !sources.contains(&var) {
            problems.push(format!("variable {var} is in no source file"));
        }
        i = start + 4;
    }

    // Every example named exists, and every flag given to it is in its --help.
    let lines = readme_lines(readme);
    let sections = section_of(&lines);
    let cargo_flags = [
        "--example",
        "--release",
        "--features",
        "--all-features",
        "--no-default-features",
        "--all-targets",
        "--workspace",
        "--bench",
        "--no-run",
        "--test",
        "--help",
        // `rustc --version` in the Performance section.
        "--version",
    ];
    let benches: String = std::fs::read_dir(manifest_dir().join("benches"))
        .expect("benches/")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    for (n, line) in lines.iter().enumerate() {
        let mut claimed = std::collections::BTreeSet::new();
        for (name, range) in example_mentions(line, &names) {
            let exists =
                names.contains(&name) || manifest_dir().join("examples").join(&name).is_dir();
            if !exists {
                problems.push(format!("line {}: no example {name:?}", n + 1));
                continue;
            }
            let segment = &line[range.clone()];
            // `fleet -- check …` / `fleet check …`: that subcommand's help; else every help
            // of the example.
            let sub = segment
                .trim_start_matches([' ', '-', '['])
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            let key = format!("{name} {sub}");
            let help: String = match helps.get(&key) {
                Some(h) => h.clone(),
                None => helps
                    .iter()
                    .filter(|(k, _)| *k == &name || k.starts_with(&format!("{name} ")))
                    .map(|(_, h)| h.as_str())
                    .collect(),
            };
            for (at, flag) in flags_in(segment) {
                claimed.insert(range.start + at);
                if cargo_flags.contains(&flag.as_str()) && line.contains("cargo ") {
                    continue;
                }
                if help.is_empty() {
                    problems.push(format!(
                        "line {}: {name} {flag}: the example has no --help",
                        n + 1
                    ));
                } else if !help_has(&help, &flag) {
                    problems.push(format!(
                        "line {}: {name} has no {flag} (not in its --help)",
                        n + 1
                    ));
                }
            }
        }
        // Flags named elsewhere: the simulator's section describes its flags; any other flag
        // must be one of cargo's, of a benchmark's, or of some example.
        for (at, flag) in flags_in(line) {
            if claimed.contains(&at) || cargo_flags.contains(&flag.as_str()) {
                continue;
            }
            let known = if sections[n].contains("simulator") {
                helps.get("simulator").is_some_and(|h| help_has(h, &flag))
            } else {
                benches.contains(&flag) || helps.values().any(|h| help_has(h, &flag))
            };
            if !known {
                problems.push(format!("line {}: {flag} is no flag of any example", n + 1));
            }
        }
    }
    problems
}

#[test]
fn readme_names_only_variables_examples_and_flags_that_exist() {
    let problems = readme_problems(&readme());
    assert!(
        problems.is_empty(),
        "README drifted:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readme_check_fails_when_a_flag_variable_or_example_disappears() {
    let readme = readme();
    for (from, to, expect) in [
        (
            "--example wipe_device -- --identity <id>",
            "--example wipe_device -- --identity <id> --track-seconds 30",
            "wipe_device has no --track-seconds",
        ),
        (
            "`inventory --max-concurrency`",
            "`inventory --max-concurrent`",
            "inventory has no --max-concurrent",
        ),
        (
            "`EXO_CLIENT_SECRET`",
            "`EXO_CLIENT_PASSWORD`",
            "variable EXO_CLIENT_PASSWORD is in no source file",
        ),
        (
            "cargo run --example org_settings",
            "cargo run --example org_setting",
            "no example \"org_setting\"",
        ),
        (
            "--example fleet -- check [--tenants FILE]",
            "--example fleet -- check [--tenants FILE] [--with-statistics]",
            "fleet has no --with-statistics",
        ),
    ] {
        assert!(readme.contains(from), "the README no longer has {from:?}");
        let broken = readme.replacen(from, to, 1);
        let problems = readme_problems(&broken);
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{expect:?} not found in {problems:#?}"
        );
    }
}

/// The command a figure line names: `cargo bench`, `cargo run`, a script under `benches/` or a
/// release example binary.
fn names_a_command(line: &str) -> bool {
    [
        "cargo bench",
        "cargo run",
        "cargo test",
        "benches/",
        "target/release/examples/",
    ]
    .iter()
    .any(|c| line.contains(c))
}

/// The figure lines of the README's Performance section that name no command.
fn figures_without_command(readme: &str) -> Vec<String> {
    let lines = readme_lines(readme);
    let sections = section_of(&lines);
    let mut in_code = false;
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || sections[n] != "Performance" {
            continue;
        }
        let t = line.trim_start();
        let table_row = t.starts_with('|') && !t.starts_with("|---") && n > 0 && {
            // Not the header: the next line is not the separator.
            !lines
                .get(n + 1)
                .is_some_and(|l| l.trim_start().starts_with("|---"))
        };
        let list_item =
            (t.starts_with("- ") || t.starts_with("* ")) && t.chars().any(|c| c.is_ascii_digit());
        if (table_row || list_item) && !names_a_command(line) {
            out.push(format!(
                "line {}: {}",
                n + 1,
                line.chars().take(100).collect::<String>()
            ));
        }
    }
    out
}

#[test]
fn every_figure_line_of_the_performance_section_names_its_command() {
    let readme = readme();
    assert!(
        readme.contains("\n## Performance\n"),
        "no Performance section"
    );
    let missing = figures_without_command(&readme);
    assert!(
        missing.is_empty(),
        "figure lines without the command that reproduces them:\n{}",
        missing.join("\n")
    );
    // The check itself: a row without a command is caught, one with a command is not.
    let probe = "## Performance\n\n| What | Result |\n|---|---|\n| x (`cargo bench --bench x`) | 1 |\n| y | 2 |\n";
    let caught = figures_without_command(probe);
    assert_eq!(caught.len(), 1, "{caught:?}");
    assert!(caught[0].contains("| y | 2 |"), "{caught:?}");
}

/// The codes an example's `--help` explains under "In this example:".
fn codes_in_help(help: &str) -> Vec<String> {
    let notes = help.split("In this example:\n").nth(1).unwrap_or("");
    notes
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_exit_codes_are_the_examples_table_and_each_examples_codes() {
    let readme = readme();
    let section = readme
        .split("\n### Exit codes\n")
        .nth(1)
        .expect("an Exit codes section")
        .split("\n## ")
        .next()
        .unwrap();
    // The table: the same codes and meanings as `common::EXIT_CODES`.
    let mut table = Vec::new();
    let mut entry: Option<(String, String)> = None;
    for line in common::EXIT_CODES.lines().skip(1) {
        let t = line.trim_start();
        let code = t.split_whitespace().next().unwrap_or("");
        if line.starts_with("  ")
            && !line.starts_with("    ")
            && code.chars().all(|c| c.is_ascii_digit())
        {
            table.extend(entry.take());
            entry = Some((code.to_string(), t[code.len()..].trim().to_string()));
        } else if let Some((_, meaning)) = entry.as_mut() {
            meaning.push(' ');
            meaning.push_str(t);
        }
    }
    table.extend(entry);
    assert_eq!(table.len(), 6);
    for (code, meaning) in &table {
        let row = format!("| {code} | {meaning} |");
        assert!(section.contains(&row), "README lacks {row:?}");
    }
    // Each example's row lists exactly the codes its --help explains.
    let helps = helps();
    for name in example_names() {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("no row for {name} in the README's exit codes"));
        let listed: Vec<String> = row
            .split('|')
            .nth(2)
            .unwrap()
            .split(',')
            .map(|c| c.trim().to_string())
            .collect();
        match helps.get(&name) {
            Some(help) => assert_eq!(listed, codes_in_help(help), "{name}"),
            None => assert_eq!(listed, ["0", "1"], "{name} (no --help)"),
        }
    }
}

#[test]
fn cleanup_stale_journals_each_device_as_it_is_done() {
    let sim = simulator(RbacProfile::Full, vec![]);
    let before = sim.tenant().device_count();
    let journal = std::env::temp_dir().join(format!(
        "eas-journal-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let path = journal.to_string_lossy().into_owned();
    let out = run_with(
        "cleanup_stale",
        &[
            "--older-than",
            "30d",
            "--max",
            "1000",
            "--yes",
            "--journal",
            &path,
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "journal");
    let removed = before - sim.tenant().device_count();
    assert!(removed > 0);
    let text = std::fs::read_to_string(&journal).expect("journal written");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), removed, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l["result"] == "removed" && l["guid"].is_string())
    );
    std::fs::remove_file(&journal).unwrap();
}

// --- offboard, quarantine, device_lists ----------------------------------------------

/// The writes the simulator received (cmdlet names, in order).
fn sim_writes(sim: &BlockingSimulator) -> Vec<String> {
    sim.calls()
        .into_iter()
        .map(|c| c.cmdlet)
        .filter(|c| !c.starts_with("Get-"))
        .collect()
}

/// JSON lines of stdout.
fn stdout_json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A simulator whose devices acknowledge a wipe one second after it, and the user with the
/// most partnerships (with their Guids).
fn offboard_simulator(faults: Vec<FaultStep>) -> (BlockingSimulator, String, Vec<String>) {
    let mut tenant = TenantBuilder::new()
        .seed(21)
        .mailboxes(5)
        .devices(20)
        .rbac_profile(RbacProfile::Full)
        .build();
    tenant.acknowledge_wipes_after(Some(std::time::Duration::from_secs(1)));
    let mut by_user: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for d in tenant.devices() {
        let user = tenant
            .device_identity(d)
            .split('\\')
            .next()
            .unwrap()
            .to_string();
        by_user.entry(user).or_default().push(d.guid.to_string());
    }
    let (user, guids) = by_user.into_iter().max_by_key(|(_, g)| g.len()).unwrap();
    assert!(guids.len() >= 2);
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    for f in faults {
        sim.push_fault(f);
    }
    (sim, user, guids)
}

#[test]
fn offboard_wipes_each_device_account_only_then_removes_it_after_the_ack() {
    let (sim, user, guids) = offboard_simulator(Vec::new());
    let before = sim.tenant().device_count();
    // The dry run: the plan, no write.
    let out = run_with(
        "offboard",
        &["--user", &user, "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "dry run");
    let plan = stdout_json_lines(&out);
    assert_eq!(plan.len(), guids.len());
    assert!(
        plan.iter()
            .all(|l| l["dry_run"] == true && l["wipe"] == "account-only")
    );
    assert!(sim_writes(&sim).is_empty(), "the dry run sends no write");
    let out = run_with(
        "offboard",
        &[
            "--user",
            &user,
            "--yes",
            "--poll-interval",
            "1s",
            "--format",
            "json",
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "offboard --yes");
    let lines = stdout_json_lines(&out);
    assert_eq!(lines.len(), guids.len());
    for l in &lines {
        assert!(
            guids.contains(&l["guid"].as_str().unwrap().to_string()),
            "{l}"
        );
        assert!(l["identity"].as_str().unwrap().starts_with(&user), "{l}");
        assert_eq!(l["wipe_kind"], "account-only", "{l}");
        assert_eq!(l["wipe"], "acknowledged", "{l}");
        assert_eq!(l["then"], "removed", "{l}");
        assert!(
            l["wipe_acknowledged_at"].is_string() && l["then_at"].is_string(),
            "{l}"
        );
    }
    let writes = sim_writes(&sim);
    let count = |c: &str| writes.iter().filter(|w| *w == c).count();
    assert_eq!(count("Clear-MobileDevice"), guids.len(), "{writes:?}");
    assert_eq!(count("Remove-MobileDevice"), guids.len(), "{writes:?}");
    assert_eq!(
        writes.len(),
        2 * guids.len(),
        "nothing else written: {writes:?}"
    );
    let tenant = sim.tenant();
    assert_eq!(
        tenant.device_count(),
        before - guids.len(),
        "nothing else removed"
    );
    for g in &guids {
        assert!(tenant.device(&g.parse().unwrap()).is_none());
    }
}

#[test]
fn offboard_refuses_an_unknown_or_wildcard_mailbox_and_sends_nothing() {
    let (sim, _, _) = offboard_simulator(Vec::new());
    let out = run_with(
        "offboard",
        &["--user", "nobody.here", "--yes"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_REFUSED, "unknown mailbox");
    assert!(
        text(&out.stderr).contains("no mailbox"),
        "{}",
        text(&out.stderr)
    );
    let out = run_with("offboard", &["--user", "a*", "--yes"], &env_of(&sim));
    assert_code(&out, EXIT_USAGE, "wildcard");
    assert!(sim_writes(&sim).is_empty());
}

#[test]
fn offboard_reports_an_ambiguous_wipe_as_unknown_and_a_late_ack_as_pending() {
    let (sim, user, guids) = offboard_simulator(vec![fault(
        "Clear-MobileDevice",
        Fault::AfterRun(Failure::Unavailable),
        FaultTimes::Once,
    )]);
    let out = run_with(
        "offboard",
        &[
            "--user",
            &user,
            "--yes",
            "--poll-interval",
            "1s",
            "--format",
            "json",
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_UNKNOWN, "ambiguous wipe");
    let lines = stdout_json_lines(&out);
    let unknown: Vec<_> = lines.iter().filter(|l| l["wipe"] == "unknown").collect();
    assert_eq!(unknown.len(), 1, "{lines:?}");
    assert_eq!(unknown[0]["then"], "skipped");
    let writes = sim_writes(&sim);
    assert_eq!(
        writes
            .iter()
            .filter(|w| *w == "Remove-MobileDevice")
            .count(),
        guids.len() - 1
    );
    // No acknowledgement within the timeout: pending, nothing further, exit 2.
    let (sim, user, _) = offboard_simulator(Vec::new());
    sim.tenant_mut().acknowledge_wipes_after(None);
    let out = run_with(
        "offboard",
        &[
            "--user",
            &user,
            "--yes",
            "--ack-timeout",
            "1s",
            "--poll-interval",
            "1s",
            "--format",
            "json",
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "not acknowledged in time");
    assert!(
        stdout_json_lines(&out)
            .iter()
            .all(|l| l["wipe"] == "pending" && l["then"] == "skipped")
    );
    assert!(!sim_writes(&sim).iter().any(|w| w == "Remove-MobileDevice"));
}

/// A simulator with quarantined partnerships, orphan list entries and an id on both lists;
/// the quarantined Guids and the orphans (mailbox, list, id).
fn hygiene_simulator() -> (
    BlockingSimulator,
    Vec<String>,
    Vec<(String, String, String)>,
) {
    let mut tenant = TenantBuilder::new()
        .seed(23)
        .mailboxes(6)
        .devices(30)
        .rbac_profile(RbacProfile::Full)
        .build();
    tenant.quarantine_devices(4);
    let quarantined = tenant
        .devices()
        .filter(|d| d.access_state == "Quarantined")
        .map(|d| d.guid.to_string())
        .collect();
    let orphans = tenant
        .add_orphan_list_entries(5)
        .into_iter()
        .map(|o| (o.mailbox.to_lowercase(), o.list.to_string(), o.device_id))
        .collect();
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    (sim, quarantined, orphans)
}

fn access_states(sim: &BlockingSimulator) -> std::collections::BTreeMap<String, (String, String)> {
    sim.tenant()
        .devices()
        .map(|d| {
            (
                d.guid.to_string(),
                (d.access_state.clone(), d.access_state_reason.clone()),
            )
        })
        .collect()
}

#[test]
fn quarantine_list_names_exactly_the_quarantined_and_allow_releases_one() {
    let (sim, quarantined, _) = hygiene_simulator();
    let out = run_with("quarantine", &["list", "--format", "json"], &env_of(&sim));
    assert_code(&out, EXIT_OK, "quarantine list");
    let lines = stdout_json_lines(&out);
    let mut listed: Vec<String> = lines
        .iter()
        .map(|l| l["guid"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    let mut expected = quarantined.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for l in &lines {
        for key in [
            "identity",
            "mailbox",
            "device_id",
            "device_model",
            "device_type",
            "reason",
        ] {
            assert!(l.get(key).is_some(), "{key} in {l}");
        }
    }
    let x = lines[0]["identity"].as_str().unwrap().to_string();
    let x_guid = lines[0]["guid"].as_str().unwrap().to_string();
    // The dry run sends nothing.
    let out = run_with("quarantine", &["allow", "--identity", &x], &env_of(&sim));
    assert_code(&out, EXIT_OK, "dry run");
    assert!(sim_writes(&sim).is_empty());
    let before = access_states(&sim);
    let out = run_with(
        "quarantine",
        &["allow", "--identity", &x, "--yes", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "allow --yes");
    let lines = stdout_json_lines(&out);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["guid"], x_guid.as_str());
    assert_eq!(lines[0]["access_state_after"], "Allowed");
    assert_eq!(sim_writes(&sim), ["Set-CASMailbox"]);
    let after = access_states(&sim);
    assert_eq!(
        after[&x_guid],
        ("Allowed".to_string(), "Individual".to_string())
    );
    for (g, s) in &before {
        if *g != x_guid {
            assert_eq!(&after[g], s, "device {g} changed");
        }
    }
    // The device list entry went in by the add form: the mailbox's other entries stay.
    let tenant = sim.tenant();
    let device = tenant.device(&x_guid.parse().unwrap()).unwrap();
    let mailbox = &tenant.mailboxes()[device.mailbox];
    assert!(mailbox.cas.allowed_device_ids.contains(&device.device_id));
}

#[test]
fn quarantine_refuses_a_device_that_is_not_quarantined_and_lists_a_fleet() {
    let (sim, _, _) = hygiene_simulator();
    let allowed = {
        let t = sim.tenant();
        let d = t.devices().find(|d| d.access_state == "Allowed").unwrap();
        t.device_identity(d)
    };
    let out = run_with(
        "quarantine",
        &["block", "--identity", &allowed, "--yes"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_REFUSED, "not quarantined");
    assert!(
        text(&out.stderr).contains("is not quarantined"),
        "{}",
        text(&out.stderr)
    );
    let out = run_with(
        "quarantine",
        &["block", "--identity", "*", "--yes"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_USAGE, "wildcard");
    assert!(sim_writes(&sim).is_empty());
    // Across a fleet (the embedded simulator's tenants): every row carries its Tenant.
    let dir = std::env::temp_dir().join(format!("quarantine-fleet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.txt");
    std::fs::write(
        &file,
        "tenant01.onmicrosoft.com\ntenant02.onmicrosoft.com\n",
    )
    .unwrap();
    let out = run(
        "quarantine",
        &[
            "list",
            "--tenants",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_code(&out, EXIT_OK, "fleet list");
    let lines = stdout_json_lines(&out);
    assert!(!lines.is_empty());
    let tenants: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["Tenant"].as_str().unwrap())
        .collect();
    assert_eq!(
        tenants,
        ["tenant01.onmicrosoft.com", "tenant02.onmicrosoft.com"].into()
    );
    assert!(
        lines
            .iter()
            .all(|l| l["guid"].is_string() && l["identity"].is_string())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn device_lists_audit_names_exactly_the_orphans_and_prune_removes_them() {
    let (sim, _, orphans) = hygiene_simulator();
    let out = run_with(
        "device_lists",
        &["audit", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "audit");
    let mut found: Vec<(String, String, String)> = stdout_json_lines(&out)
        .iter()
        .filter(|l| l["problem"] == "orphan")
        .map(|l| {
            (
                l["mailbox"].as_str().unwrap().to_lowercase(),
                l["list"].as_str().unwrap().to_string(),
                l["device_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let mut expected = orphans.clone();
    expected.sort();
    assert_eq!(found, expected);
    // The dry run sends nothing.
    let out = run_with("device_lists", &["prune"], &env_of(&sim));
    assert_code(&out, EXIT_OK, "prune dry run");
    assert!(sim_writes(&sim).is_empty());
    let before = access_states(&sim);
    let out = run_with(
        "device_lists",
        &["prune", "--yes", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "prune --yes");
    assert!(
        stdout_json_lines(&out)
            .iter()
            .all(|l| l["result"] == "removed")
    );
    let mailboxes: std::collections::BTreeSet<&String> = orphans.iter().map(|o| &o.0).collect();
    let writes = sim_writes(&sim);
    assert_eq!(
        writes.len(),
        mailboxes.len(),
        "one Set-CASMailbox per mailbox: {writes:?}"
    );
    assert!(writes.iter().all(|w| w == "Set-CASMailbox"));
    assert_eq!(
        access_states(&sim),
        before,
        "no device's access state changed"
    );
    let out = run_with(
        "device_lists",
        &["audit", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_OK, "audit after");
    assert!(
        stdout_json_lines(&out)
            .iter()
            .all(|l| l["problem"] != "orphan")
    );
}

#[test]
fn the_workflows_name_the_role_an_account_lacks_and_send_nothing() {
    let mut tenant = TenantBuilder::new()
        .seed(25)
        .mailboxes(4)
        .devices(16)
        .rbac_profile(RbacProfile::ReadOnly)
        .build();
    let q = tenant.quarantine_devices(2);
    tenant.add_orphan_list_entries(2);
    let user = tenant
        .device_identity(tenant.devices().next().unwrap())
        .split('\\')
        .next()
        .unwrap()
        .to_string();
    let sim = Simulator::start_blocking(SimulatorConfig::new(tenant)).expect("simulator");
    let q0 = q[0].to_string();
    for (name, args, cmdlet) in [
        (
            "offboard",
            vec!["--user", user.as_str(), "--yes"],
            "Clear-MobileDevice",
        ),
        (
            "quarantine",
            vec!["allow", "--identity", q0.as_str(), "--yes"],
            "Set-CASMailbox",
        ),
        ("device_lists", vec!["prune", "--yes"], "Set-CASMailbox"),
    ] {
        let out = run_with(name, &args, &env_of(&sim));
        assert_code(&out, EXIT_REFUSED, name);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(cmdlet) && stderr.contains("role"),
            "{name}: {stderr}"
        );
    }
    assert!(sim_writes(&sim).is_empty());
}

#[test]
fn quarantine_and_prune_report_an_ambiguous_change_as_unknown() {
    let (sim, quarantined, _) = hygiene_simulator();
    sim.push_fault(fault(
        "Set-CASMailbox",
        Fault::AfterRun(Failure::Unavailable),
        FaultTimes::Once,
    ));
    let out = run_with(
        "quarantine",
        &[
            "block",
            "--identity",
            &quarantined[0],
            "--yes",
            "--format",
            "json",
        ],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_UNKNOWN, "quarantine: ambiguous");
    assert_eq!(stdout_json_lines(&out)[0]["result"], "unknown");
    assert_eq!(sim_writes(&sim), ["Set-CASMailbox"], "never sent again");
    let (sim, _, _) = hygiene_simulator();
    sim.push_fault(fault(
        "Set-CASMailbox",
        Fault::AfterRun(Failure::Unavailable),
        FaultTimes::Once,
    ));
    let out = run_with(
        "device_lists",
        &["prune", "--yes", "--format", "json"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_UNKNOWN, "prune: ambiguous");
    let lines = stdout_json_lines(&out);
    assert!(lines.iter().any(|l| l["result"] == "unknown"));
    // One Set-CASMailbox per mailbox, none sent again.
    let mailboxes: std::collections::BTreeSet<String> = lines
        .iter()
        .map(|l| l["mailbox"].as_str().unwrap().to_string())
        .collect();
    let writes = sim_writes(&sim);
    assert!(writes.iter().all(|w| w == "Set-CASMailbox"));
    assert_eq!(writes.len(), mailboxes.len());
}
