//! One behaviour suite, two backends.
//!
//! Every scenario below is written once against `&dyn ExchangeClient` and runs twice, on the
//! same deterministic tenant (same seed):
//!
//! * `fake`: [`FakeExchangeClient`], in process;
//! * `http`: [`HttpExchangeClient`] talking to the loopback [`Simulator`] over real HTTP.
//!
//! A scenario asserts its expectations on each backend and returns what it observed; the two
//! observations must be equal, and so must the two tenants afterwards (every object the Get
//! cmdlets list, plus every device's wipe state). The per-backend [`Backend`] adapter only
//! does setup, inspection and fault scripting.
//!
//! Throttling is where the backends legitimately differ: the HTTP client honours
//! `Retry-After` and retries on its own, so a single 429 is invisible to its caller, while the
//! fake hands the throttled error to the caller. The throttling scenario therefore asks the
//! adapter whether the backend retries by itself; without built-in retries it expects the
//! throttled error (with its `Retry-After`), waits that long and calls again. Either way the
//! backend must have been asked exactly twice and both end with the same data.

use exchange_activesync::ExchangeClientExt;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::*;
use exchange_activesync::models::*;
use exchange_activesync::types::*;
use exchange_activesync::{
    Environment, Error, ExchangeClient, HttpExchangeClient, RetryPolicy, TimeoutConfig,
};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, Fault, FaultStep, FaultTimes, RbacProfile, Simulator,
    SimulatorConfig, SimulatorHandle, Tenant, TenantBuilder, Times, tenant_json,
};
use futures::StreamExt;
use uuid::Uuid;

/// The `Retry-After` scripted for the throttling scenario (seconds).
const RETRY_AFTER_SECS: f64 = 0.05;

// ---- backends ------------------------------------------------------------------------------

enum Kind {
    Fake(Arc<FakeExchangeClient>),
    Http(SimulatorHandle),
}

/// A backend under test: the client the scenarios use, plus setup, inspection and faults.
struct Backend {
    name: &'static str,
    client: Arc<dyn ExchangeClient>,
    kind: Kind,
}

impl Backend {
    fn fake(tenant: Tenant) -> Backend {
        let fake = Arc::new(FakeExchangeClient::new(tenant));
        Backend {
            name: "fake",
            client: fake.clone(),
            kind: Kind::Fake(fake),
        }
    }

    async fn http(tenant: Tenant) -> Backend {
        let sim = Simulator::start(SimulatorConfig::new(tenant))
            .await
            .expect("simulator starts");
        let client = HttpExchangeClient::builder()
            .tenant(sim.tenant_id())
            .environment(Environment::custom(sim.base_url().as_str()).expect("loopback URL"))
            .token_provider(Arc::new(StaticToken::new(sim.token())))
            .timeouts(TimeoutConfig::none())
            .retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
                    .with_jitter(0.0),
            )
            .build()
            .expect("client builds");
        Backend {
            name: "http",
            client: Arc::new(client),
            kind: Kind::Http(sim),
        }
    }

    /// The client, as every scenario sees it.
    fn client(&self) -> &dyn ExchangeClient {
        self.client.as_ref()
    }

    /// A copy of the backend's tenant.
    fn snapshot(&self) -> Tenant {
        match &self.kind {
            Kind::Fake(f) => f.snapshot(),
            Kind::Http(s) => s.tenant().clone(),
        }
    }

    /// The next call of `cmdlet` is answered 429 with `Retry-After: {secs}`.
    fn throttle_once(&self, cmdlet: &str, secs: f64) {
        let failure = Failure::throttled(Some(secs));
        match &self.kind {
            Kind::Fake(f) => f.fail(Some(cmdlet), failure, Times::Once),
            Kind::Http(s) => s.push_fault(FaultStep::new(
                Some(cmdlet),
                Fault::Fail(failure),
                FaultTimes::Once,
            )),
        }
    }

    /// Whether the backend retries a throttled call by itself.
    fn retries_throttling(&self) -> bool {
        matches!(self.kind, Kind::Http(_))
    }

    /// Requests (pages and retries) the backend has received so far.
    fn requests(&self) -> u64 {
        match &self.kind {
            Kind::Fake(f) => f.calls().len() as u64,
            Kind::Http(s) => s.request_count(),
        }
    }
}

