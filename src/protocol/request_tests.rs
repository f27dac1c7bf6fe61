//! Unit tests of request building.

use super::*;
use serde_json::json;

thread_local! {
    /// How many times [`Invocation::validate`] did its checks on this thread.
    pub(crate) static FULL_VALIDATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Full validations on this thread since the last call.
pub(crate) fn take_full_validations() -> usize {
    FULL_VALIDATIONS.with(|n| n.replace(0))
}

#[test]
fn a_validated_invocation_is_checked_once_and_again_after_a_parameter_change() {
    take_full_validations();
    let mut p = Parameters::new();
    p.string("Identity", "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
    let inv = Invocation::new("Remove-MobileDevice", p)
        .validated()
        .unwrap();
    assert!(inv.is_validated());
    let base = Url::parse("https://outlook.office365.com").unwrap();
    let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
    for _ in 0..3 {
        inv.validate().unwrap();
        prepare_invoke(&base, &tenant, &inv, &ctx(), None).unwrap();
    }
    let copy = inv.clone().page_size(10);
    assert!(copy.is_validated());
    assert_eq!(take_full_validations(), 1);
    // Changing the parameters clears the mark: a wildcard is refused again.
    let mut changed = inv.clone();
    changed.parameters_mut().string("Identity", "*");
    assert!(!changed.is_validated());
    assert!(changed.validate().is_err());
    assert!(prepare_invoke(&base, &tenant, &changed, &ctx(), None).is_err());
    // An unvalidated invocation is checked by every `validate` (a hand-built request).
    let plain = Invocation::new("Get-MobileDevice", Parameters::new());
    plain.validate().unwrap();
    plain.validate().unwrap();
    assert_eq!(take_full_validations(), 4);
    // The mark is not part of equality.
    assert_eq!(plain.clone().validated().unwrap(), plain);
}

#[test]
fn url_building_takes_a_tenant_id_or_text() {
    let base = Url::parse("https://outlook.office365.com").unwrap();
    let tenant = TenantId::parse("2f6c0000-0000-0000-0000-000000000001").unwrap();
    let by_id = invoke_url(&base, &tenant, &[]).unwrap();
    let by_text = invoke_url(&base, tenant.as_str(), &[]).unwrap();
    assert_eq!(by_id, by_text);
    assert_eq!(
        by_id.as_str(),
        "https://outlook.office365.com/adminapi/beta/2f6c0000-0000-0000-0000-000000000001/InvokeCommand"
    );
    assert_eq!(
        module_file_url(&base, &tenant, "3.9.2").unwrap().as_str(),
        "https://outlook.office365.com/adminapi/v1.0/2f6c0000-0000-0000-0000-000000000001/EXOModuleFile?Version=3.9.2"
    );
    assert!(matches!(
        invoke_url(&base, "a b", &[]),
        Err(Error::InvalidTenant(_))
    ));
    assert!(matches!(
        invoke_url(&base, &String::from("a/b"), &[]),
        Err(Error::InvalidTenant(_))
    ));
    // A hint tenant other than the call's is still checked before it goes into a header.
    let inv = Invocation::new("Get-MobileDevice", Parameters::new()).routing(RoutingHint::App {
        tenant: "x\r\ny".into(),
    });
    assert!(matches!(
        prepare_invoke(&base, &tenant, &inv, &ctx(), None),
        Err(Error::InvalidTenant(_))
    ));
}

fn ctx() -> RequestContext {
    RequestContext {
        connection_id: Uuid::nil(),
        default_routing: Some(RoutingHint::App {
            tenant: "2f6c0000-0000-0000-0000-000000000001".into(),
        }),
        user_agent: "test".into(),
    }
}

#[test]
fn builds_url_body_and_headers() {
    let base = Url::parse("https://outlook.office365.com").unwrap();
    let mut p = Parameters::new();
    p.string("ResultSize", "Unlimited");
    let inv = Invocation::new("Get-MobileDevice", p).select(["Identity", "Guid"]);
    let req = prepare_invoke(&base, "contoso.onmicrosoft.com", &inv, &ctx(), None).unwrap();
    assert_eq!(
        req.url.as_str(),
        "https://outlook.office365.com/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?%24select=Identity%2CGuid"
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"CmdletInput":{"CmdletName":"Get-MobileDevice","Parameters":{"ResultSize":"Unlimited"}}})
    );
    assert_eq!(req.header("prefer"), Some("odata.maxpagesize=1000"));
    assert_eq!(req.header("X-CmdletName"), Some("Get-MobileDevice"));
    assert_eq!(
        req.header("X-AnchorMailbox"),
        Some(
            "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@2f6c0000-0000-0000-0000-000000000001"
        )
    );
    assert_eq!(
        req.header("client-request-id"),
        Some(inv.request_id().to_string().as_str())
    );
    assert_eq!(req.header("Accept-Language"), Some("en-US"));
    assert!(req.header("parameter-based-routing").is_none());
}

