//! Mobile devices: Get-MobileDevice, Get-MobileDeviceStatistics, Clear-, Remove-MobileDevice,
//! and the tenant-wide Get-MobileDeviceDashboardSummaryReport.

use super::*;
use chrono::{DateTime, Utc};

use crate::call::NoOutput;
use crate::models::{MobileDevice, MobileDeviceDashboardSummary, MobileDeviceStatistics};
use crate::protocol::RoutingHint;

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

request! {
    /// `Get-MobileDevice`: device partnerships of the organization, of one mailbox, or one device.
    ///
    /// Sends `ResultSize: "Unlimited"` unless [`result_size`](Self::result_size) is set (the
    /// service otherwise stops at 1000).
    ///
    /// ```
    /// use exchange_activesync::cmdlets::GetMobileDevice;
    /// use exchange_activesync::models::DeviceAccessState;
    /// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
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
#[derive(Default)]
    pub struct GetMobileDevice for GET_MOBILE_DEVICE -> ListingShape<MobileDevice>, impl Bespoke {
        /// `-Identity` (cannot be combined with `-Mailbox`).
        identity / get_identity: opt(MobileDeviceIdentity) = "Identity",
        /// `-Mailbox` (cannot be combined with `-Identity`). An SMTP or GUID mailbox also
        /// routes the request to that mailbox.
        mailbox / get_mailbox: opt(MailboxIdentity) = "Mailbox",
        /// `-ActiveSync`: only Exchange ActiveSync partnerships.
        active_sync / get_active_sync: switch = "ActiveSync",
        /// `-OWAforDevices`: only OWA for Devices partnerships.
        owa_for_devices / get_owa_for_devices: switch = "OWAforDevices",
        /// `-RestApi`: only REST API (Outlook mobile) partnerships.
        rest_api / get_rest_api: switch = "RestApi",
        /// `-UniversalOutlook`: only Windows Mail/Calendar partnerships.
        universal_outlook / get_universal_outlook: switch = "UniversalOutlook",
        /// `-Filter` (OPATH; see docs/cmdlets.md §12 for the filterable properties).
        filter / get_filter: opt(Filter) = "Filter",
        /// `-OrganizationalUnit`.
        organizational_unit / get_organizational_unit: text = "OrganizationalUnit",
        /// `-ResultSize` (at least 1); without it `Unlimited` is sent.
        result_size / get_result_size: result_size = "ResultSize",
        /// `-SortBy` (one property, ascending).
        sort_by / get_sort_by: sort_by = "SortBy",
        select / get_select: select = _,
    }
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
}

impl Bespoke for GetMobileDevice {
    fn check(&self) -> Result<()> {
        if self.identity.is_some() && self.mailbox.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "cannot be combined with -Mailbox (they belong to different parameter sets); set one of them",
            ));
        }
        Ok(())
    }
    fn finish(&self, inv: Invocation) -> Invocation {
        mailbox_routing(inv, self.mailbox.as_ref())
    }
}

request! {
    /// `Get-MobileDeviceStatistics`: sync and wipe statistics of one device, or of every
    /// partnership of one mailbox. Exactly one of `Identity` and `Mailbox` is required. (This
    /// cmdlet takes no `ResultSize`, `Filter` or `SortBy`.)
    pub struct GetMobileDeviceStatistics for GET_MOBILE_DEVICE_STATISTICS
        -> ListingShape<MobileDeviceStatistics>, sends ["GetMailboxLog"], impl Bespoke
    {
        identity / get_identity: ctor_opt(MobileDeviceIdentity) = "Identity",
        mailbox / get_mailbox: ctor_opt(MailboxIdentity) = "Mailbox",
        /// `-ActiveSync`: only Exchange ActiveSync partnerships.
        active_sync / get_active_sync: switch = "ActiveSync",
        /// `-OWAforDevices`: only OWA for Devices partnerships.
        owa_for_devices / get_owa_for_devices: switch = "OWAforDevices",
        /// `-RestApi`: only REST API (Outlook mobile) partnerships.
        rest_api / get_rest_api: switch = "RestApi",
        /// `-UniversalOutlook`: only Windows Mail/Calendar partnerships.
        universal_outlook / get_universal_outlook: switch = "UniversalOutlook",
        /// `-GetMailboxLog` with `-NotificationEmailAddresses`: mail the device's mailbox log
        /// to these addresses (at least one) and fill `MailboxLogReport`.
        mailbox_log_to / get_mailbox_log_to: addresses = "NotificationEmailAddresses",
        /// `-ShowRecoveryPassword`: return `RecoveryPassword` unmasked.
        show_recovery_password / get_show_recovery_password: switch = "ShowRecoveryPassword",
        select / get_select: select = _,
    }
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
                ..Self::blank()
            }),
        }
    }

    /// Statistics of one device.
    pub fn for_device(identity: MobileDeviceIdentity) -> Self {
        GetMobileDeviceStatistics {
            identity: Some(identity),
            ..Self::blank()
        }
    }

    /// Statistics of every partnership of a mailbox. An SMTP or GUID mailbox also routes the
    /// request to that mailbox.
    pub fn for_mailbox(mailbox: MailboxIdentity) -> Self {
        GetMobileDeviceStatistics {
            mailbox: Some(mailbox),
            ..Self::blank()
        }
    }
}

