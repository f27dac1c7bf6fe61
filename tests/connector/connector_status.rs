//! Connection validation: healthy, degraded, failed, with the last sync in a JSON file.

use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::connector::{
    ConnectionStatus, ConnectionValidator, ConnectorProfile, JsonFileStore, StateMark,
    SyncStateStore, validate_connection,
};
use exchange_activesync::{Environment, ExchangeClient, HttpExchangeClient, RetryPolicy};
use exchange_activesync_testkit::{
    FakeExchangeClient, RbacProfile, Simulator, SimulatorConfig, TenantBuilder,
};

fn tenant(profile: RbacProfile) -> exchange_activesync_testkit::Tenant {
    TenantBuilder::new()
        .seed(9)
        .mailboxes(20)
        .devices(60)
        .rbac_profile(profile)
        .build()
}

fn temp_store() -> (std::path::PathBuf, Arc<JsonFileStore>) {
    let dir = std::env::temp_dir().join(format!("eas-status-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(JsonFileStore::new(dir.join("sync.json")));
    (dir, store)
}

#[tokio::test]
async fn healthy_counts_everything_and_persists_the_sync() {
    let fake = FakeExchangeClient::new(tenant(RbacProfile::Full));
    let expected_total = fake.tenant().device_count();
    let expected_rules = fake.tenant().access_rules().len();
    let default_level = fake.tenant().org_settings().default_access_level.clone();
    let client: Arc<dyn ExchangeClient> = Arc::new(fake);
    let (dir, store) = temp_store();
    let r = validate_connection(&*client, ConnectorProfile::ExchangeOnline, store.clone()).await;
    assert_eq!(r.status, ConnectionStatus::Healthy, "{r:?}");
    let p = r.permissions.as_ref().unwrap();
    assert!(p.all_granted);
    assert!(p.missing.is_empty() && p.granted.len() >= 10, "{p:?}");
    let devices = r.devices.as_ref().unwrap();
    assert_eq!(devices.total, expected_total);
    assert_eq!(
        devices.by_access_state.values().sum::<usize>(),
        expected_total
    );
    assert_eq!(r.access_rules, Some(expected_rules));
    assert!(r.policies.unwrap() >= 1);
    assert_eq!(
        r.default_access_level.as_deref(),
        Some(default_level.as_str())
    );
    let saved = store.load(StateMark::LastChecked).await.unwrap();
    assert_eq!(saved, r.last_successful_sync);
    assert!(saved.is_some());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.path()).unwrap()).unwrap();
    assert!(json["last_checked"].is_string(), "{json}");
    assert!(
        json.get("synced_through").is_none(),
        "a connection check moved the inventory's mark: {json}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn missing_permission_is_degraded_and_keeps_the_previous_sync() {
    let client: Arc<dyn ExchangeClient> = Arc::new(FakeExchangeClient::new(tenant(
        RbacProfile::ExchangeOnlineMinusWrites,
    )));
    let (dir, store) = temp_store();
    let before = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    store.save(StateMark::LastChecked, before).await.unwrap();
    let r = ConnectionValidator::new(&*client, ConnectorProfile::ExchangeOnline)
        .store(store.clone())
        .validate()
        .await;
    match &r.status {
        ConnectionStatus::Degraded { reasons } => {
            assert!(
                reasons
                    .iter()
                    .any(|m| m.contains("Clear-MobileDevice") || m.contains("Set-")),
                "{reasons:?}"
            );
        }
        other => panic!("expected degraded, got {other:?}"),
    }
    assert!(!r.permissions.as_ref().unwrap().all_granted);
    assert!(r.devices.is_some(), "reads still work");
    assert_eq!(r.last_successful_sync, Some(before));
    assert_eq!(
        store.load(StateMark::LastChecked).await.unwrap(),
        Some(before)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bad_token_fails() {
    let sim = Simulator::start(SimulatorConfig::new(tenant(RbacProfile::Full)))
        .await
        .unwrap();
    let client = HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new("not-the-token")))
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let (dir, store) = temp_store();
    let r = validate_connection(&client, ConnectorProfile::HostedExchange, store.clone()).await;
    match &r.status {
        ConnectionStatus::Failed { error } => assert!(error.contains("401"), "{error}"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(r.last_successful_sync, None);
    assert_eq!(store.load(StateMark::LastChecked).await.unwrap(), None);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_expired_first_continuation_still_counts_every_device() {
    let tenant = tenant(RbacProfile::Full);
    let total = tenant.devices().count();
    let sim = Simulator::start(SimulatorConfig::new(tenant))
        .await
        .unwrap();
    let client = HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .page_size(25)
        .build()
        .unwrap();
    sim.expire_next_continuation();
    let (dir, store) = temp_store();
    let r = validate_connection(&client, ConnectorProfile::HostedExchange, store).await;
    let devices = r.devices.as_ref().expect("devices are counted");
    assert_eq!(devices.total, total, "{r:?}");
    if let ConnectionStatus::Degraded { reasons } = &r.status {
        assert!(
            !reasons
                .iter()
                .any(|m| m.contains("mobile devices unreadable")),
            "{reasons:?}"
        );
    }
    assert_eq!(sim.status_count(400), 1, "the continuation did expire");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_connection_check_never_moves_the_inventorys_mark() {
    use exchange_activesync::connector::{InventorySync, MemoryStore};
    let f = FakeExchangeClient::new(tenant(RbacProfile::Full));
    let store = Arc::new(MemoryStore::new());
    // A complete sync sets the mark.
    let first = InventorySync::new(&f)
        .state_store(store.clone())
        .run(|_| {})
        .await
        .unwrap();
    let mark = store.load(StateMark::SyncedThrough).await.unwrap();
    assert_eq!(mark, Some(first.started_at));
    // Devices change after the mark (the tenant's clock moves on).
    // Changed between the sync and the check: a check that moved the mark would hide them.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let changed: Vec<uuid::Uuid> = f.tenant().devices().take(5).map(|d| d.guid).collect();
    for g in &changed {
        f.edit_device(g, |d| d.when_changed = between);
    }
    // A healthy connection check with the same store, then an incremental sync.
    let report = ConnectionValidator::new(&f, ConnectorProfile::ExchangeOnline)
        .store(store.clone())
        .validate()
        .await;
    assert_eq!(report.status, ConnectionStatus::Healthy, "{report:?}");
    assert!(store.load(StateMark::LastChecked).await.unwrap().is_some());
    assert_eq!(
        store.load(StateMark::SyncedThrough).await.unwrap(),
        mark,
        "the connection check moved the inventory's mark"
    );
    let mut delivered = Vec::new();
    InventorySync::new(&f)
        .state_store(store.clone())
        .incremental()
        .run(|r| delivered.push(r.device.guid.unwrap()))
        .await
        .unwrap();
    for g in &changed {
        assert!(
            delivered.contains(g),
            "a device changed after the mark was skipped"
        );
    }
}

// --- EAS readiness and access what-if (read-only previews) -------------------------------

mod previews {
    use std::collections::{BTreeSet, HashMap};

    use exchange_activesync::ExchangeClientExt;
    use exchange_activesync::cmdlets::{
        GetCasMailbox, GetMobileDevice, NewActiveSyncDeviceAccessRule,
        RemoveActiveSyncDeviceAccessRule, SetActiveSyncOrganizationSettings,
    };
    use exchange_activesync::connector::{
        AccessChanges, EasVersion, Evaluation, MailboxAccess, ReadinessVerdict, RuleSpec,
        access_whatif, eas_readiness, evaluate_access,
    };
    use exchange_activesync::models::{
        DeviceAccessCharacteristic, DeviceAccessLevel, DeviceAccessState,
    };
    use exchange_activesync::types::AccessRuleIdentity;
    use exchange_activesync_testkit::{FakeExchangeClient, Tenant, TenantBuilder};
    use uuid::Uuid;

    fn fake(seed: u64) -> FakeExchangeClient {
        FakeExchangeClient::new(
            TenantBuilder::new()
                .seed(seed)
                .mailboxes(20)
                .devices(160)
                .build(),
        )
    }

    fn only_reads(fake: &FakeExchangeClient) {
        let calls = fake.calls();
        assert!(!calls.is_empty());
        for c in &calls {
            assert!(
                c.cmdlet.starts_with("Get-"),
                "a write was sent: {}",
                c.cmdlet
            );
        }
    }

    #[test]
    fn eas_versions_compare_as_numbers_and_bad_ones_are_refused() {
        let v = |s: &str| EasVersion::parse(s).unwrap();
        assert!(v("12.1") < v("14.1") && v("14.1") < v("16.0") && v("16.0") < v("16.1"));
        assert!(v("16.9") < v("16.10"), "numbers, not text");
        assert_eq!(v("16"), v("16.0"));
        assert_eq!(v(" 16.1 "), EasVersion::MINIMUM_2026);
        assert_eq!(v("14.1").to_string(), "14.1");
        for bad in ["", "16.", ".1", "16.x", "v16.1", "1.2.3.4.5", "16,1", "-1"] {
            assert!(EasVersion::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn readiness_names_exactly_the_eas_partnerships_below_the_minimum() {
        let fake = fake(11);
        let eas: Vec<_> = fake
            .tenant()
            .devices()
            .filter(|d| d.client_type == "EAS")
            .map(|d| d.guid)
            .collect();
        // One EAS partnership reports a version that is not one, another none at all.
        let (odd, blank) = (eas[0], eas[1]);
        fake.edit_device(&odd, |d| d.client_version = Some("16.x-beta".into()));
        fake.edit_device(&blank, |d| d.client_version = None);
        let report = eas_readiness(&fake, EasVersion::MINIMUM_2026)
            .await
            .unwrap();
        only_reads(&fake);
        assert!(report.is_complete(), "{report:?}");
        let tenant = fake.snapshot();
        let expected: BTreeSet<(Uuid, String)> = tenant
            .devices()
            .filter(|d| d.client_type == "EAS")
            .filter_map(|d| {
                let v = d.client_version.clone()?;
                let parsed = EasVersion::parse(&v).ok()?;
                (parsed < EasVersion::MINIMUM_2026).then_some((d.guid, v))
            })
            .collect();
        let below: BTreeSet<(Uuid, String)> = report
            .below()
            .map(|r| (r.guid.unwrap(), r.client_version.clone().unwrap()))
            .collect();
        assert_eq!(below, expected);
        // The generated spread: mostly 16.1, a tail of 16.0 / 14.1 / 12.1.
        let versions: BTreeSet<&str> = expected.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(versions, BTreeSet::from(["12.1", "14.1", "16.0"]));
        assert!(
            report.by_version["16.1"] * 2 > report.eas_partnerships,
            "{report:?}"
        );
        // Unparsable and missing versions are reported, not dropped.
        let verdict = |g: Uuid| {
            report
                .rows
                .iter()
                .find(|r| r.guid == Some(g))
                .map(|r| r.verdict)
        };
        assert_eq!(verdict(odd), Some(ReadinessVerdict::Unparsable));
        assert_eq!(verdict(blank), Some(ReadinessVerdict::Missing));
        assert_eq!(report.rows.len(), expected.len() + 2);
        // REST (Outlook) partnerships are left out and counted; every row has its details.
        let rest = tenant
            .devices()
            .filter(|d| d.client_type == "REST" || d.client_type == "Outlook")
            .count();
        assert_eq!(report.rest_excluded, rest);
        assert_eq!(
            report.eas_partnerships,
            eas.len(),
            "every EAS partnership is judged"
        );
        for row in &report.rows {
            let d = tenant.device(&row.guid.unwrap()).unwrap();
            assert_eq!(d.client_type, "EAS");
            assert_eq!(row.identity, tenant.device_identity(d));
            assert_eq!(
                row.mailbox.as_deref(),
                Some(tenant.mailboxes()[d.mailbox].name.as_str())
            );
            assert_eq!(row.device_model.as_deref(), Some(d.device_model.as_str()));
            assert_eq!(row.device_os, d.device_os);
            assert_eq!(row.last_success_sync, d.last_success_sync);
        }
        assert_eq!(report.by_model.values().sum::<usize>(), report.rows.len());
        // A lower minimum lists fewer.
        let older = eas_readiness(&fake, EasVersion::new(14, 1)).await.unwrap();
        assert!(
            older
                .below()
                .all(|r| r.client_version.as_deref() == Some("12.1"))
        );
    }

    /// What the prediction needs, read from the fake before a change.
    async fn read_state(
        fake: &FakeExchangeClient,
    ) -> (
        Vec<exchange_activesync::models::MobileDevice>,
        HashMap<String, MailboxAccess>,
    ) {
        let devices = fake
            .get_mobile_device(GetMobileDevice::new())
            .await
            .unwrap()
            .items;
        let mut cas = HashMap::new();
        for m in fake
            .get_cas_mailbox(GetCasMailbox::new())
            .await
            .unwrap()
            .items
        {
            cas.insert(
                m.name.clone().unwrap().to_lowercase(),
                MailboxAccess::from_cas(&m),
            );
        }
        (devices, cas)
    }

    /// Make the tenant more varied: a user with ActiveSync disabled, a device blocked and one
    /// allowed by a personal exemption (the latter of a type a rule blocks).
    fn personal_settings(fake: &FakeExchangeClient) -> (usize, Uuid, Uuid) {
        let mut t = fake.tenant_mut();
        let pick = |t: &Tenant, ty: &str, skip: usize| {
            t.devices()
                .filter(|d| d.device_type == ty && d.access_state != "DeviceDiscovery")
                .nth(skip)
                .map(|d| {
                    (
                        d.guid,
                        d.device_id.clone(),
                        t.mailboxes()[d.mailbox].name.clone(),
                    )
                })
                .unwrap()
        };
        let (blocked, blocked_id, blocked_mb) = pick(&t, "iPhone", 0);
        let (allowed, allowed_id, allowed_mb) = pick(&t, "SAMSUNGSMG991B", 0);
        let disabled_mb = t
            .mailboxes()
            .iter()
            .map(|m| m.name.clone())
            .find(|m| {
                *m != blocked_mb
                    && *m != allowed_mb
                    && t.devices().any(|d| t.mailboxes()[d.mailbox].name == *m)
            })
            .unwrap();
        t.mailbox_mut(&blocked_mb).unwrap().cas.blocked_device_ids = vec![blocked_id];
        t.mailbox_mut(&allowed_mb).unwrap().cas.allowed_device_ids =
            vec![allowed_id.to_lowercase()];
        t.mailbox_mut(&disabled_mb).unwrap().cas.active_sync_enabled = false;
        for (g, state) in [(blocked, "Blocked"), (allowed, "Allowed")] {
            let mut d = t.device_mut(&g).unwrap();
            d.access_state = state.into();
            d.access_state_reason = "Individual".into();
            d.access_control_rule = None;
        }
        let disabled = t
            .devices()
            .filter(|d| t.mailboxes()[d.mailbox].name == disabled_mb)
            .count();
        (disabled, blocked, allowed)
    }

    /// Every partnership's state in the fake after the change is what the library predicted
    /// for it (one of the two predictions where it is not certain); the untouched ones keep
    /// their state.
    fn compare(
        before: &[exchange_activesync::models::MobileDevice],
        cas: &HashMap<String, MailboxAccess>,
        after_policy: &exchange_activesync::connector::AccessPolicy,
        fake: &FakeExchangeClient,
    ) -> usize {
        let tenant = fake.tenant();
        let mut compared = 0;
        for d in before {
            let now = &tenant.device(&d.guid.unwrap()).unwrap().access_state;
            let mailbox = exchange_activesync::connector::device_mailbox(d).unwrap();
            match evaluate_access(d, cas.get(&mailbox.to_lowercase()), after_policy) {
                Evaluation::Untouched(_) => {
                    assert_eq!(
                        Some(now.as_str()),
                        d.device_access_state.as_ref().map(|s| s.as_str())
                    );
                }
                Evaluation::Decided {
                    decision,
                    alternative,
                    notes,
                } => {
                    let ok = decision.state.as_str() == now
                        || (!notes.is_empty()
                            && alternative
                                .as_ref()
                                .is_some_and(|a| a.state.as_str() == now));
                    assert!(
                        ok,
                        "{:?}: predicted {decision} ({alternative:?}, {notes:?}), the simulator gave {now}",
                        d.identity
                    );
                    compared += 1;
                }
                other => panic!("a new kind of evaluation: {other:?}"),
            }
        }
        compared
    }

    #[tokio::test]
    async fn whatif_block_by_default_lists_the_default_governed_and_matches_the_simulator() {
        let fake = fake(12);
        let (disabled, blocked, allowed) = personal_settings(&fake);
        let (devices, cas) = read_state(&fake).await;
        fake.clear_calls();
        let changes = AccessChanges::new().default_access_level(DeviceAccessLevel::Block);
        let report = access_whatif(&fake, changes).await.unwrap();
        only_reads(&fake);
        assert_eq!(report.active_sync_disabled, disabled);
        assert!(disabled > 0);
        let listed: HashMap<Uuid, &exchange_activesync::connector::PredictedChange> = report
            .changed
            .iter()
            .map(|c| (c.guid.unwrap(), c))
            .collect();
        let tenant = fake.snapshot();
        for d in tenant.devices() {
            let enabled = tenant.mailboxes()[d.mailbox].cas.active_sync_enabled;
            match (d.access_state.as_str(), d.access_state_reason.as_str()) {
                (state, "Global") if enabled && state != "Blocked" => {
                    let c = listed
                        .get(&d.guid)
                        .unwrap_or_else(|| panic!("{d:?} not listed"));
                    assert_eq!(c.predicted_state, DeviceAccessState::Blocked);
                }
                (_, "DeviceRule" | "Individual") => {
                    assert!(
                        !listed.contains_key(&d.guid),
                        "{d:?} is governed by a rule or a list"
                    );
                }
                _ if !enabled => assert!(!listed.contains_key(&d.guid)),
                _ => {}
            }
        }
        assert!(!listed.contains_key(&blocked) && !listed.contains_key(&allowed));
        // Only devices in discovery (and rules the partnership cannot settle) are not certain.
        for c in report.changed.iter().filter(|c| !c.certain) {
            assert!(!c.notes.is_empty(), "{c:?}");
        }
        // Make the change in the simulated tenant and compare.
        fake.set_active_sync_organization_settings(
            SetActiveSyncOrganizationSettings::new().default_access_level(DeviceAccessLevel::Block),
        )
        .await
        .unwrap();
        let compared = compare(&devices, &cas, &report.after, &fake);
        assert!(compared > 100, "{compared}");
        let after = fake.tenant();
        for c in &report.changed {
            let now = &after.device(&c.guid.unwrap()).unwrap().access_state;
            if c.certain {
                assert_eq!(now, c.predicted_state.as_str(), "{c:?}");
            }
        }
    }

    #[tokio::test]
    async fn whatif_rules_added_and_removed_match_what_the_simulator_does() {
        let fake = fake(13);
        personal_settings(&fake);
        let (devices, cas) = read_state(&fake).await;
        fake.clear_calls();
        // Case-insensitive matching: the generated Pixels are of type `Android`.
        let changes = AccessChanges::new()
            .add_rule(RuleSpec::parse("DeviceType=android:Block").unwrap())
            .add_rule(RuleSpec::parse("DeviceModel=surface laptop:Quarantine").unwrap())
            .remove_rule("iPhone15C2 (DeviceModel)")
            .default_access_level(DeviceAccessLevel::Quarantine);
        let report = access_whatif(&fake, changes).await.unwrap();
        only_reads(&fake);
        assert!(
            report
                .changed
                .iter()
                .any(|c| c.predicted_state == DeviceAccessState::Blocked
                    && c.predicted_rule.as_deref() == Some("android (DeviceType)"))
        );
        fake.new_active_sync_device_access_rule(
            NewActiveSyncDeviceAccessRule::new(
                "android",
                DeviceAccessCharacteristic::DeviceType,
                DeviceAccessLevel::Block,
            )
            .unwrap(),
        )
        .await
        .unwrap();
        fake.new_active_sync_device_access_rule(
            NewActiveSyncDeviceAccessRule::new(
                "surface laptop",
                DeviceAccessCharacteristic::DeviceModel,
                DeviceAccessLevel::Quarantine,
            )
            .unwrap(),
        )
        .await
        .unwrap();
        fake.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(
            AccessRuleIdentity::new("iPhone15C2 (DeviceModel)").unwrap(),
        ))
        .await
        .unwrap();
        fake.set_active_sync_organization_settings(
            SetActiveSyncOrganizationSettings::new()
                .default_access_level(DeviceAccessLevel::Quarantine),
        )
        .await
        .unwrap();
        assert!(compare(&devices, &cas, &report.after, &fake) > 100);
        let after = fake.tenant();
        let mut certain = 0;
        for c in report.changed.iter().filter(|c| c.certain) {
            let now = &after.device(&c.guid.unwrap()).unwrap().access_state;
            assert_eq!(now, c.predicted_state.as_str(), "{c:?}");
            certain += 1;
        }
        assert!(certain > 10, "{report:?}");
    }

    #[tokio::test]
    async fn whatif_says_what_it_cannot_settle_and_refuses_an_unknown_rule() {
        let fake = fake(14);
        // The XMSWLHeader is never recorded: every partnership a Block rule on it could
        // reach is listed, not certain, with the rule named.
        let report = access_whatif(
            &fake,
            AccessChanges::new().add_rule(RuleSpec::new(
                DeviceAccessCharacteristic::XMSWLHeader,
                "contoso-app",
                DeviceAccessLevel::Block,
            )),
        )
        .await
        .unwrap();
        assert!(!report.changed.is_empty());
        for c in &report.changed {
            assert!(!c.certain, "{c:?}");
            assert_eq!(c.alternative_state, Some(DeviceAccessState::Blocked));
            assert!(
                c.notes
                    .iter()
                    .any(|n| n.contains("contoso-app (XMSWLHeader)")),
                "{c:?}"
            );
        }
        // A UserAgent rule settles the partnerships that record one, not the others.
        let with_agent = fake
            .tenant()
            .devices()
            .filter(|d| d.device_user_agent.is_some())
            .count();
        let report = access_whatif(
            &fake,
            AccessChanges::new()
                .add_rule(RuleSpec::parse("UserAgent=Outlook-iOS-Android/1.0:Block").unwrap()),
        )
        .await
        .unwrap();
        assert!(with_agent > 0);
        let tenant = fake.snapshot();
        for c in &report.changed {
            let d = tenant.device(&c.guid.unwrap()).unwrap();
            assert_eq!(
                c.certain,
                d.device_user_agent.is_some() && d.access_state != "DeviceDiscovery",
                "{c:?}"
            );
        }
        assert!(
            report
                .changed
                .iter()
                .any(|c| c.certain && c.predicted_state == DeviceAccessState::Blocked)
        );
        // Removing a rule that does not exist: an error, after the reads only.
        fake.clear_calls();
        let err = access_whatif(
            &fake,
            AccessChanges::new().remove_rule("Nokia (DeviceType)"),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("Nokia (DeviceType)"), "{err}");
        only_reads(&fake);
        // The rule syntax.
        for bad in [
            "DeviceType=Android",
            "DeviceType:Block",
            "Colour=Red:Block",
            "DeviceType=:Block",
            "DeviceType=Android:Deny",
        ] {
            assert!(RuleSpec::parse(bad).is_err(), "{bad}");
        }
        let r = RuleSpec::parse("UserAgent=Agent/1.0 (x:y):quarantine").unwrap();
        assert_eq!(r.query_string, "Agent/1.0 (x:y)");
        assert_eq!(r.access_level, DeviceAccessLevel::Quarantine);
    }
}