/// Everything observable about a tenant: what the Get cmdlets list, and each device's wipe
/// state (which the listing does not show).
fn state(tenant: &Tenant) -> (String, Vec<String>) {
    let wipes = tenant
        .devices()
        .map(|d| format!("{} {:?}", d.guid, d.wipe))
        .collect();
    let json = tenant_json(&RwLock::new(tenant.clone())).expect("tenant lists");
    (String::from_utf8(json).expect("UTF-8"), wipes)
}

fn tenant(seed: u64, devices: usize, profile: RbacProfile) -> Tenant {
    TenantBuilder::new()
        .seed(seed)
        .mailboxes(40)
        .devices(devices)
        .rbac_profile(profile)
        .build()
}

/// Start both backends on the same generated tenant and check that they start equal.
async fn backends(seed: u64, devices: usize, profile: RbacProfile) -> (Backend, Backend) {
    let fake = Backend::fake(tenant(seed, devices, profile));
    let http = Backend::http(tenant(seed, devices, profile)).await;
    assert!(
        state(&fake.snapshot()) == state(&http.snapshot()),
        "the same seed must give the same tenant"
    );
    (fake, http)
}

/// Run `$scenario` on both backends; each run asserts its own expectations, then the two
/// observations and the two final tenants must agree.
macro_rules! on_both_backends {
    ($(#[$meta:meta])* $test:ident, $scenario:ident, seed = $seed:expr, devices = $devices:expr, rbac = $profile:expr) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let (fake, http) = backends($seed, $devices, $profile).await;
            let from_fake = $scenario(&fake).await;
            let from_http = $scenario(&http).await;
            assert_eq!(
                from_fake, from_http,
                "{}: the fake and the simulator disagree",
                stringify!($scenario)
            );
            assert!(
                state(&fake.snapshot()) == state(&http.snapshot()),
                "{}: the tenants differ after the scenario",
                stringify!($scenario)
            );
        }
    };
}

// ---- helpers ---------------------------------------------------------------------------------

fn messages(warnings: &[exchange_activesync::protocol::Warning]) -> Vec<String> {
    warnings.iter().map(|w| w.message.clone()).collect()
}

/// What a caller can see of an error: status, exception type, message and predicates (not the
/// request ids, which differ on every call).
#[derive(Debug, PartialEq)]
struct ErrorView {
    status: Option<u16>,
    exception_type: Option<String>,
    message: String,
    cmdlet: Option<String>,
    not_found: bool,
    already_exists: bool,
    permission_denied: bool,
    retryable: bool,
}

fn view(e: &Error) -> ErrorView {
    let api = e.api();
    ErrorView {
        status: e.status(),
        exception_type: api.and_then(|a| a.exception_type.clone()),
        message: api
            .map(|a| a.message.clone())
            .unwrap_or_else(|| e.to_string()),
        cmdlet: api.and_then(|a| a.cmdlet.clone()),
        not_found: e.is_not_found(),
        already_exists: e.is_already_exists(),
        permission_denied: e.is_permission_denied(),
        retryable: e.is_retryable(),
    }
}

fn policy(name: &str) -> PolicyIdentity {
    PolicyIdentity::new(name).expect("policy identity")
}

fn rule(name: &str) -> AccessRuleIdentity {
    AccessRuleIdentity::new(name).expect("rule identity")
}

fn device(guid: Uuid) -> MobileDeviceIdentity {
    MobileDeviceIdentity::from_guid(guid)
}

fn expect_err<T: std::fmt::Debug>(b: &Backend, what: &str, r: Result<T, Error>) -> Error {
    match r {
        Ok(v) => panic!("{}: {what} should fail, got {v:?}", b.name),
        Err(e) => e,
    }
}

/// A device of the tenant that a full wipe applies to (EAS, remote wipe supported, no wipe
/// under way), and one more for the account-only wipe.
fn wipe_targets(b: &Backend) -> (Uuid, Uuid) {
    let t = b.snapshot();
    let mut eas = t
        .devices()
        .filter(|d| d.client_type == "EAS" && d.remote_wipe_supported && !d.wipe.is_pending())
        .filter(|d| d.wipe.status() == "DeviceOk")
        .map(|d| d.guid);
    let full = eas.next().expect("an EAS device");
    let account = eas.next().expect("a second EAS device");
    (full, account)
}

