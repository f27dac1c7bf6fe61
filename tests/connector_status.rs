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