#[test]
fn empty_parameters_are_an_object_and_page_size_follows_result_size() {
    let inv = Invocation::new("Get-ActiveSyncOrganizationSettings", Parameters::new());
    assert_eq!(
        String::from_utf8(inv.body()).unwrap(),
        r#"{"CmdletInput":{"CmdletName":"Get-ActiveSyncOrganizationSettings","Parameters":{}}}"#
    );
    let mut p = Parameters::new();
    p.int("ResultSize", 5);
    assert_eq!(Invocation::new("Get-Recipient", p).effective_page_size(), 5);
}

#[test]
fn destructive_gets_confirm_false_and_needs_identity() {
    let inv = Invocation::new("Clear-MobileDevice", Parameters::new());
    assert_eq!(inv.kind(), CmdletKind::Destructive);
    assert_eq!(inv.parameters().get("Confirm"), Some(&json!(false)));
    assert!(inv.validate().unwrap_err().is_invalid_input());
    for bad in ["", "   ", "*", "alice\\ExchangeActiveSyncDevices\\*"] {
        let mut p = Parameters::new();
        p.string("Identity", bad);
        assert!(
            Invocation::new("Remove-MobileDevice", p)
                .validate()
                .is_err(),
            "{bad:?}"
        );
    }
    let mut p = Parameters::new();
    p.string("Identity", "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
    assert!(Invocation::new("remove-MobileDevice", p).validate().is_ok());
}

#[test]
fn mailbox_routing_hints() {
    let h = RoutingHint::Mailbox {
        mailbox: "alice@contoso.com".into(),
        tenant: "t".into(),
    };
    assert_eq!(h.header_value(), "SMTP:alice@contoso.com");
    let h = RoutingHint::Mailbox {
        mailbox: "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60".into(),
        tenant: "t".into(),
    };
    assert_eq!(
        h.header_value(),
        "MBX:5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60@t"
    );
    assert_eq!(RoutingHint::User("a@b".into()).header_value(), "UPN:a@b");
    let base = Url::parse("https://outlook.office365.com/").unwrap();
    let inv = Invocation::new("Get-MobileDeviceStatistics", Parameters::new()).routing(
        RoutingHint::Mailbox {
            mailbox: "alice@contoso.com".into(),
            tenant: "t".into(),
        },
    );
    let req = prepare_invoke(&base, "t", &inv, &ctx(), None).unwrap();
    assert_eq!(
        req.header("X-AnchorMailbox"),
        Some("SMTP:alice@contoso.com")
    );
    assert_eq!(req.header("parameter-based-routing"), Some("true"));
}

#[test]
fn guid_mailbox_hint_gets_the_call_tenant() {
    let base = Url::parse("https://outlook.office365.com").unwrap();
    let inv = Invocation::new("Get-MobileDeviceStatistics", Parameters::new()).routing(
        RoutingHint::Mailbox {
            mailbox: "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60".into(),
            tenant: String::new(),
        },
    );
    let req = prepare_invoke(&base, "contoso.onmicrosoft.com", &inv, &ctx(), None).unwrap();
    assert_eq!(
        req.header("X-AnchorMailbox"),
        Some("MBX:5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60@contoso.onmicrosoft.com")
    );
}

#[test]
fn continuation_reuses_body_and_id() {
    let base = Url::parse("https://outlook.office365.com").unwrap();
    let inv = Invocation::new("Get-MobileDevice", Parameters::new());
    let first = prepare_invoke(&base, "t", &inv, &ctx(), None).unwrap();
    let link = NextLink::new(
        "https://outlook.office365.com/adminapi/beta/t/InvokeCommand?%24skiptoken=abc",
    );
    let next = prepare_invoke(&base, "t", &inv, &ctx(), Some(&link)).unwrap();
    assert_eq!(next.url.as_str(), link.as_str());
    assert_eq!(first.body, next.body);
    assert_eq!(
        first.header("client-request-id"),
        next.header("client-request-id")
    );
}

#[test]
fn module_file_url_shape() {
    let base = Url::parse("https://outlook.office365.com").unwrap();
    assert_eq!(
        module_file_url(&base, "t", "3.9.2").unwrap().as_str(),
        "https://outlook.office365.com/adminapi/v1.0/t/EXOModuleFile?Version=3.9.2"
    );
    assert!(invoke_url(&base, "", &[]).is_err());
    assert!(invoke_url(&base, "a/b", &[]).is_err());
}

#[test]
fn a_cmdlet_name_that_is_not_exactly_verb_noun_is_refused_first() {
    let mut p = Parameters::new();
    p.string("Identity", "*");
    for bad in [
        " Clear-MobileDevice",
        "Clear-MobileDevice ",
        "Clear-MobileDevice\n",
        "Clear -MobileDevice",
        "Clear-Mobile-Device",
        "Clear\u{0}-MobileDevice",
        "Clear-MobileDévice",
        "-MobileDevice",
        "Clear-",
        "",
    ] {
        let inv = Invocation::new(bad, p.clone());
        let err = inv.validate().unwrap_err();
        assert!(err.is_invalid_input(), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("Verb-Noun"), "{bad:?}: {err}");
        assert!(!is_cmdlet_name(bad), "{bad:?}");
        assert!(!is_enumeration(bad), "{bad:?}");
        // Never classified as a mere write: the most guarded kind.
        assert_eq!(inv.kind(), CmdletKind::Destructive, "{bad:?}");
    }
}

#[test]
fn classification_is_case_insensitive_on_the_exact_name() {
    for name in [
        "clear-mobiledevice",
        "CLEAR-MOBILEDEVICE",
        "Clear-MobileDevice",
    ] {
        let inv = Invocation::new(name, Parameters::new());
        assert_eq!(inv.kind(), CmdletKind::Destructive, "{name}");
        assert_eq!(inv.parameters().get("Confirm"), Some(&json!(false)));
        assert!(!inv.is_enumeration());
    }
    assert!(is_enumeration("get-mobiledevice"));
    assert!(!is_enumeration("get-activesyncorganizationsettings"));
    assert!(!is_enumeration("Set-CASMailbox"));
    assert!(!is_enumeration("New-MobileDeviceMailboxPolicy"));
    for k in crate::catalog::all() {
        assert!(is_cmdlet_name(k.name), "{}", k.name);
        assert!(
            !is_enumeration(k.name) || k.kind == CmdletKind::Read,
            "{}",
            k.name
        );
    }
}

#[test]
fn kinds_from_verbs() {
    assert_eq!(
        CmdletKind::from_cmdlet_name("get-MobileDeviceMailboxPolicy"),
        CmdletKind::Read
    );
    assert_eq!(
        CmdletKind::from_cmdlet_name("New-ActiveSyncDeviceAccessRule"),
        CmdletKind::Write
    );
    assert_eq!(
        CmdletKind::from_cmdlet_name("Clear-MobileDevice"),
        CmdletKind::Destructive
    );
}
