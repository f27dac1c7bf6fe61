//! How a downstream crate tests its own code without a tenant:
//!
//! 1. with `FakeExchangeClient` (test kit crate): a seeded in-memory tenant that runs
//!    the cmdlets, records calls and injects failures;
//! 2. with a `Responder` (test kit crate): typed rows per cmdlet, served through
//!    `invoke_page` so typed calls, streams and raw calls all see them.
//!
//! ```text
//! cargo run --example mock_in_tests
//! ```
//! (In a real crate the `check_*` functions below would be `#[tokio::test]`s.)
//!
//! Exit codes (the table shared by every example): 0 every check passed, 1 a check failed
//! (an error or a failed assertion, printed on stderr). It takes no options.

use std::sync::Arc;

use exchange_activesync::cmdlets::GetMobileDevice;
use exchange_activesync::connector::InventorySync;
use exchange_activesync::models::{DeviceAccessState, MobileDevice};
use exchange_activesync::{ExchangeClient, Result};
use exchange_activesync_testkit::{Failure, FakeExchangeClient, Responder, TenantBuilder, Times};

/// The downstream code under test: how many devices are blocked?
async fn count_blocked(client: &dyn ExchangeClient) -> Result<usize> {
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
    // One throttled answer first. The fake does not retry (an `HttpExchangeClient` would),
    // so the code under test sees the 429...
    fake.fail(
        Some("Get-MobileDevice"),
        Failure::throttled(Some(0.1)),
        Times::Once,
    );
    let err = count_blocked(&*fake).await.expect_err("throttled once");
    assert!(err.is_throttled());
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(100))
    );
    // ...and the next run goes through.
    let n = count_blocked(&*fake).await?;
    assert_eq!(n, expected);
    assert_eq!(
        fake.calls_to("Get-MobileDevice").len(),
        2,
        "one call per run"
    );
    println!("fake: {n} blocked device(s), as in the tenant model");
    Ok(())
}

/// A responder: two devices for Get-MobileDevice, nothing else supported.
fn two_devices() -> Responder {
    let a = MobileDevice::builder()
        .guid(uuid::Uuid::from_u128(1))
        .device_access_state(DeviceAccessState::Blocked)
        .build();
    let b = MobileDevice::builder()
        .guid(uuid::Uuid::from_u128(2))
        .device_access_state(DeviceAccessState::Allowed)
        .build();
    Responder::new().rows::<GetMobileDevice>(vec![a, b])
}

async fn check_with_a_responder() -> Result<()> {
    let n = count_blocked(&two_devices()).await?;
    assert_eq!(n, 1);
    println!("responder: {n} blocked device");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // A failed assertion panics, as in a test; the panic is printed and, like an error, exits 1.
    let checks = tokio::spawn(async {
        check_with_the_fake().await?;
        check_with_a_responder().await
    });
    match checks.await {
        Ok(Ok(())) => std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
        Err(_) => std::process::ExitCode::from(1),
    }
}
