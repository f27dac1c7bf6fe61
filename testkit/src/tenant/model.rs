//! The data types of the tenant model: organization settings, mailbox policies, access
//! rules, mailboxes, devices with their wipe state, and the [`Tenant`] that holds them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::policy;
use crate::rbac::Rbac;

/// Separator between the parts of a device's object name (U+00A7).
pub const SECTION: char = '§';

/// Name of the single ActiveSync organization settings object.
pub const ORG_SETTINGS_NAME: &str = "Mobile Mailbox Settings";

/// The ActiveSync organization settings (docs/cmdlets.md §1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrgSettings {
    /// Object GUID.
    pub guid: Uuid,
    /// `Allow`, `Block` or `Quarantine`.
    pub default_access_level: String,
    /// `TenantAdminPreference` (open value).
    pub tenant_admin_preference: String,
    /// Footer of the quarantine mail.
    pub user_mail_insert: Option<String>,
    /// Internal flag.
    pub allow_access_for_unsupported_platform: bool,
    /// Cloud-only flag.
    pub enable_mobile_mailbox_policy_when_ca_in_place: bool,
    /// Cloud-only flag.
    pub allow_rms_support_for_unenlightened_apps: bool,
    /// Quarantine notification recipients.
    pub admin_mail_recipients: Vec<String>,
    /// Text of the OTA update mail.
    pub ota_notification_mail_insert: Option<String>,
    /// `IsIntuneManaged`.
    pub is_intune_managed: bool,
    /// `HasAzurePremiumSubscription`.
    pub has_azure_premium_subscription: bool,
    /// Creation time.
    pub when_created: DateTime<Utc>,
    /// Last change.
    pub when_changed: DateTime<Utc>,
}

/// A mobile device mailbox policy (docs/cmdlets.md §3).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MailboxPolicy {
    /// Object GUID.
    pub guid: Uuid,
    /// Policy name (its identity).
    pub name: String,
    /// Settings values in the order of the internal settings table (output encoding).
    pub(crate) settings: Vec<Value>,
    /// Creation time.
    pub when_created: DateTime<Utc>,
    /// Last change.
    pub when_changed: DateTime<Utc>,
}

impl MailboxPolicy {
    /// A policy with default settings.
    pub fn new(guid: Uuid, name: impl Into<String>, now: DateTime<Utc>) -> Self {
        MailboxPolicy {
            guid,
            name: name.into(),
            settings: policy::defaults(),
            when_created: now,
            when_changed: now,
        }
    }

    /// A setting's value in output encoding, by name (case-insensitive).
    pub fn setting(&self, name: &str) -> Option<&Value> {
        policy::index_of(name).map(|i| &self.settings[i])
    }

    /// Whether this is the default policy.
    pub fn is_default(&self) -> bool {
        self.setting("IsDefault") == Some(&Value::Bool(true))
    }

    pub(crate) fn set_raw(&mut self, name: &str, value: Value) {
        if let Some(i) = policy::index_of(name) {
            self.settings[i] = value;
        }
    }
}

/// A device access rule (docs/cmdlets.md §7).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessRule {
    /// Object GUID.
    pub guid: Uuid,
    /// Exact value compared with the device.
    pub query_string: String,
    /// `DeviceType`, `DeviceModel`, `DeviceOS`, `UserAgent` or `XMSWLHeader`.
    pub characteristic: String,
    /// `Allow`, `Block` or `Quarantine`.
    pub access_level: String,
    /// Creation time.
    pub when_created: DateTime<Utc>,
    /// Last change.
    pub when_changed: DateTime<Utc>,
}

impl AccessRule {
    /// `<QueryString> (<Characteristic>)`.
    pub fn name(&self) -> String {
        format!("{} ({})", self.query_string, self.characteristic)
    }
}

