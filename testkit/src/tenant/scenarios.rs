//! Opt-in situations the device workflows meet in real tenants, added to a generated tenant
//! on request (a generated tenant without them stays as it was): partnerships in
//! quarantine, and allow / block list entries naming no partnership.

use uuid::Uuid;

use super::model::Tenant;

/// An entry of a mailbox's device id list that names no partnership of that mailbox
/// ([`Tenant::add_orphan_list_entries`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrphanEntry {
    /// The mailbox's `Name`.
    pub mailbox: String,
    /// `ActiveSyncAllowedDeviceIDs` or `ActiveSyncBlockedDeviceIDs`.
    pub list: &'static str,
    /// The device id.
    pub device_id: String,
}

impl Tenant {
    /// Put up to `n` partnerships in quarantine (`Quarantined` / `Global`, as a device
    /// that connected while the organization's default access level was `Quarantine`): the
    /// first ones in Guid order that are `Allowed` by the organization default or a rule (not
    /// by a personal exemption). Returns their Guids.
    ///
    /// ```
    /// use exchange_activesync_testkit::TenantBuilder;
    ///
    /// let mut tenant = TenantBuilder::new().seed(1).devices(20).build();
    /// let quarantined = tenant.quarantine_devices(3);
    /// assert_eq!(quarantined.len(), 3);
    /// assert!(quarantined.iter().all(|g| tenant.device(g).unwrap().access_state == "Quarantined"));
    /// ```
    pub fn quarantine_devices(&mut self, n: usize) -> Vec<Uuid> {
        let chosen: Vec<Uuid> = self
            .devices
            .values()
            .filter(|d| d.access_state == "Allowed" && d.access_state_reason != "Individual")
            .take(n)
            .map(|d| d.guid)
            .collect();
        for g in &chosen {
            let d = self.devices.get_mut(g).expect("chosen above");
            d.access_state = "Quarantined".into();
            d.access_state_reason = "Global".into();
            d.access_control_rule = None;
        }
        chosen
    }

    /// Add `n` entries naming no partnership to the device id lists of the tenant's user
    /// mailboxes (allowed and blocked lists in turn, mailboxes in order), as a partnership
    /// removed long ago leaves behind. Returns them.
    ///
    /// ```
    /// use exchange_activesync_testkit::TenantBuilder;
    ///
    /// let mut tenant = TenantBuilder::new().seed(1).mailboxes(3).devices(5).build();
    /// let orphans = tenant.add_orphan_list_entries(4);
    /// assert_eq!(orphans.len(), 4);
    /// let first = tenant.mailbox(&orphans[0].mailbox).unwrap();
    /// assert!(first.cas.allowed_device_ids.contains(&orphans[0].device_id));
    /// ```
    pub fn add_orphan_list_entries(&mut self, n: usize) -> Vec<OrphanEntry> {
        let users: Vec<usize> = (0..self.mailboxes.len())
            .filter(|&i| self.mailboxes[i].recipient_type() == "UserMailbox")
            .collect();
        let mut out = Vec::new();
        if users.is_empty() {
            return out;
        }
        for k in 0..n {
            let i = users[k % users.len()];
            let id: String = (0..32)
                .map(|_| {
                    char::from_digit(self.rng.u32(0..16), 16)
                        .unwrap_or('0')
                        .to_ascii_uppercase()
                })
                .collect();
            let cas = &mut self.mailboxes[i].cas;
            let list = if k % 2 == 0 {
                cas.allowed_device_ids.push(id.clone());
                "ActiveSyncAllowedDeviceIDs"
            } else {
                cas.blocked_device_ids.push(id.clone());
                "ActiveSyncBlockedDeviceIDs"
            };
            out.push(OrphanEntry {
                mailbox: self.mailboxes[i].name.clone(),
                list,
                device_id: id,
            });
        }
        out
    }
}
