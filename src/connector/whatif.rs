//! Access what-if: which partnerships would change state if the organization's default
//! access level changed, or a device access rule were added or removed, predicted from what
//! the tenant records, before anything is changed (see [`evaluate_access`] for the sequence).

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::inventory::{InventorySync, device_mailbox};
use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{
    GetActiveSyncDeviceAccessRule, GetActiveSyncOrganizationSettings, GetCasMailbox,
};
use crate::error::{Error, Result};
use crate::models::{
    ActiveSyncDeviceAccessRule, CasMailbox, DeviceAccessCharacteristic, DeviceAccessLevel,
    DeviceAccessState, DeviceAccessStateReason, MobileDevice,
};

/// A device access rule as the prediction sees it: `<QueryString> (<Characteristic>)` and its
/// level.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RuleSpec {
    /// What the rule compares.
    pub characteristic: DeviceAccessCharacteristic,
    /// The value compared (ignoring case).
    pub query_string: String,
    /// What happens to matching devices.
    pub access_level: DeviceAccessLevel,
}

impl RuleSpec {
    /// A rule.
    pub fn new(
        characteristic: DeviceAccessCharacteristic,
        query_string: impl Into<String>,
        access_level: DeviceAccessLevel,
    ) -> Self {
        RuleSpec {
            characteristic,
            query_string: query_string.into(),
            access_level,
        }
    }

    /// Parse `CHARACTERISTIC=QUERY:LEVEL`, e.g. `DeviceType=Android:Block` (the characteristic
    /// and the level ignore case; the query is everything between the first `=` and the last
    /// `:`).
    ///
    /// ```
    /// use exchange_activesync::connector::RuleSpec;
    /// let rule = RuleSpec::parse("devicemodel=SM-G991B:quarantine").unwrap();
    /// assert_eq!(rule.name(), "SM-G991B (DeviceModel)");
    /// assert!(RuleSpec::parse("DeviceType=Android").is_err());
    /// assert!(RuleSpec::parse("Colour=Red:Block").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid_input(format!(
                "invalid rule {text:?}: {why} (expected CHARACTERISTIC=QUERY:LEVEL, e.g. DeviceType=Android:Block)"
            ))
        };
        let (characteristic, rest) = text.split_once('=').ok_or_else(|| bad("no '='"))?;
        let (query, level) = rest.rsplit_once(':').ok_or_else(|| bad("no ':LEVEL'"))?;
        let characteristic = DeviceAccessCharacteristic::from(characteristic);
        if !characteristic.is_known() {
            return Err(bad(
                "the characteristic must be one of DeviceType, DeviceModel, DeviceOS, UserAgent, XMSWLHeader",
            ));
        }
        let access_level = DeviceAccessLevel::from(level);
        if !access_level.is_known() {
            return Err(bad("the level must be one of Allow, Block, Quarantine"));
        }
        let query = query.trim();
        if query.is_empty() {
            return Err(bad("empty query"));
        }
        Ok(RuleSpec::new(characteristic, query, access_level))
    }

    /// `<QueryString> (<Characteristic>)`: the rule's name and identity.
    pub fn name(&self) -> String {
        format!("{} ({})", self.query_string, self.characteristic)
    }

    /// The rule of a `Get-ActiveSyncDeviceAccessRule` row (`None` without a query string or
    /// characteristic; a row without a level counts as `Allow`, the service's default).
    pub fn from_rule(rule: &ActiveSyncDeviceAccessRule) -> Option<Self> {
        Some(RuleSpec::new(
            rule.characteristic.clone()?,
            rule.query_string.clone()?,
            rule.access_level
                .clone()
                .unwrap_or(DeviceAccessLevel::Allow),
        ))
    }

    /// Whether it matches `device`: `None` when the device does not record the
    /// characteristic (an absent value, or the `XMSWLHeader`).
    pub fn matches(&self, device: &MobileDevice) -> Option<bool> {
        let value = match &self.characteristic {
            DeviceAccessCharacteristic::DeviceType => device.device_type.as_deref(),
            DeviceAccessCharacteristic::DeviceModel => device.device_model.as_deref(),
            DeviceAccessCharacteristic::DeviceOS => device.device_os.as_deref(),
            DeviceAccessCharacteristic::UserAgent => device.device_user_agent.as_deref(),
            _ => None,
        };
        let value = value.filter(|v| !v.trim().is_empty())?;
        Some(value.trim().eq_ignore_ascii_case(self.query_string.trim()))
    }
}