/// A recipient (mailbox) of the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mailbox {
    /// Object GUID (`Guid`, `ExchangeObjectId`).
    pub guid: Uuid,
    /// `ExchangeGuid`.
    pub exchange_guid: Uuid,
    /// Entra object id.
    pub external_directory_object_id: Uuid,
    /// `Name` (used in device identities).
    pub name: String,
    /// `Alias`.
    pub alias: String,
    /// `DisplayName` (may be non-ASCII).
    pub display_name: String,
    /// `FirstName`.
    pub first_name: Option<String>,
    /// `LastName`.
    pub last_name: Option<String>,
    /// `PrimarySmtpAddress` (also the UPN).
    pub primary_smtp_address: String,
    /// `RecipientTypeDetails`, e.g. `UserMailbox`, `SharedMailbox`.
    pub recipient_type_details: String,
    /// `City`.
    pub city: Option<String>,
    /// `Department`.
    pub department: Option<String>,
    /// `ActiveSyncMailboxPolicy` (`None` = the default policy).
    pub active_sync_mailbox_policy: Option<String>,
    /// `WhenMailboxCreated` / `WhenCreated`.
    pub when_created: DateTime<Utc>,
    /// The ActiveSync client-access settings (`Get-CASMailbox`, `Set-CASMailbox`).
    pub cas: CasSettings,
}

// ---- CAS mailbox (Get-/Set-CASMailbox) -------------------------------------------------

/// The ActiveSync client-access settings of a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CasSettings {
    /// `ActiveSyncEnabled`.
    pub active_sync_enabled: bool,
    /// `ActiveSyncAllowedDeviceIDs`: these devices are `Allowed` / `Individual`.
    pub allowed_device_ids: Vec<String>,
    /// `ActiveSyncBlockedDeviceIDs`: these devices are `Blocked` / `Individual` (blocking wins
    /// over allowing).
    pub blocked_device_ids: Vec<String>,
    /// `ActiveSyncSuppressReadReceipt`.
    pub suppress_read_receipt: bool,
    /// `ActiveSyncDebugLogging`.
    pub debug_logging: bool,
}

impl Default for CasSettings {
    fn default() -> Self {
        CasSettings {
            active_sync_enabled: true,
            allowed_device_ids: Vec::new(),
            blocked_device_ids: Vec::new(),
            suppress_read_receipt: false,
            debug_logging: false,
        }
    }
}

// ---- end CAS mailbox -------------------------------------------------------------------

impl Mailbox {
    /// `RecipientType` derived from the details.
    pub fn recipient_type(&self) -> &'static str {
        match self.recipient_type_details.as_str() {
            "MailUser" | "GuestMailUser" => "MailUser",
            "MailContact" => "MailContact",
            _ => "UserMailbox",
        }
    }
}

/// Wipe bookkeeping of a device (statistics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WipeState {
    /// `DeviceWipeRequestTime`.
    pub request: Option<DateTime<Utc>>,
    /// `DeviceWipeSentTime`.
    pub sent: Option<DateTime<Utc>>,
    /// `DeviceWipeAckTime`.
    pub ack: Option<DateTime<Utc>>,
    /// `AccountOnlyDeviceWipeRequestTime`.
    pub account_only_request: Option<DateTime<Utc>>,
    /// `AccountOnlyDeviceWipeSentTime`.
    pub account_only_sent: Option<DateTime<Utc>>,
    /// `AccountOnlyDeviceWipeAckTime`.
    pub account_only_ack: Option<DateTime<Utc>>,
    /// `LastDeviceWipeRequestor`.
    pub requestor: Option<String>,
    /// `LastAccountOnlyDeviceWipeRequestor`.
    pub account_only_requestor: Option<String>,
    /// Addresses notified about the wipe.
    pub notification_addresses: Vec<String>,
}

