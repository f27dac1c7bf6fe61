//! Device list hygiene: the entries of the mailboxes' `ActiveSyncAllowedDeviceIDs` /
//! `ActiveSyncBlockedDeviceIDs` that name no current partnership of the mailbox (left
//! behind by partnerships long removed; an allowed id admits any device that presents it),
//! and ids on both lists ([`audit_device_lists`]); removing the orphans
//! ([`plan_list_prune`] / [`apply_list_prune`]) with the remove form, ONE `Set-CASMailbox`
//! per mailbox, never replacing a list.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{GetCasMailbox, GetMobileDevice, ListChange, SetCasMailbox};
use crate::error::{Error, Result};
use crate::models::{CasMailbox, MobileDevice};
use crate::outcome::CallOutcome;
use crate::types::MailboxIdentity;

use super::preflight::require_cmdlets;

/// `ActiveSyncAllowedDeviceIDs`.
pub const ALLOWED_LIST: &str = "ActiveSyncAllowedDeviceIDs";
/// `ActiveSyncBlockedDeviceIDs`.
pub const BLOCKED_LIST: &str = "ActiveSyncBlockedDeviceIDs";

/// What is wrong with a list entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ListProblem {
    /// The id names no current partnership of the mailbox.
    Orphan,
    /// The id is on both lists (blocking wins).
    OnBothLists,
}

impl ListProblem {
    /// `orphan` or `on_both_lists`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListProblem::Orphan => "orphan",
            ListProblem::OnBothLists => "on_both_lists",
        }
    }
}

/// One finding of the audit.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ListEntry {
    /// The mailbox (`Identity` of its CAS mailbox).
    pub mailbox: String,
    /// The list ([`ALLOWED_LIST`], [`BLOCKED_LIST`]); for [`ListProblem::OnBothLists`],
    /// [`BLOCKED_LIST`] (the one that wins).
    pub list: &'static str,
    /// The device id as the list holds it.
    pub device_id: String,
    /// What is wrong.
    pub problem: ListProblem,
    /// In words.
    pub why: String,
    /// The partnership the id names, if any (`Identity`).
    pub identity: Option<String>,
    /// Its `Guid`.
    pub guid: Option<Uuid>,
}

/// The audit of every mailbox's device id lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ListAudit {
    /// The findings, mailbox by mailbox.
    pub entries: Vec<ListEntry>,
    /// Mailboxes read.
    pub mailboxes: usize,
    /// Mailboxes with at least one list entry.
    pub mailboxes_with_entries: usize,
}

impl ListAudit {
    /// The orphan entries.
    pub fn orphans(&self) -> impl Iterator<Item = &ListEntry> {
        self.entries
            .iter()
            .filter(|e| e.problem == ListProblem::Orphan)
    }
}

fn mailbox_of(m: &CasMailbox) -> Option<String> {
    m.identity
        .clone()
        .or_else(|| m.name.clone())
        .or_else(|| m.guid.map(|g| g.to_string()))
}

async fn devices_of(client: &dyn ExchangeClient, mailbox: &str) -> Result<Vec<MobileDevice>> {
    let identity = MailboxIdentity::new(mailbox)
        .map_err(|e| Error::invalid_input(format!("the mailbox {mailbox:?}: {e}")))?;
    match client
        .get_mobile_device(GetMobileDevice::for_mailbox(identity))
        .await
    {
        Ok(l) => Ok(l.items),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The findings of one mailbox.
fn audit_mailbox(mailbox: &str, cas: &CasMailbox, devices: &[MobileDevice]) -> Vec<ListEntry> {
    let find = |id: &str| {
        devices.iter().find(|d| {
            d.device_id
                .as_ref()
                .is_some_and(|x| x.eq_ignore_case(id.trim()))
        })
    };
    let allowed = cas
        .active_sync_allowed_device_ids
        .clone()
        .unwrap_or_default();
    let blocked = cas
        .active_sync_blocked_device_ids
        .clone()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (list, ids) in [(ALLOWED_LIST, &allowed), (BLOCKED_LIST, &blocked)] {
        for id in ids.iter().filter(|i| !i.trim().is_empty()) {
            if find(id).is_none() {
                out.push(ListEntry {
                    mailbox: mailbox.to_string(),
                    list,
                    device_id: id.clone(),
                    problem: ListProblem::Orphan,
                    why: "names no current partnership of the mailbox".into(),
                    identity: None,
                    guid: None,
                });
            }
        }
    }
    for id in blocked.iter().filter(|b| {
        !b.trim().is_empty()
            && allowed
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case(b.trim()))
    }) {
        let d = find(id);
        out.push(ListEntry {
            mailbox: mailbox.to_string(),
            list: BLOCKED_LIST,
            device_id: id.clone(),
            problem: ListProblem::OnBothLists,
            why: "on both the allowed and the blocked list (blocking wins)".into(),
            identity: d.and_then(|d| d.identity.clone()),
            guid: d.and_then(|d| d.guid.or(d.exchange_object_id)),
        });
    }
    out
}

/// Audit every mailbox's device id lists: one `Get-CASMailbox` for all, then one
/// `Get-MobileDevice -Mailbox` per mailbox that has list entries. Reads only.
pub async fn audit_device_lists(client: &dyn ExchangeClient) -> Result<ListAudit> {
    let mailboxes = client.get_cas_mailbox(GetCasMailbox::new()).await?.items;
    let mut audit = ListAudit {
        mailboxes: mailboxes.len(),
        ..ListAudit::default()
    };
    for m in &mailboxes {
        let has_entries = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| !l.is_empty());
        if !has_entries(&m.active_sync_allowed_device_ids)
            && !has_entries(&m.active_sync_blocked_device_ids)
        {
            continue;
        }
        let Some(mailbox) = mailbox_of(m) else {
            continue;
        };
        audit.mailboxes_with_entries += 1;
        let devices = devices_of(client, &mailbox).await?;
        audit.entries.extend(audit_mailbox(&mailbox, m, &devices));
    }
    Ok(audit)
}

