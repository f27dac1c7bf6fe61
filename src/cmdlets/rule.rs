//! Device access rules and device classes.

use super::*;
use crate::call::NoOutput;
use crate::models::{
    ActiveSyncDeviceAccessRule, ActiveSyncDeviceClass, DeviceAccessCharacteristic,
    DeviceAccessLevel,
};

request! {
    /// `Get-ActiveSyncDeviceAccessRule`: every rule, or one. (No `Filter`, no `ResultSize`.)
    #[derive(Default)]
    pub struct GetActiveSyncDeviceAccessRule for GET_ACTIVE_SYNC_DEVICE_ACCESS_RULE
        -> ListingShape<ActiveSyncDeviceAccessRule>
    {
        /// Only this rule (`-Identity`).
        identity / get_identity: opt(AccessRuleIdentity) = "Identity",
        select / get_select: select = _,
    }
}

impl GetActiveSyncDeviceAccessRule {
    /// Every rule.
    pub fn new() -> Self {
        Self::default()
    }
}

request! {
    /// `New-ActiveSyncDeviceAccessRule`: creates a rule and returns it. The server names it
    /// `<QueryString> (<Characteristic>)` (see [`AccessRuleIdentity::for_rule`]).
    pub struct NewActiveSyncDeviceAccessRule for NEW_ACTIVE_SYNC_DEVICE_ACCESS_RULE
        -> CreatedShape<ActiveSyncDeviceAccessRule>, impl Bespoke
    {
        @required {
            query_string / get_query_string: text = "QueryString",
            characteristic / get_characteristic:
                value(DeviceAccessCharacteristic) = "Characteristic",
            access_level / get_access_level: value(DeviceAccessLevel) = "AccessLevel",
        }
    }
}

impl NewActiveSyncDeviceAccessRule {
    /// A rule giving `access_level` to devices whose `characteristic` equals `query_string`
    /// exactly (no wildcards). The query string must not be empty.
    pub fn new(
        query_string: impl Into<String>,
        characteristic: DeviceAccessCharacteristic,
        access_level: DeviceAccessLevel,
    ) -> Result<Self> {
        let query_string = query_string.into();
        check_non_empty::<Self>("QueryString", &query_string)?;
        Ok(Self::blank(query_string, characteristic, access_level))
    }

    /// The identity the server will give the rule.
    pub fn expected_identity(&self) -> Result<AccessRuleIdentity> {
        Ok(AccessRuleIdentity::for_rule(
            &self.query_string,
            &self.characteristic,
        )?)
    }
}

impl Bespoke for NewActiveSyncDeviceAccessRule {
    fn check(&self) -> Result<()> {
        check_non_empty::<Self>("QueryString", &self.query_string)
    }
}

request! {
    /// `Set-ActiveSyncDeviceAccessRule`: the access level is the only thing a rule can change
    /// (to change the query string or characteristic, remove the rule and create a new one).
    pub struct SetActiveSyncDeviceAccessRule for SET_ACTIVE_SYNC_DEVICE_ACCESS_RULE
        -> NoOutputShape<NoOutput>
    {
        @required {
            identity / get_identity / identity: value(AccessRuleIdentity) = "Identity",
            access_level / get_access_level: value(DeviceAccessLevel) = "AccessLevel",
        }
    }
}

impl SetActiveSyncDeviceAccessRule {
    /// Give the rule `identity` the level `access_level`.
    pub fn new(identity: AccessRuleIdentity, access_level: DeviceAccessLevel) -> Self {
        Self::blank(identity, access_level)
    }
}

request! {
    /// `Remove-ActiveSyncDeviceAccessRule` (destructive; sent with `Confirm:false`).
    pub struct RemoveActiveSyncDeviceAccessRule for REMOVE_ACTIVE_SYNC_DEVICE_ACCESS_RULE
        -> NoOutputShape<NoOutput>
    {
        @required {
            identity / get_identity / identity: value(AccessRuleIdentity) = "Identity",
        }
    }
}

impl RemoveActiveSyncDeviceAccessRule {
    /// Remove the rule `identity`.
    pub fn new(identity: AccessRuleIdentity) -> Self {
        Self::blank(identity)
    }
}

request! {
    /// `Get-ActiveSyncDeviceClass`: the device type/model pairs seen in the tenant. (No
    /// `ResultSize`.)
    #[derive(Default)]
    pub struct GetActiveSyncDeviceClass for GET_ACTIVE_SYNC_DEVICE_CLASS
        -> ListingShape<ActiveSyncDeviceClass>
    {
        /// Only this class (`-Identity`: name `<DeviceType>§<DeviceModel>`, DN or GUID).
        identity / get_identity: text = "Identity",
        /// `-Filter` on DeviceModel, DeviceType or LastUpdateTime.
        filter / get_filter: opt(Filter) = "Filter",
        /// `-SortBy` (DeviceModel, DeviceType or LastUpdateTime, ascending).
        sort_by / get_sort_by: sort_by = "SortBy",
        select / get_select: select = _,
    }
}

impl GetActiveSyncDeviceClass {
    /// Every device class.
    pub fn new() -> Self {
        Self::default()
    }
}