impl WipeState {
    /// `Status` (DeviceRemoteWipeStatus) as the service derives it.
    pub fn status(&self) -> &'static str {
        if self.ack.is_some() {
            "DeviceWipeSucceeded"
        } else if self.request.is_some() || self.sent.is_some() {
            "DeviceWipePending"
        } else if self.account_only_ack.is_some() {
            "AccountOnlyDeviceWipeSucceeded"
        } else if self.account_only_request.is_some() || self.account_only_sent.is_some() {
            "AccountOnlyDeviceWipePending"
        } else {
            "DeviceOk"
        }
    }

    /// Whether a wipe (full or account-only) is pending (requested, not yet acknowledged).
    pub fn is_pending(&self) -> bool {
        matches!(
            self.status(),
            "DeviceWipePending" | "AccountOnlyDeviceWipePending"
        )
    }
}

/// A mobile device partnership with its statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// Object GUID (`Guid`, `ExchangeObjectId`).
    pub guid: Uuid,
    /// Index of the owning mailbox in [`Tenant::mailboxes`].
    pub mailbox: usize,
    /// `ClientType`: `EAS`, `REST`, `MOWA`, `Outlook`, …
    pub client_type: String,
    /// `DeviceType`.
    pub device_type: String,
    /// `DeviceId`.
    pub device_id: String,
    /// `DeviceModel`.
    pub device_model: String,
    /// `DeviceOS`.
    pub device_os: Option<String>,
    /// `DeviceOSLanguage`.
    pub device_os_language: Option<String>,
    /// `DeviceUserAgent`.
    pub device_user_agent: Option<String>,
    /// `DeviceImei`.
    pub device_imei: Option<String>,
    /// `DeviceMobileOperator`.
    pub device_mobile_operator: Option<String>,
    /// `DeviceTelephoneNumber`.
    pub device_telephone_number: Option<String>,
    /// `FriendlyName`.
    pub friendly_name: Option<String>,
    /// `FirstSyncTime` (absent on REST partnerships).
    pub first_sync_time: Option<DateTime<Utc>>,
    /// `LastSuccessSync`.
    pub last_success_sync: Option<DateTime<Utc>>,
    /// `LastSyncAttemptTime`.
    pub last_sync_attempt_time: Option<DateTime<Utc>>,
    /// `LastPolicyUpdateTime`.
    pub last_policy_update_time: Option<DateTime<Utc>>,
    /// `DeviceAccessState`.
    pub access_state: String,
    /// `DeviceAccessStateReason`.
    pub access_state_reason: String,
    /// `DeviceAccessControlRule` (rule name).
    pub access_control_rule: Option<String>,
    /// `ClientVersion`.
    pub client_version: Option<String>,
    /// `IsManaged`.
    pub is_managed: bool,
    /// `IsCompliant`.
    pub is_compliant: bool,
    /// `IsDisabled`.
    pub is_disabled: bool,
    /// `DevicePolicyApplied` (policy name).
    pub policy_applied: Option<String>,
    /// `DevicePolicyApplicationStatus`.
    pub policy_application_status: String,
    /// `IsRemoteWipeSupported`.
    pub remote_wipe_supported: bool,
    /// `NumberOfFoldersSynced`.
    pub folders_synced: i64,
    /// `LastPingHeartbeat`.
    pub last_ping_heartbeat: Option<i64>,
    /// Wipe bookkeeping.
    pub wipe: WipeState,
    /// Creation time.
    pub when_created: DateTime<Utc>,
    /// Last change.
    pub when_changed: DateTime<Utc>,
    /// Identity and distinguished name, computed once when the device is added to a tenant
    /// (they depend only on immutable fields and the owner's name).
    pub(crate) names: Option<std::sync::Arc<(String, String)>>,
}

impl Device {
    /// The AD common name: `<DeviceType>§<DeviceId>` for EAS, `<ClientType>§<DeviceType>§<DeviceId>`
    /// for other client types.
    pub fn object_name(&self) -> String {
        if self.client_type == "EAS" {
            format!("{}{SECTION}{}", self.device_type, self.device_id)
        } else {
            format!(
                "{}{SECTION}{}{SECTION}{}",
                self.client_type, self.device_type, self.device_id
            )
        }
    }
}