/// The orphan entries of one mailbox to remove with its one `Set-CASMailbox`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PruneMailbox {
    /// The mailbox.
    pub mailbox: String,
    /// Orphans of `ActiveSyncAllowedDeviceIDs`.
    pub allowed: Vec<String>,
    /// Orphans of `ActiveSyncBlockedDeviceIDs`.
    pub blocked: Vec<String>,
}

/// The orphans to remove, by mailbox.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ListPrunePlan {
    /// One entry per mailbox.
    pub mailboxes: Vec<PruneMailbox>,
}

impl ListPrunePlan {
    /// The plan of an audit: its orphans, by mailbox.
    pub fn from_audit(audit: &ListAudit) -> Self {
        let mut by: BTreeMap<String, PruneMailbox> = BTreeMap::new();
        for e in audit.orphans() {
            let m = by.entry(e.mailbox.clone()).or_insert_with(|| PruneMailbox {
                mailbox: e.mailbox.clone(),
                allowed: Vec::new(),
                blocked: Vec::new(),
            });
            if e.list == ALLOWED_LIST {
                m.allowed.push(e.device_id.clone());
            } else {
                m.blocked.push(e.device_id.clone());
            }
        }
        ListPrunePlan {
            mailboxes: by.into_values().collect(),
        }
    }

    /// Entries planned.
    pub fn len(&self) -> usize {
        self.mailboxes
            .iter()
            .map(|m| m.allowed.len() + m.blocked.len())
            .sum()
    }

    /// Whether nothing is planned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Audit the lists and plan the removal of the orphans. Reads only.
pub async fn plan_list_prune(client: &dyn ExchangeClient) -> Result<(ListAudit, ListPrunePlan)> {
    let audit = audit_device_lists(client).await?;
    let plan = ListPrunePlan::from_audit(&audit);
    Ok((audit, plan))
}

/// Consent to run one [`ListPrunePlan`]; [`apply_list_prune`] refuses it for another.
#[derive(Debug, PartialEq, Eq)]
pub struct PruneConfirmation(ListPrunePlan);

impl PruneConfirmation {
    /// "I remove these list entries."
    pub fn i_remove_these_entries(plan: &ListPrunePlan) -> Self {
        PruneConfirmation(plan.clone())
    }
}

/// What became of one planned entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PruneOutcome {
    /// Removed from its list.
    Removed,
    /// Not sent: the entry is gone from the list, or a partnership with this id appeared.
    Skipped,
    /// The service may or may not have changed the list.
    Unknown,
    /// Refused by the service.
    Refused,
}

/// The result of one planned entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PruneResult {
    /// The mailbox.
    pub mailbox: String,
    /// The list.
    pub list: &'static str,
    /// The device id.
    pub device_id: String,
    /// What became of it.
    pub outcome: PruneOutcome,
    /// Why it was skipped, refused or left unknown.
    pub note: Option<String>,
}

/// The results of a prune.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PruneReport {
    /// One result per planned entry.
    pub results: Vec<PruneResult>,
    /// `Set-CASMailbox` calls sent.
    pub mailboxes_changed: usize,
}

impl PruneReport {
    /// Whether some result has this outcome.
    pub fn any(&self, outcome: PruneOutcome) -> bool {
        self.results.iter().any(|r| r.outcome == outcome)
    }
}

