//! The quarantine inbox and device list hygiene.

use std::collections::{BTreeMap, BTreeSet};

use exchange_activesync::connector::{
    ALLOWED_LIST, BLOCKED_LIST, ListProblem, PruneConfirmation, PruneOutcome,
    QuarantineConfirmation, QuarantineDecision, QuarantineOutcome, QuarantineSelection,
    apply_list_prune, apply_quarantine, audit_device_lists, list_quarantined, plan_list_prune,
    plan_quarantine,
};
use exchange_activesync::types::MobileDeviceIdentity;
use exchange_activesync_testkit::{
    Failure, FakeExchangeClient, RbacProfile, Scripted, Tenant, TenantBuilder, Times,
};
use serde_json::Value;
use uuid::Uuid;

fn tenant(rbac: RbacProfile) -> Tenant {
    TenantBuilder::new()
        .seed(13)
        .mailboxes(8)
        .devices(40)
        .rbac_profile(rbac)
        .build()
}

/// Every device's access state and reason.
fn states(f: &FakeExchangeClient) -> BTreeMap<Uuid, (String, String)> {
    f.tenant()
        .devices()
        .map(|d| {
            (
                d.guid,
                (d.access_state.clone(), d.access_state_reason.clone()),
            )
        })
        .collect()
}

fn writes(f: &FakeExchangeClient) -> Vec<String> {
    f.calls()
        .into_iter()
        .filter(|c| !c.cmdlet.starts_with("Get-"))
        .map(|c| c.cmdlet)
        .collect()
}

/// Whether a list parameter uses the add/remove form (never a replacement).
fn add_remove_form(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.keys()
            .all(|k| k == "Add" || k == "Remove" || k.starts_with('@'))
    })
}

#[tokio::test]
async fn list_names_exactly_the_quarantined_partnerships_with_why() {
    let mut t = tenant(RbacProfile::Full);
    t.quarantine_devices(5);
    // One quarantined by a device access rule.
    let by_rule = t
        .devices()
        .find(|d| d.access_state == "Allowed")
        .map(|d| d.guid)
        .unwrap();
    {
        let mut d = t.device_mut(&by_rule).unwrap();
        d.access_state = "Quarantined".into();
        d.access_state_reason = "DeviceRule".into();
        d.access_control_rule = Some("Contoso 9 (DeviceModel)".into());
    }
    let expected: BTreeSet<Uuid> = t
        .devices()
        .filter(|d| d.access_state == "Quarantined")
        .map(|d| d.guid)
        .collect();
    assert!(expected.len() >= 5);
    let f = FakeExchangeClient::new(t);
    let listed = list_quarantined(&f).await.unwrap();
    let got: BTreeSet<Uuid> = listed.iter().map(|d| d.guid).collect();
    assert_eq!(got, expected);
    let rule = listed.iter().find(|d| d.guid == by_rule).unwrap();
    assert_eq!(rule.reason, "rule Contoso 9 (DeviceModel)");
    for d in &listed {
        assert!(!d.identity.is_empty() && !d.mailbox.is_empty() && !d.device_id.is_empty());
        assert!(
            d.reason == "default access level" || d.reason.starts_with("rule "),
            "{d:?}"
        );
    }
    assert!(writes(&f).is_empty());
}

#[tokio::test]
async fn allow_one_sends_one_add_form_set_cas_mailbox_and_changes_nothing_else() {
    let mut t = tenant(RbacProfile::Full);
    let q = t.quarantine_devices(3);
    let f = FakeExchangeClient::new(t);
    let x = q[1];
    let identity = {
        let t = f.tenant();
        MobileDeviceIdentity::new(t.device_identity(t.device(&x).unwrap())).unwrap()
    };
    let before = states(&f);
    let plan = plan_quarantine(
        &f,
        &QuarantineSelection::Identity(identity),
        QuarantineDecision::Allow,
    )
    .await
    .unwrap();
    assert_eq!(plan.devices().count(), 1);
    assert!(writes(&f).is_empty(), "the plan sends no write");
    let report = apply_quarantine(
        &f,
        &plan,
        QuarantineConfirmation::i_release_these_devices(&plan),
    )
    .await
    .unwrap();
    assert_eq!(report.results.len(), 1);
    assert_eq!(report.results[0].outcome, QuarantineOutcome::Done);
    assert_eq!(
        report.results[0].access_state_after.as_deref(),
        Some("Allowed")
    );
    let sets = f.calls_to("Set-CASMailbox");
    assert_eq!(sets.len(), 1);
    assert_eq!(writes(&f), ["Set-CASMailbox"]);
    let p = &sets[0].parameters;
    assert!(add_remove_form(&p["ActiveSyncAllowedDeviceIDs"]), "{p:?}");
    assert!(add_remove_form(&p["ActiveSyncBlockedDeviceIDs"]), "{p:?}");
    let device_id = f.tenant().device(&x).unwrap().device_id.clone();
    assert_eq!(
        p["ActiveSyncAllowedDeviceIDs"]["Add"],
        serde_json::json!([device_id])
    );
    let after = states(&f);
    assert_eq!(after[&x], ("Allowed".to_string(), "Individual".to_string()));
    for (g, s) in &before {
        if *g != x {
            assert_eq!(&after[g], s, "device {g} changed");
        }
    }
}

