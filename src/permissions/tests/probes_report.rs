//! Unit tests of the probes, the report's shapes and the command-line check.

use super::*;

#[tokio::test]
async fn probes_are_read_only_and_declared_parameters_only() {
    let p = Profile::hosted_exchange();
    let d = Double {
        claims: Some(delegated()),
        module: None,
        rbac_denied: true,
        denied: vec!["Get-ActiveSyncDeviceClass".into()],
        ..Default::default()
    };
    let r = run(&d, &p, true).await;
    let calls = d.calls.lock().unwrap().clone();
    for (cmdlet, params) in &calls {
        assert!(cmdlet.starts_with("Get-"), "{cmdlet} must not be probed");
        let has_rs = params.get("ResultSize").is_some();
        let declares = [
            "Get-MobileDevice",
            "Get-Recipient",
            "Get-ManagementRoleEntry",
        ]
        .contains(&cmdlet.as_str());
        assert!(!has_rs || declares, "{cmdlet} got ResultSize");
        assert!(params.get("WhatIf").is_none());
    }
    let (_, stats) = calls
        .iter()
        .find(|(c, _)| c == "Get-MobileDeviceStatistics")
        .unwrap();
    assert_eq!(stats["Mailbox"], "alice");
    assert_eq!(
        r.cmdlet("Get-MobileDeviceStatistics").unwrap().status,
        Status::Granted
    );
    assert_eq!(
        r.cmdlet("Get-ActiveSyncOrganizationSettings")
            .unwrap()
            .status,
        Status::Granted
    );
    assert_eq!(
        r.cmdlet("Get-ActiveSyncDeviceClass").unwrap().status,
        Status::Missing
    );
    // Get-MobileDevice requires Mailbox too, which the probe does not prove
    assert_eq!(
        r.cmdlet("Get-MobileDevice").unwrap().status,
        Status::Unknown
    );
    // writes stay unknown: never probed
    assert_eq!(
        r.cmdlet("Clear-MobileDevice").unwrap().status,
        Status::Unknown
    );
    assert_eq!(r.layer(Layer::Probe).unwrap().state, LayerState::Used);
}

#[tokio::test]
async fn statistics_probe_skipped_without_a_known_mailbox() {
    let p = Profile::custom(
        "stats-only",
        vec![CmdletRequirement::new(
            "Get-MobileDeviceStatistics",
            Access::Read,
            ["Mailbox"],
        )],
    );
    let d = Double::default();
    let r = run(&d, &p, true).await;
    let c = &r.cmdlets[0];
    assert_eq!(c.status, Status::Unknown);
    assert!(
        c.evidence
            .iter()
            .any(|e| matches!(e, Evidence::Probe { outcome, .. } if outcome == "skipped"))
    );
    assert!(d.calls.lock().unwrap().is_empty());
    assert_eq!(
        r.layer(Layer::TokenClaims).unwrap().state,
        LayerState::Skipped
    );
}

#[tokio::test]
async fn json_shape_and_kebab_case_statuses() {
    let p = Profile::exchange_online();
    let d = Double {
        claims: Some(delegated()),
        module: Some(module_for(
            &p,
            &["Get-MobileDevice"],
            Some(("New-ActiveSyncDeviceAccessRule", "QueryString")),
        )),
        ..Default::default()
    };
    let r = run(&d, &p, false).await;
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["profile"], "exchange-online");
    assert_eq!(v["all_granted"], false);
    let cmdlets = v["cmdlets"].as_array().unwrap();
    assert_eq!(cmdlets.len(), 13);
    let status_of = |name: &str| {
        cmdlets
            .iter()
            .find(|c| c["cmdlet"] == name)
            .map(|c| c["status"].clone())
            .unwrap()
    };
    assert_eq!(
        status_of("New-ActiveSyncDeviceAccessRule"),
        "parameter-missing"
    );
    assert_eq!(status_of("Get-MobileDevice"), "missing");
    assert_eq!(status_of("Get-ActiveSyncDeviceClass"), "granted");
    assert_eq!(cmdlets[0]["access"], "read");
    assert_eq!(v["layers"][0]["layer"], "token-claims");
    assert!(
        cmdlets[0]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "exported")
    );
    for s in [
        Status::Granted,
        Status::Scoped,
        Status::ParameterMissing,
        Status::Missing,
        Status::Unknown,
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    // Display: table then remediation
    let text = r.to_string();
    assert!(text.contains("CMDLET"));
    assert!(text.contains("New-ActiveSyncDeviceAccessRule"));
    assert!(text.contains("parameter-missing"));
    let table = text.find("STATUS").unwrap();
    let rem = text.find("Remediation:").unwrap();
    assert!(table < rem);
}

