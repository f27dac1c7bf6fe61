//! Connector profiles: the cmdlets (and parameters) a connector needs, as data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a cmdlet does to the tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Access {
    /// Reads only (`Get-*`).
    Read,
    /// Creates or changes objects (`Set-*`, `New-*`, `Remove-*` of configuration).
    Write,
    /// Destroys data or devices (`Clear-MobileDevice`, `Remove-MobileDevice`).
    Destructive,
}

impl Access {
    /// Lower-case name (`read`, `write`, `destructive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Destructive => "destructive",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cmdlet a connector needs, with the parameters it really passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CmdletRequirement {
    /// Cmdlet name, e.g. `Set-ActiveSyncOrganizationSettings`.
    pub cmdlet: String,
    /// Parameters the connector passes and therefore needs in a granting role entry.
    pub parameters: Vec<String>,
    /// Read, write or destructive.
    pub access: Access,
}

impl CmdletRequirement {
    /// A requirement on `cmdlet` with `parameters`.
    pub fn new<I, S>(cmdlet: impl Into<String>, access: Access, parameters: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CmdletRequirement {
            cmdlet: cmdlet.into(),
            parameters: parameters.into_iter().map(Into::into).collect(),
            access,
        }
    }
}

/// A named list of cmdlet requirements.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// Profile name, e.g. `exchange-online`.
    pub name: String,
    /// The cmdlets the connector needs.
    pub requirements: Vec<CmdletRequirement>,
}

/// Mobile-device mailbox policy settings the connector writes.
const POLICY_SETTINGS: &[&str] = &[
    "IsDefault",
    "PasswordEnabled",
    "AllowSimplePassword",
    "AlphanumericPasswordRequired",
    "MinPasswordLength",
    "MaxPasswordFailedAttempts",
    "MaxInactivityTimeLock",
    "PasswordExpiration",
    "PasswordHistory",
    "RequireDeviceEncryption",
];

fn req(cmdlet: &str, access: Access, parameters: &[&str]) -> CmdletRequirement {
    CmdletRequirement::new(cmdlet, access, parameters.iter().copied())
}

fn with_policy_settings(first: &str) -> Vec<&str> {
    std::iter::once(first)
        .chain(POLICY_SETTINGS.iter().copied())
        .collect()
}

impl Profile {
    /// A profile with your own requirements.
    pub fn custom(name: impl Into<String>, requirements: Vec<CmdletRequirement>) -> Self {
        Profile {
            name: name.into(),
            requirements,
        }
    }

    /// The Intune Exchange Online (service-to-service) connector: 13 cmdlets.
    pub fn exchange_online() -> Self {
        use Access::*;
        Profile::custom(
            "exchange-online",
            vec![
                req("Get-ActiveSyncOrganizationSettings", Read, &[]),
                req(
                    "Set-ActiveSyncOrganizationSettings",
                    Write,
                    &[
                        "Identity",
                        "DefaultAccessLevel",
                        "AdminMailRecipients",
                        "UserMailInsert",
                    ],
                ),
                req("Get-MobileDeviceMailboxPolicy", Read, &["Identity"]),
                req(
                    "Set-MobileDeviceMailboxPolicy",
                    Write,
                    &with_policy_settings("Identity"),
                ),
                req(
                    "New-MobileDeviceMailboxPolicy",
                    Write,
                    &with_policy_settings("Name"),
                ),
                req(
                    "Remove-MobileDeviceMailboxPolicy",
                    Destructive,
                    &["Identity"],
                ),
                req("Get-ActiveSyncDeviceAccessRule", Read, &[]),
                req(
                    "Set-ActiveSyncDeviceAccessRule",
                    Write,
                    &["Identity", "AccessLevel"],
                ),
                req(
                    "New-ActiveSyncDeviceAccessRule",
                    Write,
                    &["AccessLevel", "Characteristic", "QueryString"],
                ),
                req(
                    "Remove-ActiveSyncDeviceAccessRule",
                    Destructive,
                    &["Identity"],
                ),
                req("Get-MobileDeviceStatistics", Read, &["Mailbox"]),
                req("Get-MobileDevice", Read, &["Mailbox", "ResultSize"]),
                req("Get-ActiveSyncDeviceClass", Read, &[]),
            ],
        )
    }

    /// The hosted-Exchange connector: [`Profile::exchange_online`] plus `Get-Recipient`,
    /// `Clear-MobileDevice` and `Remove-MobileDevice` (16 cmdlets).
    pub fn hosted_exchange() -> Self {
        use Access::*;
        let mut profile = Profile::exchange_online();
        profile.name = "hosted-exchange".into();
        profile.requirements.extend([
            req("Get-Recipient", Read, &["Identity", "ResultSize"]),
            req(
                "Clear-MobileDevice",
                Destructive,
                &["Identity", "AccountOnly", "NotificationEmailAddresses"],
            ),
            req("Remove-MobileDevice", Destructive, &["Identity"]),
        ]);
        profile
    }
}

/// An unknown profile name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?} (expected exchange-online or hosted-exchange)")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "exchange-online" | "exchangeonline" | "exo" => Ok(Profile::exchange_online()),
            "hosted-exchange" | "hostedexchange" | "hosted" => Ok(Profile::hosted_exchange()),
            _ => Err(UnknownProfile(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_have_the_documented_cmdlets() {
        let exo = Profile::exchange_online();
        assert_eq!(exo.requirements.len(), 13);
        let hosted: Profile = "hosted-exchange".parse().unwrap();
        assert_eq!(hosted.requirements.len(), 16);
        assert_eq!(hosted.name, "hosted-exchange");
        let clear = hosted
            .requirements
            .iter()
            .find(|r| r.cmdlet == "Clear-MobileDevice")
            .unwrap();
        assert_eq!(clear.access, Access::Destructive);
        assert!("nope".parse::<Profile>().is_err());
        assert_eq!(
            "Exchange-Online".parse::<Profile>().unwrap().name,
            "exchange-online"
        );
    }
}
