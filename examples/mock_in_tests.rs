//! How a downstream crate tests its own code without a tenant:
//!
//! 1. with `FakeExchangeClient` (feature `test-util`): a seeded in-memory tenant that runs
//!    the cmdlets, records calls and injects failures;
//! 2. with a hand-written `ExchangeClient` that overrides one typed method (here
//!    `get_mobile_device_page`), everything else falling back to `invoke_page`.
//!
//! ```text
//! cargo run --example mock_in_tests
//! ```
//! (In a real crate the `check_*` functions below would be `#[tokio::test]`s.)

use std::sync::Arc;

use exchange_activesync::cmdlets::{GetMobileDevice, PreparedCmdlet};
use exchange_activesync::connector::InventorySync;
use exchange_activesync::models::{DeviceAccessState, MobileDevice};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::testing::{Failure, FakeExchangeClient, TenantBuilder, Times};
use exchange_activesync::{Error, ExchangeClient, Page, Result, async_trait};

/// The downstream code under test: how many devices are blocked?
async fn count_blocked(client: Arc<dyn ExchangeClient>) -> Result<usize> {
    let mut blocked = 0;
    InventorySync::new(client)
        .run(|r| {
            if r.device.device_access_state == Some(DeviceAccessState::Blocked) {
                blocked += 1;
            }
        })
        .await?;
    Ok(blocked)
}

async fn check_with_the_fake() -> Result<()> {
    let fake = Arc::new(FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(1)
            .mailboxes(10)
            .devices(40)
            .build(),
    ));
    let expected = fake
        .tenant()
        .devices()
        .filter(|d| d.access_state == "Blocked")
        .count();
    // One throttled answer first: the code under test must cope.
    fake.fail(
        Some("Get-MobileDevice"),
        Failure::throttled(Some(0.1)),
        Times::Once,
    );
    let n = count_blocked(fake.clone()).await?;
    assert_eq!(n, expected);
    assert_eq!(fake.calls_to("Get-MobileDevice").len(), 2, "one retry");
    println!("fake: {n} blocked device(s), as in the tenant model");
    Ok(())
}

/// A hand-written client: one typed method overridden, nothing else supported.
struct TwoDevices;

#[async_trait]
impl ExchangeClient for TwoDevices {
    async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
        Err(Error::Unsupported(inv.cmdlet().to_string()))
    }

    async fn get_mobile_device_page(
        &self,
        _request: &PreparedCmdlet<GetMobileDevice>,
        _next: Option<&NextLink>,
    ) -> Result<Page<MobileDevice>> {
        let mut a = MobileDevice::default();
        a.guid = Some(uuid::Uuid::from_u128(1));
        a.device_access_state = Some(DeviceAccessState::Blocked);
        let mut b = MobileDevice::default();
        b.guid = Some(uuid::Uuid::from_u128(2));
        b.device_access_state = Some(DeviceAccessState::Allowed);
        Ok(Page::new(vec![a, b]))
    }
}

async fn check_with_a_hand_written_client() -> Result<()> {
    let n = count_blocked(Arc::new(TwoDevices)).await?;
    assert_eq!(n, 1);
    println!("hand-written client: {n} blocked device");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    check_with_the_fake().await?;
    check_with_a_hand_written_client().await?;
    Ok(())
}
