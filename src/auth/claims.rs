//! Reading an access token's claims without verifying it.
//!
//! Tokens are formally opaque to clients; this is only used for hints (routing hint, tenant
//! id, whether the app holds `Exchange.ManageAsApp`, which directory roles `wids` names). It is
//! never treated as proof of a permission.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The claims of an Entra ID access token that this crate looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenClaims {
    /// Audience (`aud`), e.g. `https://outlook.office365.com`.
    #[serde(default)]
    pub aud: Option<String>,
    /// Tenant id (`tid`).
    #[serde(default)]
    pub tid: Option<String>,
    /// User principal name (`upn`), present on delegated tokens.
    #[serde(default)]
    pub upn: Option<String>,
    /// `preferred_username`, an alternative to `upn`.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Application (client) id (`appid` in v1 tokens, `azp` in v2).
    #[serde(default, alias = "azp")]
    pub appid: Option<String>,
    /// Object id of the principal (`oid`).
    #[serde(default)]
    pub oid: Option<String>,
    /// Application permissions (`roles`), e.g. `Exchange.ManageAsApp`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Directory role template ids (`wids`).
    #[serde(default)]
    pub wids: Vec<String>,
    /// Delegated scopes (`scp`), space separated.
    #[serde(default)]
    pub scp: Option<String>,
    /// `idtyp`: `app` for app-only tokens, `user` for delegated ones (when emitted).
    #[serde(default)]
    pub idtyp: Option<String>,
    /// Expiry (`exp`), seconds since the epoch.
    #[serde(default)]
    pub exp: Option<i64>,
}

impl TokenClaims {
    /// Decode the payload of a JWT-shaped token. Returns `None` for anything that is not a
    /// three-part base64url JWT with a JSON payload. The signature is not verified.
    pub fn decode(token: &str) -> Option<TokenClaims> {
        let mut parts = token.trim().split('.');
        let (_h, payload, _s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether this is an app-only token (no user identity).
    pub fn is_app_only(&self) -> bool {
        match self.idtyp.as_deref() {
            Some(t) => t.eq_ignore_ascii_case("app"),
            None => self.upn.is_none() && self.preferred_username.is_none() && self.scp.is_none(),
        }
    }

    /// The signed-in user, for delegated tokens.
    pub fn user(&self) -> Option<&str> {
        self.upn.as_deref().or(self.preferred_username.as_deref())
    }

    /// Whether the token carries the `Exchange.ManageAsApp` application permission.
    pub fn has_manage_as_app(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case("Exchange.ManageAsApp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"none"}"#),
            e.encode(payload)
        )
    }

    #[test]
    fn decodes_app_only_token() {
        let t = jwt(
            r#"{"aud":"https://outlook.office365.com","tid":"t1","roles":["Exchange.ManageAsApp"],"idtyp":"app","wids":["29232cdf-9323-42fd-ade2-1d097af3e4de"]}"#,
        );
        let c = TokenClaims::decode(&t).unwrap();
        assert!(c.is_app_only() && c.has_manage_as_app());
        assert_eq!(c.tid.as_deref(), Some("t1"));
        assert_eq!(c.wids.len(), 1);
    }

    #[test]
    fn decodes_delegated_token_and_rejects_garbage() {
        let c = TokenClaims::decode(&jwt(
            r#"{"upn":"admin@contoso.com","scp":"Exchange.Manage"}"#,
        ))
        .unwrap();
        assert!(!c.is_app_only());
        assert_eq!(c.user(), Some("admin@contoso.com"));
        assert!(TokenClaims::decode("not-a-jwt").is_none());
        assert!(TokenClaims::decode("a.%%%.c").is_none());
    }
}
