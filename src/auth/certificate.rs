//! Certificate credentials: an RSA key and its X.509 certificate, used to sign the JWT client
//! assertion of the client-credentials flow.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

use crate::error::AuthError;

/// An application certificate with its RSA private key, loaded from PEM.
///
/// Accepted input: one `CERTIFICATE` block (the first one is used when a chain is given) and
/// one unencrypted RSA private key, either PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
/// (`BEGIN RSA PRIVATE KEY`), in one file or two.
///
/// A PFX/PKCS#12 file must be converted to PEM first, for example:
///
/// ```text
/// openssl pkcs12 -in app.pfx -out app.pem -nodes
/// ```
///
/// Encrypted private keys are refused; decrypt them first (`openssl pkey -in enc.pem -out key.pem`).
/// `Debug` shows only the certificate thumbprint, never key material.
///
/// The private key is held as a secret: file contents, decoded PEM blocks and the key's PEM
/// text are kept in zeroizing buffers from load to use, and the signing key is built from
/// the secret only while an assertion is signed.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The private key as PEM text (one block).
    key_pem: SecretString,
    /// SHA-1 of the certificate DER.
    sha1: [u8; 20],
    /// SHA-256 of the certificate DER.
    sha256: [u8; 32],
}

impl ClientCertificate {
    /// Load from PEM text that holds both the certificate and the private key.
    pub fn from_pem(pem_text: &str) -> Result<Self, AuthError> {
        Self::from_blocks(parse(pem_text, "certificate and key")?)
    }

    /// Load from a certificate PEM and a separate private-key PEM.
    pub fn from_pem_parts(certificate_pem: &str, key_pem: &str) -> Result<Self, AuthError> {
        let mut blocks = parse(certificate_pem, "certificate")?;
        blocks.extend(parse(key_pem, "private key")?);
        Self::from_blocks(blocks)
    }

    /// Load from one PEM file that holds both the certificate and the private key.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        Self::from_pem(read(path.as_ref())?.expose_secret())
    }

    /// Load from a certificate PEM file and a separate private-key PEM file.
    pub fn from_pem_files(
        certificate_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<Self, AuthError> {
        Self::from_pem_parts(
            read(certificate_path.as_ref())?.expose_secret(),
            read(key_path.as_ref())?.expose_secret(),
        )
    }

    /// The certificate's SHA-1 thumbprint in upper-case hex, as the Entra portal shows it.
    pub fn thumbprint(&self) -> String {
        self.sha1.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The `x5t` JWT header value: base64url (no padding) of the SHA-1 of the certificate DER.
    pub fn x5t(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.sha1)
    }

    /// The `x5t#S256` JWT header value: base64url (no padding) of the SHA-256 of the
    /// certificate DER.
    pub fn x5t_s256(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.sha256)
    }

    /// Sign a client assertion for `audience` (the token endpoint URL).
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: i64,
            iat: i64,
            exp: i64,
        }
        let mut header = Header::new(Algorithm::RS256);
        header.x5t = Some(self.x5t());
        header.x5t_s256 = Some(self.x5t_s256());
        let now = now.timestamp();
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        let key = signing_key(&self.key_pem)?;
        jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
            AuthError::InvalidCredential(format!("could not sign the client assertion: {e}"))
        })
    }

    fn from_blocks(blocks: Vec<Block>) -> Result<Self, AuthError> {
        let certificate = blocks
            .iter()
            .find(|b| b.tag == "CERTIFICATE")
            .ok_or_else(|| invalid("no CERTIFICATE block found in the PEM input"))?;
        let mut keys = blocks.iter().filter(|b| b.tag.ends_with("PRIVATE KEY"));
        let key = keys
            .next()
            .ok_or_else(|| invalid("no private key block found in the PEM input"))?;
        if keys.next().is_some() {
            return Err(invalid("more than one private key in the PEM input"));
        }
        match key.tag.as_str() {
            "PRIVATE KEY" | "RSA PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" => {
                return Err(invalid(
                    "the private key is encrypted; decrypt it first (openssl pkey -in enc.pem -out key.pem)",
                ));
            }
            other => {
                return Err(invalid(&format!(
                    "unsupported private key type {other:?}; an RSA key (PKCS#8 or PKCS#1) is required"
                )));
            }
        }
        let key_pem = key.to_pem();
        // Validate now; the signing key is rebuilt from the secret for each assertion.
        signing_key(&key_pem)?;
        let sha1: [u8; 20] = Sha1::digest(&certificate.contents[..]).into();
        let sha256: [u8; 32] = Sha256::digest(&certificate.contents[..]).into();
        let loaded = ClientCertificate {
            key_pem,
            sha1,
            sha256,
        };
        let certificate_key = certificate_public_key(&certificate.contents).ok_or_else(|| {
            invalid("the certificate holds no RSA public key (an RSA certificate is required)")
        })?;
        let private_key = private_key_public_part(&key.tag, &key.contents).ok_or_else(|| {
            invalid("the private key is not a valid RSA key (PKCS#8 or PKCS#1 expected)")
        })?;
        if certificate_key != private_key {
            return Err(AuthError::CertificateKeyMismatch {
                thumbprint: loaded.thumbprint(),
            });
        }
        Ok(loaded)
    }
}