// ---- scenarios -------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Lists {
    devices: Vec<MobileDevice>,
    policies: Vec<MobileDeviceMailboxPolicy>,
    rules: Vec<ActiveSyncDeviceAccessRule>,
    classes: Vec<ActiveSyncDeviceClass>,
    recipients: Vec<Recipient>,
    org: ActiveSyncOrganizationSettings,
    one_device: Vec<MobileDevice>,
    mailbox_stats: Vec<MobileDeviceStatistics>,
}

async fn list(b: &Backend) -> Lists {
    let c = b.client();
    let t = b.snapshot();
    let devices = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    assert_eq!(devices.items.len(), t.device_count(), "{}", b.name);
    let listed: BTreeSet<Uuid> = devices.items.iter().filter_map(|d| d.guid).collect();
    let expected: BTreeSet<Uuid> = t.devices().map(|d| d.guid).collect();
    assert_eq!(listed, expected, "{}", b.name);
    assert!(devices.warnings.is_empty() && !devices.truncated);

    let policies = c
        .get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new())
        .await
        .unwrap();
    let names: Vec<_> = policies
        .items
        .iter()
        .filter_map(|p| p.name.clone())
        .collect();
    let expected: Vec<_> = t.policies().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, expected, "{}", b.name);
    assert_eq!(
        policies
            .items
            .iter()
            .filter(|p| p.is_default == Some(true))
            .count(),
        1,
        "exactly one default policy"
    );

    let rules = c
        .get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        .await
        .unwrap();
    assert_eq!(rules.items.len(), t.access_rules().len());
    assert!(rules.items.iter().any(|r| {
        r.query_string.as_deref() == Some("SAMSUNGSMG991B")
            && r.access_level == Some(DeviceAccessLevel::Block)
    }));

    let classes = c
        .get_active_sync_device_class(GetActiveSyncDeviceClass::new())
        .await
        .unwrap();
    assert!(!classes.items.is_empty());
    let types: BTreeSet<_> = t.devices().map(|d| d.device_type.clone()).collect();
    assert!(
        classes
            .items
            .iter()
            .all(|k| k.device_type.as_ref().is_some_and(|ty| types.contains(ty))),
        "every class is the type of some device"
    );

    let recipients = c.get_recipient(GetRecipient::new()).await.unwrap();
    assert_eq!(recipients.items.len(), t.mailboxes().len());

    let org = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap()
        .value;
    assert_eq!(org.name.as_deref(), Some("Mobile Mailbox Settings"));
    assert_eq!(
        org.default_access_level.as_ref().map(|l| l.as_str()),
        Some(t.org_settings().default_access_level.as_str())
    );

    // One device by identity, and the statistics of its mailbox (routed by SMTP address).
    let first = t.devices().next().expect("a device");
    let one_device = c
        .get_mobile_device(GetMobileDevice::for_device(device(first.guid)))
        .await
        .unwrap()
        .items;
    assert_eq!(one_device.len(), 1);
    assert_eq!(one_device[0].guid, Some(first.guid));
    let smtp = t.mailboxes()[first.mailbox].primary_smtp_address.clone();
    let mailbox_stats = c
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(
            MailboxIdentity::new(&smtp).unwrap(),
        ))
        .await
        .unwrap()
        .items;
    let owned = t.devices().filter(|d| d.mailbox == first.mailbox).count();
    assert_eq!(mailbox_stats.len(), owned, "{}", b.name);

    Lists {
        devices: devices.items,
        policies: policies.items,
        rules: rules.items,
        classes: classes.items,
        recipients: recipients.items,
        org,
        one_device,
        mailbox_stats,
    }
}
on_both_backends!(
    list_everything,
    list,
    seed = 101,
    devices = 150,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Created {
    policy: Option<MobileDeviceMailboxPolicy>,
    rule: Option<ActiveSyncDeviceAccessRule>,
    read_back: Vec<MobileDeviceMailboxPolicy>,
    errors: Vec<ErrorView>,
}

async fn create(b: &Backend) -> Created {
    let c = b.client();
    let policy_created = c
        .new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("Kiosk Tablets")
                .unwrap()
                .password_enabled(true)
                .min_password_length(8)
                .max_inactivity_time_lock(ExchangeTimeSpan::from_minutes(15)),
        )
        .await
        .unwrap();
    let p = policy_created.value.clone().expect("the created policy");
    assert_eq!(p.name.as_deref(), Some("Kiosk Tablets"));
    assert_eq!(p.password_enabled, Some(true));
    assert_eq!(p.min_password_length, Some(8));
    assert_eq!(p.is_default, Some(false));

    let read_back = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(policy("Kiosk Tablets")),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(read_back.len(), 1);
    assert_eq!(read_back[0].guid, p.guid, "{}", b.name);

    let request = NewActiveSyncDeviceAccessRule::new(
        "ContosoPhone",
        DeviceAccessCharacteristic::DeviceModel,
        DeviceAccessLevel::Quarantine,
    )
    .unwrap();
    let expected_name = request.expected_identity().unwrap();
    let rule_created = c.new_active_sync_device_access_rule(request).await.unwrap();
    let r = rule_created.value.clone().expect("the created rule");
    assert_eq!(r.name.as_deref(), Some(expected_name.as_str()));
    assert_eq!(r.access_level, Some(DeviceAccessLevel::Quarantine));

    // Duplicates (the policy name compared case-insensitively) are refused.
    let dup_policy = expect_err(
        b,
        "a duplicate policy",
        c.new_mobile_device_mailbox_policy(
            NewMobileDeviceMailboxPolicy::new("kiosk tablets").unwrap(),
        )
        .await,
    );
    assert!(dup_policy.is_already_exists(), "{}: {dup_policy}", b.name);
    let dup_rule = expect_err(
        b,
        "a duplicate rule",
        c.new_active_sync_device_access_rule(
            NewActiveSyncDeviceAccessRule::new(
                "ContosoPhone",
                DeviceAccessCharacteristic::DeviceModel,
                DeviceAccessLevel::Block,
            )
            .unwrap(),
        )
        .await,
    );
    assert!(dup_rule.is_already_exists(), "{}: {dup_rule}", b.name);

    Created {
        policy: policy_created.value,
        rule: rule_created.value,
        read_back,
        errors: vec![view(&dup_policy), view(&dup_rule)],
    }
}
on_both_backends!(
    create_policy_and_rule,
    create,
    seed = 102,
    devices = 10,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Updated {
    policy: MobileDeviceMailboxPolicy,
    first_warnings: Vec<String>,
    noop_warnings: Vec<String>,
    org: ActiveSyncOrganizationSettings,
    rule: ActiveSyncDeviceAccessRule,
}

async fn update(b: &Backend) -> Updated {
    let c = b.client();
    let set = SetMobileDeviceMailboxPolicy::new(policy("Default"))
        .password_enabled(true)
        .password_history(5)
        .max_password_failed_attempts(Unlimited::Limited(8))
        .allow_bluetooth(BluetoothType::HandsfreeOnly);
    let first = c
        .set_mobile_device_mailbox_policy(set.clone())
        .await
        .unwrap();
    assert!(
        first.warnings.is_empty(),
        "{}: {:?}",
        b.name,
        first.warnings
    );
    let got = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(PolicyIdentity::default_policy()),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(got.len(), 1);
    let p = got.into_iter().next().unwrap();
    assert_eq!(p.password_enabled, Some(true));
    assert_eq!(p.password_history, Some(5));
    assert_eq!(p.max_password_failed_attempts, Some(Unlimited::Limited(8)));
    assert_eq!(p.allow_bluetooth, Some(BluetoothType::HandsfreeOnly));

    // The same Set again changes nothing: the service says so in a warning.
    let noop = c.set_mobile_device_mailbox_policy(set).await.unwrap();
    assert_eq!(noop.warnings.len(), 1, "{}: {:?}", b.name, noop.warnings);

    c.set_active_sync_organization_settings(
        SetActiveSyncOrganizationSettings::new()
            .default_access_level(DeviceAccessLevel::Quarantine)
            .admin_mail_recipients(ListChange::replace(["mdm-admins@contoso.com"]))
            .user_mail_insert("Your device waits for approval."),
    )
    .await
    .unwrap();
    let org = c
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await
        .unwrap()
        .value;
    assert_eq!(
        org.default_access_level,
        Some(DeviceAccessLevel::Quarantine)
    );
    assert_eq!(
        org.admin_mail_recipients.as_deref(),
        Some(&["mdm-admins@contoso.com".to_string()][..])
    );
    assert_eq!(
        org.user_mail_insert.as_deref(),
        Some("Your device waits for approval.")
    );

    c.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
        rule("SAMSUNGSMG991B (DeviceType)"),
        DeviceAccessLevel::Allow,
    ))
    .await
    .unwrap();
    let rules = c
        .get_active_sync_device_access_rule(
            GetActiveSyncDeviceAccessRule::new().identity(rule("SAMSUNGSMG991B (DeviceType)")),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].access_level, Some(DeviceAccessLevel::Allow));

    Updated {
        policy: p,
        first_warnings: messages(&first.warnings),
        noop_warnings: messages(&noop.warnings),
        org,
        rule: rules.into_iter().next().unwrap(),
    }
}
on_both_backends!(
    update_then_read_back,
    update,
    seed = 103,
    devices = 10,
    rbac = RbacProfile::Full
);

