//! Per-device allow and block: Get-/Set-CASMailbox requests and model, their effect in the
//! fake tenant and the simulator, `connector::set_device_access`, the permission check and
//! the `device_access` example.

use std::path::PathBuf;
use std::sync::Arc;

use exchange_activesync::auth::StaticToken;
use exchange_activesync::cmdlets::{GetCasMailbox, GetMobileDevice, ListChange, SetCasMailbox};
use exchange_activesync::connector::{DeviceAccessAction, set_device_access};
use exchange_activesync::models::{CasMailbox, DeviceAccessState, DeviceAccessStateReason};
use exchange_activesync::permissions::{Access, CmdletRequirement};
use exchange_activesync::permissions::{PermissionChecker, Profile, Status};
use exchange_activesync::types::{Filter, MailboxIdentity, MobileDeviceIdentity, Patch};
use exchange_activesync::{Cmdlet, Environment, ExchangeClientExt, HttpExchangeClient};
use exchange_activesync_testkit::{
    Catalog, FakeExchangeClient, RbacProfile, Simulator, SimulatorConfig, Tenant, TenantBuilder,
};
use serde_json::{Value, json};

fn tenant() -> Tenant {
    TenantBuilder::new()
        .seed(11)
        .mailboxes(6)
        .devices(30)
        .rbac_profile(RbacProfile::Full)
        .build()
}

/// A mailbox with at least two devices: (mailbox name, [(identity, device id, state)]).
fn mailbox_with_two_devices(t: &Tenant) -> (String, Vec<(MobileDeviceIdentity, String, String)>) {
    for m in 0..t.mailboxes().len() {
        let devices: Vec<_> = t
            .devices()
            .filter(|d| d.mailbox == m && !d.device_id.is_empty())
            .map(|d| {
                (
                    MobileDeviceIdentity::new(t.device_identity(d)).unwrap(),
                    d.device_id.clone(),
                    d.access_state.clone(),
                )
            })
            .collect();
        if devices.len() >= 2 {
            return (t.mailboxes()[m].name.clone(), devices);
        }
    }
    panic!("no mailbox with two devices");
}

fn declared_only(inv: &exchange_activesync::protocol::Invocation) {
    let spec = Catalog::get().cmdlet(inv.cmdlet()).unwrap();
    for p in inv.parameters().names() {
        assert!(
            spec.parameter(p).is_some(),
            "{} sends undeclared {p}",
            inv.cmdlet()
        );
    }
}

#[test]
fn set_cas_mailbox_encodes_add_remove_and_full_lists() {
    let inv = SetCasMailbox::new(MailboxIdentity::new("ana").unwrap())
        .allowed_device_ids(ListChange::add_remove(["DEV1"], ["DEV2"]))
        .blocked_device_ids(ListChange::replace(["DEV3", "DEV4"]))
        .active_sync_enabled(true)
        .active_sync_debug_logging(false)
        .active_sync_suppress_read_receipt(true)
        .invocation()
        .unwrap();
    let body: Value = serde_json::from_slice(&inv.body()).unwrap();
    assert_eq!(
        body,
        json!({"CmdletInput": {"CmdletName": "Set-CASMailbox", "Parameters": {
            "Identity": "ana",
            "ActiveSyncEnabled": true,
            "ActiveSyncAllowedDeviceIDs": {
                "@odata.type": "#Exchange.GenericHashTable", "Add": ["DEV1"], "Remove": ["DEV2"]
            },
            "ActiveSyncBlockedDeviceIDs": ["DEV3", "DEV4"],
            "ActiveSyncSuppressReadReceipt": true,
            "ActiveSyncDebugLogging": false
        }}})
    );
    declared_only(&inv);
    assert!(inv.kind().is_mutating());
    let cleared = SetCasMailbox::new(MailboxIdentity::new("ana").unwrap())
        .blocked_device_ids(Patch::Clear)
        .invocation()
        .unwrap();
    assert_eq!(
        cleared.parameters().get("ActiveSyncBlockedDeviceIDs"),
        Some(&Value::Null)
    );
}

