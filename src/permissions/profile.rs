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

/// The parameters the connector passes to `cmdlet`: the catalog's
/// [`connector_parameters`](crate::catalog::CmdletInfo::connector_parameters).
fn connector_parameters(cmdlet: &str) -> Vec<&'static str> {
    crate::catalog::lookup(cmdlet).map_or_else(Vec::new, |c| c.connector_parameters.to_vec())
}

impl From<crate::catalog::CmdletKind> for Access {
    fn from(kind: crate::catalog::CmdletKind) -> Self {
        match kind {
            crate::catalog::CmdletKind::Read => Access::Read,
            crate::catalog::CmdletKind::Write => Access::Write,
            crate::catalog::CmdletKind::Destructive => Access::Destructive,
        }
    }
}

impl Profile {
    /// A profile with your own requirements.
    pub fn custom(name: impl Into<String>, requirements: Vec<CmdletRequirement>) -> Self {
        Profile {
            name: name.into(),
            requirements,
        }
    }

    /// The profile of a connector: the catalog's cmdlets of `profile`, with the parameters
    /// the connector passes.
    pub fn for_connector(profile: crate::catalog::ConnectorProfile) -> Self {
        Profile::custom(
            profile.as_str(),
            profile
                .cmdlets()
                .map(|c| {
                    CmdletRequirement::new(c.name, c.kind.into(), connector_parameters(c.name))
                })
                .collect(),
        )
    }

    /// A profile of exactly the cmdlets a tool uses (`Get-MobileDevice`,
    /// `Clear-MobileDevice`, …): each with its access from the catalog (or its verb) and,
    /// for the connector's cmdlets, the parameters the connector passes. Names are
    /// compared case-insensitively and kept once.
    ///
    /// ```
    /// use exchange_activesync::permissions::{Access, Profile};
    /// let p = Profile::for_cmdlets("my-tool", ["get-mobiledevice", "Clear-MobileDevice"]);
    /// assert_eq!(p.requirements.len(), 2);
    /// assert_eq!(p.requirements[0].cmdlet, "Get-MobileDevice");
    /// assert_eq!(p.requirements[1].access, Access::Destructive);
    /// ```
    pub fn for_cmdlets<I, S>(name: impl Into<String>, cmdlets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut requirements: Vec<CmdletRequirement> = Vec::new();
        for c in cmdlets {
            let given = c.as_ref().trim();
            let name = crate::catalog::lookup(given).map_or(given, |info| info.name);
            if requirements
                .iter()
                .any(|r| r.cmdlet.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let kind = crate::catalog::CmdletKind::from_cmdlet_name(name);
            requirements.push(CmdletRequirement::new(
                name,
                kind.into(),
                connector_parameters(name),
            ));
        }
        Profile::custom(name, requirements)
    }

    /// The Intune Exchange Online (service-to-service) connector: 13 cmdlets.
    pub fn exchange_online() -> Self {
        Profile::for_connector(crate::catalog::ConnectorProfile::ExchangeOnline)
    }

    /// The hosted-Exchange connector: [`Profile::exchange_online`] plus `Get-Recipient`,
    /// `Clear-MobileDevice` and `Remove-MobileDevice` (16 cmdlets).
    pub fn hosted_exchange() -> Self {
        Profile::for_connector(crate::catalog::ConnectorProfile::HostedExchange)
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
        for (profile, connector) in [
            (&exo, crate::catalog::ConnectorProfile::ExchangeOnline),
            (&hosted, crate::catalog::ConnectorProfile::HostedExchange),
        ] {
            let names: Vec<&str> = profile
                .requirements
                .iter()
                .map(|r| r.cmdlet.as_str())
                .collect();
            let catalog: Vec<&str> = connector.cmdlets().map(|c| c.name).collect();
            assert_eq!(names, catalog);
            // every cmdlet the connector passes parameters to is in the catalog, and the
            // read cmdlets that take none are the ones that need none
            for r in &profile.requirements {
                let info = crate::catalog::lookup(&r.cmdlet).unwrap();
                assert_eq!(r.access, Access::from(info.kind), "{}", r.cmdlet);
            }
        }
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

    /// The number the README states for `profile` (the first number after each mention of
    /// the profile's name in backticks, up to the next backtick or paragraph end).
    fn readme_counts(readme: &str, profile: &str) -> Vec<usize> {
        let needle = format!("`{profile}`");
        readme
            .match_indices(&needle)
            .filter_map(|(i, _)| {
                let rest = &readme[i + needle.len()..];
                let end = rest
                    .find('`')
                    .into_iter()
                    .chain(rest.find("\n\n"))
                    .min()
                    .unwrap_or(rest.len());
                let window = &rest[..end];
                let start = window.find(|c: char| c.is_ascii_digit())?;
                let digits: String = window[start..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
            .collect()
    }

    #[test]
    fn readme_states_the_profiles_cmdlet_counts() {
        let readme = include_str!("../../README.md");
        for connector in crate::catalog::ConnectorProfile::ALL {
            let len = Profile::for_connector(connector).requirements.len();
            let stated = readme_counts(readme, connector.as_str());
            assert!(
                !stated.is_empty(),
                "README states no cmdlet count for `{connector}`"
            );
            for n in stated {
                assert_eq!(n, len, "README count for `{connector}`");
            }
        }
    }
}
