//! A tenant that is still throttled after the client's retries on the first read is failed
//! at once: the validator does not go on to retry every other read against it.

use exchange_activesync::ConnectorProfile;
use exchange_activesync::connector::{ConnectionStatus, ConnectionValidator};
use exchange_activesync_testkit::{Failure, FakeExchangeClient, TenantBuilder, Times};

#[tokio::test]
async fn a_tenant_throttled_on_the_first_read_fails_after_that_read_alone() {
    let fake = FakeExchangeClient::new(TenantBuilder::new().seed(3).devices(10).build());
    fake.fail(None, Failure::throttled(Some(1.0)), Times::Always);
    let report = ConnectionValidator::new(&fake, ConnectorProfile::ExchangeOnline)
        .validate()
        .await;
    let ConnectionStatus::Failed { error } = &report.status else {
        panic!("expected failed: {report:?}");
    };
    assert!(!error.is_empty());
    let cmdlets: Vec<String> = fake.calls().into_iter().map(|c| c.cmdlet).collect();
    assert_eq!(
        cmdlets,
        vec!["Get-ActiveSyncOrganizationSettings".to_string()],
        "no read after the throttled first one"
    );
}

#[tokio::test]
async fn a_later_throttled_read_still_leaves_the_tenant_degraded() {
    let fake = FakeExchangeClient::new(TenantBuilder::new().seed(3).devices(10).build());
    fake.fail(
        Some("Get-ActiveSyncDeviceClass"),
        Failure::throttled(Some(1.0)),
        Times::Always,
    );
    let report = ConnectionValidator::new(&fake, ConnectorProfile::ExchangeOnline)
        .validate()
        .await;
    assert!(
        matches!(report.status, ConnectionStatus::Degraded { .. }),
        "{report:?}"
    );
    assert!(report.devices.is_some(), "the reads after it still ran");
}