/// The changes to predict: any combination of a new default access level, rules added (a
/// rule of the same name gets the new level) and rules removed (by name or Guid).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessChanges {
    /// The new `DefaultAccessLevel`.
    pub default_access_level: Option<DeviceAccessLevel>,
    /// Rules added (or given a new level).
    pub add_rules: Vec<RuleSpec>,
    /// Rules removed, by name (`Android (DeviceType)`) or Guid.
    pub remove_rules: Vec<String>,
}

impl AccessChanges {
    /// No change yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Change the default access level.
    pub fn default_access_level(mut self, level: DeviceAccessLevel) -> Self {
        self.default_access_level = Some(level);
        self
    }

    /// Add a rule (repeatable).
    pub fn add_rule(mut self, rule: RuleSpec) -> Self {
        self.add_rules.push(rule);
        self
    }

    /// Remove a rule by name or Guid (repeatable).
    pub fn remove_rule(mut self, name: impl Into<String>) -> Self {
        self.remove_rules.push(name.into());
        self
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.default_access_level.is_none()
            && self.add_rules.is_empty()
            && self.remove_rules.is_empty()
    }
}

/// The organization's side of the access decision: the default level and the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessPolicy {
    /// `DefaultAccessLevel`.
    pub default_access_level: DeviceAccessLevel,
    /// The device access rules, each with its Guid when read from the service.
    pub rules: Vec<(RuleSpec, Option<Uuid>)>,
}

impl AccessPolicy {
    /// A policy.
    pub fn new(default_access_level: DeviceAccessLevel, rules: Vec<RuleSpec>) -> Self {
        AccessPolicy {
            default_access_level,
            rules: rules.into_iter().map(|r| (r, None)).collect(),
        }
    }

    /// The policy after `changes`. A rule to remove that does not exist is an error.
    pub fn with_changes(&self, changes: &AccessChanges) -> Result<AccessPolicy> {
        let mut after = self.clone();
        if let Some(level) = &changes.default_access_level {
            after.default_access_level = level.clone();
        }
        for name in &changes.remove_rules {
            let n = name.trim();
            let before = after.rules.len();
            after.rules.retain(|(r, guid)| {
                !(r.name().eq_ignore_ascii_case(n)
                    || guid.is_some_and(|g| g.to_string().eq_ignore_ascii_case(n)))
            });
            if after.rules.len() == before {
                return Err(Error::invalid_input(format!(
                    "no device access rule is named {n:?} (rules are named like \"Android (DeviceType)\")"
                )));
            }
        }
        for rule in &changes.add_rules {
            let name = rule.name();
            match after
                .rules
                .iter_mut()
                .find(|(r, _)| r.name().eq_ignore_ascii_case(&name))
            {
                Some((r, _)) => r.access_level = rule.access_level.clone(),
                None => after.rules.push((rule.clone(), None)),
            }
        }
        Ok(after)
    }
}

/// A mailbox's side of the access decision (`Get-CASMailbox`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MailboxAccess {
    /// `ActiveSyncEnabled`.
    pub active_sync_enabled: bool,
    /// `ActiveSyncAllowedDeviceIDs`.
    pub allowed_device_ids: Vec<String>,
    /// `ActiveSyncBlockedDeviceIDs`.
    pub blocked_device_ids: Vec<String>,
}

impl MailboxAccess {
    /// The settings of a `Get-CASMailbox` row (ActiveSync enabled when the row does not say).
    pub fn from_cas(cas: &CasMailbox) -> Self {
        MailboxAccess {
            active_sync_enabled: cas.active_sync_enabled.unwrap_or(true),
            allowed_device_ids: cas
                .active_sync_allowed_device_ids
                .clone()
                .unwrap_or_default(),
            blocked_device_ids: cas
                .active_sync_blocked_device_ids
                .clone()
                .unwrap_or_default(),
        }
    }
}

/// An access state and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessDecision {
    /// `DeviceAccessState`.
    pub state: DeviceAccessState,
    /// `DeviceAccessStateReason`.
    pub reason: DeviceAccessStateReason,
    /// The deciding rule's name, for [`DeviceAccessStateReason::DeviceRule`].
    pub rule: Option<String>,
}

impl AccessDecision {
    fn new(
        state: DeviceAccessState,
        reason: DeviceAccessStateReason,
        rule: Option<String>,
    ) -> Self {
        AccessDecision {
            state,
            reason,
            rule,
        }
    }

