//! Mobile devices: Get-MobileDevice, Get-MobileDeviceStatistics, Clear-, Remove-MobileDevice.

use super::rule::check_sort_by;
use super::*;
use crate::models::{MobileDevice, MobileDeviceStatistics};
use crate::protocol::RoutingHint;
use crate::typed::NoOutput;

/// Client-kind switches shared by Get-MobileDevice and Get-MobileDeviceStatistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ClientSwitches {
    active_sync: bool,
    owa_for_devices: bool,
    rest_api: bool,
    universal_outlook: bool,
}

impl ClientSwitches {
    fn encode(&self, p: &mut Parameters) {
        put_switch(p, "ActiveSync", self.active_sync);
        put_switch(p, "OWAforDevices", self.owa_for_devices);
        put_switch(p, "RestApi", self.rest_api);
        put_switch(p, "UniversalOutlook", self.universal_outlook);
    }
}

macro_rules! client_switch_setters {
    () => {
        /// `-ActiveSync`: only Exchange ActiveSync partnerships.
        pub fn active_sync(mut self) -> Self {
            self.switches.active_sync = true;
            self
        }
        /// `-OWAforDevices`: only OWA for Devices partnerships.
        pub fn owa_for_devices(mut self) -> Self {
            self.switches.owa_for_devices = true;
            self
        }
        /// `-RestApi`: only REST API (Outlook mobile) partnerships.
        pub fn rest_api(mut self) -> Self {
            self.switches.rest_api = true;
            self
        }
        /// `-UniversalOutlook`: only Windows Mail/Calendar partnerships.
        pub fn universal_outlook(mut self) -> Self {
            self.switches.universal_outlook = true;
            self
        }
    };
}

/// The routing hint for a `-Mailbox` parameter: set when the mailbox is an SMTP address or a
/// GUID (docs/protocol.md §2.4). The tenant part (used for GUID mailboxes, `MBX:<guid>@<tenant>`)
/// is left empty here; the HTTP client fills in its own tenant. `UseCustomRouting` itself is
/// never sent: it only ever affected routing headers.
fn mailbox_routing(inv: Invocation, mailbox: Option<&MailboxIdentity>) -> Invocation {
    match mailbox {
        Some(m) if m.is_routable() => inv.routing(RoutingHint::Mailbox {
            mailbox: m.as_str().to_string(),
            tenant: String::new(),
        }),
        _ => inv,
    }
}

/// `Get-MobileDevice`: device partnerships of the organization, of one mailbox, or one device.
///
/// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set (the
/// service otherwise stops at 1000).
///
/// ```
/// use exchange_activesync::cmdlets::GetMobileDevice;
/// use exchange_activesync::models::DeviceAccessState;
/// use exchange_activesync::testing::{FakeExchangeClient, TenantBuilder};
/// use exchange_activesync::types::{Filter, MailboxIdentity};
/// use exchange_activesync::ExchangeClientExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(9).mailboxes(4).devices(16).build());
/// let all = client.get_mobile_device(GetMobileDevice::new()).await?;
/// assert_eq!(all.items.len(), 16);
///
/// // One mailbox's devices, only two properties of each.
/// let owner = all.items[0].user_display_name.clone();
/// let mailbox = MailboxIdentity::new(all.items[0].identity.as_deref().unwrap().split('\\').next().unwrap())?;
/// let request = GetMobileDevice::for_mailbox(mailbox.clone()).select(["Identity", "DeviceAccessState"]);
/// assert_eq!(request.get_mailbox(), Some(&mailbox));
/// let mine = client.get_mobile_device(request).await?;
/// assert!(!mine.items.is_empty() && mine.items.len() < 16);
/// assert!(mine.items.iter().all(|d| d.device_model.is_none()), "not selected");
/// # let _ = owner;
///
/// // A server-side filter.
/// let blocked = client
///     .get_mobile_device(GetMobileDevice::new().filter(Filter::eq("DeviceAccessState", "Blocked")))
///     .await?;
/// assert!(blocked.items.iter().all(|d| d.device_access_state == Some(DeviceAccessState::Blocked)));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetMobileDevice {
    identity: Option<MobileDeviceIdentity>,
    mailbox: Option<MailboxIdentity>,
    switches: ClientSwitches,
    filter: Option<Filter>,
    organizational_unit: Option<String>,
    result_size: Option<u32>,
    sort_by: Option<String>,
    select: Vec<String>,
}

impl GetMobileDevice {
    /// Every device of the organization.
    pub fn new() -> Self {
        Self::default()
    }