#[test]
fn bad_device_ids_are_refused_before_sending() {
    let m = || SetCasMailbox::new(MailboxIdentity::new("ana").unwrap());
    for change in [
        ListChange::add_remove([""], Vec::<String>::new()),
        ListChange::add_remove(["A B"], Vec::<String>::new()),
        ListChange::add_remove(Vec::<String>::new(), Vec::<String>::new()),
        ListChange::replace(["ok", "\u{7}"]),
    ] {
        let e = m()
            .blocked_device_ids(change.clone())
            .invocation()
            .unwrap_err();
        assert!(e.is_invalid_input(), "{change:?}: {e}");
        assert!(e.to_string().contains("ActiveSyncBlockedDeviceIDs"), "{e}");
    }
}

#[test]
fn get_cas_mailbox_encodes_filter_and_result_size() {
    let inv = GetCasMailbox::new()
        .filter(Filter::eq("HasActiveSyncDevicePartnership", true))
        .active_sync_debug_logging()
        .select(["ActiveSyncBlockedDeviceIDs"])
        .invocation()
        .unwrap();
    assert_eq!(
        inv.parameters().get("ResultSize"),
        Some(&json!("Unlimited"))
    );
    assert_eq!(
        inv.parameters().get("ActiveSyncDebugLogging"),
        Some(&json!(true))
    );
    assert!(inv.parameters().get("Filter").is_some());
    declared_only(&inv);
    assert!(GetCasMailbox::INFO.pages());
    assert!(GetCasMailbox::INFO.probe);
    let both = GetCasMailbox::for_mailbox(MailboxIdentity::new("ana").unwrap()).anr("an");
    assert!(both.invocation().unwrap_err().is_invalid_input());
    assert!(GetCasMailbox::new().result_size(0).invocation().is_err());
}

#[test]
fn cas_mailbox_decodes() {
    let m: CasMailbox = serde_json::from_value(json!({
        "Identity": "ana",
        "Guid": "6f1c3a52-43a4-4b5e-9f0b-1b2f5e0f7d11",
        "ActiveSyncEnabled": true,
        "ActiveSyncAllowedDeviceIDs@odata.type": "#Collection(String)",
        "ActiveSyncAllowedDeviceIDs": ["A1"],
        "ActiveSyncBlockedDeviceIDs": [],
        "ActiveSyncMailboxPolicy": "Default",
        "ActiveSyncSuppressReadReceipt": false,
        "ActiveSyncDebugLogging": "False",
        "HasActiveSyncDevicePartnership": true,
        "OWAEnabled": true
    }))
    .unwrap();
    assert_eq!(m.active_sync_enabled, Some(true));
    assert_eq!(
        m.active_sync_allowed_device_ids,
        Some(vec!["A1".to_string()])
    );
    assert_eq!(m.active_sync_blocked_device_ids, Some(vec![]));
    assert_eq!(m.active_sync_debug_logging, Some(false));
    assert_eq!(m.has_active_sync_device_partnership, Some(true));
    assert_eq!(m.identity.as_deref(), Some("ana"));
    assert!(m.extra.contains_key("OWAEnabled"));
}

async fn device_state(
    client: &dyn exchange_activesync::ExchangeClient,
    id: &MobileDeviceIdentity,
) -> (Option<DeviceAccessState>, Option<DeviceAccessStateReason>) {
    let d = client
        .get_mobile_device(GetMobileDevice::for_device(id.clone()))
        .await
        .unwrap()
        .items
        .remove(0);
    (d.device_access_state, d.device_access_state_reason)
}

