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
        Ok(ClientCertificate { key_pem, sha1 })
    }
}

/// The signing key, built from the PEM secret (dropped right after use).
fn signing_key(key_pem: &SecretString) -> Result<EncodingKey, AuthError> {
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
}