    /// The devices of one mailbox (`-Mailbox`; parameter set `Mailbox`).
    pub fn for_mailbox(mailbox: MailboxIdentity) -> Self {
        Self::default().mailbox(mailbox)
    }

    /// One device (`-Identity`; parameter set `Identity`).
    pub fn for_device(identity: MobileDeviceIdentity) -> Self {
        Self::default().identity(identity)
    }

    /// `-Identity` (cannot be combined with `-Mailbox`).
    pub fn identity(mut self, identity: MobileDeviceIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// `-Mailbox` (cannot be combined with `-Identity`). An SMTP or GUID mailbox also routes
    /// the request to that mailbox.
    pub fn mailbox(mut self, mailbox: MailboxIdentity) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    client_switch_setters!();

    /// `-Filter` (OPATH; see docs/cmdlets.md §12 for the filterable properties).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// `-OrganizationalUnit`.
    pub fn organizational_unit(mut self, ou: impl Into<String>) -> Self {
        self.organizational_unit = Some(ou.into());
        self
    }

    /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
    pub fn result_size(mut self, n: u32) -> Self {
        self.result_size = Some(n);
        self
    }

    /// `-SortBy` (one property, ascending).
    pub fn sort_by(mut self, property: impl Into<String>) -> Self {
        self.sort_by = Some(property.into());
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetMobileDevice {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&MobileDeviceIdentity> {
        self.identity.as_ref()
    }

    /// What [`mailbox`](Self::mailbox) set (read access, e.g. for a mock).
    pub fn get_mailbox(&self) -> Option<&MailboxIdentity> {
        self.mailbox.as_ref()
    }

    /// What [`active_sync`](Self::active_sync) set (read access, e.g. for a mock).
    pub fn get_active_sync(&self) -> bool {
        self.switches.active_sync
    }

    /// What [`owa_for_devices`](Self::owa_for_devices) set (read access, e.g. for a mock).
    pub fn get_owa_for_devices(&self) -> bool {
        self.switches.owa_for_devices
    }

    /// What [`rest_api`](Self::rest_api) set (read access, e.g. for a mock).
    pub fn get_rest_api(&self) -> bool {
        self.switches.rest_api
    }

    /// What [`universal_outlook`](Self::universal_outlook) set (read access, e.g. for a mock).
    pub fn get_universal_outlook(&self) -> bool {
        self.switches.universal_outlook
    }

    /// What [`filter`](Self::filter) set (read access, e.g. for a mock).
    pub fn get_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// What [`organizational_unit`](Self::organizational_unit) set (read access, e.g. for a mock).
    pub fn get_organizational_unit(&self) -> Option<&str> {
        self.organizational_unit.as_deref()
    }

    /// What [`result_size`](Self::result_size) set (read access, e.g. for a mock).
    pub fn get_result_size(&self) -> Option<u32> {
        self.result_size
    }

    /// What [`sort_by`](Self::sort_by) set (read access, e.g. for a mock).
    pub fn get_sort_by(&self) -> Option<&str> {
        self.sort_by.as_deref()
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetMobileDevice {
    type Output = MobileDevice;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_DEVICE);
    fn invocation(&self) -> Result<Invocation> {
        if self.identity.is_some() && self.mailbox.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "cannot be combined with -Mailbox (they belong to different parameter sets); set one of them",
            ));
        }
        let mut p = Parameters::new();
        put(&mut p, "Identity", &self.identity);
        put(&mut p, "Mailbox", &self.mailbox);
        self.switches.encode(&mut p);
        put(&mut p, "Filter", &self.filter);
        if let Some(ou) = &self.organizational_unit {
            check_non_empty::<Self>("OrganizationalUnit", ou)?;
            p.string("OrganizationalUnit", ou.trim());
        }
        result_size_param::<Self>(&mut p, self.result_size)?;
        if let Some(s) = &self.sort_by {
            check_sort_by::<Self>(s)?;
            p.string("SortBy", s.trim());
        }
        let inv = Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p);
        Ok(with_select(
            mailbox_routing(inv, self.mailbox.as_ref()),
            &self.select,
        ))
    }
}

/// `Get-MobileDeviceStatistics`: sync and wipe statistics of one device, or of every
/// partnership of one mailbox. Exactly one of `Identity` and `Mailbox` is required. (This
/// cmdlet takes no `ResultSize`, `Filter` or `SortBy`.)
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GetMobileDeviceStatistics {
    identity: Option<MobileDeviceIdentity>,
    mailbox: Option<MailboxIdentity>,
    switches: ClientSwitches,
    mailbox_log_to: Vec<String>,
    show_recovery_password: bool,
    select: Vec<String>,
}