    fn of_level(
        level: &DeviceAccessLevel,
        reason: DeviceAccessStateReason,
        rule: Option<String>,
    ) -> Self {
        let state = match level {
            DeviceAccessLevel::Block => DeviceAccessState::Blocked,
            DeviceAccessLevel::Quarantine => DeviceAccessState::Quarantined,
            _ => DeviceAccessState::Allowed,
        };
        AccessDecision::new(state, reason, rule)
    }
}

impl fmt::Display for AccessDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.state, self.reason)?;
        if let Some(rule) = &self.rule {
            write!(f, " by {rule}")?;
        }
        Ok(())
    }
}

/// What the documented sequence gives one partnership.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evaluation {
    /// Left as it is: ActiveSync is disabled for the user (no access at all), or the device
    /// is blocked by its mailbox policy (`Policy`), which comes first.
    Untouched(&'static str),
    /// The decision, taking rules the partnership cannot settle as not matching;
    /// `alternative` is the decision were they matching, when it differs; `notes` say what
    /// is uncertain.
    Decided {
        /// The decision.
        decision: AccessDecision,
        /// The decision if the rules that cannot be settled matched (when it differs).
        alternative: Option<AccessDecision>,
        /// What the recorded properties cannot settle.
        notes: Vec<String>,
    },
}

/// The access state Exchange's documented sequence gives `device` under `policy`, with its
/// mailbox's settings (`None`: not read; taken as ActiveSync enabled and empty lists, noted).
///
/// The prediction follows Exchange's documented sequence ("Determining a mobile device's
/// access state"), evaluated when a device connects:
///
/// 1. ActiveSync disabled for the user: no access at all (such partnerships are not listed:
///    the change does not touch them); a device blocked by its mobile device mailbox policy
///    (reason `Policy`) stays blocked;
/// 2. blocked by a personal exemption (the mailbox's `ActiveSyncBlockedDeviceIDs`): Blocked
///    (`Individual`);
/// 3. allowed by a personal exemption (`ActiveSyncAllowedDeviceIDs`): Allowed (`Individual`);
/// 4. blocked by a device access rule: Blocked; quarantined by a rule: Quarantined; allowed by
///    a rule: Allowed (`DeviceRule`);
/// 5. otherwise the organization's `DefaultAccessLevel` (`Global`).
///
/// A rule matches when its query string equals the partnership's value of its characteristic
/// (`DeviceType`, `DeviceModel`, `DeviceOS`, `UserAgent`), ignoring case. A rule on a
/// characteristic the partnership does not record (a `UserAgent` that is absent, the
/// `XMSWLHeader`, which is never recorded) cannot be settled: the prediction takes it as not
/// matching and says it is not certain when matching would give another state. So does a
/// device still in discovery (`DeviceDiscovery`), whose final characteristics are not known.
pub fn evaluate_access(
    device: &MobileDevice,
    mailbox: Option<&MailboxAccess>,
    policy: &AccessPolicy,
) -> Evaluation {
    let mut notes = Vec::new();
    if let Some(m) = mailbox
        && !m.active_sync_enabled
    {
        return Evaluation::Untouched("ActiveSync is disabled for the user: no access");
    }
    if device.device_access_state_reason == Some(DeviceAccessStateReason::Policy) {
        return Evaluation::Untouched("blocked by its mobile device mailbox policy");
    }
    if mailbox.is_none() {
        notes.push("the mailbox's CAS settings (personal exemptions) were not read".to_string());
    }
    if device.device_access_state == Some(DeviceAccessState::DeviceDiscovery) {
        notes.push("the device is still in discovery".to_string());
    }
    if let Some(m) = mailbox {
        // A `DeviceId` (checked when decoded): no whitespace to trim.
        let id = device.device_id.as_deref().unwrap_or("");
        let listed = |list: &[String]| {
            !id.is_empty() && list.iter().any(|x| x.trim().eq_ignore_ascii_case(id))
        };
        if id.is_empty() && !(m.allowed_device_ids.is_empty() && m.blocked_device_ids.is_empty()) {
            notes.push(
                "the partnership records no DeviceId to compare with the mailbox's lists".into(),
            );
        }
        let personal = if listed(&m.blocked_device_ids) {
            Some(DeviceAccessState::Blocked)
        } else if listed(&m.allowed_device_ids) {
            Some(DeviceAccessState::Allowed)
        } else {
            None
        };
        if let Some(state) = personal {
            return Evaluation::Decided {
                decision: AccessDecision::new(state, DeviceAccessStateReason::Individual, None),
                alternative: None,
                notes,
            };
        }
    }
    // Rules: block before quarantine before allow; then the default.
    let decide = |unknown_matches: bool| {
        for level in [
            DeviceAccessLevel::Block,
            DeviceAccessLevel::Quarantine,
            DeviceAccessLevel::Allow,
        ] {
            let hit =
                policy.rules.iter().map(|(r, _)| r).find(|r| {
                    r.access_level == level && r.matches(device).unwrap_or(unknown_matches)
                });
            if let Some(r) = hit {
                return AccessDecision::of_level(
                    &level,
                    DeviceAccessStateReason::DeviceRule,
                    Some(r.name()),
                );
            }
        }
        AccessDecision::of_level(
            &policy.default_access_level,
            DeviceAccessStateReason::Global,
            None,
        )
    };
    let decision = decide(false);
    let alternative = decide(true);
    let alternative = if alternative.state != decision.state {
        for (r, _) in policy
            .rules
            .iter()
            .filter(|(r, _)| r.matches(device).is_none())
        {
            notes.push(format!(
                "the rule {} compares {}, which the partnership does not record",
                r.name(),
                r.characteristic
            ));
        }
        Some(alternative)
    } else {
        None
    };
    Evaluation::Decided {
        decision,
        alternative,
        notes,
    }
}

