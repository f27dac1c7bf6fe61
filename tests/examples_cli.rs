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

use exchange_activesync::testing::{
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
         `cargo build --examples --features test-util` first",
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
    let url = exchange_activesync::testing::refused_endpoint().expect("a refused port");
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
    &["check_permissions"],
    &["cleanup_stale"],
    &["connector_check"],
    &["device_access"],
    &["fleet"],
    &["fleet", "check"],
    &["fleet", "inventory"],
    &["inventory"],
    &["org_settings"],
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
    // A removal whose answer was lost after it ran: 4.
    let sim = simulator(
        RbacProfile::Full,
        vec![fault(
            "Remove-MobileDevice",
            Fault::AfterRun(Failure::BadGateway),
            FaultTimes::Once,
        )],
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