#[tokio::test]
async fn fake_block_then_reset_reverses_the_device_state() {
    let f = FakeExchangeClient::new(tenant());
    let (mailbox, devices) = mailbox_with_two_devices(&f.tenant());
    let (id, device_id, original) = devices[0].clone();
    let mbx = MailboxIdentity::new(&mailbox).unwrap();
    f.set_cas_mailbox(
        SetCasMailbox::new(mbx.clone()).blocked_device_ids(ListChange::add_remove(
            [device_id.as_str()],
            Vec::<String>::new(),
        )),
    )
    .await
    .unwrap();
    assert_eq!(
        device_state(&f, &id).await,
        (
            Some(DeviceAccessState::Blocked),
            Some(DeviceAccessStateReason::Individual)
        )
    );
    let cas = f
        .get_cas_mailbox(GetCasMailbox::for_mailbox(mbx.clone()))
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        cas.active_sync_blocked_device_ids,
        Some(vec![device_id.clone()])
    );
    // the other device of the mailbox is untouched
    let other = &devices[1];
    assert_eq!(
        device_state(&f, &other.0)
            .await
            .0
            .map(|s| s.as_str().to_string()),
        Some(other.2.clone())
    );
    // full list form: allowed replaces, blocked cleared -> Allowed / Individual
    f.set_cas_mailbox(
        SetCasMailbox::new(mbx.clone())
            .allowed_device_ids(ListChange::replace([device_id.as_str()]))
            .blocked_device_ids(Patch::Clear),
    )
    .await
    .unwrap();
    assert_eq!(
        device_state(&f, &id).await,
        (
            Some(DeviceAccessState::Allowed),
            Some(DeviceAccessStateReason::Individual)
        )
    );
    // out of both lists: back to what the org gives
    f.set_cas_mailbox(
        SetCasMailbox::new(mbx).allowed_device_ids(ListChange::add_remove(
            Vec::<String>::new(),
            [device_id.as_str()],
        )),
    )
    .await
    .unwrap();
    let (state, reason) = device_state(&f, &id).await;
    assert_eq!(state.map(|s| s.as_str().to_string()), Some(original));
    assert_ne!(reason, Some(DeviceAccessStateReason::Individual));
}

#[tokio::test]
async fn set_device_access_allow_block_reset_sends_one_set_each() {
    let f = FakeExchangeClient::new(tenant());
    let (mailbox, devices) = mailbox_with_two_devices(&f.tenant());
    let (id, device_id, original) = devices[0].clone();
    let (other_id, other_device_id, _) = devices[1].clone();
    // another device of the mailbox is blocked individually
    set_device_access(&f, &other_id, DeviceAccessAction::Block)
        .await
        .unwrap();
    for (action, state) in [
        (DeviceAccessAction::Block, "Blocked"),
        (DeviceAccessAction::Allow, "Allowed"),
        (DeviceAccessAction::Reset, original.as_str()),
    ] {
        let before = f.calls_to("Set-CASMailbox").len();
        let c = set_device_access(&f, &id, action).await.unwrap();
        assert_eq!(f.calls_to("Set-CASMailbox").len(), before + 1, "{action}");
        assert_eq!(c.device_id, device_id);
        assert_eq!(c.mailbox.as_str(), mailbox);
        assert_eq!(c.action, action);
        assert_eq!(
            c.access_state_after.as_ref().map(|s| s.as_str()),
            Some(state),
            "{action}"
        );
        let sent = f.calls_to("Set-CASMailbox").pop().unwrap().parameters;
        for list in ["ActiveSyncAllowedDeviceIDs", "ActiveSyncBlockedDeviceIDs"] {
            assert!(
                sent[list].is_object(),
                "{action}: {list} must be add/remove"
            );
        }
        let cas = f
            .get_cas_mailbox(GetCasMailbox::for_mailbox(c.mailbox.clone()))
            .await
            .unwrap()
            .items
            .remove(0);
        assert_eq!(
            cas.active_sync_blocked_device_ids
                .unwrap_or_default()
                .iter()
                .filter(|d| **d == other_device_id)
                .count(),
            1,
            "{action}: the other device's entry is kept"
        );
    }
    let c = set_device_access(&f, &id, DeviceAccessAction::Block)
        .await
        .unwrap();
    assert_eq!(
        c.access_state_before.as_ref().map(|s| s.as_str()),
        Some(original.as_str())
    );
    // an unknown device: a clear error, nothing set
    let before = f.calls_to("Set-CASMailbox").len();
    let missing = MobileDeviceIdentity::new("nobody\\ExchangeActiveSyncDevices\\iPhone§X").unwrap();
    let e = set_device_access(&f, &missing, DeviceAccessAction::Block)
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(f.calls_to("Set-CASMailbox").len(), before);
}

#[test]
fn empty_device_id_sends_nothing() {
    let e = DeviceAccessAction::Block
        .to_request(MailboxIdentity::new("ana").unwrap(), "  ")
        .unwrap_err();
    assert!(e.is_invalid_input());
}