/// One partnership whose state would change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PredictedChange {
    /// The partnership's identity.
    pub identity: String,
    /// Its `Guid`.
    pub guid: Option<Uuid>,
    /// The owning mailbox.
    pub mailbox: Option<String>,
    /// `DeviceType`.
    pub device_type: Option<String>,
    /// `DeviceModel`.
    pub device_model: Option<String>,
    /// Its state now, as recorded.
    pub current_state: Option<DeviceAccessState>,
    /// Why, as recorded.
    pub current_reason: Option<DeviceAccessStateReason>,
    /// The rule recorded as deciding it.
    pub current_rule: Option<String>,
    /// The predicted state after the change.
    pub predicted_state: DeviceAccessState,
    /// Why.
    pub predicted_reason: DeviceAccessStateReason,
    /// The rule that would decide it.
    pub predicted_rule: Option<String>,
    /// Whether the recorded properties settle the prediction (see `notes` when not).
    pub certain: bool,
    /// The state it would get instead if the rules it cannot settle matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternative_state: Option<DeviceAccessState>,
    /// What cannot be settled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What [`access_whatif`] predicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessWhatIf {
    /// The changes.
    pub changes: AccessChanges,
    /// The default and the rules now.
    pub before: AccessPolicy,
    /// After the changes.
    pub after: AccessPolicy,
    /// The partnerships whose state would change, in enumeration order.
    pub changed: Vec<PredictedChange>,
    /// Partnerships read.
    pub devices_seen: usize,
    /// Partnerships left as they are because ActiveSync is disabled for their user.
    pub active_sync_disabled: usize,
    /// Partnerships blocked by their mailbox policy (left as they are).
    pub policy_blocked: usize,
    /// Partnerships whose mailbox's CAS settings were not read (predicted without personal
    /// exemptions, not certain).
    pub without_mailbox_settings: usize,
}

