//! The EAS `DeviceId` of a partnership: [`DeviceId`].

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FromStrVisitor, ValueError};

/// The `DeviceId` of a partnership: the value the mailboxes' `ActiveSyncAllowedDeviceIDs` and
/// `ActiveSyncBlockedDeviceIDs` lists hold, and the last part of an EAS device identity
/// (`<mailbox>\ExchangeActiveSyncDevices\<DeviceType>§<DeviceId>`).
///
/// Checked once, when it is made: not empty, no whitespace and no control characters (a
/// list entry with either is refused by the service or matches no device). Nothing is
/// trimmed. Compares as written (the service compares list entries ignoring case; see
/// [`eq_ignore_case`](Self::eq_ignore_case)).
///
/// ```
/// use exchange_activesync::types::DeviceId;
///
/// let id: DeviceId = "B4F3A9C2D1E0".parse()?;
/// assert_eq!(id, "B4F3A9C2D1E0");
/// assert!(id.eq_ignore_case("b4f3a9c2d1e0"));
/// assert!(DeviceId::new("A B").is_err() && DeviceId::new("").is_err());
/// # Ok::<(), exchange_activesync::types::ValueError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Check `value` (see the type documentation) and wrap it.
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        Self::check(value.as_ref())?;
        Ok(DeviceId(value.as_ref().to_string()))
    }

    /// Why `value` is not a device id, if it is not one.
    fn check(value: &str) -> Result<(), ValueError> {
        let reason = if value.is_empty() {
            "must not be empty"
        } else if value.chars().any(char::is_control) {
            "must not contain control characters"
        } else if value.chars().any(char::is_whitespace) {
            "must not contain whitespace"
        } else {
            return Ok(());
        };
        Err(ValueError::new("DeviceId", value, reason))
    }

    /// The device id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` names the same device id, ignoring ASCII case (as the service
    /// compares list entries).
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for DeviceId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for DeviceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for DeviceId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for DeviceId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for DeviceId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<DeviceId> for str {
    fn eq(&self, other: &DeviceId) -> bool {
        self == other.0
    }
}

impl PartialEq<DeviceId> for &str {
    fn eq(&self, other: &DeviceId) -> bool {
        *self == other.0
    }
}

impl PartialEq<DeviceId> for String {
    fn eq(&self, other: &DeviceId) -> bool {
        *self == other.0
    }
}

impl FromStr for DeviceId {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl TryFrom<&str> for DeviceId {
    type Error = ValueError;
    fn try_from(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl TryFrom<String> for DeviceId {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::check(&s)?;
        Ok(DeviceId(s))
    }
}

impl From<DeviceId> for String {
    fn from(id: DeviceId) -> String {
        id.0
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Strict: a value that is not a device id is an error. The models read the property
/// leniently instead (see [`FieldValue`](crate::models::FieldValue)).
impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FromStrVisitor::<Self>::new("a device id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_conversions_and_serde() {
        for bad in ["", " ", "A B", " A", "A\t", "A\u{7}", "A\u{0}B", "A\u{a0}B"] {
            let e = DeviceId::new(bad).unwrap_err();
            assert_eq!(e.kind, "DeviceId", "{bad:?}");
            assert!(bad.parse::<DeviceId>().is_err());
            assert!(DeviceId::try_from(bad.to_string()).is_err());
            assert!(serde_json::from_value::<DeviceId>(serde_json::json!(bad)).is_err());
        }
        let id = DeviceId::try_from("androidc1234").unwrap();
        assert_eq!(id.as_str(), "androidc1234");
        assert_eq!(id.to_string(), "androidc1234");
        assert!(id == *"androidc1234" && "androidc1234" == id);
        assert_eq!(id, String::from("androidc1234"));
        assert!(id.eq_ignore_case("ANDROIDC1234") && id != "ANDROIDC1234");
        assert!(id.starts_with("android"));
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::json!("androidc1234")
        );
        let back: DeviceId = serde_json::from_str("\"androidc1234\"").unwrap();
        assert_eq!(back, id);
        let number: DeviceId = serde_json::from_str("12345").unwrap();
        assert_eq!(number, "12345");
        assert_eq!(String::from(id), "androidc1234");
    }
}
