//! Checks shared by the plan / apply workflows: the cmdlets a step needs are exported to the
//! account (naming the role that grants them when not), and identities given by a person
//! carry no wildcard.

use crate::client::ExchangeClient;
use crate::error::{Error, Result};
use crate::permissions::roles::grantors;
use crate::types::MailboxIdentity;

/// Refuse (nothing sent) when the account may not run one of `cmdlets`: the module file the
/// service generates for the account lists exactly the cmdlets its roles grant. The error
/// names the cmdlet, what it is for and the built-in role (and role groups) that grant it.
///
/// Without that evidence (a client without a module file, a read that failed, an empty
/// list) nothing is refused here: each cmdlet's own answer decides.
pub(crate) async fn require_cmdlets(
    client: &dyn ExchangeClient,
    cmdlets: &[(&str, &str)],
) -> Result<()> {
    let module = match client.module_file().await {
        Ok(m) if !m.exported_cmdlets.is_empty() => m,
        Ok(_) => return Ok(()),
        Err(_e) => {
            #[cfg(feature = "tracing")]
            tracing::debug!(error = %_e, "no module file: the roles are not checked beforehand");
            return Ok(());
        }
    };
    for (cmdlet, step) in cmdlets {
        if module.exports(cmdlet) {
            continue;
        }
        let role = match grantors(cmdlet) {
            Some(g) if !g.roles.is_empty() => {
                let groups = if g.role_groups.is_empty() {
                    String::new()
                } else {
                    format!(" (held by the role groups {})", g.role_groups.join(", "))
                };
                format!("the {} role{groups}", g.roles.join(" or "))
            }
            _ => "a role that grants it".to_string(),
        };
        return Err(Error::invalid_input(format!(
            "the account may not run {cmdlet}, needed to {step}: it needs {role}; nothing was \
             sent"
        )));
    }
    Ok(())
}

/// A mailbox named by a person: no wildcard, not empty.
pub(crate) fn exact_mailbox(text: &str) -> Result<MailboxIdentity> {
    let t = text.trim();
    if t.contains('*') || t.contains('?') {
        return Err(Error::invalid_input(format!(
            "the mailbox {t:?} contains a wildcard; name exactly one mailbox"
        )));
    }
    MailboxIdentity::new(t).map_err(|e| Error::invalid_input(format!("the mailbox {t:?}: {e}")))
}
