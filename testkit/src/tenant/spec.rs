//! Hand-made tenant objects: [`DeviceBuilder`] (`Device::builder`) and [`MailboxBuilder`]
//! (`Mailbox::builder`), accepted by [`Tenant::create_device`] / [`Tenant::create_mailbox`]
//! and by [`TenantBuilder::with_device`](super::TenantBuilder::with_device) /
//! [`TenantBuilder::with_mailbox`](super::TenantBuilder::with_mailbox), and the editing
//! guards [`DeviceMut`] / [`MailboxMut`] that keep the tenant's indexes right.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::model::{CasSettings, Device, Mailbox, Tenant, WipeState};

/// An instant given outright or relative to the tenant's clock when the object is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    At(DateTime<Utc>),
    Ago(Duration),
    Never,
}

impl When {
    fn resolve(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            When::At(t) => Some(t),
            When::Ago(d) => Some(
                now.checked_sub_signed(d)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ),
            When::Never => None,
        }
    }
}

/// A device partnership to add to a tenant, with chosen fields; everything not chosen gets
/// a plausible default (an EAS iPhone, allowed, first sync 30 days and last successful sync
/// one hour before the tenant's clock). Times given as "ago" are taken from the tenant's
/// clock ([`Tenant::now`]) when the device is added.
///
/// ```
/// use chrono::Duration;
/// use exchange_activesync_testkit::{Device, TenantBuilder};
///
/// let mut tenant = TenantBuilder::new().build();
/// let guid = tenant.create_device(Device::builder("alice").last_synced_ago(Duration::days(200)));
/// let device = tenant.device(&guid).unwrap();
/// assert_eq!(device.last_success_sync, Some(tenant.now() - Duration::days(200)));
/// assert_eq!(tenant.mailbox("alice").unwrap().name, "alice");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct DeviceBuilder {
    owner: String,
    guid: Option<Uuid>,
    client_type: String,
    device_type: String,
    device_id: Option<String>,
    device_model: String,
    device_os: Option<String>,
    device_user_agent: Option<String>,
    friendly_name: Option<String>,
    first_sync: When,
    last_success_sync: When,
    when_created: Option<When>,
    access_state: String,
    access_state_reason: String,
    access_control_rule: Option<String>,
    is_managed: bool,
    is_compliant: bool,
    policy_applied: Option<String>,
    remote_wipe_supported: bool,
}

impl Device {
    /// A [`DeviceBuilder`] for a device of the mailbox named `owner` (its `Name`, alias,
    /// address or GUID; a mailbox of that name is created when the tenant has none).
    pub fn builder(owner: impl Into<String>) -> DeviceBuilder {
        DeviceBuilder {
            owner: owner.into(),
            guid: None,
            client_type: "EAS".into(),
            device_type: "iPhone".into(),
            device_id: None,
            device_model: "iPhone15C2".into(),
            device_os: Some("iOS 17.5.1 21F90".into()),
            device_user_agent: Some("Apple-iPhone15C2/2105.90".into()),
            friendly_name: None,
            first_sync: When::Ago(Duration::days(30)),
            last_success_sync: When::Ago(Duration::hours(1)),
            when_created: None,
            access_state: "Allowed".into(),
            access_state_reason: "Global".into(),
            access_control_rule: None,
            is_managed: false,
            is_compliant: false,
            policy_applied: None,
            remote_wipe_supported: true,
        }
    }
}

impl DeviceBuilder {
    /// The object GUID (default: drawn from the tenant's seeded generator).
    pub fn guid(mut self, guid: Uuid) -> Self {
        self.guid = Some(guid);
        self
    }

    /// `ClientType`: `EAS` (default), `REST`, `MOWA`, `Outlook`, …
    pub fn client_type(mut self, client_type: impl Into<String>) -> Self {
        self.client_type = client_type.into();
        self
    }

    /// `DeviceType` (default `iPhone`).
    pub fn device_type(mut self, device_type: impl Into<String>) -> Self {
        self.device_type = device_type.into();
        self
    }