/// The state the next [`Tenant::advance_wipe`] moved a wipe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WipeProgress {
    /// The wipe command reached the device (`*WipeSentTime` set).
    Sent,
    /// The device acknowledged the wipe (`*WipeAckTime` set).
    Acknowledged,
}

/// One simulated Exchange Online tenant.
///
/// # The tenant's clock
///
/// A tenant has a logical clock ([`Tenant::now`]), not the wall clock. A generated tenant
/// lives at [`Tenant::DEFAULT_NOW`], **2024-06-01 00:00:00 UTC**, unless built with
/// [`TenantBuilder::now`](super::TenantBuilder::now); every generated date is before it,
/// and each change the cmdlets make moves it one second on. Code under test that compares
/// with `Utc::now()` (a stale-device cutoff, "synced in the last 30 days") therefore sees
/// every generated device as long stale. Either build the tenant at the wall clock:
///
/// ```
/// use chrono::Utc;
/// use exchange_activesync_testkit::TenantBuilder;
/// let tenant = TenantBuilder::new().seed(1).devices(10).now(Utc::now()).build();
/// assert!(Utc::now() - tenant.now() < chrono::Duration::minutes(5));
/// ```
///
/// or keep the reproducible default and hand the tenant's clock to the code under test
/// (`plan_stale_cleanup(client, criteria, fake.tenant().now())`). [`Tenant::set_now`] moves
/// the clock later (e.g. to make devices age).
///
/// # Editing
///
/// [`Tenant::create_device`] / [`Tenant::create_mailbox`] add hand-made objects
/// ([`Device::builder`], [`Mailbox::builder`]); [`Tenant::device_mut`] /
/// [`Tenant::mailbox_mut`] change existing ones with the indexes kept right.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub(crate) tenant_id: Uuid,
    pub(crate) domain: String,
    pub(crate) org: OrgSettings,
    pub(crate) policies: Vec<MailboxPolicy>,
    pub(crate) rules: Vec<AccessRule>,
    pub(crate) mailboxes: Vec<Mailbox>,
    pub(crate) mailbox_index: HashMap<String, usize>,
    pub(crate) devices: BTreeMap<Uuid, Device>,
    pub(crate) device_index: HashMap<String, Uuid>,
    /// Device Guids per owning mailbox index, so per-mailbox queries do not scan the tenant.
    pub(crate) mailbox_devices: HashMap<usize, std::collections::BTreeSet<Uuid>>,
    /// Wipes the device acknowledges by itself ([`Tenant::acknowledge_wipes_after`]).
    pub(crate) wipe_acks: WipeAcks,
    pub(crate) rbac: Rbac,
    pub(crate) caller: String,
    pub(crate) clock: DateTime<Utc>,
    pub(crate) rng: fastrand::Rng,
}

/// Wipes acknowledged by the devices themselves, some time after the request (off unless
/// [`Tenant::acknowledge_wipes_after`] sets a delay).
#[derive(Clone, Debug, Default)]
pub(crate) struct WipeAcks {
    /// How long after its request (wall clock) a wipe is sent and acknowledged.
    pub(crate) delay: Option<std::time::Duration>,
    /// Wipes requested while a delay was set, with when (wall clock).
    pub(crate) requested: HashMap<Uuid, std::time::Instant>,
}