impl GetMobileDeviceStatistics {
    /// Statistics for exactly one of `identity` (one device) and `mailbox` (all of its
    /// devices); giving both or neither is an error naming the parameters.
    pub fn new(
        identity: Option<MobileDeviceIdentity>,
        mailbox: Option<MailboxIdentity>,
    ) -> Result<Self> {
        match (&identity, &mailbox) {
            (Some(_), Some(_)) => Err(invalid::<Self>(
                "Identity",
                "Identity and Mailbox cannot be used together; give exactly one",
            )),
            (None, None) => Err(invalid::<Self>(
                "Identity",
                "one of Identity or Mailbox is required",
            )),
            _ => Ok(GetMobileDeviceStatistics {
                identity,
                mailbox,
                switches: ClientSwitches::default(),
                mailbox_log_to: Vec::new(),
                show_recovery_password: false,
                select: Vec::new(),
            }),
        }
    }

    /// Statistics of one device.
    pub fn for_device(identity: MobileDeviceIdentity) -> Self {
        GetMobileDeviceStatistics {
            identity: Some(identity),
            mailbox: None,
            switches: ClientSwitches::default(),
            mailbox_log_to: Vec::new(),
            show_recovery_password: false,
            select: Vec::new(),
        }
    }

    /// Statistics of every partnership of a mailbox. An SMTP or GUID mailbox also routes the
    /// request to that mailbox.
    pub fn for_mailbox(mailbox: MailboxIdentity) -> Self {
        GetMobileDeviceStatistics {
            identity: None,
            mailbox: Some(mailbox),
            switches: ClientSwitches::default(),
            mailbox_log_to: Vec::new(),
            show_recovery_password: false,
            select: Vec::new(),
        }
    }

    client_switch_setters!();

    /// `-GetMailboxLog` with `-NotificationEmailAddresses`: mail the device's mailbox log to
    /// these addresses (at least one) and fill `MailboxLogReport`.
    pub fn mailbox_log_to<I, S>(mut self, addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.mailbox_log_to = addresses.into_iter().map(Into::into).collect();
        self
    }

    /// `-ShowRecoveryPassword`: return `RecoveryPassword` unmasked.
    pub fn show_recovery_password(mut self) -> Self {
        self.show_recovery_password = true;
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetMobileDeviceStatistics {
    /// The `identity` given to the constructor (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&MobileDeviceIdentity> {
        self.identity.as_ref()
    }

    /// The `mailbox` given to the constructor (read access, e.g. for a mock).
    pub fn get_mailbox(&self) -> Option<&MailboxIdentity> {
        self.mailbox.as_ref()
    }

    /// What [`active_sync`](Self::active_sync) set (read access, e.g. for a mock).
    pub fn get_active_sync(&self) -> bool {
        self.switches.active_sync
    }

    /// What [`owa_for_devices`](Self::owa_for_devices) set (read access, e.g. for a mock).
    pub fn get_owa_for_devices(&self) -> bool {
        self.switches.owa_for_devices
    }

    /// What [`rest_api`](Self::rest_api) set (read access, e.g. for a mock).
    pub fn get_rest_api(&self) -> bool {
        self.switches.rest_api
    }

    /// What [`universal_outlook`](Self::universal_outlook) set (read access, e.g. for a mock).
    pub fn get_universal_outlook(&self) -> bool {
        self.switches.universal_outlook
    }

    /// What [`mailbox_log_to`](Self::mailbox_log_to) set (read access, e.g. for a mock).
    pub fn get_mailbox_log_to(&self) -> &[String] {
        &self.mailbox_log_to
    }

    /// What [`show_recovery_password`](Self::show_recovery_password) set (read access, e.g. for a mock).
    pub fn get_show_recovery_password(&self) -> bool {
        self.show_recovery_password
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetMobileDeviceStatistics {
    type Output = MobileDeviceStatistics;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_STATISTICS);
    fn invocation(&self) -> Result<Invocation> {
        if self.identity.is_some() == self.mailbox.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "give exactly one of Identity and Mailbox",
            ));
        }
        if self.mailbox_log_to.iter().any(|a| a.trim().is_empty()) {
            return Err(invalid::<Self>(
                "NotificationEmailAddresses",
                "addresses must not be empty",
            ));
        }
        let mut p = Parameters::new();
        put(&mut p, "Identity", &self.identity);
        put(&mut p, "Mailbox", &self.mailbox);
        self.switches.encode(&mut p);
        if !self.mailbox_log_to.is_empty() {
            p.switch("GetMailboxLog", true);
            p.strings(
                "NotificationEmailAddresses",
                self.mailbox_log_to.iter().map(|s| s.trim().to_string()),
            );
        }
        put_switch(&mut p, "ShowRecoveryPassword", self.show_recovery_password);
        let inv = Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p);
        Ok(with_select(
            mailbox_routing(inv, self.mailbox.as_ref()),
            &self.select,
        ))
    }
}