impl Bespoke for GetMobileDeviceStatistics {
    fn check(&self) -> Result<()> {
        if self.identity.is_some() == self.mailbox.is_some() {
            return Err(invalid::<Self>(
                "Identity",
                "give exactly one of Identity and Mailbox",
            ));
        }
        Ok(())
    }
    fn encode_more(&self, p: &mut Parameters) -> Result<()> {
        put_switch(p, "GetMailboxLog", !self.mailbox_log_to.is_empty());
        Ok(())
    }
    fn finish(&self, inv: Invocation) -> Invocation {
        mailbox_routing(inv, self.mailbox.as_ref())
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

request! {
    /// `Clear-MobileDevice` (destructive; sent with `Confirm:false`): wipe a device, wipe only
    /// the account, or cancel a pending wipe. It cannot be built without a
    /// [`MobileDeviceIdentity`].
    pub struct ClearMobileDevice for CLEAR_MOBILE_DEVICE -> NoOutputShape<NoOutput>,
        sends ["AccountOnly", "Cancel"], impl Bespoke
    {
        @required {
            identity / get_identity / identity: value(MobileDeviceIdentity) = "Identity",
            intent / get_intent / intent: copy(WipeIntent) = _,
        }
        /// `-NotificationEmailAddresses`: who gets the wipe confirmation mail. The service
        /// reports invalid addresses as warnings.
        notify / get_notify: addresses = "NotificationEmailAddresses",
    }
}

impl ClearMobileDevice {
    /// Do `intent` to the device `identity`.
    pub fn new(identity: MobileDeviceIdentity, intent: WipeIntent) -> Self {
        Self::blank(identity, intent)
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

    /// Whether this wipes only the mailbox data (`-AccountOnly`).
    pub fn is_account_only(&self) -> bool {
        self.intent == WipeIntent::AccountOnly
    }
}

impl Bespoke for ClearMobileDevice {
    fn encode_more(&self, p: &mut Parameters) -> Result<()> {
        put_switch(p, "AccountOnly", self.intent == WipeIntent::AccountOnly);
        put_switch(p, "Cancel", self.intent == WipeIntent::Cancel);
        Ok(())
    }
}

request! {
    /// `Remove-MobileDevice` (destructive; sent with `Confirm:false`): deletes a partnership.
    /// An active device creates a new one on its next sync unless something blocks it.
    pub struct RemoveMobileDevice for REMOVE_MOBILE_DEVICE -> NoOutputShape<NoOutput> {
        @required {
            identity / get_identity / identity: value(MobileDeviceIdentity) = "Identity",
        }
    }
}

impl RemoveMobileDevice {
    /// Remove the partnership `identity`.
    pub fn new(identity: MobileDeviceIdentity) -> Self {
        Self::blank(identity)
    }
}

request! {
    /// `Get-MobileDeviceDashboardSummaryReport`: a tenant-wide summary of the mobile devices,
    /// one row per device type (how many partnerships, how many allowed, blocked or in
    /// quarantine, how many synced within the reporting window).
    ///
    /// ```
    /// use exchange_activesync::cmdlets::GetMobileDeviceDashboardSummaryReport;
    /// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
    /// use exchange_activesync::ExchangeClientExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = FakeExchangeClient::new(TenantBuilder::new().seed(3).mailboxes(5).devices(12).build());
    /// let report = client
    ///     .get_mobile_device_dashboard_summary_report(GetMobileDeviceDashboardSummaryReport::new())
    ///     .await?;
    /// let total: i32 = report.items.iter().filter_map(|row| row.total_devices).sum();
    /// assert_eq!(total, 12);
    /// # Ok(()) }
    /// ```
    #[derive(Default)]
    pub struct GetMobileDeviceDashboardSummaryReport
        for GET_MOBILE_DEVICE_DASHBOARD_SUMMARY_REPORT
        -> ListingShape<MobileDeviceDashboardSummary>, impl Bespoke
    {
        /// `-DeviceType`: only devices of this type (e.g. `iPhone`, `Outlook`).
        device_type / get_device_type: text = "DeviceType",
        /// `-StartDate`: the start of the reporting window.
        start_date / get_start_date: copy(DateTime<Utc>) = "StartDate",
        /// `-EndDate`: the end of the reporting window (not before the start).
        end_date / get_end_date: copy(DateTime<Utc>) = "EndDate",
        select / get_select: select = _,
    }
}

impl GetMobileDeviceDashboardSummaryReport {
    /// The summary of every device type over the service's default window.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Bespoke for GetMobileDeviceDashboardSummaryReport {
    fn check(&self) -> Result<()> {
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && start > end
        {
            return Err(invalid::<Self>(
                "EndDate",
                format!("{end} is before StartDate {start}"),
            ));
        }
        Ok(())
    }
}