    /// `DeviceId` (default: 32 hex digits from the tenant's seeded generator).
    pub fn device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// `DeviceModel` (default `iPhone15C2`).
    pub fn device_model(mut self, model: impl Into<String>) -> Self {
        self.device_model = model.into();
        self
    }

    /// `DeviceOS` (`None`: not reported).
    pub fn device_os(mut self, os: Option<&str>) -> Self {
        self.device_os = os.map(str::to_string);
        self
    }

    /// `DeviceUserAgent` (`None`: not reported).
    pub fn user_agent(mut self, agent: Option<&str>) -> Self {
        self.device_user_agent = agent.map(str::to_string);
        self
    }

    /// `FriendlyName`.
    pub fn friendly_name(mut self, name: impl Into<String>) -> Self {
        self.friendly_name = Some(name.into());
        self
    }

    /// `FirstSyncTime` at this instant.
    pub fn first_sync(mut self, at: DateTime<Utc>) -> Self {
        self.first_sync = When::At(at);
        self
    }

    /// `FirstSyncTime` this long before the tenant's clock.
    pub fn first_synced_ago(mut self, ago: Duration) -> Self {
        self.first_sync = When::Ago(ago);
        self
    }

    /// `LastSuccessSync` (and `LastSyncAttemptTime`) at this instant.
    pub fn last_success_sync(mut self, at: DateTime<Utc>) -> Self {
        self.last_success_sync = When::At(at);
        self
    }

    /// `LastSuccessSync` (and `LastSyncAttemptTime`) this long before the tenant's clock.
    pub fn last_synced_ago(mut self, ago: Duration) -> Self {
        self.last_success_sync = When::Ago(ago);
        self
    }

    /// The device never synced: no `FirstSyncTime`, `LastSuccessSync` nor
    /// `LastSyncAttemptTime` (see [`created_ago`](Self::created_ago) for its age).
    pub fn never_synced(mut self) -> Self {
        self.first_sync = When::Never;
        self.last_success_sync = When::Never;
        self
    }

    /// `WhenCreated` at this instant (default: the first sync, or the tenant's clock).
    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.when_created = Some(When::At(at));
        self
    }

    /// `WhenCreated` this long before the tenant's clock.
    pub fn created_ago(mut self, ago: Duration) -> Self {
        self.when_created = Some(When::Ago(ago));
        self
    }

    /// `DeviceAccessState` and `DeviceAccessStateReason`, e.g. `("Blocked", "Individual")`
    /// (default `Allowed` / `Global`).
    pub fn access_state(mut self, state: impl Into<String>, reason: impl Into<String>) -> Self {
        self.access_state = state.into();
        self.access_state_reason = reason.into();
        self
    }

    /// `DeviceAccessControlRule` (the rule's name).
    pub fn access_control_rule(mut self, rule: impl Into<String>) -> Self {
        self.access_control_rule = Some(rule.into());
        self
    }

    /// `IsManaged` and `IsCompliant`.
    pub fn managed(mut self, managed: bool, compliant: bool) -> Self {
        self.is_managed = managed;
        self.is_compliant = compliant;
        self
    }

    /// `DevicePolicyApplied` (default: the owner's policy or `Default`).
    pub fn policy_applied(mut self, policy: impl Into<String>) -> Self {
        self.policy_applied = Some(policy.into());
        self
    }

    /// `IsRemoteWipeSupported` (default true).
    pub fn remote_wipe_supported(mut self, supported: bool) -> Self {
        self.remote_wipe_supported = supported;
        self
    }

    /// The owner as given to [`Device::builder`].
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub(crate) fn into_device(self, tenant: &mut Tenant, mailbox: usize) -> Device {
        let now = tenant.now();
        let guid = self.guid.unwrap_or_else(|| tenant.new_guid());
        let device_id = self
            .device_id
            .unwrap_or_else(|| tenant.new_guid().simple().to_string().to_ascii_uppercase());
        let first_sync = self.first_sync.resolve(now);
        let last = self.last_success_sync.resolve(now);
        let created = self
            .when_created
            .map(|w| w.resolve(now))
            .unwrap_or(first_sync)
            .unwrap_or(now);
        let policy = self.policy_applied.or_else(|| {
            Some(
                tenant.mailboxes[mailbox]
                    .active_sync_mailbox_policy
                    .clone()
                    .unwrap_or_else(|| "Default".to_string()),
            )
        });
        Device {
            guid,
            mailbox,
            client_type: self.client_type,
            device_type: self.device_type,
            device_id,
            device_model: self.device_model,
            device_os: self.device_os,
            device_os_language: None,
            device_user_agent: self.device_user_agent,
            device_imei: None,
            device_mobile_operator: None,
            device_telephone_number: None,
            friendly_name: self.friendly_name,
            first_sync_time: first_sync,
            last_success_sync: last,
            last_sync_attempt_time: last,
            last_policy_update_time: first_sync,
            access_state: self.access_state,
            access_state_reason: self.access_state_reason,
            access_control_rule: self.access_control_rule,
            client_version: Some("16.1".into()),
            is_managed: self.is_managed,
            is_compliant: self.is_compliant,
            is_disabled: false,
            policy_applied: policy,
            policy_application_status: "AppliedInFull".into(),
            remote_wipe_supported: self.remote_wipe_supported,
            folders_synced: if last.is_some() { 5 } else { 0 },
            last_ping_heartbeat: None,
            wipe: WipeState::default(),
            when_created: created,
            when_changed: last.unwrap_or(created).max(created),
            names: None,
        }
    }
}

