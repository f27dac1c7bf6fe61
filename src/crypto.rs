//! Which cryptography backs TLS (rustls) and the signing of certificate assertions.
//!
//! * feature `aws-lc-rs` (default): rustls and `jsonwebtoken` on aws-lc-rs;
//! * feature `ring`: rustls on ring and `jsonwebtoken` on the RustCrypto crates, so that a
//!   build needs neither `aws-lc-sys` nor a C toolchain and cmake (build with
//!   `--no-default-features --features ring`).
//!
//! With both enabled, aws-lc-rs is used. With `ring` alone, rustls needs a process-wide
//! provider: this crate installs ring's before it builds an HTTP client, and
//! [`install_default_crypto_provider`] does it for callers that build their own
//! `reqwest::Client` (for [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)).

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "exchange-activesync needs a crypto provider: enable the `aws-lc-rs` (default) or the `ring` feature"
);

/// Install the crypto providers this build selected, if the process has none yet.
///
/// Needed only with the `ring` feature (and not `aws-lc-rs`) before building a
/// `reqwest::Client` yourself; this crate calls it before building its own clients. A
/// provider the application installed first is kept. Cheap after the first call.
pub fn install_default_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // An error means another thread installed one first: that one is used.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        // With both JWT backends compiled in, `jsonwebtoken` cannot pick one by itself.
        #[cfg(all(feature = "ring", feature = "aws-lc-rs"))]
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    });
}
