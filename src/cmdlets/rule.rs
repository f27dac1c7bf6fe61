//! Device access rules and device classes.

use super::*;
use crate::models::{
    ActiveSyncDeviceAccessRule, ActiveSyncDeviceClass, DeviceAccessCharacteristic,
    DeviceAccessLevel,
};
use crate::typed::NoOutput;

/// `Get-ActiveSyncDeviceAccessRule`: every rule, or one. (No `Filter`, no `ResultSize`.)
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetActiveSyncDeviceAccessRule {
    identity: Option<AccessRuleIdentity>,
    select: Vec<String>,
}

impl GetActiveSyncDeviceAccessRule {
    /// Every rule.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this rule (`-Identity`).
    pub fn identity(mut self, identity: AccessRuleIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetActiveSyncDeviceAccessRule {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&AccessRuleIdentity> {
        self.identity.as_ref()
    }

    /// What [`select`](Self::select) set (read access, e.g. for a mock).
    pub fn get_select(&self) -> &[String] {
        &self.select
    }
}

impl Cmdlet for GetActiveSyncDeviceAccessRule {
    type Output = ActiveSyncDeviceAccessRule;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_RULE);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        put(&mut p, "Identity", &self.identity);
        Ok(with_select(
            Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p),
            &self.select,
        ))
    }
}

/// `New-ActiveSyncDeviceAccessRule`: creates a rule and returns it. The server names it
/// `<QueryString> (<Characteristic>)` (see [`AccessRuleIdentity::for_rule`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NewActiveSyncDeviceAccessRule {
    query_string: String,
    characteristic: DeviceAccessCharacteristic,
    access_level: DeviceAccessLevel,
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
        Ok(NewActiveSyncDeviceAccessRule {
            query_string,
            characteristic,
            access_level,
        })
    }

    /// The identity the server will give the rule.
    pub fn expected_identity(&self) -> Result<AccessRuleIdentity> {
        Ok(AccessRuleIdentity::for_rule(
            &self.query_string,
            &self.characteristic,
        )?)
    }
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl NewActiveSyncDeviceAccessRule {
    /// The `query_string` given to the constructor (read access, e.g. for a mock).
    pub fn get_query_string(&self) -> &str {
        &self.query_string
    }

    /// The `characteristic` given to the constructor (read access, e.g. for a mock).
    pub fn get_characteristic(&self) -> &DeviceAccessCharacteristic {
        &self.characteristic
    }

    /// The `access_level` given to the constructor (read access, e.g. for a mock).
    pub fn get_access_level(&self) -> &DeviceAccessLevel {
        &self.access_level
    }
}

impl Cmdlet for NewActiveSyncDeviceAccessRule {
    type Output = ActiveSyncDeviceAccessRule;
    type Shape = crate::typed::CreatedShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::NEW_RULE);
    fn invocation(&self) -> Result<Invocation> {
        check_non_empty::<Self>("QueryString", &self.query_string)?;
        let mut p = Parameters::new();
        p.string("QueryString", self.query_string.clone());
        p.string("Characteristic", self.characteristic.as_str());
        p.string("AccessLevel", self.access_level.as_str());
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}

/// `Set-ActiveSyncDeviceAccessRule`: the access level is the only thing a rule can change
/// (to change the query string or characteristic, remove the rule and create a new one).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SetActiveSyncDeviceAccessRule {
    identity: AccessRuleIdentity,
    access_level: DeviceAccessLevel,
}

impl SetActiveSyncDeviceAccessRule {
    /// Give the rule `identity` the level `access_level`.
    pub fn new(identity: AccessRuleIdentity, access_level: DeviceAccessLevel) -> Self {
        SetActiveSyncDeviceAccessRule {
            identity,
            access_level,
        }
    }
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl SetActiveSyncDeviceAccessRule {
    /// The `identity` given to the constructor (read access, e.g. for a mock).
    pub fn get_identity(&self) -> &AccessRuleIdentity {
        &self.identity
    }

    /// The identity given to the constructor.
    pub fn identity(&self) -> &AccessRuleIdentity {
        &self.identity
    }

    /// The `access_level` given to the constructor (read access, e.g. for a mock).
    pub fn get_access_level(&self) -> &DeviceAccessLevel {
        &self.access_level
    }
}

impl Cmdlet for SetActiveSyncDeviceAccessRule {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::SET_RULE);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        p.string("Identity", self.identity.as_str());
        p.string("AccessLevel", self.access_level.as_str());
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}