/// A mailbox to add to a tenant, with chosen fields; the address defaults to
/// `<name>@<tenant domain>`, the display name to the name, the type to `UserMailbox`.
///
/// ```
/// use exchange_activesync_testkit::{Mailbox, TenantBuilder};
///
/// let tenant = TenantBuilder::new()
///     .with_mailbox(Mailbox::builder("bob").display_name("Bob Ångström").city("Zürich"))
///     .build();
/// let bob = tenant.mailbox("bob").unwrap();
/// assert_eq!(bob.primary_smtp_address, format!("bob@{}", tenant.domain()));
/// assert_eq!(bob.city.as_deref(), Some("Zürich"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct MailboxBuilder {
    name: String,
    guid: Option<Uuid>,
    display_name: Option<String>,
    primary_smtp_address: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    recipient_type_details: String,
    city: Option<String>,
    department: Option<String>,
    active_sync_mailbox_policy: Option<String>,
    when_created: Option<When>,
    cas: CasSettings,
}

impl Mailbox {
    /// A [`MailboxBuilder`] for a mailbox whose `Name` and `Alias` are `name` (used in
    /// device identities: `<name>\ExchangeActiveSyncDevices\…`).
    pub fn builder(name: impl Into<String>) -> MailboxBuilder {
        MailboxBuilder {
            name: name.into(),
            guid: None,
            display_name: None,
            primary_smtp_address: None,
            first_name: None,
            last_name: None,
            recipient_type_details: "UserMailbox".into(),
            city: None,
            department: None,
            active_sync_mailbox_policy: None,
            when_created: None,
            cas: CasSettings::default(),
        }
    }
}

impl MailboxBuilder {
    /// The object GUID (default: drawn from the tenant's seeded generator).
    pub fn guid(mut self, guid: Uuid) -> Self {
        self.guid = Some(guid);
        self
    }

    /// `DisplayName` (default: the name).
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// `PrimarySmtpAddress` (default `<name>@<tenant domain>`).
    pub fn primary_smtp_address(mut self, address: impl Into<String>) -> Self {
        self.primary_smtp_address = Some(address.into());
        self
    }