pub(crate) fn new_guid(rng: &mut fastrand::Rng) -> Uuid {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Tenant {
    /// The clock of a tenant built without [`TenantBuilder::now`](super::TenantBuilder::now):
    /// 2024-06-01 00:00:00 UTC (fixed, so a seed always gives the same tenant).
    pub const DEFAULT_NOW: DateTime<Utc> = match DateTime::from_timestamp(1_717_200_000, 0) {
        Some(t) => t,
        None => DateTime::<Utc>::MIN_UTC,
    };

    /// Tenant id (GUID in the URL path).
    pub fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// Initial domain, e.g. `contoso.onmicrosoft.com`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The ActiveSync organization settings.
    pub fn org_settings(&self) -> &OrgSettings {
        &self.org
    }

    /// Mobile device mailbox policies.
    pub fn policies(&self) -> &[MailboxPolicy] {
        &self.policies
    }

    /// A policy by name or GUID (case-insensitive).
    pub fn policy(&self, identity: &str) -> Option<&MailboxPolicy> {
        self.policy_index(identity).map(|i| &self.policies[i])
    }

    pub(crate) fn policy_index(&self, identity: &str) -> Option<usize> {
        let id = identity.trim();
        self.policies.iter().position(|p| {
            p.name.eq_ignore_ascii_case(id) || p.guid.to_string().eq_ignore_ascii_case(id)
        })
    }

    /// Device access rules.
    pub fn access_rules(&self) -> &[AccessRule] {
        &self.rules
    }

    pub(crate) fn rule_index(&self, identity: &str) -> Option<usize> {
        let id = identity.trim();
        self.rules.iter().position(|r| {
            r.name().eq_ignore_ascii_case(id) || r.guid.to_string().eq_ignore_ascii_case(id)
        })
    }

    /// Mailboxes, in creation order.
    pub fn mailboxes(&self) -> &[Mailbox] {
        &self.mailboxes
    }

    /// A mailbox by name, alias, address, display name or GUID (case-insensitive).
    pub fn mailbox(&self, identity: &str) -> Option<&Mailbox> {
        self.mailbox_idx(identity).map(|i| &self.mailboxes[i])
    }

    pub(crate) fn mailbox_idx(&self, identity: &str) -> Option<usize> {
        self.mailbox_index
            .get(&identity.trim().to_lowercase())
            .copied()
    }

    /// Devices, ordered by GUID (the enumeration order).
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.devices.values()
    }

    /// Number of device partnerships.
    pub fn device_count(&self) -> usize {
        self.devices.len()
    }

    /// A device by GUID.
    pub fn device(&self, guid: &Uuid) -> Option<&Device> {
        self.devices.get(guid)
    }

    /// A device by any accepted identity: GUID, `<mailbox>\ExchangeActiveSyncDevices\<name>`
    /// or the distinguished name.
    pub fn find_device(&self, identity: &str) -> Option<&Device> {
        self.device_guid(identity)
            .and_then(|g| self.devices.get(&g))
    }

    pub(crate) fn device_guid(&self, identity: &str) -> Option<Uuid> {
        let id = identity.trim();
        if let Ok(g) = Uuid::parse_str(id) {
            return self.devices.contains_key(&g).then_some(g);
        }
        self.device_index.get(&id.to_lowercase()).copied()
    }

    /// `<mailbox>\ExchangeActiveSyncDevices\<object name>`.
    pub fn device_identity(&self, device: &Device) -> String {
        self.device_identity_ref(device).into_owned()
    }

    /// [`Tenant::device_identity`] without a copy when it was computed at insertion.
    pub(crate) fn device_identity_ref<'a>(&self, device: &'a Device) -> Cow<'a, str> {
        match &device.names {
            Some(n) => Cow::Borrowed(n.0.as_str()),
            None => Cow::Owned(self.compute_identity(device)),
        }
    }

    /// [`Tenant::device_dn`] without a copy when it was computed at insertion.
    pub(crate) fn device_dn_ref<'a>(&self, device: &'a Device) -> Cow<'a, str> {
        match &device.names {
            Some(n) => Cow::Borrowed(n.1.as_str()),
            None => Cow::Owned(self.compute_dn(device)),
        }
    }

    fn compute_identity(&self, device: &Device) -> String {
        format!(
            "{}\\ExchangeActiveSyncDevices\\{}",
            self.mailboxes[device.mailbox].name,
            device.object_name()
        )
    }

    /// The device's distinguished name.
    pub fn device_dn(&self, device: &Device) -> String {
        self.device_dn_ref(device).into_owned()
    }

    fn compute_dn(&self, device: &Device) -> String {
        format!(
            "CN={},CN=ExchangeActiveSyncDevices,CN={},OU={},OU=Microsoft Exchange Hosted Organizations,DC=EURPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
            device.object_name(),
            self.mailboxes[device.mailbox].name,
            self.domain
        )
    }

    /// RBAC of the tenant and the caller.
    pub fn rbac(&self) -> &Rbac {
        &self.rbac
    }

    /// Replace the RBAC (roles and the caller's assignments).
    pub fn set_rbac(&mut self, rbac: Rbac) {
        self.rbac = rbac;
    }

    /// The calling admin's address (recorded as the wipe requestor).
    pub fn caller(&self) -> &str {
        &self.caller
    }

    /// The tenant's logical clock (no wall clock: it starts at the builder's instant,
    /// [`Tenant::DEFAULT_NOW`] by default, and moves one second per change). See
    /// [the tenant's clock](Tenant#the-tenants-clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock
    }

    /// Set the logical clock (existing dates stay as they are: moving it on ages every
    /// device).
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.clock = now;
    }

    pub(crate) fn tick(&mut self) -> DateTime<Utc> {
        self.clock += Duration::seconds(1);
        self.clock
    }

    pub(crate) fn new_guid(&mut self) -> Uuid {
        new_guid(&mut self.rng)
    }

    /// Add a mailbox; returns its index.
    pub fn add_mailbox(&mut self, mailbox: Mailbox) -> usize {
        let idx = self.mailboxes.len();
        for key in [
            mailbox.name.clone(),
            mailbox.alias.clone(),
            mailbox.primary_smtp_address.clone(),
            mailbox.display_name.clone(),
            mailbox.guid.to_string(),
            mailbox.external_directory_object_id.to_string(),
        ] {
            self.mailbox_index.entry(key.to_lowercase()).or_insert(idx);
        }
        self.mailboxes.push(mailbox);
        idx
    }

    /// Add (or replace) a device partnership.
    pub fn add_device(&mut self, mut device: Device) {
        let id = self.compute_identity(&device);
        let dn = self.compute_dn(&device);
        self.device_index.insert(id.to_lowercase(), device.guid);
        self.device_index.insert(dn.to_lowercase(), device.guid);
        device.names = Some(std::sync::Arc::new((id, dn)));
        self.mailbox_devices
            .entry(device.mailbox)
            .or_default()
            .insert(device.guid);
        if let Some(old) = self.devices.insert(device.guid, device)
            && old.mailbox != self.devices[&old.guid].mailbox
            && let Some(set) = self.mailbox_devices.get_mut(&old.mailbox)
        {
            set.remove(&old.guid);
        }
    }

    /// Remove a device partnership; returns it.
    pub fn remove_device(&mut self, guid: &Uuid) -> Option<Device> {
        let device = self.devices.remove(guid)?;
        if let Some(set) = self.mailbox_devices.get_mut(&device.mailbox) {
            set.remove(guid);
        }
        self.device_index
            .remove(&self.device_identity(&device).to_lowercase());
        self.device_index
            .remove(&self.device_dn(&device).to_lowercase());
        Some(device)
    }

    /// Whether a mailbox has at least one device partnership.
    pub fn has_devices(&self, mailbox: usize) -> bool {
        self.mailbox_devices
            .get(&mailbox)
            .is_some_and(|set| !set.is_empty())
    }

    /// The devices of one mailbox, in Guid order.
    pub(crate) fn devices_of(&self, mailbox: usize) -> impl Iterator<Item = &Device> {
        self.mailbox_devices
            .get(&mailbox)
            .into_iter()
            .flatten()
            .filter_map(|g| self.devices.get(g))
    }

    /// Test hook: move a pending wipe one step (requested → sent → acknowledged), as the device
    /// would when it next syncs. Returns `None` if no wipe is pending.
    pub fn advance_wipe(&mut self, guid: &Uuid) -> Option<WipeProgress> {
        let now = self.tick();
        let d = self.devices.get_mut(guid)?;
        let w = &mut d.wipe;
        let progress = if w.request.is_some() && w.ack.is_none() {
            if w.sent.is_none() {
                w.sent = Some(now);
                WipeProgress::Sent
            } else {
                w.ack = Some(now);
                WipeProgress::Acknowledged
            }
        } else if w.account_only_request.is_some() && w.account_only_ack.is_none() {
            if w.account_only_sent.is_none() {
                w.account_only_sent = Some(now);
                WipeProgress::Sent
            } else {
                w.account_only_ack = Some(now);
                WipeProgress::Acknowledged
            }
        } else {
            return None;
        };
        d.when_changed = now;
        Some(progress)
    }
}

