//! Self-contained, authenticated `$skiptoken`s: the position of an enumeration, bound to the
//! original request body and to the issuing server's key, with an issue time for expiry. The
//! server keeps no per-enumeration memory.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha1::{Digest, Sha1};

use super::failure::Failure;

/// Where an enumeration stopped: how many rows were returned so far, and the position (the
/// last row's stable key, or an offset for sorted/small collections).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Cursor {
    /// Rows returned by the previous pages.
    #[serde(rename = "e")]
    pub emitted: u64,
    /// Stable key (GUID) of the last row returned, for key-ordered collections.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Offset of the next row, for offset-paged collections.
    #[serde(rename = "o", default)]
    pub offset: u64,
}

/// Secret key that authenticates skiptokens (never printed).
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// A key from a seed (deterministic) or from fresh randomness.
    pub fn new(seed: Option<u64>) -> Self {
        let mut rng = match seed {
            Some(s) => fastrand::Rng::with_seed(s),
            None => fastrand::Rng::new(),
        };
        let mut k = [0u8; 32];
        rng.fill(&mut k);
        TokenKey(k)
    }

    pub(crate) fn mac(&self, data: &[u8]) -> [u8; 20] {
        // HMAC-SHA1 (RFC 2104), block size 64.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.0);
        let mut inner = Sha1::new();
        inner.update(key.map(|b| b ^ 0x36));
        inner.update(data);
        let inner = inner.finalize();
        let mut outer = Sha1::new();
        outer.update(key.map(|b| b ^ 0x5c));
        outer.update(inner);
        outer.finalize().into()
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    /// Hash of the original request body.
    h: String,
    /// Issue time, seconds since the epoch.
    t: u64,
    /// Position.
    c: Cursor,
    /// `$select` of the first request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    s: Vec<String>,
}

fn body_hash(body: &[u8]) -> String {
    let d = Sha1::digest(body);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_secs(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Encode a skiptoken for `cursor`, bound to `body`.
pub fn encode(
    key: &TokenKey,
    body: &[u8],
    cursor: &Cursor,
    select: &[String],
    now: SystemTime,
) -> String {
    let payload = Payload {
        h: body_hash(body),
        t: now_secs(now),
        c: cursor.clone(),
        s: select.to_vec(),
    };
    let json = serde_json::to_vec(&payload).expect("payload serializes");
    let mac = key.mac(&json);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(mac)
    )
}

/// Decode and check a skiptoken: authentic, for this body, not older than `expiry`.
/// Any failure is the service's "Expired or Invalid pagination request".
pub fn decode(
    key: &TokenKey,
    token: &str,
    body: &[u8],
    now: SystemTime,
    expiry: Duration,
) -> Result<(Cursor, Vec<String>), Failure> {
    let (p, m) = token.split_once('.').ok_or(Failure::PaginationExpired)?;
    let json = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| Failure::PaginationExpired)?;
    let mac = URL_SAFE_NO_PAD
        .decode(m)
        .map_err(|_| Failure::PaginationExpired)?;
    if mac.len() != 20 || !constant_eq(&mac, &key.mac(&json)) {
        return Err(Failure::PaginationExpired);
    }
    let payload: Payload = serde_json::from_slice(&json).map_err(|_| Failure::PaginationExpired)?;
    if payload.h != body_hash(body) {
        return Err(Failure::PaginationExpired);
    }
    if now_secs(now).saturating_sub(payload.t) > expiry.as_secs() {
        return Err(Failure::PaginationExpired);
    }
    Ok((payload.c, payload.s))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Extract the `$skiptoken` query value of a next link.
pub fn skiptoken_of(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "$skiptoken" || k == "%24skiptoken")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_binding_and_expiry() {
        let key = TokenKey::new(Some(1));
        let c = Cursor {
            emitted: 10,
            after: Some("x".into()),
            offset: 10,
        };
        let now = SystemTime::now();
        let tok = encode(&key, b"body", &c, &[], now);
        let day = Duration::from_secs(1800);
        assert_eq!(decode(&key, &tok, b"body", now, day).unwrap().0, c);
        assert!(decode(&key, &tok, b"other", now, day).is_err());
        assert!(decode(&TokenKey::new(Some(2)), &tok, b"body", now, day).is_err());
        assert!(decode(&key, &tok, b"body", now + Duration::from_secs(1801), day).is_err());
        let mut bad = tok.clone();
        bad.insert(3, 'A');
        assert!(decode(&key, &bad, b"body", now, day).is_err());
    }
}
