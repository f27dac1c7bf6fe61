//! Read access to the parameters of every typed request: a mock asserts on the typed values
//! it was given, without decoding `invocation().parameters()`.

use std::sync::Mutex;

use exchange_activesync::Cmdlet;
use exchange_activesync::cmdlets::{
    ClearMobileDevice, GetActiveSyncDeviceAccessRule, GetActiveSyncDeviceClass,
    GetActiveSyncOrganizationSettings, GetCasMailbox, GetMobileDevice,
    GetMobileDeviceMailboxPolicy, GetMobileDeviceStatistics, GetRecipient, ListChange,
    NewActiveSyncDeviceAccessRule, NewMobileDeviceMailboxPolicy, RemoveActiveSyncDeviceAccessRule,
    RemoveMobileDevice, RemoveMobileDeviceMailboxPolicy, SetActiveSyncDeviceAccessRule,
    SetActiveSyncOrganizationSettings, SetCasMailbox, SetMobileDeviceMailboxPolicy, WipeIntent,
};
use exchange_activesync::models::{DeviceAccessCharacteristic, DeviceAccessLevel};
use exchange_activesync::types::{
    AccessRuleIdentity, Filter, MailboxIdentity, MobileDeviceIdentity, Patch, PolicyIdentity,
    RecipientIdentity,
};

/// The seam of some downstream code: it lists and wipes devices through typed requests.
trait Devices {
    fn list(&self, request: GetMobileDevice) -> usize;
    fn wipe(&self, request: ClearMobileDevice);
}

/// A hand mock recording the typed requests.
#[derive(Default)]
struct Recorder {
    lists: Mutex<Vec<GetMobileDevice>>,
    wipes: Mutex<Vec<ClearMobileDevice>>,
}

impl Devices for Recorder {
    fn list(&self, request: GetMobileDevice) -> usize {
        self.lists.lock().unwrap().push(request);
        1
    }
    fn wipe(&self, request: ClearMobileDevice) {
        self.wipes.lock().unwrap().push(request);
    }
}

/// The code under test: wipe the first iPhone of a mailbox (account only).
fn wipe_first_iphone(api: &dyn Devices, mailbox: &MailboxIdentity, device: MobileDeviceIdentity) {
    let found = api.list(
        GetMobileDevice::for_mailbox(mailbox.clone())
            .filter(Filter::eq("DeviceType", "iPhone"))
            .result_size(1)
            .active_sync()
            .select(["Identity", "DeviceType"]),
    );
    if found == 1 {
        api.wipe(ClearMobileDevice::account_only(device).notify(["admin@contoso.com"]));
    }
}

#[test]
fn a_mock_asserts_on_the_typed_requests_it_was_given() {
    let mock = Recorder::default();
    let mailbox = MailboxIdentity::new("alice@contoso.com").unwrap();
    let device = MobileDeviceIdentity::new("alice\\ExchangeActiveSyncDevices\\iPhone§A1").unwrap();
    wipe_first_iphone(&mock, &mailbox, device.clone());

    let lists = mock.lists.lock().unwrap();
    let list = &lists[0];
    assert_eq!(list.get_mailbox(), Some(&mailbox));
    assert_eq!(list.get_identity(), None);
    assert_eq!(
        list.get_filter().map(ToString::to_string).as_deref(),
        Some("DeviceType -eq 'iPhone'")
    );
    assert_eq!(list.get_result_size(), Some(1));
    assert_eq!(list.get_select(), ["Identity", "DeviceType"]);
    assert!(list.get_active_sync());
    assert!(!list.get_rest_api() && !list.get_owa_for_devices() && !list.get_universal_outlook());
    assert_eq!(list.get_organizational_unit(), None);
    assert_eq!(list.get_sort_by(), None);

    let wipes = mock.wipes.lock().unwrap();
    let wipe = &wipes[0];
    assert_eq!(wipe.get_identity(), &device);
    assert_eq!(wipe.identity(), &device);
    assert!(wipe.is_account_only());
    assert_eq!(wipe.get_intent(), WipeIntent::AccountOnly);
    assert_eq!(wipe.get_notify(), ["admin@contoso.com"]);
}

