//! offboard, quarantine, device_lists.

use super::*;

/// The writes the simulator received (cmdlet names, in order).
fn sim_writes(sim: &BlockingSimulator) -> Vec<String> {
    sim.calls()
        .into_iter()
        .map(|c| c.cmdlet)
        .filter(|c| !c.starts_with("Get-"))
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
