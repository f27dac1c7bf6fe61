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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The full parameter data of the server-generated module (every cmdlet it exports).
    fn module() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/exo-module-params.json"))
            .expect("the module fixture is valid JSON")
    }

    fn module_cmdlet<'a>(module: &'a Value, name: &str) -> &'a Value {
        module["cmdlets"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .unwrap_or_else(|| panic!("{name} is not exported by the module"))
            .1
    }

    /// The embedded catalog is a faithful extract of the generated module: the same export
    /// name, confirmation impact and parameters (name, type, mandatory) for every cmdlet.
    #[test]
    fn the_embedded_catalog_is_the_generated_module_s() {
        let module = module();
        assert_eq!(
            module["_meta"]["common_parameters"],
            serde_json::json!(Catalog::get().common_parameters())
        );
        for c in Catalog::get().cmdlets() {
            let real = module_cmdlet(&module, &c.name);
            assert_eq!(real["export_name"], c.export_name.as_str(), "{}", c.name);
            let impact = match real["confirm_impact"].as_str() {
                Some("High") => ConfirmImpact::High,
                Some(_) => ConfirmImpact::Medium,
                None => ConfirmImpact::None,
            };
            assert_eq!(impact, c.confirm_impact, "{}", c.name);
            let mut want: Vec<(String, Option<String>, bool)> = real["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["name"].as_str().unwrap().to_string(),
                        p["type"].as_str().map(str::to_string),
                        p["mandatory_in"].as_array().is_some_and(|s| !s.is_empty()),
                    )
                })
                .collect();
            let mut have: Vec<(String, Option<String>, bool)> = c
                .parameters
                .iter()
                .map(|p| (p.name.clone(), p.type_name.clone(), p.mandatory))
                .collect();
            want.sort();
            have.sort();
            assert_eq!(have, want, "{}", c.name);
        }
    }

    /// Every cmdlet of the crate's catalog is simulated, with the module's spelling, and what
    /// the catalog says of its parameters holds.
    #[test]
    fn every_cmdlet_of_the_crate_is_simulated() {
        for info in exchange_activesync::catalog::all() {
            let spec = Catalog::get()
                .cmdlet(info.name)
                .unwrap_or_else(|| panic!("{} is missing from catalog.json", info.name));
            assert_eq!(spec.name, info.name);
            assert_eq!(spec.export_name, info.export_name);
            assert_eq!(spec.has_result_size(), info.result_size, "{}", info.name);
            for p in info.connector_parameters {
                assert!(spec.parameter(p).is_some(), "{}: {p}", info.name);
            }
        }
    }

    /// Every parameter a typed request can send is declared by the module (the service
    /// answers 400 to an undeclared parameter).
    #[test]
    fn every_parameter_a_request_can_send_is_declared() {
        let typed = exchange_activesync::cmdlets::typed_request_parameters();
        assert!(typed.len() >= 18);
        for (cmdlet, names) in typed {
            let spec = Catalog::get().cmdlet(cmdlet).unwrap();
            assert!(!names.is_empty() || cmdlet.starts_with("Get-"), "{cmdlet}");
            for p in names {
                assert!(
                    spec.parameter(p).is_some(),
                    "{cmdlet} may send {p}, which the module does not declare"
                );
            }
        }
    }
}