impl Tenant {
    /// Let every device acknowledge a wipe by itself, `delay` (wall clock) after the
    /// `Clear-MobileDevice` that requested it: the first cmdlet run after that moves the wipe
    /// to sent and acknowledged (both at the tenant's clock, so after the request time).
    /// `None` (the default) turns it off: a wipe stays pending until
    /// [`Tenant::advance_wipe`]. `Some(Duration::ZERO)` acknowledges it at the next read.
    ///
    /// ```
    /// use std::time::Duration;
    /// use exchange_activesync_testkit::TenantBuilder;
    ///
    /// let mut tenant = TenantBuilder::new().seed(1).devices(3).build();
    /// tenant.acknowledge_wipes_after(Some(Duration::from_secs(5)));
    /// assert_eq!(tenant.wipe_ack_delay(), Some(Duration::from_secs(5)));
    /// ```
    pub fn acknowledge_wipes_after(&mut self, delay: Option<std::time::Duration>) {
        self.wipe_acks.delay = delay;
        if delay.is_none() {
            self.wipe_acks.requested.clear();
        }
    }

    /// The delay set by [`Tenant::acknowledge_wipes_after`].
    pub fn wipe_ack_delay(&self) -> Option<std::time::Duration> {
        self.wipe_acks.delay
    }

