//! EAS readiness and access what-if.

use super::*;

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