#[tokio::test]
async fn bulk_block_groups_by_mailbox_and_skips_a_device_gone_since_the_plan() {
    let mut t = tenant(RbacProfile::Full);
    t.quarantine_devices(12);
    let f = FakeExchangeClient::new(t);
    let all = QuarantineSelection::All {
        model: None,
        device_type: None,
    };
    let plan = plan_quarantine(&f, &all, QuarantineDecision::Block)
        .await
        .unwrap();
    let mailboxes: BTreeSet<String> = plan.devices().map(|d| d.mailbox.to_lowercase()).collect();
    assert_eq!(plan.mailboxes.len(), mailboxes.len());
    assert!(
        plan.mailboxes.iter().any(|m| m.devices.len() > 1),
        "some mailbox with several"
    );
    // One device disappears between the plan and the apply.
    let gone = plan
        .mailboxes
        .iter()
        .find(|m| m.devices.len() > 1)
        .unwrap()
        .devices[0]
        .guid;
    f.tenant_mut().remove_device(&gone);
    let report = apply_quarantine(
        &f,
        &plan,
        QuarantineConfirmation::i_release_these_devices(&plan),
    )
    .await
    .unwrap();
    assert_eq!(
        f.calls_to("Set-CASMailbox").len(),
        mailboxes.len(),
        "one per mailbox"
    );
    assert_eq!(report.mailboxes_changed, mailboxes.len());
    let skipped: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == QuarantineOutcome::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].device.guid, gone);
    for r in report
        .results
        .iter()
        .filter(|r| r.outcome == QuarantineOutcome::Done)
    {
        assert_eq!(
            f.tenant().device(&r.device.guid).unwrap().access_state,
            "Blocked"
        );
    }
    // Filters narrow the selection (exact, case-insensitive).
    let some_type = plan.devices().find_map(|d| d.device_type.clone()).unwrap();
    let by_type = QuarantineSelection::All {
        model: None,
        device_type: Some(some_type.to_uppercase()),
    };
    let narrowed = plan_quarantine(&f, &by_type, QuarantineDecision::Allow)
        .await
        .unwrap();
    assert!(
        narrowed
            .devices()
            .all(|d| d.device_type.as_deref() == Some(some_type.as_str()))
    );
}

#[tokio::test]
async fn an_ambiguous_change_is_unknown_and_bad_input_sends_nothing() {
    let mut t = tenant(RbacProfile::Full);
    let q = t.quarantine_devices(2);
    let not_quarantined = t
        .devices()
        .find(|d| d.access_state == "Allowed")
        .map(|d| t.device_identity(d))
        .unwrap();
    let f = FakeExchangeClient::new(t);
    for (id, what) in [
        (not_quarantined.as_str(), "is not quarantined"),
        (
            "nobody\\ExchangeActiveSyncDevices\\iPhone§NOPE",
            "no device has the identity",
        ),
    ] {
        let e = plan_quarantine(
            &f,
            &QuarantineSelection::Identity(MobileDeviceIdentity::new(id).unwrap()),
            QuarantineDecision::Allow,
        )
        .await
        .unwrap_err();
        assert!(e.is_invalid_input() && e.to_string().contains(what), "{e}");
    }
    assert!(
        MobileDeviceIdentity::new("*").is_err(),
        "wildcards are refused"
    );
    let identity = MobileDeviceIdentity::from_guid(q[0]);
    let plan = plan_quarantine(
        &f,
        &QuarantineSelection::Identity(identity),
        QuarantineDecision::Allow,
    )
    .await
    .unwrap();
    f.fail(
        Some("Set-CASMailbox"),
        Scripted::AfterRun(Failure::Unavailable),
        Times::Once,
    );
    let report = apply_quarantine(
        &f,
        &plan,
        QuarantineConfirmation::i_release_these_devices(&plan),
    )
    .await
    .unwrap();
    assert_eq!(
        report.results[0].outcome,
        QuarantineOutcome::Unknown,
        "{report:?}"
    );
    assert_eq!(f.calls_to("Set-CASMailbox").len(), 1, "never sent again");
}

#[tokio::test]
async fn quarantine_and_prune_name_the_missing_role_and_send_nothing() {
    let mut t = tenant(RbacProfile::ReadOnly);
    t.quarantine_devices(2);
    t.add_orphan_list_entries(2);
    let f = FakeExchangeClient::new(t);
    let all = QuarantineSelection::All {
        model: None,
        device_type: None,
    };
    let plan = plan_quarantine(&f, &all, QuarantineDecision::Allow)
        .await
        .unwrap();
    let e = apply_quarantine(
        &f,
        &plan,
        QuarantineConfirmation::i_release_these_devices(&plan),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("Set-CASMailbox") && e.to_string().contains("role"),
        "{e}"
    );
    let (_, plan) = plan_list_prune(&f).await.unwrap();
    assert_eq!(plan.len(), 2);
    let e = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Set-CASMailbox") && e.to_string().contains("role"),
        "{e}"
    );
    assert!(writes(&f).is_empty());
}

