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

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The payload of a JWT-shaped token, if it has one.
pub(super) fn payload_of(token: &str) -> Option<Value> {
    let mut parts = token.trim().split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `tid` claim of a JWT-shaped token.
pub(super) fn tid_of(token: &str) -> Option<String> {
    payload_of(token)?
        .get("tid")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A token issued by the simulator's token endpoint: the claims of [`simulator_token`] for
/// `tenant_id` and `client_id`, issued `iat` (seconds since the epoch), valid 3599 s, with a
/// fresh `jti` and the rotation `generation` of the tenant; its third segment is a MAC of the
/// first two under `key`, so only the simulator can mint one.
pub(super) fn issue_token(
    key: &super::continuation::TokenKey,
    tenant_id: &str,
    client_id: &str,
    iat: u64,
    generation: u64,
) -> String {
    let header = b64(
        serde_json::json!({"alg": "none", "typ": "JWT", "kid": "simulator"})
            .to_string()
            .as_bytes(),
    );
    let payload = b64(serde_json::json!({
        "aud": "https://outlook.office365.com",
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "tid": tenant_id,
        "appid": client_id,
        "oid": TOKEN_OBJECT_ID,
        "roles": ["Exchange.ManageAsApp"],
        "idtyp": "app",
        "iat": iat,
        "nbf": iat,
        "exp": iat + ISSUED_TOKEN_LIFETIME_SECS,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sim_gen": generation,
    })
    .to_string()
    .as_bytes());
    let signed = format!("{header}.{payload}");
    let mac = b64(&key.mac(signed.as_bytes()));
    format!("{signed}.{mac}")
}

/// Lifetime of an issued token, as `expires_in` announces it.
pub(super) const ISSUED_TOKEN_LIFETIME_SECS: u64 = 3599;

/// Whether `token` was issued by [`issue_token`] under `key` for `tenant_id` in rotation
/// `generation`, and has not expired at `now` (seconds since the epoch).
pub(super) fn is_issued_token(
    key: &super::continuation::TokenKey,
    token: &str,
    tenant_id: &str,
    generation: u64,
    now: u64,
) -> bool {
    let token = token.trim();
    let Some((signed, mac)) = token.rsplit_once('.') else {
        return false;
    };
    if b64(&key.mac(signed.as_bytes())) != mac {
        return false;
    }
    let Some(claims) = payload_of(token) else {
        return false;
    };
    claims
        .get("tid")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case(tenant_id))
        && claims.get("sim_gen").and_then(Value::as_u64) == Some(generation)
        && claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|exp| exp > now)
}