async fn delete(b: &Backend) -> Vec<(&'static str, ErrorView)> {
    let c = b.client();
    let mut gone = Vec::new();

    c.new_mobile_device_mailbox_policy(NewMobileDeviceMailboxPolicy::new("Short-lived").unwrap())
        .await
        .unwrap();
    c.remove_mobile_device_mailbox_policy(RemoveMobileDeviceMailboxPolicy::new(policy(
        "Short-lived",
    )))
    .await
    .unwrap();
    let e = expect_err(
        b,
        "Get of a removed policy",
        c.get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(policy("Short-lived")),
        )
        .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("policy", view(&e)));

    c.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(rule(
        "iPhone15C2 (DeviceModel)",
    )))
    .await
    .unwrap();
    let e = expect_err(
        b,
        "Get of a removed rule",
        c.get_active_sync_device_access_rule(
            GetActiveSyncDeviceAccessRule::new().identity(rule("iPhone15C2 (DeviceModel)")),
        )
        .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("rule", view(&e)));

    let before = b.snapshot().device_count();
    let victim = b.snapshot().devices().next().expect("a device").guid;
    c.remove_mobile_device(RemoveMobileDevice::new(device(victim)))
        .await
        .unwrap();
    assert_eq!(b.snapshot().device_count(), before - 1);
    let e = expect_err(
        b,
        "Get of a removed device",
        c.get_mobile_device(GetMobileDevice::for_device(device(victim)))
            .await,
    );
    assert!(e.is_not_found(), "{}: {e}", b.name);
    gone.push(("device", view(&e)));
    gone
}
on_both_backends!(
    delete_then_not_found,
    delete,
    seed = 104,
    devices = 12,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Wiped {
    full: MobileDeviceStatistics,
    account_only: MobileDeviceStatistics,
    cancelled: MobileDeviceStatistics,
    second_cancel_warnings: Vec<String>,
}

async fn wipe(b: &Backend) -> Wiped {
    let c = b.client();
    let (full_guid, account_guid) = wipe_targets(b);
    let stats = |guid: Uuid| async move {
        let l = c
            .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(device(guid)))
            .await
            .unwrap();
        assert_eq!(l.items.len(), 1);
        l.items.into_iter().next().unwrap()
    };
    let caller = b.snapshot().caller().to_string();

    // Full wipe: pending, with the request time and the requestor.
    let out = c
        .clear_mobile_device(
            ClearMobileDevice::full_wipe(device(full_guid)).notify(["helpdesk@contoso.com"]),
        )
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{}: {:?}", b.name, out.warnings);
    let requested_at = b
        .snapshot()
        .device(&full_guid)
        .unwrap()
        .wipe
        .request
        .expect("a wipe request time");
    let full = stats(full_guid).await;
    assert_eq!(full.status, Some(DeviceRemoteWipeStatus::DeviceWipePending));
    assert_eq!(full.device_wipe_request_time, Some(requested_at));
    assert_eq!(full.device_wipe_sent_time, None);
    assert_eq!(
        full.last_device_wipe_requestor.as_deref(),
        Some(caller.as_str())
    );

    // Account-only wipe.
    c.clear_mobile_device(ClearMobileDevice::account_only(device(account_guid)))
        .await
        .unwrap();
    let account_only = stats(account_guid).await;
    assert_eq!(
        account_only.status,
        Some(DeviceRemoteWipeStatus::AccountOnlyDeviceWipePending)
    );
    assert!(account_only.account_only_device_wipe_request_time.is_some());
    assert_eq!(account_only.device_wipe_request_time, None);

    // Cancel the full wipe; a second cancel has nothing to cancel and only warns.
    let out = c
        .clear_mobile_device(ClearMobileDevice::cancel(device(full_guid)))
        .await
        .unwrap();
    assert!(out.warnings.is_empty(), "{}: {:?}", b.name, out.warnings);
    let cancelled = stats(full_guid).await;
    assert_eq!(cancelled.status, Some(DeviceRemoteWipeStatus::DeviceOk));
    let again = c
        .clear_mobile_device(ClearMobileDevice::cancel(device(full_guid)))
        .await
        .unwrap();
    assert_eq!(again.warnings.len(), 1, "{}: {:?}", b.name, again.warnings);

    Wiped {
        full,
        account_only,
        cancelled,
        second_cancel_warnings: messages(&again.warnings),
    }
}
on_both_backends!(
    wipe_account_only_and_cancel,
    wipe,
    seed = 105,
    devices = 60,
    rbac = RbacProfile::Full
);

