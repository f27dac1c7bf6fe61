//! The token-claims layer: what the access token says about the principal, its
//! `Exchange.ManageAsApp` application permission and its Entra directory roles.

use super::report::{Layer, LayerNote, LayerState};
use super::roles;
use crate::auth::TokenClaims;
use crate::client::ExchangeClient;

/// The application permission an app-only token needs to run any Exchange Online cmdlet.
pub const MANAGE_AS_APP: &str = "Exchange.ManageAsApp";

/// What the token says.
#[derive(Debug, Default)]
pub(super) struct TokenFacts {
    pub(super) app_only: Option<bool>,
    pub(super) consent_missing: bool,
    pub(super) manage_as_app: bool,
    pub(super) directory_roles: Vec<(String, String)>,
    pub(super) principal: Option<String>,
}

impl TokenFacts {
    pub(super) fn admin_hint(&self) -> bool {
        self.directory_roles
            .iter()
            .any(|(_, name)| roles::is_full_exchange_admin(name))
    }
}

/// Layer 1: reads the token claims of `client`, noting the layer in `notes` and a blocking
/// finding (missing consent) in `findings`.
pub(super) async fn read_layer(
    client: &dyn ExchangeClient,
    notes: &mut Vec<LayerNote>,
    findings: &mut Vec<String>,
) -> Option<TokenFacts> {
    match client.token_claims().await {
        Ok(Some(claims)) => {
            let facts = token_facts(&claims);
            notes.push(LayerNote {
                layer: Layer::TokenClaims,
                state: LayerState::Used,
                detail: describe_token(&facts),
            });
            if facts.consent_missing {
                findings.push(format!(
                    "the app-only token lacks the {MANAGE_AS_APP} application permission: \
                     no Exchange Online cmdlet can run until an administrator grants \
                     consent for it (Office 365 Exchange Online API)"
                ));
            }
            Some(facts)
        }
        Ok(None) => {
            notes.push(LayerNote {
                layer: Layer::TokenClaims,
                state: LayerState::Skipped,
                detail: "the client has no JWT-shaped token to read".into(),
            });
            None
        }
        Err(e) => {
            notes.push(LayerNote {
                layer: Layer::TokenClaims,
                state: LayerState::Unavailable,
                detail: format!("could not read the token: {e}"),
            });
            None
        }
    }
}

fn token_facts(claims: &TokenClaims) -> TokenFacts {
    let app_only = claims.is_app_only();
    let manage_as_app = claims.has_manage_as_app();
    let directory_roles = claims
        .wids
        .iter()
        .filter_map(|id| roles::directory_role_name(id).map(|n| (id.clone(), n.to_string())))
        .collect();
    let principal = if app_only {
        claims.oid.clone().or_else(|| claims.appid.clone())
    } else {
        claims
            .user()
            .map(str::to_string)
            .or_else(|| claims.oid.clone())
    };
    TokenFacts {
        app_only: Some(app_only),
        consent_missing: app_only && !manage_as_app,
        manage_as_app,
        directory_roles,
        principal,
    }
}

fn describe_token(t: &TokenFacts) -> String {
    let kind = if t.app_only == Some(true) {
        format!(
            "app-only token, {MANAGE_AS_APP} {}",
            if t.manage_as_app { "present" } else { "ABSENT" }
        )
    } else {
        "delegated token".to_string()
    };
    let roles: Vec<&str> = t.directory_roles.iter().map(|(_, n)| n.as_str()).collect();
    if roles.is_empty() {
        format!("{kind}; no known directory role in wids")
    } else {
        format!("{kind}; directory role(s) {} (hint only)", roles.join(", "))
    }
}
