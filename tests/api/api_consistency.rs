//! One consistent public API: every helper borrows the client the same way (a fake, an HTTP
//! client and an `Arc<dyn ExchangeClient>` all work), every identity type constructs the same
//! way, and a wipe's error converts into the crate's `Error` with `?` without losing what
//! matters.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::connector::{
    ApplyOptions, CleanupConfirmation, ConnectionStatus, ConnectionValidator, ConnectorProfile,
    DeviceFamily, InventorySync, MemoryStore, StaleCriteria, WipeConfirmation, WipeError,
    WipeRequest, apply_cleanup, plan_stale_cleanup, remote_wipe, set_default_access_level,
    set_family_access, validate_connection,
};
use exchange_activesync::error::SendState;
use exchange_activesync::models::DeviceAccessLevel;
use exchange_activesync::permissions::Profile;
use exchange_activesync::types::{
    AccessRuleIdentity, MailboxIdentity, MobileDeviceIdentity, PolicyIdentity, RecipientIdentity,
    ValueError,
};
use exchange_activesync::{
    Environment, Error, ExchangeClient, HttpExchangeClient, PermissionChecker, Result,
};
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, RbacProfile, Simulator, SimulatorConfig, Tenant, TenantBuilder,
    Times,
};

fn tenant() -> Tenant {
    TenantBuilder::new()
        .seed(5)
        .mailboxes(4)
        .devices(9)
        .rbac_profile(RbacProfile::Full)
        .build()
}

fn first_device(t: &Tenant) -> MobileDeviceIdentity {
    let d = t.devices().next().expect("a device");
    MobileDeviceIdentity::new(t.device_identity(d)).expect("identity")
}