async fn not_found(b: &Backend) -> Vec<(&'static str, ErrorView)> {
    let c = b.client();
    let unknown = device(Uuid::from_u128(0x0bad_0000_0000_4000_8000_0000_0000_0001));
    let results: Vec<(&'static str, Result<Outcome, Error>)> = vec![
        (
            "Set-MobileDeviceMailboxPolicy",
            c.set_mobile_device_mailbox_policy(
                SetMobileDeviceMailboxPolicy::new(policy("No such policy")).password_enabled(true),
            )
            .await,
        ),
        (
            "Remove-MobileDeviceMailboxPolicy",
            c.remove_mobile_device_mailbox_policy(RemoveMobileDeviceMailboxPolicy::new(policy(
                "No such policy",
            )))
            .await,
        ),
        (
            "Set-ActiveSyncDeviceAccessRule",
            c.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(
                rule("Nothing (DeviceModel)"),
                DeviceAccessLevel::Allow,
            ))
            .await,
        ),
        (
            "Remove-ActiveSyncDeviceAccessRule",
            c.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(rule(
                "Nothing (DeviceModel)",
            )))
            .await,
        ),
        (
            "Clear-MobileDevice",
            c.clear_mobile_device(ClearMobileDevice::full_wipe(unknown.clone()))
                .await,
        ),
        (
            "Remove-MobileDevice",
            c.remove_mobile_device(RemoveMobileDevice::new(unknown.clone()))
                .await,
        ),
    ];
    results
        .into_iter()
        .map(|(cmdlet, r)| {
            let e = expect_err(b, cmdlet, r);
            assert!(e.is_not_found(), "{} {cmdlet}: {e}", b.name);
            assert_eq!(e.api().and_then(|a| a.cmdlet.as_deref()), Some(cmdlet));
            (cmdlet, view(&e))
        })
        .collect()
}
on_both_backends!(
    unknown_identities_are_not_found,
    not_found,
    seed = 106,
    devices = 5,
    rbac = RbacProfile::Full
);

