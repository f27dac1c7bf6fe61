//! The fleet against one simulator serving several tenants, with tokens from the simulator's
//! Entra-like token endpoint through the crate's own client-credentials code: healthy tenants
//! complete in full while one tenant has not consented, one lacks permissions and one
//! throttles hard. Then the `fleet` example as a process, embedded and against the
//! standalone simulator.
//!
//! The binaries are the ones `cargo test` builds next to the tests
//! (`$CARGO_TARGET_DIR/debug/examples/<name>`, default target dir `target/`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use exchange_activesync::connector::{ConnectionStatus, ConnectorProfile};
use exchange_activesync::fleet::{
    Fleet, FleetItem, SyncOutcome, TenantCheck, TenantErrorKind, TenantList, TenantSyncSummary,
};
use exchange_activesync_testkit::{
    Failure, Fault, FaultStep, FaultTimes, RbacProfile, Simulator, SimulatorConfig,
    SimulatorHandle, TenantBuilder,
};
use futures::StreamExt;

use crate::support::process::{Scratch, example, stdout_json_lines as json_lines, text};

const HEALTHY: [usize; 3] = [0, 1, 2];
const UNCONSENTED: usize = 3;
const LIMITED: usize = 4;
const THROTTLING: usize = 5;

/// Six tenants: three healthy ones of different sizes, one that has not consented to the
/// app, one granting only View-Only Organization Management, one answering every request
/// with a 429 (`Retry-After: 0.1`), so that its retries run out.
async fn mixed() -> SimulatorHandle {
    let config = SimulatorConfig::tenants_from(6, |i| {
        TenantBuilder::new()
            .seed(700 + i as u64)
            .devices(25 + 10 * i)
            .mailboxes(12)
            .rbac_profile(if i == LIMITED {
                RbacProfile::ReadOnly
            } else {
                RbacProfile::Full
            })
    })
    .configure_tenant(UNCONSENTED, |s| s.unconsented = true)
    .configure_tenant(THROTTLING, |s| {
        s.script.push(FaultStep::new(
            None,
            Fault::Fail(Failure::Throttled {
                retry_after: Some("0.1".into()),
            }),
            FaultTimes::Always,
        ))
    });
    Simulator::start(config).await.expect("simulator")
}