impl AccessWhatIf {
    /// Predict from what was read: the policy now, the mailboxes' settings (by mailbox name,
    /// case-insensitive) and the partnerships.
    pub fn predict(
        before: AccessPolicy,
        changes: AccessChanges,
        mailboxes: &HashMap<String, MailboxAccess>,
        devices: impl IntoIterator<Item = MobileDevice>,
    ) -> Result<Self> {
        let after = before.with_changes(&changes)?;
        let mut report = AccessWhatIf {
            changes,
            before,
            after,
            changed: Vec::new(),
            devices_seen: 0,
            active_sync_disabled: 0,
            policy_blocked: 0,
            without_mailbox_settings: 0,
        };
        for device in devices {
            report.devices_seen += 1;
            let mailbox = device_mailbox(&device);
            let settings = mailbox
                .as_deref()
                .and_then(|m| mailboxes.get(&m.to_lowercase()));
            if settings.is_none() {
                report.without_mailbox_settings += 1;
            }
            let now = evaluate_access(&device, settings, &report.before);
            let then = evaluate_access(&device, settings, &report.after);
            let (
                Evaluation::Decided {
                    decision: now,
                    alternative: now_alternative,
                    ..
                },
                Evaluation::Decided {
                    decision,
                    alternative,
                    notes,
                },
            ) = (now, then)
            else {
                if settings.is_some_and(|s| !s.active_sync_enabled) {
                    report.active_sync_disabled += 1;
                } else {
                    report.policy_blocked += 1;
                }
                continue;
            };
            let current = device.device_access_state.clone();
            // A change shows when the state differs from the recorded one and from what the
            // sequence gives without the change (a difference the change does not cause is
            // not its doing); the same for the state the rules it cannot settle would give.
            let shows = |s: &DeviceAccessState| current.as_ref() != Some(s) && *s != now.state;
            let now_alternative = now_alternative.map_or(now.state.clone(), |a| a.state);
            let listed = shows(&decision.state)
                || alternative
                    .as_ref()
                    .is_some_and(|a| shows(&a.state) && a.state != now_alternative);
            if !listed {
                continue;
            }
            report.changed.push(PredictedChange {
                identity: device.identity.clone().unwrap_or_default(),
                guid: device.guid.or(device.exchange_object_id),
                mailbox,
                device_type: device.device_type.clone(),
                device_model: device.device_model.clone(),
                current_state: current,
                current_reason: device.device_access_state_reason.clone(),
                current_rule: device.device_access_control_rule.clone(),
                predicted_state: decision.state,
                predicted_reason: decision.reason,
                predicted_rule: decision.rule,
                certain: notes.is_empty(),
                alternative_state: alternative.map(|a| a.state),
                notes,
            });
        }
        Ok(report)
    }

    /// Partnerships whose prediction is not certain.
    pub fn uncertain(&self) -> usize {
        self.changed.iter().filter(|c| !c.certain).count()
    }
}

/// Predict which partnerships would change state after `changes`, reading (and changing
/// nothing): the organization settings (`Get-ActiveSyncOrganizationSettings`), the device
/// access rules (`Get-ActiveSyncDeviceAccessRule`), every mailbox's CAS settings
/// (`Get-CASMailbox`) and the partnerships (`Get-MobileDevice`). See [`evaluate_access`] for
/// the sequence and what is not certain.
///
/// ```
/// use exchange_activesync::connector::{AccessChanges, access_whatif};
/// use exchange_activesync::models::DeviceAccessLevel;
/// use exchange_activesync_testkit::{FakeExchangeClient, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(5).mailboxes(10).devices(60).build());
/// let changes = AccessChanges::new().default_access_level(DeviceAccessLevel::Quarantine);
/// let report = access_whatif(&client, changes).await?;
/// assert!(!report.changed.is_empty());
/// assert!(client.calls().iter().all(|c| c.cmdlet.starts_with("Get-")));
/// # Ok(()) }
/// ```
pub async fn access_whatif(
    client: &dyn ExchangeClient,
    changes: AccessChanges,
) -> Result<AccessWhatIf> {
    let org = client
        .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
        .await?
        .value;
    let rules = client
        .get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new())
        .await?
        .items;
    let before = AccessPolicy {
        default_access_level: org.default_access_level.unwrap_or(DeviceAccessLevel::Allow),
        rules: rules
            .iter()
            .filter_map(|r| RuleSpec::from_rule(r).map(|s| (s, r.guid)))
            .collect(),
    };
    // Fail early, before the longer reads, on a rule that does not exist.
    before.with_changes(&changes)?;
    let mut mailboxes = HashMap::new();
    let rows = client.get_cas_mailbox(GetCasMailbox::new()).await?.items;
    // A device's identity names its mailbox by Name (or Identity); the address and the
    // directory id are kept as fallbacks, never overriding a name.
    for cas in &rows {
        let settings = MailboxAccess::from_cas(cas);
        for key in [&cas.name, &cas.identity].into_iter().flatten() {
            mailboxes.insert(key.to_lowercase(), settings.clone());
        }
    }
    for cas in &rows {
        let keys = [&cas.primary_smtp_address, &cas.external_directory_object_id];
        for key in keys.into_iter().flatten() {
            mailboxes
                .entry(key.to_lowercase())
                .or_insert_with(|| MailboxAccess::from_cas(cas));
        }
    }
    let mut devices = Vec::new();
    InventorySync::new(client)
        .run(|r| devices.push(r.device))
        .await?;
    AccessWhatIf::predict(before, changes, &mailboxes, devices)
}