#[tokio::test]
async fn simulator_applies_the_lists_and_refuses_undeclared_parameters() {
    let sim = Simulator::start(SimulatorConfig::new(tenant()))
        .await
        .unwrap();
    let client = HttpExchangeClient::builder()
        .environment(Environment::custom(sim.base_url().as_str()).unwrap())
        .tenant(sim.tenant_id())
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .build()
        .unwrap();
    let (_, devices) = mailbox_with_two_devices(&sim.tenant());
    let (id, _, original) = devices[0].clone();
    let c = set_device_access(&client, &id, DeviceAccessAction::Block)
        .await
        .unwrap();
    assert_eq!(c.access_state_after, Some(DeviceAccessState::Blocked));
    assert_eq!(
        c.access_state_reason_after,
        Some(DeviceAccessStateReason::Individual)
    );
    let c = set_device_access(&client, &id, DeviceAccessAction::Reset)
        .await
        .unwrap();
    assert_eq!(
        c.access_state_after.map(|s| s.as_str().to_string()),
        Some(original)
    );
    assert_eq!(sim.calls_to("Set-CASMailbox"), 2);
    let mut p = exchange_activesync::protocol::Parameters::new();
    p.string("Identity", c.mailbox.as_str());
    p.strings("ActiveSyncBlockedDeviceIDz", ["X".to_string()]);
    let e = client.invoke_raw("Set-CASMailbox", p).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
}

#[tokio::test]
async fn permission_check_reports_set_cas_mailbox_grantors() {
    let f = FakeExchangeClient::new(tenant());
    let profile = Profile::custom(
        "device-access",
        vec![
            CmdletRequirement::new("Get-CASMailbox", Access::Read, Vec::<String>::new()),
            CmdletRequirement::new(
                "Set-CASMailbox",
                Access::Write,
                ["ActiveSyncBlockedDeviceIDs", "ActiveSyncAllowedDeviceIDs"],
            ),
        ],
    );
    let r = PermissionChecker::new(&f).check(&profile).await.unwrap();
    let set = r.cmdlet("Set-CASMailbox").unwrap();
    assert_eq!(set.status, Status::Granted, "{r}");
    assert!(
        set.granting_roles.iter().any(|g| g == "Mail Recipients"),
        "{set:?}"
    );
    let ro = FakeExchangeClient::new(
        TenantBuilder::new()
            .seed(11)
            .mailboxes(2)
            .devices(2)
            .rbac_profile(RbacProfile::ReadOnly)
            .build(),
    );
    let r = PermissionChecker::new(&ro).check(&profile).await.unwrap();
    let set = r.cmdlet("Set-CASMailbox").unwrap();
    assert_eq!(set.status, Status::Missing, "{r}");
    assert!(
        set.remediation
            .iter()
            .any(|h| h.contains("Mail Recipients")),
        "{set:?}"
    );
    assert_eq!(r.cmdlet("Get-CASMailbox").unwrap().status, Status::Granted);
}

fn example_binary() -> Option<PathBuf> {
    Some(crate::support::process::example("device_access"))
}

#[test]
fn example_prints_one_json_object_via_the_embedded_simulator() {
    let bin = example_binary().expect(
        "the device_access example is not built; run `cargo test` (which builds examples) or \
         `cargo build --example device_access --all-features` first",
    );
    for (yes, after) in [(false, Value::Null), (true, json!("Blocked"))] {
        // The example never picks a device by itself: name the first device of the tenant
        // its embedded simulator serves (examples/common::demo_tenant).
        let tenant = exchange_activesync_testkit::TenantBuilder::new()
            .seed(2024)
            .mailboxes(120)
            .devices(300)
            .rbac_profile(RbacProfile::Full)
            .build();
        let identity = tenant.device_identity(tenant.devices().next().unwrap());
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["--identity", &identity, "--block", "--format", "json"])
            .env_remove("EXO_TENANT_ID")
            .env_remove("EXO_ENDPOINT");
        if yes {
            cmd.arg("--yes");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("embedded simulator"));
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(text.trim().lines().count(), 1, "{text}");
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        for key in [
            "identity",
            "mailbox",
            "device_id",
            "action",
            "access_state_before",
            "access_state_after",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert_eq!(v["action"], "block");
        assert_eq!(v["access_state_after"], after);
    }
}