/// What `Clear-MobileDevice` should do. `AccountOnly` together with `Cancel` has no documented
/// meaning and is not offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WipeIntent {
    /// Wipe the whole device on its next sync.
    FullWipe,
    /// Remove only the mailbox data from the device (`-AccountOnly`; implicit for `Outlook`
    /// devices).
    AccountOnly,
    /// Withdraw a wipe that is still pending (`-Cancel`). With nothing to cancel the service
    /// answers with a warning, not an error.
    Cancel,
}

/// `Clear-MobileDevice` (destructive; sent with `Confirm:false`): wipe a device, wipe only the
/// account, or cancel a pending wipe. It cannot be built without a [`MobileDeviceIdentity`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClearMobileDevice {
    identity: MobileDeviceIdentity,
    intent: WipeIntent,
    notify: Vec<String>,
}

impl ClearMobileDevice {
    /// Do `intent` to the device `identity`.
    pub fn new(identity: MobileDeviceIdentity, intent: WipeIntent) -> Self {
        ClearMobileDevice {
            identity,
            intent,
            notify: Vec::new(),
        }
    }

    /// Full device wipe.
    pub fn full_wipe(identity: MobileDeviceIdentity) -> Self {
        Self::new(identity, WipeIntent::FullWipe)
    }

    /// Account-only wipe.
    pub fn account_only(identity: MobileDeviceIdentity) -> Self {
        Self::new(identity, WipeIntent::AccountOnly)
    }

    /// Cancel a pending wipe.
    pub fn cancel(identity: MobileDeviceIdentity) -> Self {
        Self::new(identity, WipeIntent::Cancel)
    }

    /// `-NotificationEmailAddresses`: who gets the wipe confirmation mail. The service reports
    /// invalid addresses as warnings.
    pub fn notify<I, S>(mut self, addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.notify = addresses.into_iter().map(Into::into).collect();
        self
    }

    /// The device.
    pub fn identity(&self) -> &MobileDeviceIdentity {
        &self.identity
    }

    /// The intent.
    pub fn intent(&self) -> WipeIntent {
        self.intent
    }
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl ClearMobileDevice {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> &MobileDeviceIdentity {
        &self.identity
    }

    /// What [`intent`](Self::intent) set (read access, e.g. for a mock).
    pub fn get_intent(&self) -> WipeIntent {
        self.intent
    }

    /// What [`notify`](Self::notify) set (read access, e.g. for a mock).
    pub fn get_notify(&self) -> &[String] {
        &self.notify
    }

    /// Whether this wipes only the mailbox data (`-AccountOnly`).
    pub fn is_account_only(&self) -> bool {
        self.intent == WipeIntent::AccountOnly
    }
}

impl Cmdlet for ClearMobileDevice {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::CLEAR_DEVICE);
    fn invocation(&self) -> Result<Invocation> {
        if self.notify.iter().any(|a| a.trim().is_empty()) {
            return Err(invalid::<Self>(
                "NotificationEmailAddresses",
                "addresses must not be empty",
            ));
        }
        let mut p = Parameters::new();
        p.string("Identity", self.identity.as_str());
        match self.intent {
            WipeIntent::FullWipe => {}
            WipeIntent::AccountOnly => {
                p.switch("AccountOnly", true);
            }
            WipeIntent::Cancel => {
                p.switch("Cancel", true);
            }
        }
        if !self.notify.is_empty() {
            p.strings(
                "NotificationEmailAddresses",
                self.notify.iter().map(|s| s.trim().to_string()),
            );
        }
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}

/// `Remove-MobileDevice` (destructive; sent with `Confirm:false`): deletes a partnership. An
/// active device creates a new one on its next sync unless something blocks it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RemoveMobileDevice {
    identity: MobileDeviceIdentity,
}

impl RemoveMobileDevice {
    /// Remove the partnership `identity`.
    pub fn new(identity: MobileDeviceIdentity) -> Self {
        RemoveMobileDevice { identity }
    }
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl RemoveMobileDevice {
    /// The `identity` given to the constructor (read access, e.g. for a mock).
    pub fn get_identity(&self) -> &MobileDeviceIdentity {
        &self.identity
    }

    /// The identity given to the constructor.
    pub fn identity(&self) -> &MobileDeviceIdentity {
        &self.identity
    }
}

impl Cmdlet for RemoveMobileDevice {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::REMOVE_DEVICE);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        p.string("Identity", self.identity.as_str());
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}
