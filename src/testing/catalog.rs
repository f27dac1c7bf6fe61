//! The parameter blocks of the cmdlets the simulated tenant understands, embedded from the
//! server-generated module (a subset of `exo-module-params.json`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// How strongly a cmdlet asks for confirmation (`ConfirmImpact`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfirmImpact {
    /// Get-* cmdlets: no `ShouldProcess`.
    None,
    /// Set-*/New-*: prompts only with an explicit `Confirm: true`.
    Medium,
    /// Remove-*/Clear-*: prompts unless `Confirm: false` is sent.
    High,
}

/// One declared parameter of a cmdlet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParameterSpec {
    /// Parameter name as declared.
    pub name: String,
    /// Declared PowerShell type, when the module names one (`switch`, `string`, …).
    pub type_name: Option<String>,
    /// Mandatory in at least one parameter set.
    pub mandatory: bool,
}

/// A cmdlet of the simulated tenant with its declared parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CmdletSpec {
    /// Canonical name, e.g. `Get-MobileDeviceMailboxPolicy`.
    pub name: String,
    /// Spelling in the module's export list (e.g. `get-MobileDeviceMailboxPolicy`).
    pub export_name: String,
    /// Confirmation impact.
    pub confirm_impact: ConfirmImpact,
    /// Declared parameters (common parameters not included).
    pub parameters: Vec<ParameterSpec>,
}

impl CmdletSpec {
    /// The declared parameter called `name` (case-insensitive), common parameters excluded.
    pub fn parameter(&self, name: &str) -> Option<&ParameterSpec> {
        self.parameters
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Whether the cmdlet declares `ResultSize`.
    pub fn has_result_size(&self) -> bool {
        self.parameter("ResultSize").is_some()
    }
}

/// The embedded catalog: the 16 mobile-device cmdlets, the two RBAC-read cmdlets and
/// Get-/Set-CASMailbox.
#[derive(Debug)]
pub struct Catalog {
    cmdlets: Vec<CmdletSpec>,
    by_lower: BTreeMap<String, usize>,
    common: Vec<String>,
}

#[derive(Deserialize)]
struct RawCatalog {
    common_parameters: Vec<String>,
    cmdlets: Vec<RawCmdlet>,
}

#[derive(Deserialize)]
struct RawCmdlet {
    name: String,
    export_name: String,
    confirm_impact: Option<String>,
    parameters: Vec<RawParam>,
}

#[derive(Deserialize)]
struct RawParam {
    name: String,
    #[serde(rename = "type")]
    type_name: Option<String>,
    mandatory: bool,
}

impl Catalog {
    /// The shared embedded catalog.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let raw: RawCatalog = serde_json::from_str(include_str!("catalog.json"))
                .expect("the embedded catalog is valid JSON");
            let cmdlets: Vec<CmdletSpec> = raw
                .cmdlets
                .into_iter()
                .map(|c| CmdletSpec {
                    confirm_impact: match c.confirm_impact.as_deref() {
                        Some("High") => ConfirmImpact::High,
                        Some(_) => ConfirmImpact::Medium,
                        None => ConfirmImpact::None,
                    },
                    name: c.name,
                    export_name: c.export_name,
                    parameters: c
                        .parameters
                        .into_iter()
                        .map(|p| ParameterSpec {
                            name: p.name,
                            type_name: p.type_name,
                            mandatory: p.mandatory,
                        })
                        .collect(),
                })
                .collect();
            let by_lower = cmdlets
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.to_ascii_lowercase(), i))
                .collect();
            Catalog {
                cmdlets,
                by_lower,
                common: raw.common_parameters,
            }
        })
    }

    /// Look a cmdlet up by name (case-insensitive).
    pub fn cmdlet(&self, name: &str) -> Option<&CmdletSpec> {
        self.by_lower
            .get(&name.trim().to_ascii_lowercase())
            .map(|&i| &self.cmdlets[i])
    }

    /// Every cmdlet, in catalog order.
    pub fn cmdlets(&self) -> &[CmdletSpec] {
        &self.cmdlets
    }

    /// The PowerShell common parameters every cmdlet accepts (`Confirm`, `WhatIf`,
    /// `ErrorAction`, `WarningAction`, …).
    pub fn common_parameters(&self) -> &[String] {
        &self.common
    }

    /// Whether `name` is a common parameter (case-insensitive).
    pub fn is_common(&self, name: &str) -> bool {
        self.common.iter().any(|c| c.eq_ignore_ascii_case(name))
    }
}