/// Runs every connector helper over `client`, asserting on what each one returns.
async fn every_helper(client: &dyn ExchangeClient, devices: usize, device: &MobileDeviceIdentity) {
    let report = InventorySync::new(client)
        .with_statistics(true)
        .run(|_| {})
        .await
        .expect("inventory");
    assert_eq!(report.devices, devices);

    let (stream, report) = InventorySync::new(client).stream();
    let records: Vec<_> = futures::StreamExt::collect(stream).await;
    assert_eq!(records.len(), devices);
    assert_eq!(
        report
            .await
            .expect("the stream ran to its end")
            .unwrap()
            .devices,
        devices
    );

    let status = ConnectionValidator::new(client, ConnectorProfile::ExchangeOnline)
        .validate()
        .await;
    assert_eq!(status.status, ConnectionStatus::Healthy, "{status:?}");
    let status = validate_connection(
        client,
        ConnectorProfile::ExchangeOnline,
        Arc::new(MemoryStore::new()),
    )
    .await;
    assert_eq!(status.devices.map(|d| d.total), Some(devices));

    let permissions = PermissionChecker::new(client)
        .check(&Profile::exchange_online())
        .await
        .expect("permission check");
    assert!(!permissions.cmdlets.is_empty());

    set_default_access_level(client, DeviceAccessLevel::Allow)
        .await
        .expect("default level");
    set_family_access(
        client,
        &DeviceFamily::DeviceModel("Contoso Phone".into()),
        DeviceAccessLevel::Block,
    )
    .await
    .expect("family access");

    let now = chrono::Utc::now() + chrono::Duration::days(3650);
    let plan = plan_stale_cleanup(
        client,
        StaleCriteria::older_than(Duration::from_secs(1)),
        now,
    )
    .await
    .expect("plan");
    assert_eq!(plan.devices_seen, devices);
    let empty = plan_stale_cleanup(
        client,
        StaleCriteria::older_than(Duration::from_secs(86_400 * 365 * 100)),
        now,
    )
    .await
    .expect("plan");
    assert!(empty.candidates.is_empty());
    let applied = apply_cleanup(
        client,
        &empty,
        CleanupConfirmation::i_reviewed(&empty),
        ApplyOptions::new(0),
    )
    .await
    .expect("an empty plan applies");
    assert!(applied.outcomes.is_empty());

    let ticket = remote_wipe(
        client,
        &WipeRequest::account_only(device.clone()),
        WipeConfirmation::i_understand_this_erases(device),
    )
    .await
    .expect("wipe");
    assert_eq!(&ticket.identity, device);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_helper_takes_a_fake_an_http_client_and_an_arc_alike() {
    // `&fake`
    let fake = FakeExchangeClient::new(tenant());
    let device = first_device(&fake.tenant());
    every_helper(&fake, 9, &device).await;

    // `&*arc`
    let arc: Arc<dyn ExchangeClient> = Arc::new(FakeExchangeClient::new(tenant()));
    every_helper(&*arc, 9, &device).await;
    // `&arc` works too: `Arc<T>` is a client.
    assert_eq!(
        InventorySync::new(&arc).run(|_| {}).await.unwrap().devices,
        9
    );

    // `&http_client`
    let sim = Simulator::start(SimulatorConfig::new(tenant()))
        .await
        .unwrap();
    let http_client = HttpExchangeClient::builder()
        .tenant(sim.tenant_id())
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .build()
        .unwrap();
    every_helper(&http_client, 9, &device).await;
    sim.shutdown().await;
}

// ---- identities -------------------------------------------------------------------------

/// `new`, `FromStr`, `TryFrom<&str>` and `TryFrom<String>` agree, `as_str` gives the text,
/// and blank input is refused by each.
fn constructs_alike<T>(valid: &str, as_str: fn(&T) -> &str)
where
    T: FromStr<Err = ValueError>
        + for<'s> TryFrom<&'s str, Error = ValueError>
        + TryFrom<String, Error = ValueError>
        + AsRef<str>
        + PartialEq
        + std::fmt::Debug,
{
    let parsed: T = valid.parse().unwrap();
    let from_str = T::try_from(valid).unwrap();
    let from_string = T::try_from(valid.to_string()).unwrap();
    assert_eq!(parsed, from_str);
    assert_eq!(parsed, from_string);
    assert_eq!(as_str(&parsed), valid);
    assert_eq!(parsed.as_ref(), valid);
    for blank in ["", "   "] {
        assert!(blank.parse::<T>().is_err(), "{blank:?}");
        assert!(T::try_from(blank).is_err(), "{blank:?}");
        assert!(T::try_from(blank.to_string()).is_err(), "{blank:?}");
    }
}

#[test]
fn every_identity_type_constructs_the_same_way() {
    let device = "alice\\ExchangeActiveSyncDevices\\iPhone§B4F3";
    constructs_alike::<MobileDeviceIdentity>(device, MobileDeviceIdentity::as_str);
    constructs_alike::<MailboxIdentity>("alice@contoso.com", MailboxIdentity::as_str);
    constructs_alike::<PolicyIdentity>("Default", PolicyIdentity::as_str);
    constructs_alike::<AccessRuleIdentity>("X (DeviceModel)", AccessRuleIdentity::as_str);
    constructs_alike::<RecipientIdentity>("alice", RecipientIdentity::as_str);

    // `new` takes a `&str` or a `String`, like the other identity types.
    assert_eq!(
        MobileDeviceIdentity::new(device).unwrap(),
        MobileDeviceIdentity::new(String::from(device)).unwrap()
    );
    assert_eq!(
        MailboxIdentity::new("alice").unwrap(),
        MailboxIdentity::new(String::from("alice")).unwrap()
    );
    assert!(MobileDeviceIdentity::new("alice*").is_err());
    #[allow(deprecated)]
    let old = MobileDeviceIdentity::parse(device).unwrap();
    assert_eq!(old, MobileDeviceIdentity::new(device).unwrap());
}

// ---- a wipe's error with `?` --------------------------------------------------------------

/// A caller returning the crate's `Result`, using `?` on `remote_wipe`.
async fn wipe_with_question_mark(
    client: &dyn ExchangeClient,
    id: &MobileDeviceIdentity,
    confirmed: &MobileDeviceIdentity,
) -> Result<()> {
    remote_wipe(
        client,
        &WipeRequest::full(id.clone()),
        WipeConfirmation::i_understand_this_erases(confirmed),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_unknown_wipe_outcome_still_reads_as_unknown_after_question_mark() {
    let fake = FakeExchangeClient::new(tenant());
    let id = first_device(&fake.tenant());
    fake.fail(
        Some("Clear-MobileDevice"),
        Failure::GatewayTimeout,
        Times::Once,
    );
    let err = wipe_with_question_mark(&fake, &id, &id).await.unwrap_err();
    assert_eq!(err.send_state(), SendState::Ambiguous, "{err:?}");
    assert!(err.may_have_acted());
    assert!(
        !err.is_retryable(),
        "a wipe of unknown outcome is never retried blindly"
    );
    assert_eq!(
        err.status(),
        Some(504),
        "the service's error stays reachable"
    );
    assert!(err.api().is_some());
    assert!(matches!(
        &err,
        Error::Wipe {
            outcome_unknown: true,
            identity,
            ..
        } if identity == id.as_str()
    ));
    assert!(err.to_string().contains("may or may not"), "{err}");
}

#[tokio::test]
async fn a_refused_wipe_reads_as_answered_after_question_mark() {
    let fake = FakeExchangeClient::new(tenant());
    let id = first_device(&fake.tenant());
    fake.fail(
        Some("Clear-MobileDevice"),
        Failure::throttled(Some(2.0)),
        Times::Once,
    );
    let err = wipe_with_question_mark(&fake, &id, &id).await.unwrap_err();
    assert_eq!(err.send_state(), SendState::Answered, "{err:?}");
    assert!(!err.may_have_acted());
    assert!(err.is_throttled());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(matches!(
        err,
        Error::Wipe {
            outcome_unknown: false,
            ..
        }
    ));
}

#[tokio::test]
async fn a_mismatched_wipe_confirmation_is_invalid_input_after_question_mark() {
    let fake = FakeExchangeClient::new(tenant());
    let id = first_device(&fake.tenant());
    let other = MobileDeviceIdentity::from_guid(uuid::Uuid::from_u128(1));
    let err = wipe_with_question_mark(&fake, &id, &other)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(err.send_state(), SendState::NotSent);
    assert!(fake.calls_to("Clear-MobileDevice").is_empty());
}

#[test]
fn the_converted_error_keeps_a_wipe_error_s_text() {
    let source = Error::Unsupported("Clear-MobileDevice".into());
    let wipe = WipeError::Failed {
        identity: "dev".into(),
        source,
    };
    let text = wipe.to_string();
    let err: Error = wipe.into();
    assert_eq!(err.to_string(), text);
}

// ---- re-exports ---------------------------------------------------------------------------

/// The types a caller must name, named only through this crate's paths.
#[tokio::test]
async fn the_crates_a_caller_names_are_re_exported() {
    use exchange_activesync::prelude::{StreamExt as _, TryStreamExt as _};
    let fake = FakeExchangeClient::new(tenant());
    let mut devices = exchange_activesync::ExchangeClientExt::get_mobile_device_stream(
        &fake,
        exchange_activesync::cmdlets::GetMobileDevice::new(),
    );
    let first = devices.try_next().await.unwrap().expect("a device");
    let guid: exchange_activesync::uuid::Uuid = first.guid.expect("a guid");
    assert!(!guid.is_nil());
    let changed: Option<exchange_activesync::chrono::DateTime<exchange_activesync::chrono::Utc>> =
        first.when_changed_utc;
    assert!(changed.is_some());
    let rest: Vec<_> = devices.by_ref().collect().await;
    assert_eq!(rest.len(), 8);
    fn is_stream<S: exchange_activesync::prelude::Stream>(_: &S) {}
    is_stream(&exchange_activesync::futures::stream::empty::<()>());
}
