//! Permission check against the simulated tenant: the in-process fake and the loopback
//! simulator, with RBAC variations.

use std::sync::Arc;

use exchange_activesync::auth::{StaticToken, TokenClaims};
use exchange_activesync::client::{ExchangeClient, ModuleFile};
use exchange_activesync::permissions::{
    EXIT_GRANTED, EXIT_NOT_GRANTED, Evidence, Layer, LayerState, OutputFormat, PermissionChecker,
    PermissionReport, Profile, Status, run_check,
};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};
use exchange_activesync::{Environment, Error, HttpExchangeClient, Result, async_trait};
use exchange_activesync_testkit::rbac::roles;
use exchange_activesync_testkit::{
    FakeExchangeClient, ManagementRole, Rbac, RbacProfile, RoleEntry, Simulator, SimulatorConfig,
    Tenant, TenantBuilder,
};

/// Claims decoded from an unsigned JWT with `payload`.
fn claims(payload: serde_json::Value) -> TokenClaims {
    use base64::Engine as _;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwt = format!(
        "{}.{}.sig",
        e.encode(r#"{"alg":"none"}"#),
        e.encode(payload.to_string())
    );
    TokenClaims::decode(&jwt).unwrap()
}

fn tenant(rbac: Rbac) -> Tenant {
    TenantBuilder::new()
        .seed(7)
        .mailboxes(4)
        .devices(4)
        .rbac(rbac)
        .build()
}

/// A fake whose token is a delegated token of the tenant's caller, so that
/// `Get-ManagementRoleAssignment -RoleAssignee <caller>` lists the caller's assignments.
fn delegated_fake(rbac: Rbac) -> FakeExchangeClient {
    let fake = FakeExchangeClient::new(tenant(rbac));
    let caller = fake.tenant().caller().to_string();
    fake.set_token_claims(Some(claims(serde_json::json!({
        "upn": caller, "scp": "Exchange.Manage", "idtyp": "user"
    }))));
    fake
}

/// The Full preset with `cmdlet` removed from every role.
fn full_without(cmdlets: &[&str]) -> Rbac {
    let mut rbac = Rbac::profile(RbacProfile::Full);
    for role in rbac.roles.clone() {
        let entries: Vec<RoleEntry> = role
            .entries
            .iter()
            .filter(|e| !cmdlets.iter().any(|c| c.eq_ignore_ascii_case(&e.cmdlet)))
            .cloned()
            .collect();
        rbac.add_role(ManagementRole::custom(role.name.clone(), entries));
    }
    rbac
}

async fn check(client: &dyn ExchangeClient, profile: &Profile, probe: bool) -> PermissionReport {
    PermissionChecker::new(client)
        .probe(probe)
        .check(profile)
        .await
        .unwrap()
}

#[tokio::test]
async fn full_rbac_everything_granted_with_rbac_evidence() {
    let fake = delegated_fake(Rbac::profile(RbacProfile::Full));
    let r = check(&fake, &Profile::hosted_exchange(), true).await;
    assert!(r.all_granted, "{r}");
    assert_eq!(r.layer(Layer::Rbac).unwrap().state, LayerState::Used);
    assert_eq!(r.layer(Layer::ModuleFile).unwrap().state, LayerState::Used);
    assert_eq!(r.layer(Layer::Probe).unwrap().state, LayerState::Used);
    let set = r.cmdlet("Set-ActiveSyncOrganizationSettings").unwrap();
    assert!(
        set.granting_roles
            .iter()
            .any(|g| g == roles::ORGANIZATION_CLIENT_ACCESS)
    );
    // the statistics probe ran against a mailbox known to exist
    let stats = r.cmdlet("Get-MobileDeviceStatistics").unwrap();
    assert!(
        stats
            .evidence
            .iter()
            .any(|e| matches!(e, Evidence::Probe { outcome, .. } if outcome == "ok")),
        "{stats:?}"
    );
    // probes never write nor wipe
    for call in fake.calls() {
        let name = call.cmdlet.to_ascii_lowercase();
        assert!(name.starts_with("get-"), "unexpected call {}", call.cmdlet);
    }
}

#[tokio::test]
async fn one_write_cmdlet_missing() {
    let fake = delegated_fake(full_without(&["Set-ActiveSyncDeviceAccessRule"]));
    let r = check(&fake, &Profile::exchange_online(), false).await;
    assert!(!r.all_granted);
    let c = r.cmdlet("Set-ActiveSyncDeviceAccessRule").unwrap();
    assert_eq!(c.status, Status::Missing);
    assert!(c.evidence.contains(&Evidence::Exported { exported: false }));
    assert!(c.evidence.contains(&Evidence::NoRoleEntry));
    assert!(c.remediation[0].contains("Organization Client Access"));
    assert_eq!(r.not_granted().count(), 1, "{r}");
}

#[tokio::test]
async fn destructive_cmdlet_missing_in_hosted_profile() {
    let fake = delegated_fake(full_without(&["Clear-MobileDevice"]));
    let r = check(&fake, &Profile::hosted_exchange(), false).await;
    let c = r.cmdlet("Clear-MobileDevice").unwrap();
    assert_eq!(c.status, Status::Missing);
    assert_eq!(c.access.as_str(), "destructive");
    assert!(c.remediation[0].contains("Mail Recipients"));
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.cmdlet.eq_ignore_ascii_case("Clear-MobileDevice"))
    );
    // exchange-online does not need it
    let r = check(&fake, &Profile::exchange_online(), false).await;
    assert!(r.all_granted, "{r}");
}

