//! A device's recovery password, kept out of `Debug`, logs and serialized output.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The `RecoveryPassword` of a device (`Get-MobileDeviceStatistics -ShowRecoveryPassword`).
///
/// `Debug` never shows it and serializing a model writes the service's mask (`********`)
/// instead: read it with [`expose`](Self::expose) where it is really needed.
///
/// ```
/// use exchange_activesync::types::RecoveryPassword;
/// let p = RecoveryPassword::new("1234-5678");
/// assert_eq!(p.expose(), "1234-5678");
/// assert!(!format!("{p:?}").contains("1234"));
/// assert!(RecoveryPassword::new("********").is_masked());
/// ```
#[derive(Clone)]
pub struct RecoveryPassword(SecretString);

impl RecoveryPassword {
    /// The mask the service shows unless `-ShowRecoveryPassword` is given.
    pub const MASK: &'static str = "********";

    /// Wrap a password.
    pub fn new(password: impl Into<String>) -> Self {
        RecoveryPassword(SecretString::from(password.into()))
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether this is only the service's mask (asterisks), not a password.
    pub fn is_masked(&self) -> bool {
        let p = self.expose();
        !p.is_empty() && p.chars().all(|c| c == '*')
    }
}

impl fmt::Debug for RecoveryPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_masked() {
            f.write_str("RecoveryPassword(masked)")
        } else {
            f.write_str("RecoveryPassword(<redacted>)")
        }
    }
}

impl PartialEq for RecoveryPassword {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for RecoveryPassword {}

impl From<&str> for RecoveryPassword {
    fn from(s: &str) -> Self {
        RecoveryPassword::new(s)
    }
}

impl From<String> for RecoveryPassword {
    fn from(s: String) -> Self {
        RecoveryPassword::new(s)
    }
}