async fn permission_denied(b: &Backend) -> (usize, Vec<(&'static str, ErrorView)>) {
    let c = b.client();
    // Reads work with a read-only role.
    let devices = c.get_mobile_device(GetMobileDevice::new()).await.unwrap();
    assert_eq!(devices.items.len(), 8);
    let before = b.requests();
    let denied: Vec<(&'static str, Result<Outcome, Error>)> = vec![
        (
            "Set-MobileDeviceMailboxPolicy",
            c.set_mobile_device_mailbox_policy(
                SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy())
                    .password_enabled(true),
            )
            .await,
        ),
        (
            "Set-ActiveSyncOrganizationSettings",
            c.set_active_sync_organization_settings(
                SetActiveSyncOrganizationSettings::new()
                    .default_access_level(DeviceAccessLevel::Block),
            )
            .await,
        ),
    ];
    let out = denied
        .into_iter()
        .map(|(cmdlet, r)| {
            let e = expect_err(b, cmdlet, r);
            assert!(e.is_permission_denied(), "{} {cmdlet}: {e}", b.name);
            assert!(!e.is_retryable(), "{} {cmdlet}: a 403 is final", b.name);
            (cmdlet, view(&e))
        })
        .collect();
    assert_eq!(
        b.requests() - before,
        2,
        "{}: one request per call, no retry",
        b.name
    );
    (devices.items.len(), out)
}
on_both_backends!(
    read_only_role_cannot_set,
    permission_denied,
    seed = 107,
    devices = 8,
    rbac = RbacProfile::ReadOnly
);