/// An RSA public key: modulus and exponent, big-endian without leading zeros (borrowed).
#[derive(PartialEq, Eq)]
struct RsaPublic<'a> {
    n: &'a [u8],
    e: &'a [u8],
}

/// One DER element: `(tag, contents, rest)`. Definite lengths only.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The next element, which must have `tag`: `(contents, rest)`.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, contents, rest) = tlv(input)?;
    (t == tag).then_some((contents, rest))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// `1.2.840.113549.1.1.1` (rsaEncryption).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

fn unsigned(int: &[u8]) -> &[u8] {
    let zeros = int.iter().take_while(|b| **b == 0).count();
    &int[zeros..]
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`, or the first
/// two integers after the version of an `RSAPrivateKey`.
fn rsa_integers(seq: &[u8]) -> Option<RsaPublic<'_>> {
    let (n, rest) = expect(seq, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    Some(RsaPublic {
        n: unsigned(n),
        e: unsigned(e),
    })
}

/// The RSA public key of an X.509 certificate's SubjectPublicKeyInfo.
fn certificate_public_key(der: &[u8]) -> Option<RsaPublic<'_>> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (mut tbs, _) = expect(cert, SEQUENCE)?;
    if tbs.first() == Some(&0xA0) {
        tbs = tlv(tbs)?.2; // [0] version
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        tbs = tlv(tbs)?.2;
    }
    let (spki, _) = expect(tbs, SEQUENCE)?;
    let (algorithm, rest) = expect(spki, SEQUENCE)?;
    let (oid, _) = expect(algorithm, OID)?;
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    let (rsa, _) = expect(key, SEQUENCE)?;
    rsa_integers(rsa)
}

/// The public part (modulus, exponent) of a PKCS#1 or PKCS#8 RSA private key, read in place.
fn private_key_public_part<'a>(tag: &str, der: &'a [u8]) -> Option<RsaPublic<'a>> {
    let pkcs1 = match tag {
        "RSA PRIVATE KEY" => der,
        "PRIVATE KEY" => {
            let (info, _) = expect(der, SEQUENCE)?;
            let (_version, rest) = expect(info, INTEGER)?;
            let (algorithm, rest) = expect(rest, SEQUENCE)?;
            let (oid, _) = expect(algorithm, OID)?;
            if oid != RSA_ENCRYPTION {
                return None;
            }
            expect(rest, OCTET_STRING)?.0
        }
        _ => return None,
    };
    let (key, _) = expect(pkcs1, SEQUENCE)?;
    let (_version, rest) = expect(key, INTEGER)?;
    rsa_integers(rest)
}

/// The signing key, built from the PEM secret (dropped right after use).
fn signing_key(key_pem: &SecretString) -> Result<EncodingKey, AuthError> {
    crate::crypto::install_default_crypto_provider();
    EncodingKey::from_rsa_pem(key_pem.expose_secret().as_bytes())
        .map_err(|_| invalid("the private key is not a valid RSA key (PKCS#8 or PKCS#1 expected)"))
}

/// A decoded PEM block whose contents are zeroized when dropped.
struct Block {
    tag: String,
    contents: Zeroizing<Vec<u8>>,
}

impl Block {
    fn new(pem: pem::Pem) -> Self {
        Block {
            tag: pem.tag().to_string(),
            contents: Zeroizing::new(pem.into_contents()),
        }
    }

    /// The block as PEM text, held as a secret; the intermediate copies are zeroized.
    fn to_pem(&self) -> SecretString {
        let pem = pem::Pem::new(self.tag.clone(), self.contents.to_vec());
        let text = Zeroizing::new(pem::encode(&pem));
        drop(Zeroizing::new(pem.into_contents()));
        SecretString::from(text.as_str())
    }
}

/// Lifetime of a client assertion.
const ASSERTION_LIFETIME_SECS: i64 = 600;

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .field("key", &"[redacted]")
            .finish()
    }
}

fn invalid(message: &str) -> AuthError {
    AuthError::InvalidCredential(message.to_string())
}

/// Parse PEM blocks; the error never quotes the input (it may hold a key).
fn parse(text: &str, what: &str) -> Result<Vec<Block>, AuthError> {
    let blocks: Vec<Block> = pem::parse_many(text)
        .map_err(|_| invalid(&format!("the {what} is not valid PEM text")))?
        .into_iter()
        .map(Block::new)
        .collect();
    if blocks.is_empty() {
        return Err(invalid(&format!(
            "the {what} holds no PEM block (a PFX file must be converted to PEM first)"
        )));
    }
    Ok(blocks)
}

/// Read a PEM file into a secret; the buffer it was read into is zeroized.
fn read(path: &Path) -> Result<SecretString, AuthError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
        AuthError::InvalidCredential(format!("cannot read {}: {e}", path.display()))
    })?);
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        AuthError::InvalidCredential(format!(
            "{} is not PEM text (a PFX file must be converted to PEM first: \
             openssl pkcs12 -in app.pfx -out app.pem -nodes)",
            path.display()
        ))
    })?;
    Ok(SecretString::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMBINED: &str = include_str!("../../tests/fixtures/auth/combined.pem");

    #[test]
    fn the_key_is_held_as_a_pem_secret_and_signs() {
        let cert = ClientCertificate::from_pem(COMBINED).unwrap();
        let pem = cert.key_pem.expose_secret();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem:.30}");
        assert!(!pem.contains("CERTIFICATE"));
        assert!(!format!("{cert:?}").contains("PRIVATE"));
        let jwt = cert
            .assertion("cid", "https://login.example/t", chrono::Utc::now())
            .unwrap();
        assert_eq!(jwt.split('.').count(), 3);
    }

    #[test]
    fn truncated_or_garbled_der_is_no_key_and_no_panic() {
        let blocks = parse(COMBINED, "test").unwrap();
        let cert = &blocks[0].contents;
        let key = &blocks[1].contents;
        assert!(certificate_public_key(cert).is_some());
        assert!(private_key_public_part("PRIVATE KEY", key).is_some());
        for cut in 0..cert.len() {
            let _ = certificate_public_key(&cert[..cut]);
        }
        for cut in 0..key.len() {
            let _ = private_key_public_part("PRIVATE KEY", &key[..cut]);
        }
        let mut garbled = cert.to_vec();
        for i in 0..garbled.len().min(64) {
            garbled[i] ^= 0xff;
            let _ = certificate_public_key(&garbled);
            garbled[i] ^= 0xff;
        }
        assert!(certificate_public_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(private_key_public_part("EC PRIVATE KEY", key).is_none());
    }
}