/// Delegates everything to a fake except `EXOModuleFile`, which fails (or is stripped).
struct NoModule {
    inner: FakeExchangeClient,
    strip_files: bool,
}

#[async_trait]
impl ExchangeClient for NoModule {
    async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
        self.inner.invoke_page(inv, next).await
    }
    async fn module_file(&self) -> Result<ModuleFile> {
        if self.strip_files {
            let mut m = self.inner.module_file().await?;
            m.files.clear();
            Ok(m)
        } else {
            Err(Error::Unsupported("EXOModuleFile".into()))
        }
    }
    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        self.inner.token_claims().await
    }
}

#[tokio::test]
async fn module_file_unavailable_falls_back_to_rbac() {
    let client = NoModule {
        inner: delegated_fake(full_without(&["New-MobileDeviceMailboxPolicy"])),
        strip_files: false,
    };
    let r = check(&client, &Profile::exchange_online(), false).await;
    let m = r.layer(Layer::ModuleFile).unwrap();
    assert_eq!(m.state, LayerState::Unavailable);
    assert!(m.detail.contains("falling back"), "{}", m.detail);
    assert_eq!(r.layer(Layer::Rbac).unwrap().state, LayerState::Used);
    assert_eq!(
        r.cmdlet("New-MobileDeviceMailboxPolicy").unwrap().status,
        Status::Missing
    );
    assert_eq!(
        r.cmdlet("Set-MobileDeviceMailboxPolicy").unwrap().status,
        Status::Granted,
        "{r}"
    );
    assert!(r.cmdlets.iter().all(|c| c.evidence.iter().any(|e| matches!(
        e,
        Evidence::LayerUnavailable {
            layer: Layer::ModuleFile,
            ..
        }
    ))));
}

#[tokio::test]
async fn rbac_not_readable_leaves_parameters_unknown() {
    // Full minus the roles that may read RBAC.
    let mut rbac = Rbac::profile(RbacProfile::Full);
    rbac.assignments
        .retain(|a| a.role != roles::VIEW_ONLY_CONFIGURATION && a.role != roles::ROLE_MANAGEMENT);
    // (a) module exported list only, RBAC cmdlets not exported
    let client = NoModule {
        inner: delegated_fake(rbac.clone()),
        strip_files: true,
    };
    let r = check(&client, &Profile::exchange_online(), false).await;
    let rb = r.layer(Layer::Rbac).unwrap();
    assert_eq!(rb.state, LayerState::Unavailable);
    assert!(rb.detail.contains("not exported"), "{}", rb.detail);
    let set = r.cmdlet("Set-ActiveSyncOrganizationSettings").unwrap();
    assert_eq!(set.status, Status::Unknown);
    assert_ne!(set.status, Status::Granted);
    assert_eq!(
        r.cmdlet("Get-ActiveSyncDeviceClass").unwrap().status,
        Status::Granted
    );
    assert!(!r.all_granted);

    // (b) no module at all: the RBAC cmdlets are tried and answer 403
    let client = NoModule {
        inner: delegated_fake(rbac),
        strip_files: false,
    };
    let r = check(&client, &Profile::exchange_online(), false).await;
    let rb = r.layer(Layer::Rbac).unwrap();
    assert_eq!(rb.state, LayerState::Unavailable);
    assert!(rb.detail.contains("not permitted"), "{}", rb.detail);
    assert!(r.cmdlets.iter().all(|c| c.status == Status::Unknown), "{r}");
}