#[test]
fn profile_parameters_are_declared_by_the_cmdlets() {
    // Parameter blocks of the real module for the profile's cmdlets
    // (tests/fixtures/exo-module-params.json), so that a typo cannot slip in.
    const DECLARED: &[(&str, &[&str])] = &[
        (
            "Set-ActiveSyncOrganizationSettings",
            &[
                "AdminMailRecipients",
                "AllowAccessForUnSupportedPlatform",
                "AllowRMSSupportForUnenlightenedApps",
                "DefaultAccessLevel",
                "EnableMobileMailboxPolicyWhenCAInplace",
                "Identity",
                "OtaNotificationMailInsert",
                "TenantAdminPreference",
                "UserMailInsert",
            ],
        ),
        ("Get-MobileDeviceMailboxPolicy", &["Identity"]),
        ("Remove-MobileDeviceMailboxPolicy", &["Force", "Identity"]),
        (
            "Set-ActiveSyncDeviceAccessRule",
            &["AccessLevel", "Identity"],
        ),
        (
            "New-ActiveSyncDeviceAccessRule",
            &["AccessLevel", "Characteristic", "QueryString"],
        ),
        ("Remove-ActiveSyncDeviceAccessRule", &["Identity"]),
        (
            "Get-MobileDeviceStatistics",
            &[
                "ActiveSync",
                "GetMailboxLog",
                "Identity",
                "Mailbox",
                "NotificationEmailAddresses",
                "OWAforDevices",
                "RestApi",
                "ShowRecoveryPassword",
                "UniversalOutlook",
                "UseCustomRouting",
            ],
        ),
        (
            "Get-MobileDevice",
            &[
                "ActiveSync",
                "Filter",
                "Identity",
                "Mailbox",
                "OrganizationalUnit",
                "OWAforDevices",
                "RestApi",
                "ResultSize",
                "SortBy",
                "UniversalOutlook",
            ],
        ),
        (
            "Get-Recipient",
            &[
                "Anr",
                "AuthenticationType",
                "BookmarkDisplayName",
                "Capabilities",
                "Filter",
                "Identity",
                "IncludeBookmarkObject",
                "IncludeSoftDeletedRecipients",
                "OrganizationalUnit",
                "Properties",
                "PropertySet",
                "RecipientPreviewFilter",
                "RecipientType",
                "RecipientTypeDetails",
                "ResultSize",
                "SortBy",
            ],
        ),
        (
            "Clear-MobileDevice",
            &[
                "AccountOnly",
                "Cancel",
                "Identity",
                "NotificationEmailAddresses",
            ],
        ),
        ("Remove-MobileDevice", &["Identity"]),
    ];
    const POLICY: &[&str] = &[
        "AllowSimplePassword",
        "AlphanumericPasswordRequired",
        "IsDefault",
        "MaxInactivityTimeLock",
        "MaxPasswordFailedAttempts",
        "MinPasswordLength",
        "PasswordEnabled",
        "PasswordExpiration",
        "PasswordHistory",
        "RequireDeviceEncryption",
    ];
    let mut checked = 0;
    for r in &Profile::hosted_exchange().requirements {
        let declared: Vec<&str> = match r.cmdlet.as_str() {
            "Set-MobileDeviceMailboxPolicy" => POLICY.iter().copied().chain(["Identity"]).collect(),
            "New-MobileDeviceMailboxPolicy" => POLICY.iter().copied().chain(["Name"]).collect(),
            other => DECLARED
                .iter()
                .find(|(c, _)| *c == other)
                .map(|(_, p)| p.to_vec())
                .unwrap_or_default(),
        };
        for param in &r.parameters {
            assert!(
                declared.contains(&param.as_str()),
                "{} does not declare -{param}",
                r.cmdlet
            );
            checked += 1;
        }
    }
    assert!(checked > 30);
}

#[tokio::test]
async fn run_check_renders_and_sets_exit_codes() {
    let p = Profile::exchange_online();
    let mut module = module_for(&p, &[], None);
    module
        .exported_cmdlets
        .push("Get-ManagementRoleAssignment".into());
    module
        .exported_cmdlets
        .push("Get-ManagementRoleEntry".into());
    let d = Double {
        claims: Some(delegated()),
        module: Some(module),
        entries: full_entries(&p),
        assignments: full_assignments(),
        ..Default::default()
    };
    let out = run_check(&d, &p, false, OutputFormat::Json).await;
    assert_eq!(out.exit_code, EXIT_GRANTED);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["all_granted"], true);
    assert!(out.stderr.iter().any(|l| l.contains("module-file")));

    let d = Double {
        claims: Some(delegated()),
        module: Some(module_for(&p, &["Get-MobileDevice"], None)),
        ..Default::default()
    };
    let out = run_check(&d, &p, false, OutputFormat::Text).await;
    assert_eq!(out.exit_code, EXIT_NOT_GRANTED);
    assert!(out.stdout.contains("Get-MobileDevice"));
    assert!(out.stdout.contains("Remediation:"));
    assert_eq!("json".parse::<OutputFormat>(), Ok(OutputFormat::Json));
    assert!("yaml".parse::<OutputFormat>().is_err());
}