/// `Remove-ActiveSyncDeviceAccessRule` (destructive; sent with `Confirm:false`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RemoveActiveSyncDeviceAccessRule {
    identity: AccessRuleIdentity,
}

impl RemoveActiveSyncDeviceAccessRule {
    /// Remove the rule `identity`.
    pub fn new(identity: AccessRuleIdentity) -> Self {
        RemoveActiveSyncDeviceAccessRule { identity }
    }
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl RemoveActiveSyncDeviceAccessRule {
    /// The `identity` given to the constructor (read access, e.g. for a mock).
    pub fn get_identity(&self) -> &AccessRuleIdentity {
        &self.identity
    }

    /// The identity given to the constructor.
    pub fn identity(&self) -> &AccessRuleIdentity {
        &self.identity
    }
}

impl Cmdlet for RemoveActiveSyncDeviceAccessRule {
    type Output = NoOutput;
    type Shape = crate::typed::NoOutputShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::REMOVE_RULE);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        p.string("Identity", self.identity.as_str());
        Ok(Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p))
    }
}

/// `Get-ActiveSyncDeviceClass`: the device type/model pairs seen in the tenant. (No
/// `ResultSize`.)
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct GetActiveSyncDeviceClass {
    identity: Option<String>,
    filter: Option<Filter>,
    sort_by: Option<String>,
    select: Vec<String>,
}

impl GetActiveSyncDeviceClass {
    /// Every device class.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this class (`-Identity`: name `<DeviceType>§<DeviceModel>`, DN or GUID).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = Some(identity.into());
        self
    }

    /// `-Filter` on DeviceModel, DeviceType or LastUpdateTime.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// `-SortBy` (DeviceModel, DeviceType or LastUpdateTime, ascending).
    pub fn sort_by(mut self, property: impl Into<String>) -> Self {
        self.sort_by = Some(property.into());
        self
    }

    select_setter!();
}

/// Read access to the parameters (`get_<setter>()`; see the [module](crate::cmdlets) documentation).
impl GetActiveSyncDeviceClass {
    /// What [`identity`](Self::identity) set (read access, e.g. for a mock).
    pub fn get_identity(&self) -> Option<&str> {
        self.identity.as_deref()
    }

    /// What [`filter`](Self::filter) set (read access, e.g. for a mock).
    pub fn get_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
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

impl Cmdlet for GetActiveSyncDeviceClass {
    type Output = ActiveSyncDeviceClass;
    type Shape = crate::typed::ListingShape;
    const INFO: &'static CmdletInfo = catalog::entry(catalog::idx::GET_DEVICE_CLASS);
    fn invocation(&self) -> Result<Invocation> {
        let mut p = Parameters::new();
        if let Some(id) = &self.identity {
            check_non_empty::<Self>("Identity", id)?;
            p.string("Identity", id.trim());
        }
        put(&mut p, "Filter", &self.filter);
        if let Some(s) = &self.sort_by {
            check_sort_by::<Self>(s)?;
            p.string("SortBy", s.trim());
        }
        Ok(with_select(
            Invocation::with_kind(Self::INFO.name, Self::INFO.kind, p),
            &self.select,
        ))
    }
}

/// `SortBy` takes one property name.
pub(crate) fn check_sort_by<C: Cmdlet>(s: &str) -> Result<()> {
    let t = s.trim();
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid::<C>(
            "SortBy",
            "must be one property name (letters and digits)",
        ));
    }
    Ok(())
}
