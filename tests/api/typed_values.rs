//! Values kept typed from decoding to the wire: `DeviceId`, `MobileDevice::mailbox`.

use exchange_activesync::Cmdlet;
use exchange_activesync::cmdlets::{ListChange, SetCasMailbox};
use exchange_activesync::connector::DeviceAccessAction;
use exchange_activesync::models::MobileDevice;
use exchange_activesync::prelude::*;
use exchange_activesync::types::{DeviceId, MailboxIdentity, MobileDeviceIdentity};
use serde_json::json;

#[test]
fn a_device_id_is_read_leniently_by_the_models() {
    let d: MobileDevice = serde_json::from_value(json!({"DeviceId": "B4F3A9C2D1E0"})).unwrap();
    assert_eq!(d.device_id.as_deref(), Some("B4F3A9C2D1E0"));
    assert_eq!(d.device_id.as_ref().unwrap().as_str(), "B4F3A9C2D1E0");
    // Not a device id: not set, and the row still decodes.
    for odd in [json!(""), json!("A B"), json!("A\u{7}"), json!(null)] {
        let d: MobileDevice =
            serde_json::from_value(json!({"DeviceId": odd, "DeviceType": "iPhone"})).unwrap();
        assert_eq!(d.device_id, None, "{odd}");
        assert_eq!(d.device_type.as_deref(), Some("iPhone"));
    }
    // A number is kept as its text, as for other text properties.
    let d: MobileDevice = serde_json::from_value(json!({"DeviceId": 1234})).unwrap();
    assert_eq!(d.device_id.unwrap(), "1234");
    // Serialized back as the service's text.
    let d = MobileDevice::builder().device_id("ABC").build();
    assert_eq!(serde_json::to_value(&d).unwrap()["DeviceId"], json!("ABC"));
}

#[test]
fn the_builder_takes_text_or_a_device_id() {
    assert_eq!(
        MobileDevice::builder().device_id("ABC").build().device_id,
        Some(DeviceId::new("ABC").unwrap())
    );
    assert_eq!(
        MobileDevice::builder()
            .device_id(String::from("ABC"))
            .build()
            .device_id,
        Some(DeviceId::new("ABC").unwrap())
    );
    assert_eq!(
        MobileDevice::builder()
            .device_id(DeviceId::new("X1").unwrap())
            .build()
            .device_id
            .unwrap(),
        "X1"
    );
    assert_eq!(
        MobileDevice::builder().device_id("A B").build().device_id,
        None
    );
}

#[test]
fn the_mailbox_of_a_device_is_read_from_its_identity() {
    let d = |identity: &str| MobileDevice::builder().identity(identity).build();
    assert_eq!(
        d(r"alice@contoso.com\ExchangeActiveSyncDevices\iPhone§ABC").mailbox(),
        Some("alice@contoso.com")
    );
    assert_eq!(
        d(r" Alice Smith\exchangeactivesyncdevices\REST§Outlook§5eec4e94 ").mailbox(),
        Some("Alice Smith")
    );
    for none in [
        "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60",
        r"CN=x\ExchangeActiveSyncDevices\y",
        r"alice\Other\iPhone§ABC",
        r"\ExchangeActiveSyncDevices\iPhone§ABC",
        r"alice\ExchangeActiveSyncDevices\*",
        r"a\b\c\d",
    ] {
        assert_eq!(d(none).mailbox(), None, "{none}");
    }
    assert_eq!(MobileDevice::builder().build().mailbox(), None);
    // The same answer as the identity type, for every form it accepts.
    for text in [
        r"alice@contoso.com\ExchangeActiveSyncDevices\iPhone§ABC",
        "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60",
    ] {
        assert_eq!(
            d(text).mailbox(),
            MobileDeviceIdentity::new(text).unwrap().mailbox()
        );
    }
}

#[test]
fn allow_and_block_lists_check_device_ids_by_the_device_id_rules() {
    let mailbox = || MailboxIdentity::new("ana").unwrap();
    let id = DeviceId::new("PHONE1").unwrap();
    let inv = DeviceAccessAction::Block
        .request(mailbox(), &id)
        .invocation()
        .unwrap();
    assert_eq!(
        inv.parameters().get("ActiveSyncBlockedDeviceIDs").unwrap()["Add"],
        json!(["PHONE1"])
    );
    // Text is trimmed, then checked like a `DeviceId`.
    let same = DeviceAccessAction::Block
        .to_request(mailbox(), " PHONE1 ")
        .unwrap()
        .invocation()
        .unwrap();
    assert_eq!(same.parameters(), inv.parameters());
    for bad in ["", "A B", "A\u{0}"] {
        let e = DeviceAccessAction::Allow
            .to_request(mailbox(), bad)
            .unwrap_err();
        assert!(e.is_invalid_input(), "{bad:?}");
        let e = SetCasMailbox::new(mailbox())
            .allowed_device_ids(ListChange::replace([bad]))
            .invocation()
            .unwrap_err();
        assert!(e.to_string().contains("device id"), "{bad:?}: {e}");
        assert!(
            !DeviceId::new(bad).unwrap_err().reason.is_empty(),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn a_fake_device_keeps_its_typed_id_through_a_call() {
    use exchange_activesync::cmdlets::GetMobileDevice;
    use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
    let client = FakeExchangeClient::new(TenantBuilder::new().seed(4).devices(5).build());
    let devices = client
        .get_mobile_device(GetMobileDevice::new())
        .await
        .unwrap();
    for d in &devices.items {
        let id = d
            .device_id
            .as_ref()
            .expect("a generated device has a DeviceId");
        assert!(DeviceId::new(id.as_str()).is_ok());
        assert!(d.mailbox().is_some());
    }
}

#[test]
fn the_former_module_path_of_typed_calls_still_resolves() {
    fn same<T>(_: T, _: T) {}
    same(
        exchange_activesync::typed::NoOutput,
        exchange_activesync::call::NoOutput,
    );
    let _: exchange_activesync::typed::Outcome = exchange_activesync::Outcome::default();
}
