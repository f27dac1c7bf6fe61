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
#[path = "../../examples/common/mod.rs"]
mod common;

use common::{EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_REFUSED, EXIT_UNKNOWN, EXIT_USAGE};

#[path = "../support/mod.rs"]
mod support;
use support::process::{example, stdout_json_lines, text};

mod exit_codes;
mod readiness_whatif;
mod readme;
mod targets_and_output;
mod workflows;

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

/// The tenant the examples' embedded simulator serves (`examples/common::demo_tenant`).
fn demo_tenant() -> Tenant {
    TenantBuilder::new()
        .seed(2024)
        .mailboxes(120)
        .devices(300)
        .rbac_profile(RbacProfile::Full)
        .build()
}

fn state_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("exo-examples-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
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
