//! Each example as a process, for each code it documents.

use super::*;

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

// The wipe's exit codes, in three cases that run side by side (one waits 2 s on purpose).
#[test]
fn wipe_device_exit_codes_accepted_and_not_acknowledged() {
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
        &["--identity", &id, "--yes", "--wait", "1s"],
        &env_of(&sim),
    );
    assert_code(&out, EXIT_PARTIAL, "not acknowledged");
    assert!(
        text(&out.stdout).contains("Requested (not acknowledged"),
        "{out:?}"
    );
}

#[test]
fn wipe_device_exit_codes_acknowledged() {
    // The embedded simulator's device syncs: acknowledged, 0.
    let tenant = demo_tenant();
    let id = tenant.device_identity(tenant.devices().nth(7).unwrap());
    let out = run("wipe_device", &["--identity", &id, "--yes", "--wait", "2m"]);
    assert_code(&out, EXIT_OK, "acknowledged");
    assert!(text(&out.stdout).contains("Acknowledged"), "{out:?}");
}

#[test]
fn wipe_device_exit_codes_refused_unknown_unreachable_and_usage() {
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
    let tenant = demo_tenant();
    let id = tenant.device_identity(tenant.devices().nth(7).unwrap());
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