    /// Note a wipe just requested, when devices acknowledge by themselves.
    pub(crate) fn note_wipe_requested(&mut self, guid: Uuid) {
        if self.wipe_acks.delay.is_some() {
            self.wipe_acks
                .requested
                .insert(guid, std::time::Instant::now());
        }
    }

    /// Forget a wipe (cancelled).
    pub(crate) fn forget_wipe(&mut self, guid: &Uuid) {
        self.wipe_acks.requested.remove(guid);
    }

    /// Whether some wipe is due for its acknowledgement.
    pub(crate) fn wipes_due(&self) -> bool {
        let Some(delay) = self.wipe_acks.delay else {
            return false;
        };
        self.wipe_acks
            .requested
            .values()
            .any(|at| at.elapsed() >= delay)
    }

    /// Acknowledge every wipe that is due (sent, then acknowledged, one tick apart).
    pub(crate) fn settle_wipes(&mut self) {
        let Some(delay) = self.wipe_acks.delay else {
            return;
        };
        let due: Vec<Uuid> = self
            .wipe_acks
            .requested
            .iter()
            .filter(|(_, at)| at.elapsed() >= delay)
            .map(|(g, _)| *g)
            .collect();
        for guid in due {
            self.wipe_acks.requested.remove(&guid);
            while let Some(step) = self.advance_wipe(&guid) {
                if step == WipeProgress::Acknowledged {
                    break;
                }
            }
        }
    }
}
