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

use exchange_activesync::testing::{RbacProfile, Tenant, TenantBuilder};

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

/// Run an example against its embedded simulator, stdout and stderr piped (not terminals).
fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .env_remove("EXO_TENANT_ID")
        .env_remove("EXO_ENDPOINT")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run the example")
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
    for args in [&[][..], &["--yes", "--track-seconds", "0"][..]] {
        let out = run("wipe_device", args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
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
    for extra in [&[][..], &["--yes", "--track-seconds", "0"][..]] {
        let mut args = vec![
            "--identity",
            "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE",
        ];
        args.extend_from_slice(extra);
        let out = run("wipe_device", &args);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
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
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
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
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("--identity"), "{out:?}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn format_accepts_only_what_each_example_prints() {
    // (example, usage exit code) for the examples that print text or JSON only.
    for (name, usage) in [
        ("org_settings", 1),
        ("connector_check", 1),
        ("check_permissions", 1),
        ("cleanup_stale", 1),
        ("device_access", 2),
        ("wipe_device", 2),
    ] {
        let mut args = vec!["--format", "csv"];
        match name {
            "cleanup_stale" => args.extend(["--older-than", "90d"]),
            "device_access" => args.extend(["--identity", "x", "--block"]),
            "wipe_device" => args.extend(["--identity", "x"]),
            _ => {}
        }
        let out = run(name, &args);
        assert_eq!(out.status.code(), Some(usage), "{name}: {out:?}");
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

#[test]
fn every_help_lists_the_exit_codes() {
    for name in [
        "check_permissions",
        "cleanup_stale",
        "connector_check",
        "device_access",
        "fleet",
        "inventory",
        "org_settings",
        "stream_to_sink",
        "wipe_device",
    ] {
        let out = run(name, &["--help"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {out:?}");
        let help = text(&out.stdout);
        assert!(
            help.contains("Exit codes:") && help.contains("  0  "),
            "{name}: {help}"
        );
    }
}