/// Run a [`ListPrunePlan`]: per mailbox, re-read its lists and partnerships (an entry no
/// longer on its list, or naming a partnership now, is skipped), then ONE `Set-CASMailbox`
/// removing the rest with the remove form. Refused before anything is sent
/// ([`Error::InvalidInput`]): a confirmation for another plan, an account without the role
/// `Set-CASMailbox` needs.
pub async fn apply_list_prune(
    client: &dyn ExchangeClient,
    plan: &ListPrunePlan,
    confirmation: PruneConfirmation,
) -> Result<PruneReport> {
    if confirmation.0 != *plan {
        return Err(Error::invalid_input(
            "the prune confirmation is for another plan; nothing was sent",
        ));
    }
    require_cmdlets(
        client,
        &[
            ("Get-CASMailbox", "read the mailboxes' device lists"),
            ("Get-MobileDevice", "read the mailboxes' partnerships"),
            ("Set-CASMailbox", "remove entries from the device lists"),
        ],
    )
    .await?;
    let mut report = PruneReport::default();
    for m in &plan.mailboxes {
        let result = |list: &'static str, id: &str, outcome, note: Option<String>| PruneResult {
            mailbox: m.mailbox.clone(),
            list,
            device_id: id.to_string(),
            outcome,
            note,
        };
        let planned = m
            .allowed
            .iter()
            .map(|i| (ALLOWED_LIST, i))
            .chain(m.blocked.iter().map(|i| (BLOCKED_LIST, i)));
        let identity = match MailboxIdentity::new(&m.mailbox) {
            Ok(i) => i,
            Err(e) => {
                for (list, id) in planned {
                    let note = Some(format!("the mailbox {:?}: {e}", m.mailbox));
                    report
                        .results
                        .push(result(list, id, PruneOutcome::Refused, note));
                }
                continue;
            }
        };
        // Re-read: the lists and partnerships as they are now.
        let now = async {
            let cas = client
                .get_cas_mailbox(GetCasMailbox::for_mailbox(identity.clone()))
                .await?
                .items
                .into_iter()
                .next();
            let devices = devices_of(client, &m.mailbox).await?;
            Ok::<_, Error>((cas, devices))
        }
        .await;
        let (cas, devices) = match now {
            Ok((Some(cas), devices)) => (cas, devices),
            Ok((None, _)) => {
                for (list, id) in planned {
                    let note = Some("the mailbox is gone; nothing was sent".to_string());
                    report
                        .results
                        .push(result(list, id, PruneOutcome::Skipped, note));
                }
                continue;
            }
            Err(e) if e.is_not_found() => {
                for (list, id) in planned {
                    let note = Some("the mailbox is gone; nothing was sent".to_string());
                    report
                        .results
                        .push(result(list, id, PruneOutcome::Skipped, note));
                }
                continue;
            }
            Err(e) => {
                for (list, id) in planned {
                    let note = Some(format!("could not be re-read; nothing was sent: {e}"));
                    report
                        .results
                        .push(result(list, id, PruneOutcome::Refused, note));
                }
                continue;
            }
        };
        let still: Vec<ListEntry> = audit_mailbox(&m.mailbox, &cas, &devices)
            .into_iter()
            .filter(|e| e.problem == ListProblem::Orphan)
            .collect();
        let (mut allowed, mut blocked) = (Vec::new(), Vec::new());
        let mut sent = Vec::new();
        for (list, id) in planned {
            if still
                .iter()
                .any(|e| e.list == list && e.device_id.eq_ignore_ascii_case(id))
            {
                if list == ALLOWED_LIST {
                    allowed.push(id.clone());
                } else {
                    blocked.push(id.clone());
                }
                sent.push((list, id));
            } else {
                let note = Some(
                    "no longer an orphan (gone from the list, or a partnership has this id \
                     now); nothing was sent for it"
                        .to_string(),
                );
                report
                    .results
                    .push(result(list, id, PruneOutcome::Skipped, note));
            }
        }
        if sent.is_empty() {
            continue;
        }
        let mut request = SetCasMailbox::new(identity);
        if !allowed.is_empty() {
            request =
                request.allowed_device_ids(ListChange::add_remove(Vec::<String>::new(), allowed));
        }
        if !blocked.is_empty() {
            request =
                request.blocked_device_ids(ListChange::add_remove(Vec::<String>::new(), blocked));
        }
        let answer = client.set_cas_mailbox(request).await;
        report.mailboxes_changed += 1;
        for (list, id) in sent {
            report.results.push(match &answer {
                Ok(_) => result(list, id, PruneOutcome::Removed, None),
                Err(e) if e.outcome() == CallOutcome::Unknown => {
                    result(list, id, PruneOutcome::Unknown, Some(e.to_string()))
                }
                Err(e) => result(list, id, PruneOutcome::Refused, Some(e.to_string())),
            });
        }
    }
    Ok(report)
}