/// An orphan list entry: mailbox, list, device id.
type Orphan = (String, &'static str, String);

/// A tenant with orphans and one id on both lists.
fn tenant_with_lists() -> (Tenant, Vec<Orphan>, (String, String)) {
    let mut t = tenant(RbacProfile::Full);
    let orphans: Vec<_> = t
        .add_orphan_list_entries(6)
        .into_iter()
        .map(|o| (o.mailbox, o.list, o.device_id))
        .collect();
    // A device listed on both lists (its state as the service gives it: blocked).
    let (guid, id, mailbox) = t
        .devices()
        .find(|d| d.access_state_reason != "Individual")
        .map(|d| {
            (
                d.guid,
                d.device_id.clone(),
                t.mailboxes()[d.mailbox].name.clone(),
            )
        })
        .unwrap();
    {
        let mut m = t.mailbox_mut(&mailbox).unwrap();
        m.cas.allowed_device_ids.push(id.clone());
        m.cas.blocked_device_ids.push(id.clone());
    }
    {
        let mut d = t.device_mut(&guid).unwrap();
        d.access_state = "Blocked".into();
        d.access_state_reason = "Individual".into();
    }
    (t, orphans, (mailbox, id))
}

#[tokio::test]
async fn audit_names_exactly_the_orphans_and_prune_removes_them_by_the_remove_form() {
    let (t, orphans, (both_mailbox, both_id)) = tenant_with_lists();
    let f = FakeExchangeClient::new(t);
    let audit = audit_device_lists(&f).await.unwrap();
    let found: BTreeSet<(String, String, String)> = audit
        .orphans()
        .map(|e| {
            (
                e.mailbox.to_lowercase(),
                e.list.to_string(),
                e.device_id.clone(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = orphans
        .iter()
        .map(|(m, l, i)| (m.to_lowercase(), l.to_string(), i.clone()))
        .collect();
    assert_eq!(found, expected);
    let both: Vec<_> = audit
        .entries
        .iter()
        .filter(|e| e.problem == ListProblem::OnBothLists)
        .collect();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].device_id, both_id);
    assert!(both[0].identity.is_some() && both[0].guid.is_some());
    assert_eq!(both[0].mailbox.to_lowercase(), both_mailbox.to_lowercase());
    assert!(writes(&f).is_empty(), "the audit sends no write");

    let before = states(&f);
    let (_, plan) = plan_list_prune(&f).await.unwrap();
    assert_eq!(plan.len(), orphans.len());
    let report = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
        .await
        .unwrap();
    assert!(
        report
            .results
            .iter()
            .all(|r| r.outcome == PruneOutcome::Removed),
        "{report:?}"
    );
    let sets = f.calls_to("Set-CASMailbox");
    assert_eq!(sets.len(), plan.mailboxes.len(), "one per mailbox");
    for s in &sets {
        for list in [ALLOWED_LIST, BLOCKED_LIST] {
            if let Some(v) = s.parameters.get(list) {
                assert!(add_remove_form(v), "{v}");
                assert!(v.get("Add").is_none(), "only removals: {v}");
            }
        }
    }
    assert_eq!(states(&f), before, "no device's access state changed");
    let t = f.tenant();
    for (m, list, id) in &orphans {
        let cas = &t.mailbox(m).unwrap().cas;
        let l = if *list == ALLOWED_LIST {
            &cas.allowed_device_ids
        } else {
            &cas.blocked_device_ids
        };
        assert!(!l.contains(id), "{m} {list} {id}");
    }
    // The entries on both lists are reported, not removed.
    let cas = &t.mailbox(&both_mailbox).unwrap().cas;
    assert!(cas.allowed_device_ids.contains(&both_id) && cas.blocked_device_ids.contains(&both_id));
}

#[tokio::test]
async fn an_entry_that_stopped_being_an_orphan_is_skipped() {
    let (t, orphans, _) = tenant_with_lists();
    let f = FakeExchangeClient::new(t);
    let (_, plan) = plan_list_prune(&f).await.unwrap();
    // The first orphan's id is taken out of its list before the apply.
    let (m, list, id) = &orphans[0];
    {
        let mut t = f.tenant_mut();
        let mut mb = t.mailbox_mut(m).unwrap();
        if *list == ALLOWED_LIST {
            mb.cas.allowed_device_ids.retain(|x| x != id);
        } else {
            mb.cas.blocked_device_ids.retain(|x| x != id);
        }
    }
    let report = apply_list_prune(&f, &plan, PruneConfirmation::i_remove_these_entries(&plan))
        .await
        .unwrap();
    let skipped: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome == PruneOutcome::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(&skipped[0].device_id, id);
    assert_eq!(
        report
            .results
            .iter()
            .filter(|r| r.outcome == PruneOutcome::Removed)
            .count(),
        orphans.len() - 1
    );
}