#[tokio::test]
async fn token_without_manage_as_app() {
    let fake = FakeExchangeClient::new(tenant(Rbac::profile(RbacProfile::Full)));
    fake.set_token_claims(Some(claims(serde_json::json!({
        "idtyp": "app", "appid": "00000000-0000-0000-0000-00000000a11c", "roles": []
    }))));
    let r = check(&fake, &Profile::exchange_online(), false).await;
    assert!(r.cmdlets.iter().all(|c| c.status == Status::Missing));
    assert!(
        r.findings
            .iter()
            .any(|f| f.contains("Exchange.ManageAsApp"))
    );
    assert!(r.cmdlets[0].remediation[0].contains("consent"));
}

#[tokio::test]
async fn granted_cmdlet_with_a_missing_parameter() {
    let mut rbac = Rbac::profile(RbacProfile::Full);
    let mut oca = rbac
        .role(roles::ORGANIZATION_CLIENT_ACCESS)
        .unwrap()
        .clone();
    for e in oca.entries.iter_mut() {
        if e.cmdlet == "Set-ActiveSyncOrganizationSettings" {
            e.parameters.remove("DefaultAccessLevel");
        }
    }
    rbac.add_role(ManagementRole::custom(oca.name.clone(), oca.entries));
    let fake = delegated_fake(rbac);
    let r = check(&fake, &Profile::exchange_online(), false).await;
    let c = r.cmdlet("Set-ActiveSyncOrganizationSettings").unwrap();
    assert_eq!(c.status, Status::ParameterMissing, "{r}");
    assert_eq!(c.missing_parameters, ["DefaultAccessLevel"]);
    assert!(c.evidence.iter().any(|e| matches!(e, Evidence::RoleEntry { role, .. } if role == roles::ORGANIZATION_CLIENT_ACCESS)));
}

async fn http_client(
    profile: RbacProfile,
) -> (
    HttpExchangeClient,
    exchange_activesync_testkit::SimulatorHandle,
) {
    let sim = Simulator::start(SimulatorConfig::new(
        TenantBuilder::new()
            .seed(3)
            .mailboxes(3)
            .devices(3)
            .rbac_profile(profile)
            .build(),
    ))
    .await
    .unwrap();
    let client = HttpExchangeClient::builder()
        .tenant(sim.tenant_id())
        .environment(Environment::Custom {
            base_url: sim.base_url(),
            scope: Environment::Commercial.scope(),
            authority: Environment::Commercial.authority(),
        })
        .token_provider(Arc::new(StaticToken::new(sim.token())))
        .build()
        .unwrap();
    (client, sim)
}

#[tokio::test]
async fn simulator_over_http_full_and_read_only() {
    let (client, _sim) = http_client(RbacProfile::Full).await;
    let out = run_check(
        &client,
        &Profile::hosted_exchange(),
        true,
        OutputFormat::Json,
    )
    .await;
    assert_eq!(out.exit_code, EXIT_GRANTED, "{}", out.stdout);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["profile"], "hosted-exchange");
    assert_eq!(v["all_granted"], true);
    assert_eq!(v["cmdlets"].as_array().unwrap().len(), 16);

    let (client, _sim) = http_client(RbacProfile::ReadOnly).await;
    let out = run_check(
        &client,
        &Profile::exchange_online(),
        true,
        OutputFormat::Text,
    )
    .await;
    assert_eq!(out.exit_code, EXIT_NOT_GRANTED);
    let r = out.report.unwrap();
    assert_eq!(
        r.cmdlet("Get-ActiveSyncOrganizationSettings")
            .unwrap()
            .status,
        Status::Granted
    );
    assert_eq!(
        r.cmdlet("Set-ActiveSyncOrganizationSettings")
            .unwrap()
            .status,
        Status::Missing
    );
    assert!(out.stdout.contains("Remediation:"));
}