/// The getters read what the wire parameters say (each getter reads its own field).
#[test]
fn getters_agree_with_the_parameters_sent() {
    let param = |c: &dyn Fn() -> exchange_activesync::protocol::Invocation, name: &str| {
        c().parameters().get(name).cloned()
    };

    let r =
        GetMobileDeviceStatistics::for_mailbox(MailboxIdentity::new("bob@contoso.com").unwrap())
            .mailbox_log_to(["a@contoso.com"])
            .show_recovery_password()
            .rest_api();
    assert_eq!(r.get_mailbox().unwrap().as_str(), "bob@contoso.com");
    assert_eq!(r.get_mailbox_log_to(), ["a@contoso.com"]);
    assert!(r.get_show_recovery_password() && r.get_rest_api() && !r.get_active_sync());
    assert!(r.get_identity().is_none() && r.get_select().is_empty());
    assert_eq!(
        param(&|| r.invocation().unwrap(), "Mailbox"),
        Some("bob@contoso.com".into())
    );

    let id = MobileDeviceIdentity::from_guid(uuid::Uuid::from_u128(7));
    let r = RemoveMobileDevice::new(id.clone());
    assert_eq!(r.identity(), &id);
    assert_eq!(r.get_identity(), &id);
    assert_eq!(
        param(&|| r.invocation().unwrap(), "Identity"),
        Some(id.as_str().into())
    );
    let r = ClearMobileDevice::full_wipe(id.clone());
    assert!(!r.is_account_only() && r.get_notify().is_empty());

    let mbx = MailboxIdentity::new("carol").unwrap();
    let r = GetCasMailbox::for_mailbox(mbx.clone())
        .protocol_settings()
        .recalculate_has_active_sync_device_partnership()
        .result_size(3)
        .anr("car");
    assert_eq!(r.get_identity(), Some(&mbx));
    assert!(r.get_protocol_settings() && r.get_recalculate_has_active_sync_device_partnership());
    assert!(!r.get_active_sync_debug_logging() && !r.get_active_sync_suppress_read_receipt());
    assert_eq!((r.get_result_size(), r.get_anr()), (Some(3), Some("car")));
    assert!(r.get_recipient_type_details().is_empty() && r.get_filter().is_none());

    let r = SetCasMailbox::new(mbx.clone())
        .active_sync_enabled(true)
        .blocked_device_ids(ListChange::replace(["DEV3"]))
        .allowed_device_ids(Patch::Clear)
        .active_sync_mailbox_policy(PolicyIdentity::default_policy());
    assert_eq!(r.get_identity(), &mbx);
    assert_eq!(r.get_active_sync_enabled(), Some(true));
    assert_eq!(
        r.get_blocked_device_ids(),
        &Patch::Set(ListChange::replace(["DEV3"]))
    );
    assert_eq!(r.get_allowed_device_ids(), &Patch::Clear);
    assert_eq!(
        r.get_active_sync_mailbox_policy(),
        Some(&PolicyIdentity::default_policy())
    );
    assert_eq!(r.get_active_sync_debug_logging(), None);

    let r = GetActiveSyncOrganizationSettings::new().select(["DefaultAccessLevel"]);
    assert_eq!(
        (r.get_identity(), r.get_select()),
        (None, &["DefaultAccessLevel".to_string()][..])
    );
    let r = SetActiveSyncOrganizationSettings::new()
        .default_access_level(DeviceAccessLevel::Quarantine)
        .clear_user_mail_insert()
        .allow_access_for_unsupported_platform(false);
    assert_eq!(
        r.get_default_access_level(),
        Some(&DeviceAccessLevel::Quarantine)
    );
    assert_eq!(r.get_user_mail_insert(), &Patch::Clear);
    assert_eq!(r.get_ota_notification_mail_insert(), &Patch::Keep);
    assert_eq!(r.get_allow_access_for_unsupported_platform(), Some(false));
    assert!(r.get_admin_mail_recipients().is_keep() && r.get_tenant_admin_preference().is_none());

    let policy = PolicyIdentity::new("Sales").unwrap();
    let r = GetMobileDeviceMailboxPolicy::new().identity(policy.clone());
    assert_eq!(r.get_identity(), Some(&policy));
    let r = NewMobileDeviceMailboxPolicy::new("Sales").unwrap();
    assert_eq!(r.get_name(), "Sales");
    let r = SetMobileDeviceMailboxPolicy::new(policy.clone()).name("Sales 2");
    assert_eq!((r.identity(), r.get_name()), (&policy, Some("Sales 2")));
    let r = RemoveMobileDeviceMailboxPolicy::new(policy.clone()).force();
    assert!(r.get_force());
    assert_eq!(r.identity(), &policy);

    let rule = AccessRuleIdentity::new("X (DeviceModel)").unwrap();
    let r = GetActiveSyncDeviceAccessRule::new().identity(rule.clone());
    assert_eq!(r.get_identity(), Some(&rule));
    let r = NewActiveSyncDeviceAccessRule::new(
        "X",
        DeviceAccessCharacteristic::DeviceModel,
        DeviceAccessLevel::Block,
    )
    .unwrap();
    assert_eq!(r.get_query_string(), "X");
    assert_eq!(
        r.get_characteristic(),
        &DeviceAccessCharacteristic::DeviceModel
    );
    assert_eq!(r.get_access_level(), &DeviceAccessLevel::Block);
    let r = SetActiveSyncDeviceAccessRule::new(rule.clone(), DeviceAccessLevel::Allow);
    assert_eq!(
        (r.identity(), r.get_access_level()),
        (&rule, &DeviceAccessLevel::Allow)
    );
    let r = RemoveActiveSyncDeviceAccessRule::new(rule.clone());
    assert_eq!(r.identity(), &rule);
    let r = GetActiveSyncDeviceClass::new().sort_by("DeviceModel");
    assert_eq!(
        (r.get_sort_by(), r.get_identity()),
        (Some("DeviceModel"), None)
    );

    let r = GetRecipient::new()
        .identity(RecipientIdentity::new("dave").unwrap())
        .include_soft_deleted_recipients()
        .result_size(5);
    assert_eq!(r.get_identity().map(|i| i.as_str()), Some("dave"));
    assert!(r.get_include_soft_deleted_recipients());
    assert_eq!(r.get_result_size(), Some(5));
    assert_eq!(
        param(&|| r.invocation().unwrap(), "ResultSize"),
        Some(5.into())
    );
}