    /// `FirstName` and `LastName`.
    pub fn person(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// `RecipientTypeDetails`, e.g. `SharedMailbox` (default `UserMailbox`).
    pub fn recipient_type_details(mut self, details: impl Into<String>) -> Self {
        self.recipient_type_details = details.into();
        self
    }

    /// `City`.
    pub fn city(mut self, city: impl Into<String>) -> Self {
        self.city = Some(city.into());
        self
    }

    /// `Department`.
    pub fn department(mut self, department: impl Into<String>) -> Self {
        self.department = Some(department.into());
        self
    }

    /// `ActiveSyncMailboxPolicy` (default: none, i.e. the default policy).
    pub fn active_sync_mailbox_policy(mut self, policy: impl Into<String>) -> Self {
        self.active_sync_mailbox_policy = Some(policy.into());
        self
    }

    /// `WhenCreated` this long before the tenant's clock (default one year).
    pub fn created_ago(mut self, ago: Duration) -> Self {
        self.when_created = Some(When::Ago(ago));
        self
    }

    /// `WhenCreated` at this instant.
    pub fn created(mut self, at: DateTime<Utc>) -> Self {
        self.when_created = Some(When::At(at));
        self
    }

    /// `ActiveSyncEnabled` (default true).
    pub fn active_sync_enabled(mut self, enabled: bool) -> Self {
        self.cas.active_sync_enabled = enabled;
        self
    }

    /// `ActiveSyncAllowedDeviceIDs`.
    pub fn allowed_device_ids(mut self, ids: Vec<String>) -> Self {
        self.cas.allowed_device_ids = ids;
        self
    }

    /// `ActiveSyncBlockedDeviceIDs`.
    pub fn blocked_device_ids(mut self, ids: Vec<String>) -> Self {
        self.cas.blocked_device_ids = ids;
        self
    }

    pub(crate) fn into_mailbox(self, tenant: &mut Tenant) -> Mailbox {
        let now = tenant.now();
        let guid = self.guid.unwrap_or_else(|| tenant.new_guid());
        let exchange_guid = tenant.new_guid();
        let external = tenant.new_guid();
        let address = self
            .primary_smtp_address
            .unwrap_or_else(|| format!("{}@{}", self.name, tenant.domain()));
        Mailbox {
            guid,
            exchange_guid,
            external_directory_object_id: external,
            alias: self.name.clone(),
            display_name: self.display_name.unwrap_or_else(|| self.name.clone()),
            name: self.name,
            first_name: self.first_name,
            last_name: self.last_name,
            primary_smtp_address: address,
            recipient_type_details: self.recipient_type_details,
            city: self.city,
            department: self.department,
            active_sync_mailbox_policy: self.active_sync_mailbox_policy,
            when_created: self
                .when_created
                .unwrap_or(When::Ago(Duration::days(365)))
                .resolve(now)
                .unwrap_or(now),
            cas: self.cas,
        }
    }
}

/// Write access to one device of a [`Tenant`] ([`Tenant::device_mut`]): dereferences to the
/// [`Device`]; when dropped, the device goes back into the tenant with its identity, DN and
/// indexes recomputed, so even `device_type`, `device_id`, `client_type`, `guid` or
/// `mailbox` may be changed (a `mailbox` index that names no mailbox is put back to the
/// device's former owner).
#[derive(Debug)]
pub struct DeviceMut<'a> {
    tenant: &'a mut Tenant,
    original_mailbox: usize,
    device: Option<Device>,
}

impl Deref for DeviceMut<'_> {
    type Target = Device;
    fn deref(&self) -> &Device {
        // Present from creation until drop.
        self.device.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for DeviceMut<'_> {
    fn deref_mut(&mut self) -> &mut Device {
        self.device.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for DeviceMut<'_> {
    fn drop(&mut self) {
        if let Some(mut device) = self.device.take() {
            if device.mailbox >= self.tenant.mailboxes.len() {
                device.mailbox = self.original_mailbox;
            }
            device.names = None;
            self.tenant.add_device(device);
        }
    }
}

/// Write access to one mailbox of a [`Tenant`] ([`Tenant::mailbox_mut`]): dereferences to
/// the [`Mailbox`]; when dropped, the mailbox lookups (name, alias, address, display name,
/// GUIDs) and its devices' identities are recomputed.
#[derive(Debug)]
pub struct MailboxMut<'a> {
    tenant: &'a mut Tenant,
    index: usize,
}

