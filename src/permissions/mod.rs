//! Permission check: can this account run every cmdlet a connector needs?
//!
//! Exchange Online permissions are cmdlet- and parameter-level RBAC. [`PermissionChecker`]
//! answers the question with layered evidence, each layer optional and degrading gracefully:
//!
//! 1. **token claims** ([`ExchangeClient::token_claims`]): an app-only token must carry
//!    `Exchange.ManageAsApp` (without it nothing works); `wids` names Entra directory roles,
//!    reported as hints, never as proof;
//! 2. **`EXOModuleFile`** ([`ExchangeClient::module_file`]): the cmdlets the service exposes to
//!    the account (cmdlet-level truth) and, when the generated module is included, the
//!    parameters each generated function declares (parameter-level truth);
//! 3. **RBAC** (`Get-ManagementRoleAssignment -RoleAssignee <principal> -Delegating:$false
//!    -Enabled:$true` and `Get-ManagementRoleEntry "*\<cmdlet>" -ResultSize Unlimited`): the
//!    granting roles, the union of their parameters and the write scopes. These cmdlets need
//!    read rights a connector account usually lacks; without them, parameters are `unknown`,
//!    never `granted`;
//! 4. **probes** (opt-in, [`PermissionChecker::probe`]): read-only calls of the `Get-*`
//!    cmdlets (`ResultSize 1` only where the cmdlet declares it). Nothing is ever written, no
//!    `-WhatIf` is relied on, and `Clear-MobileDevice` is never touched.
//!
//! The result is a [`PermissionReport`] (serializable; `Display` renders a table followed by
//! remediation lines).
//!
//! ```no_run
//! # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
//! use exchange_activesync::permissions::{PermissionChecker, Profile};
//! let report = PermissionChecker::new(client)
//!     .probe(true)
//!     .check(&Profile::exchange_online())
//!     .await?;
//! println!("{report}");
//! assert!(report.all_granted || report.not_granted().count() > 0);
//! # Ok(()) }
//! ```

mod assess;
mod cli;
mod module;
mod probes;
mod profile;
mod rbac;
mod report;
pub mod roles;
mod token;

pub use cli::{CheckOutput, EXIT_ERROR, EXIT_GRANTED, EXIT_NOT_GRANTED, OutputFormat, run_check};
pub use module::{ModuleView, parse_functions};
pub use profile::{Access, CmdletRequirement, Profile, UnknownProfile};
pub use report::{
    CmdletReport, Evidence, Layer, LayerNote, LayerState, PermissionReport, Status, Verdict,
};
pub use token::MANAGE_AS_APP;

use crate::client::ExchangeClient;
use crate::error::Result;

/// Runs the permission check of a [`Profile`] against an [`ExchangeClient`].
///
/// ```
/// use exchange_activesync::permissions::{PermissionChecker, Profile, Status};
/// use exchange_activesync_testkit::{FakeExchangeClient, RbacProfile, TenantBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let full = FakeExchangeClient::new(TenantBuilder::new().seed(1).build());
/// let report = PermissionChecker::new(&full).check(&Profile::exchange_online()).await?;
/// assert!(report.all_granted, "{report}");
///
/// let read_only = FakeExchangeClient::new(
///     TenantBuilder::new().seed(1).rbac_profile(RbacProfile::ReadOnly).build(),
/// );
/// let report = PermissionChecker::new(&read_only)
///     .probe(true)
///     .check(&Profile::exchange_online())
///     .await?;
/// assert!(!report.all_granted);
/// assert_eq!(report.cmdlet("Get-MobileDevice").map(|c| c.status), Some(Status::Granted));
/// assert_ne!(report.cmdlet("Set-CASMailbox").map(|c| c.status), Some(Status::Granted));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct PermissionChecker<'a> {
    client: &'a dyn ExchangeClient,
    probe: bool,
}

impl std::fmt::Debug for PermissionChecker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermissionChecker")
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

impl<'a> PermissionChecker<'a> {
    /// A checker over `client` (probes off). `&Arc<dyn ExchangeClient>` works too.
    pub fn new(client: &'a dyn ExchangeClient) -> Self {
        PermissionChecker {
            client,
            probe: false,
        }
    }

    /// Whether to run read-only probes of the profile's `Get-*` cmdlets (default off).
    pub fn probe(mut self, on: bool) -> Self {
        self.probe = on;
        self
    }

    /// Check every cmdlet of `profile`. A failing evidence layer is reported in the result,
    /// never as an error of the whole check.
    pub async fn check(&self, profile: &Profile) -> Result<PermissionReport> {
        let mut layers = Vec::new();
        let mut findings = Vec::new();

        // Layer 1: token claims.
        let token = token::read_layer(self.client, &mut layers, &mut findings).await;
        let token_ref = token.as_ref();

        // Layer 2: EXOModuleFile.
        let (module, module_reason) = module::read_layer(self.client, &mut layers).await;

        // Layer 3: RBAC.
        let (rbac, rbac_reason) = rbac::read_layer(
            self.client,
            profile,
            token_ref,
            module.as_ref(),
            &mut layers,
        )
        .await;

        // Layer 4: probes.
        let probes = probes::read_layer(
            self.client,
            profile,
            module.as_ref(),
            self.probe,
            &mut layers,
        )
        .await;

        let cmdlets: Vec<CmdletReport> = profile
            .requirements
            .iter()
            .map(|req| {
                assess::assess(
                    req,
                    token_ref,
                    module.as_ref(),
                    &module_reason,
                    rbac.as_ref(),
                    &rbac_reason,
                    probes.get(&req.cmdlet.to_ascii_lowercase()),
                )
            })
            .collect();
        let all_granted = cmdlets.iter().all(|c| c.status == Status::Granted);
        let verdict = Verdict::of(cmdlets.iter().map(|c| c.status));
        Ok(PermissionReport {
            profile: profile.name.clone(),
            principal: token_ref.and_then(|t| t.principal.clone()),
            app_only: token_ref.and_then(|t| t.app_only),
            all_granted,
            verdict,
            cmdlets,
            layers,
            findings,
        })
    }
}

#[cfg(test)]
mod tests;
