//! The simulator's bearer token: an unsigned JWT of the app-only caller, its principal's ids,
//! and the rotation generations.

use base64::Engine as _;
use serde_json::Value;

/// `appid` of the simulator's token (the application "registered" in the simulated tenant).
pub const TOKEN_APP_ID: &str = "5e1a7a70-0000-4000-8000-00000000a11c";
/// `oid` of the simulator's token: the object id of the application's service principal. The
/// simulated RBAC treats it (and [`TOKEN_APP_ID`]) as the caller, as Exchange lists a service
/// principal's role assignments under its object id.
pub const TOKEN_OBJECT_ID: &str = "5e1a7a70-0000-4000-8000-0000000000b1";

/// Whether `assignee` names the simulator token's principal (its object id or app id).
pub(crate) fn is_token_principal(assignee: &str) -> bool {
    assignee.eq_ignore_ascii_case(TOKEN_OBJECT_ID) || assignee.eq_ignore_ascii_case(TOKEN_APP_ID)
}

/// The simulator's token: an unsigned (`"alg":"none"`) JWT for an app-only caller of `tenant_id`
/// holding `Exchange.ManageAsApp`, audience `https://outlook.office365.com`, issued 2024-06-01
/// and valid until 2100. Deterministic: the same tenant gives the same token.
pub fn simulator_token(tenant_id: &str) -> String {
    token_of_generation(tenant_id, 0)
}

/// The token of `generation` (0 = [`simulator_token`]): same caller and claims, issued one
/// hour later per generation, so every rotation gives a different token.
pub(super) fn token_of_generation(tenant_id: &str, generation: u64) -> String {
    let iat = 1_717_200_000u64 + generation * 3600;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(serde_json::json!({"alg": "none", "typ": "JWT"}));
    let payload = b64(serde_json::json!({
        "aud": "https://outlook.office365.com",
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "tid": tenant_id,
        "appid": TOKEN_APP_ID,
        "oid": TOKEN_OBJECT_ID,
        "roles": ["Exchange.ManageAsApp"],
        "idtyp": "app",
        "iat": iat,
        "nbf": iat,
        "exp": 4_102_444_800u64
    }));
    format!("{header}.{payload}.")
}