fn fleet(sim: &SimulatorHandle) -> Fleet {
    let tenants = TenantList::from_ids(sim.tenants().iter().map(|t| t.domain().to_string()))
        .expect("tenants");
    Fleet::builder(tenants)
        .endpoint(sim.base_url())
        .authority(sim.authority())
        .client_secret(sim.app().client_id.clone(), sim.app().client_secret.clone())
        .build()
        .expect("fleet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_completes_the_healthy_tenants_and_isolates_the_failing_ones() {
    let sim = mixed().await;
    let mut stream = fleet(&sim).inventory(true);
    let mut records: HashMap<String, HashSet<String>> = HashMap::new();
    let mut summaries: HashMap<String, TenantSyncSummary> = HashMap::new();
    while let Some(item) = stream.next().await {
        match item {
            FleetItem::Record { tenant, record } => {
                assert!(
                    !summaries.contains_key(tenant.as_str()),
                    "a record after its tenant's end"
                );
                let guid = record.device.guid.expect("guid").to_string();
                assert!(
                    records
                        .entry(tenant.as_str().to_string())
                        .or_default()
                        .insert(guid),
                    "a device delivered twice"
                );
            }
            FleetItem::TenantDone(s) => {
                summaries.insert(s.tenant.as_str().to_string(), s);
            }
            _ => {}
        }
    }
    assert_eq!(summaries.len(), 6);
    let tenants = sim.tenants();
    // The healthy tenants and the one with read roles only: every device, with statistics,
    // each its own tenant's.
    for i in HEALTHY.into_iter().chain([LIMITED]) {
        let t = &tenants[i];
        let s = &summaries[t.domain()];
        assert_eq!(s.outcome, SyncOutcome::Complete, "{}: {s:?}", t.domain());
        let expected: HashSet<String> = t.tenant().devices().map(|d| d.guid.to_string()).collect();
        assert_eq!(expected.len(), 25 + 10 * i);
        assert_eq!(s.devices, expected.len() as u64);
        assert_eq!(s.with_statistics, expected.len() as u64);
        assert_eq!(records[t.domain()], expected, "{}", t.domain());
        assert_eq!(t.tokens_issued(), 1, "one token for the tenant's work");
    }
    // Not consented: the token endpoint's AADSTS700016, no admin API request at all.
    let t = &tenants[UNCONSENTED];
    let s = &summaries[t.domain()];
    assert_eq!(s.outcome, SyncOutcome::Failed);
    let e = s.error.as_ref().expect("an error");
    assert_eq!(e.kind, TenantErrorKind::NotConsented, "{e}");
    assert!(e.message.contains("AADSTS700016"), "{e}");
    assert!(!records.contains_key(t.domain()));
    assert_eq!(t.request_count(), 0);
    assert_eq!(t.tokens_issued(), 0);
    // Throttling hard: failed (or partial) with a throttling error.
    let t = &tenants[THROTTLING];
    let s = &summaries[t.domain()];
    assert!(
        matches!(s.outcome, SyncOutcome::Failed | SyncOutcome::Partial),
        "{s:?}"
    );
    let e = s.error.as_ref().expect("an error");
    assert_eq!(e.kind, TenantErrorKind::Throttled, "{e}");
    assert!(t.request_count() > 1, "it was retried");
    // The summary says why, not only the error list.
    assert!(
        s.reason.as_deref().is_some_and(|r| r.contains("429")),
        "{s:?}"
    );
    for i in HEALTHY {
        assert_eq!(summaries[tenants[i].domain()].reason, None);
    }
    // The secret never shows in a tenant's error.
    for s in summaries.values() {
        if let Some(e) = &s.error {
            assert!(!e.message.contains(&sim.app().client_secret));
        }
    }
    assert_eq!(stream.progress().tenants_done, 6);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_each_tenant_as_the_library_defines_it() {
    let sim = mixed().await;
    let checks: Vec<TenantCheck> = fleet(&sim)
        .check(ConnectorProfile::ExchangeOnline)
        .collect()
        .await;
    assert_eq!(checks.len(), 6);
    let by: HashMap<&str, &TenantCheck> = checks.iter().map(|c| (c.tenant.as_str(), c)).collect();
    let tenants = sim.tenants();
    for i in HEALTHY {
        let t = &tenants[i];
        let c = by[t.domain()];
        let report = c.connection.as_ref().expect("a report");
        assert_eq!(report.status, ConnectionStatus::Healthy, "{}", t.domain());
        assert!(c.permissions.as_ref().expect("permissions").all_granted);
        assert_eq!(c.devices_total, Some((25 + 10 * i) as u64));
        assert!(c.error.is_none());
    }
    // Missing permissions: reads work, writes are not granted.
    let c = by[tenants[LIMITED].domain()];
    let report = c.connection.as_ref().expect("a report");
    assert!(
        matches!(report.status, ConnectionStatus::Degraded { .. }),
        "{:?}",
        report.status
    );
    assert!(!c.permissions.as_ref().expect("permissions").all_granted);
    assert_eq!(c.devices_total, Some(25 + 10 * LIMITED as u64));
    // Not consented: failed, with the classified error.
    let c = by[tenants[UNCONSENTED].domain()];
    let e = c.error.as_ref().expect("an error");
    assert_eq!(e.kind, TenantErrorKind::NotConsented);
    assert!(e.message.contains("AADSTS700016"));
    assert!(matches!(
        c.connection.as_ref().map(|r| &r.status),
        Ok(ConnectionStatus::Failed { .. }) | Err(_)
    ));
    // Throttling hard: nothing could be read, so failed (not "degraded"), classified as
    // throttled, and no device count.
    let c = by[tenants[THROTTLING].domain()];
    let status = c.connection.as_ref().map(|r| r.status.as_str());
    assert_eq!(status.ok(), Some("failed"), "{c:?}");
    assert_eq!(
        c.error.as_ref().map(|e| e.kind),
        Some(TenantErrorKind::Throttled),
        "{c:?}"
    );
    assert_eq!(c.devices_total, None);
    sim.shutdown().await;
}

// --- the example as a process -----------------------------------------------------------

const EXO_VARS: [&str; 10] = [
    "EXO_TENANT_ID",
    "EXO_ENDPOINT",
    "EXO_AUTHORITY",
    "EXO_CLIENT_ID",
    "EXO_CLIENT_SECRET",
    "EXO_CLIENT_CERTIFICATE",
    "EXO_CLIENT_CERTIFICATE_KEY",
    "EXO_ACCESS_TOKEN",
    "EXO_ENVIRONMENT",
    "EXO_ALLOW_CUSTOM_ENDPOINT",
];

/// Run the `fleet` example with only the `vars` of the `EXO_*` variables set.
fn fleet_example(args: &[&str], vars: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(example("fleet"));
    cmd.args(args).stdin(Stdio::null());
    for v in EXO_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run the fleet example")
}

#[test]
fn embedded_check_prints_one_json_object_per_tenant_and_exits_2() {
    let out = fleet_example(&["check", "--format", "json"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("embedded simulator"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes when piped");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5, "one line per demo tenant");
    let mut statuses = HashMap::new();
    for v in &lines {
        let tenant = v["tenant"].as_str().expect("tenant");
        let status = v["connection"]["status"].as_str().expect("status");
        assert!(["healthy", "degraded", "failed"].contains(&status), "{v}");
        assert!(v["permissions"]["all_granted"].is_boolean(), "{v}");
        assert!(
            v["devices"]["total"].is_u64() || v["devices"]["total"].is_null(),
            "{v}"
        );
        assert!(v["error"].is_string() || v["error"].is_null(), "{v}");
        statuses.insert(tenant.to_string(), (status.to_string(), v.clone()));
    }
    let (s, v) = &statuses["tenant01.onmicrosoft.com"];
    assert_eq!(s, "healthy");
    assert_eq!(v["devices"]["total"], 40);
    assert_eq!(v["permissions"]["all_granted"], true);
    let (s, v) = &statuses["tenant03.onmicrosoft.com"];
    assert_eq!(s, "degraded");
    assert_eq!(v["permissions"]["all_granted"], false);
    let (s, v) = &statuses["tenant04.onmicrosoft.com"];
    assert_eq!(s, "failed");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("AADSTS700016"),
        "{v}"
    );
}

#[test]
fn embedded_inventory_tags_every_line_with_its_tenant_and_exits_2() {
    let out = fleet_example(&["inventory", "--format", "json"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let mut per_tenant: HashMap<String, usize> = HashMap::new();
    for v in json_lines(&out) {
        assert!(v["Guid"].is_string(), "{v}");
        *per_tenant
            .entry(v["Tenant"].as_str().expect("Tenant").to_string())
            .or_default() += 1;
    }
    // Every device of the three tenants that can be read; none of the other two.
    for t in ["tenant01", "tenant02", "tenant03"] {
        assert_eq!(per_tenant[&format!("{t}.onmicrosoft.com")], 40, "{stderr}");
    }
    assert_eq!(per_tenant.len(), 3, "{per_tenant:?}");
    assert!(
        stderr.contains("summary: 5 tenants, 3 complete"),
        "{stderr}"
    );
}

#[test]
fn with_strict_a_bad_or_repeated_tenants_line_is_an_error_naming_the_line() {
    let scratch = Scratch::new("bad");
    let vars = [
        (
            "EXO_CLIENT_ID",
            "11111111-1111-1111-1111-111111111111".to_string(),
        ),
        ("EXO_CLIENT_SECRET", "not-used".to_string()),
    ];
    for (contents, line) in [
        (
            "# customers\ncontoso.onmicrosoft.com\nnot a tenant\n",
            "line 3",
        ),
        (
            "contoso.onmicrosoft.com\n\nCONTOSO.onmicrosoft.com\n",
            "line 3",
        ),
    ] {
        let file = scratch.0.join("tenants.txt");
        std::fs::write(&file, contents).expect("tenants file");
        let path = file.to_str().expect("utf-8 path");
        for sub in ["check", "inventory"] {
            // Strict: the whole file is refused (without --strict the line is its own result).
            let out = fleet_example(&[sub, "--strict", "--tenants", path], &vars);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{sub}: {stderr}");
            assert!(stderr.contains(line), "{sub}: {stderr}");
            assert!(out.stdout.is_empty());
        }
    }
    // Outside the embedded mode the tenants file is required: a usage error (64).
    let out = fleet_example(&["check"], &vars);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("--tenants"));
    // --help lists the exit codes.
    let out = fleet_example(&["check", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Exit codes (the same for every example):"));
}

/// The standalone simulator; killed (and reaped) on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn against_the_standalone_simulator_all_healthy_exits_0() {
    let scratch = Scratch::new("standalone");
    let (_running, vars, path) = standalone(&scratch, "3", "30", &[]);
    let path = path.to_str().expect("UTF-8 path").to_string();
    let out = fleet_example(&["check", "--tenants", &path, "--format", "json"], &vars);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("embedded simulator"), "{err}");
    let listed = TenantList::from_file(&path).expect("tenants file");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    for v in &lines {
        assert_eq!(v["connection"]["status"], "healthy", "{v}");
        assert_eq!(v["devices"]["total"], 30, "{v}");
        let tenant = v["tenant"].as_str().expect("tenant");
        assert!(listed.iter().any(|t| t.as_str() == tenant), "{tenant}");
    }
    let out = fleet_example(&["inventory", "--tenants", &path, "--format", "csv"], &vars);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let mut rows = csv.lines();
    assert!(
        rows.next()
            .expect("header")
            .starts_with("Tenant,Identity,Guid")
    );
    assert_eq!(rows.count(), 90);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_for_another_tenant_is_never_used() {
    use exchange_activesync::auth::{StaticToken, TokenProvider};
    use std::sync::Arc;
    let sim = Simulator::start(SimulatorConfig::tenants_from(2, |i| {
        TenantBuilder::new()
            .seed(900 + i as u64)
            .devices(5)
            .mailboxes(2)
    }))
    .await
    .expect("simulator");
    let tenants = sim.tenants();
    // Like a managed identity: one home tenant's token, whichever tenant asks.
    let home = tenants[0].token().to_string();
    let list =
        TenantList::from_ids(tenants.iter().map(|t| t.tenant_id().to_string())).expect("tenants");
    let fleet = Fleet::builder(list)
        .endpoint(sim.base_url())
        .token_provider_per_tenant(move |_| {
            Ok(Arc::new(StaticToken::new(home.clone())) as Arc<dyn TokenProvider>)
        })
        .build()
        .expect("fleet");
    let checks: Vec<TenantCheck> = fleet
        .check(ConnectorProfile::ExchangeOnline)
        .collect()
        .await;
    let by: HashMap<&str, &TenantCheck> = checks.iter().map(|c| (c.tenant.as_str(), c)).collect();
    let home_check = by[tenants[0].tenant_id()];
    assert!(home_check.error.is_none(), "{home_check:?}");
    let other = by[tenants[1].tenant_id()];
    let e = other.error.as_ref().expect("the other tenant fails");
    assert!(e.message.contains("not for"), "{e:?}");
    assert_eq!(other.devices_total, None);
    // Nothing was sent to the other tenant with the home tenant's token.
    assert!(
        sim.calls()
            .iter()
            .all(|c| c.tenant_id != tenants[1].tenant_id()),
        "a call reached the other tenant"
    );
    sim.shutdown().await;
}

/// The standalone simulator serving `tenants` tenants of `devices` devices with `flags`: its
/// ready file's variables and tenants file, and the running process.
fn standalone(
    scratch: &Scratch,
    tenants: &str,
    devices: &str,
    flags: &[&str],
) -> (Running, Vec<(&'static str, String)>, PathBuf) {
    let ready = scratch.0.join("ready.env");
    let tenants_file = scratch.0.join("tenants.txt");
    let stderr = scratch.0.join("simulator.err");
    let mut running = Running(
        Command::new(example("simulator"))
            .args(["--port", "0", "--tenants", tenants, "--devices", devices])
            .args(flags)
            .arg("--ready-file")
            .arg(&ready)
            .arg("--tenants-file")
            .arg(&tenants_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start the simulator"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        if let Ok(text) = std::fs::read_to_string(&ready) {
            break text;
        }
        if let Ok(Some(status)) = running.0.try_wait() {
            panic!(
                "the simulator exited ({status}):\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the simulator did not get ready");
        std::thread::sleep(Duration::from_millis(20));
    };
    let value = |name: &str| {
        lines
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{name} missing:\n{lines}"))
            .to_string()
    };
    let vars = [
        "EXO_ENDPOINT",
        "EXO_AUTHORITY",
        "EXO_CLIENT_ID",
        "EXO_CLIENT_SECRET",
    ]
    .into_iter()
    .map(|n| (n, value(n)))
    .collect();
    (running, vars, PathBuf::from(value("EXO_TENANTS_FILE")))
}

#[test]
fn an_unattended_check_reports_every_tenant_and_line_truthfully() {
    let scratch = Scratch::new("truthful");
    // 1 and 2 healthy, 3 without the RBAC roles, 4 not consented, 5 throttled on every call.
    let (_running, vars, served) = standalone(
        &scratch,
        "5",
        "20",
        &[
            "--limited-tenant",
            "3",
            "--unconsented-tenant",
            "4",
            "--throttle-tenant",
            "5",
            // The client retries the throttled tenant's first read 5 times: 1 s instead of 5.
            "--throttle-retry-after",
            "0.2",
        ],
    );
    let listed = TenantList::from_file(&served).expect("tenants file");
    let ids: Vec<String> = listed.iter().map(|t| t.as_str().to_string()).collect();
    assert_eq!(ids.len(), 5);
    let unknown = "7d1c0000-0000-4000-8000-00000000beef";
    let file = scratch.0.join("customers.txt");
    std::fs::write(
        &file,
        format!("{}\n{unknown}\nnot a tenant!\n", ids.join("\n")),
    )
    .unwrap();
    let started = Instant::now();
    let out = fleet_example(
        &[
            "check",
            "--tenants",
            &file.to_string_lossy(),
            "--format",
            "json",
        ],
        &vars,
    );
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "{:?}",
        started.elapsed()
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines = json_lines(&out);
    assert_eq!(
        lines.len(),
        7,
        "one line per tenant and per bad line: {lines:?}"
    );
    let by = |tenant: &str| {
        lines
            .iter()
            .find(|v| v["tenant"] == tenant)
            .unwrap_or_else(|| panic!("{tenant} missing: {lines:?}"))
    };
    for id in &ids[..2] {
        assert_eq!(by(id)["status"], "healthy", "{}", by(id));
    }
    let rbac = by(&ids[2]);
    assert_eq!(rbac["status"], "degraded", "{rbac}");
    assert_eq!(rbac["permissions"]["verdict"], "not_granted", "{rbac}");
    let unconsented = by(&ids[3]);
    assert_eq!(unconsented["status"], "failed", "{unconsented}");
    assert_eq!(unconsented["error_kind"], "not_consented", "{unconsented}");
    let throttled = by(&ids[4]);
    assert_eq!(throttled["status"], "failed", "{throttled}");
    assert_eq!(throttled["error_kind"], "throttled", "{throttled}");
    let missing = by(unknown);
    assert_eq!(missing["error_kind"], "tenant_not_found", "{missing}");
    assert_eq!(missing["aadsts"], 90002, "{missing}");
    assert!(
        !missing["error"].as_str().unwrap().contains("Trace ID"),
        "{missing}"
    );
    let bad = lines
        .iter()
        .find(|v| v["tenant"].is_null())
        .expect("the malformed line's own result");
    assert_eq!(bad["line"], 7);
    assert_eq!(bad["text"], "not a tenant!");
    assert_eq!(bad["error_kind"], "invalid_tenant");
    // --strict refuses the whole file, checking no tenant.
    let out = fleet_example(
        &[
            "check",
            "--strict",
            "--tenants",
            &file.to_string_lossy(),
            "--format",
            "json",
        ],
        &vars,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(json_lines(&out).is_empty());
    assert!(
        text(&out.stderr).contains("line 7"),
        "{}",
        text(&out.stderr)
    );
}
