//! Refusals before anything is sent (destructive examples never pick their own targets, the
//! dry run of `wipe_device` checks the device and the `--notify` addresses), `--format`,
//! piped output without colour codes, aligned tables, and the exit codes in every `--help`.

use super::*;

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