impl Deref for MailboxMut<'_> {
    type Target = Mailbox;
    fn deref(&self) -> &Mailbox {
        &self.tenant.mailboxes[self.index]
    }
}

impl DerefMut for MailboxMut<'_> {
    fn deref_mut(&mut self) -> &mut Mailbox {
        &mut self.tenant.mailboxes[self.index]
    }
}

impl Drop for MailboxMut<'_> {
    fn drop(&mut self) {
        self.tenant.reindex_mailbox(self.index);
    }
}

impl Tenant {
    /// Edit one device in place (`None` if no device has this GUID). See [`DeviceMut`].
    ///
    /// ```
    /// use chrono::Duration;
    /// use exchange_activesync_testkit::TenantBuilder;
    ///
    /// let mut tenant = TenantBuilder::new().seed(1).mailboxes(2).devices(3).build();
    /// let guid = tenant.devices().next().unwrap().guid;
    /// let now = tenant.now();
    /// tenant.device_mut(&guid).unwrap().last_success_sync = Some(now - Duration::days(200));
    /// assert_eq!(tenant.device(&guid).unwrap().last_success_sync, Some(now - Duration::days(200)));
    /// ```
    pub fn device_mut(&mut self, guid: &Uuid) -> Option<DeviceMut<'_>> {
        let device = self.remove_device(guid)?;
        Some(DeviceMut {
            original_mailbox: device.mailbox,
            device: Some(device),
            tenant: self,
        })
    }

    /// Edit one mailbox in place, found like [`Tenant::mailbox`] (`None` if none matches).
    /// See [`MailboxMut`].
    pub fn mailbox_mut(&mut self, identity: &str) -> Option<MailboxMut<'_>> {
        let index = self.mailbox_idx(identity)?;
        Some(MailboxMut {
            tenant: self,
            index,
        })
    }

    /// Add a device built with [`Device::builder`]; returns its GUID. Its owner is looked up
    /// like [`Tenant::mailbox`]; when no mailbox matches, a mailbox of that name is created
    /// ([`Mailbox::builder`] defaults). A device with the same GUID is replaced.
    pub fn create_device(&mut self, spec: DeviceBuilder) -> Uuid {
        let mailbox = match self.mailbox_idx(spec.owner()) {
            Some(i) => i,
            None => self.create_mailbox(Mailbox::builder(spec.owner().trim())),
        };
        let device = spec.into_device(self, mailbox);
        let guid = device.guid;
        self.add_device(device);
        guid
    }

    /// Add a mailbox built with [`Mailbox::builder`]; returns its index in
    /// [`Tenant::mailboxes`].
    pub fn create_mailbox(&mut self, spec: MailboxBuilder) -> usize {
        let mailbox = spec.into_mailbox(self);
        self.add_mailbox(mailbox)
    }

    fn reindex_mailbox(&mut self, index: usize) {
        self.mailbox_index.retain(|_, i| *i != index);
        let m = &self.mailboxes[index];
        for key in [
            m.name.clone(),
            m.alias.clone(),
            m.primary_smtp_address.clone(),
            m.display_name.clone(),
            m.guid.to_string(),
            m.external_directory_object_id.to_string(),
        ] {
            self.mailbox_index
                .entry(key.to_lowercase())
                .or_insert(index);
        }
        let guids: Vec<Uuid> = self.devices_of(index).map(|d| d.guid).collect();
        for guid in guids {
            if let Some(device) = self.remove_device(&guid) {
                let mut device = device;
                device.names = None;
                self.add_device(device);
            }
        }
    }
}