#[derive(Debug, PartialEq)]
struct Throttled {
    devices: Vec<MobileDevice>,
    set_warnings: Vec<String>,
    policy: Vec<MobileDeviceMailboxPolicy>,
}

/// Run `call` once after scripting one 429 for `cmdlet`: a backend that retries by itself
/// must succeed at once; one that does not must return the throttled error with its
/// `Retry-After`, and succeed when called again after that pause. Either way exactly two
/// requests reach the backend.
async fn through_one_throttle<T, F, Fut>(b: &Backend, cmdlet: &str, call: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
    T: std::fmt::Debug,
{
    b.throttle_once(cmdlet, RETRY_AFTER_SECS);
    let before = b.requests();
    let value = if b.retries_throttling() {
        call()
            .await
            .unwrap_or_else(|e| panic!("{}: {cmdlet} should be retried: {e}", b.name))
    } else {
        let e = expect_err(b, cmdlet, call().await);
        assert!(e.is_throttled(), "{}: {e}", b.name);
        assert_eq!(e.status(), Some(429));
        let pause = e.retry_after().expect("Retry-After");
        assert_eq!(pause, Duration::from_secs_f64(RETRY_AFTER_SECS));
        tokio::time::sleep(pause).await;
        call().await.unwrap()
    };
    assert_eq!(b.requests() - before, 2, "{}: {cmdlet}", b.name);
    value
}

async fn throttled(b: &Backend) -> Throttled {
    let c = b.client();
    let devices = through_one_throttle(b, "Get-MobileDevice", || {
        c.get_mobile_device(GetMobileDevice::new())
    })
    .await;
    assert_eq!(devices.items.len(), 20);

    // A write throttled at the front door was not processed, so it is applied exactly once:
    // no "nothing changed" warning from a second application.
    let set = through_one_throttle(b, "Set-MobileDeviceMailboxPolicy", || {
        c.set_mobile_device_mailbox_policy(
            SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy()).password_history(7),
        )
    })
    .await;
    assert!(set.warnings.is_empty(), "{}: {:?}", b.name, set.warnings);
    let policy = c
        .get_mobile_device_mailbox_policy(
            GetMobileDeviceMailboxPolicy::new().identity(PolicyIdentity::default_policy()),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(policy[0].password_history, Some(7));
    Throttled {
        devices: devices.items,
        set_warnings: messages(&set.warnings),
        policy,
    }
}
on_both_backends!(
    throttled_once_then_success,
    throttled,
    seed = 108,
    devices = 20,
    rbac = RbacProfile::Full
);

#[derive(Debug, PartialEq)]
struct Paged {
    guids: Vec<Uuid>,
    pages: usize,
    streamed_pages: usize,
}

async fn paging(b: &Backend) -> Paged {
    let c = b.client();
    let expected: BTreeSet<Uuid> = b.snapshot().devices().map(|d| d.guid).collect();
    assert_eq!(expected.len(), 2_500);
    let before = b.requests();
    let prepared = PreparedCmdlet::new(&GetMobileDevice::new())
        .unwrap()
        .page_size(100);
    let listing = c.call_prepared(prepared.clone()).await.unwrap();
    assert_eq!(listing.pages, 25, "{}", b.name);
    assert_eq!(b.requests() - before, 25, "{}", b.name);
    assert!(listing.warnings.is_empty() && !listing.truncated);
    let guids: Vec<Uuid> = listing
        .items
        .iter()
        .map(|d| d.guid.expect("Guid"))
        .collect();
    let unique: BTreeSet<Uuid> = guids.iter().copied().collect();
    assert_eq!(guids.len(), 2_500, "{}", b.name);
    assert_eq!(unique, expected, "{}: exactly the tenant's devices", b.name);

    // The stream gives the same rows in the same order, one page in memory at a time.
    let mut stream = c.stream_prepared(prepared, None);
    let mut streamed = Vec::new();
    while let Some(row) = stream.next().await {
        streamed.push(row.unwrap().guid.expect("Guid"));
    }
    assert_eq!(streamed, guids, "{}", b.name);
    let report = stream.report();
    assert!(report.complete);
    Paged {
        guids,
        pages: listing.pages,
        streamed_pages: report.pages,
    }
}
on_both_backends!(
    paging_2500_devices_by_100,
    paging,
    seed = 109,
    devices = 2_500,
    rbac = RbacProfile::Full
);
