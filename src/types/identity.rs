//! Typed identities. All of them refuse empty or whitespace-only input at construction,
//! because the service answers such an identity with *every* object (docs/cmdlets.md §0.4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::{FromStrVisitor, ValueError};

/// The separator inside a device's object name (`Android§android94732903`): U+00A7.
pub const DEVICE_NAME_SEPARATOR: char = '§';
/// The middle segment of a device identity path.
const DEVICES_CONTAINER: &str = "ExchangeActiveSyncDevices";

fn non_empty(kind: &'static str, s: &str) -> Result<String, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValueError::new(kind, s, "must not be empty or whitespace"));
    }
    Ok(t.to_string())
}

macro_rules! string_identity {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Wrap an identity (name, DN, GUID, …); empty or whitespace-only input is refused.
            /// Surrounding whitespace is trimmed.
            pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
                non_empty($kind, value.as_ref()).map($name)
            }

            /// The identity text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValueError;
            fn try_from(s: &str) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, ValueError> {
                Self::new(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(g: Uuid) -> Self {
                $name(g.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(FromStrVisitor::<Self>::new(concat!("a non-empty ", $kind)))
            }
        }
    };
}

string_identity!(
    /// A mobile device mailbox policy: name (`Default` is built in), DN or GUID.
    PolicyIdentity,
    "policy identity"
);
string_identity!(
    /// A device access rule: its name (`<QueryString> (<Characteristic>)`), DN or GUID.
    ///
    /// The server shortens names longer than 64 characters and appends a hash, so for long
    /// query strings prefer the rule's `Guid` or the `Identity` it returned.
    AccessRuleIdentity,
    "access rule identity"
);
string_identity!(
    /// A mailbox: name, alias, DN, canonical DN, `Domain\User`, email address, GUID,
    /// LegacyExchangeDN, SamAccountName or UPN.
    MailboxIdentity,
    "mailbox identity"
);
string_identity!(
    /// A recipient: name, alias, DN, canonical DN, email address or GUID.
    RecipientIdentity,
    "recipient identity"
);

impl PolicyIdentity {
    /// The built-in policy, `Default`.
    pub fn default_policy() -> Self {
        PolicyIdentity("Default".into())
    }
}

impl AccessRuleIdentity {
    /// The name the server gives a rule: `<QueryString> (<Characteristic>)` for a
    /// characteristic's name (see `AccessRuleIdentity::for_rule` in the models for the typed
    /// characteristic).
    pub fn for_rule_named(query_string: &str, characteristic: &str) -> Result<Self, ValueError> {
        let q = non_empty("access rule query string", query_string)?;
        Ok(AccessRuleIdentity(format!("{q} ({characteristic})")))
    }
}

impl MailboxIdentity {
    /// Whether the value can serve as a routing hint (an SMTP address or a GUID).
    pub fn is_routable(&self) -> bool {
        crate::protocol::is_routable_mailbox(&self.0)
    }
}

/// The mailbox and object name of a device identity of the path form
/// (`<mailbox>\ExchangeActiveSyncDevices\<object name>`): `None` when `text` does not have
/// three segments, `Some(Err(reason))` when they are not a device path.
pub(crate) fn split_device_path(text: &str) -> Option<Result<(&str, &str), &'static str>> {
    let mut parts = text.split('\\');
    let (Some(mailbox), Some(container), Some(name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some(if !container.eq_ignore_ascii_case(DEVICES_CONTAINER) {
        Err("the middle segment must be ExchangeActiveSyncDevices")
    } else if mailbox.trim().is_empty() || name.trim().is_empty() {
        Err("mailbox and device name must not be empty")
    } else {
        Ok((mailbox, name))
    })
}

/// A mobile device (an ActiveSync partnership), in one of the forms the service accepts:
///
/// * `<mailbox>\ExchangeActiveSyncDevices\<object name>` (what `Identity` outputs), where the
///   object name is `<DeviceType>§<DeviceId>` for EAS or `<ClientType>§<DeviceType>§<DeviceId>`
///   for other clients (e.g. `REST§Outlook§5eec4e94…`);
/// * the device's `Guid` (same as `ExchangeObjectId`);
/// * a distinguished name (`CN=…`).
///
/// Empty, whitespace-only and wildcard values are refused: a destructive cmdlet must name
/// exactly one device.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MobileDeviceIdentity {
    text: String,
    kind: DeviceIdKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum DeviceIdKind {
    Path {
        mailbox_end: usize,
        name_start: usize,
    },
    Guid(Uuid),
    DistinguishedName,
}

impl MobileDeviceIdentity {
    /// Parse any accepted form (see the type documentation); empty, whitespace-only and
    /// wildcard input is refused. Surrounding whitespace is trimmed. Like every identity
    /// type, also `FromStr`, `TryFrom<&str>` and `TryFrom<String>`.
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValueError> {
        Self::parse_str(value.as_ref())
    }

    /// Parse any accepted form.
    #[deprecated(note = "use new")]
    pub fn parse(value: &str) -> Result<Self, ValueError> {
        Self::new(value)
    }

    fn parse_str(value: &str) -> Result<Self, ValueError> {
        const KIND: &str = "MobileDeviceIdentity";
        let t = non_empty(KIND, value)?;
        if t.contains('*') || t.contains('?') {
            return Err(ValueError::new(KIND, value, "wildcards are not allowed"));
        }
        if let Ok(g) = Uuid::parse_str(&t) {
            return Ok(MobileDeviceIdentity {
                text: g.to_string(),
                kind: DeviceIdKind::Guid(g),
            });
        }
        if t.len() > 3 && t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("CN=")) {
            return Ok(MobileDeviceIdentity {
                text: t,
                kind: DeviceIdKind::DistinguishedName,
            });
        }
        if let Some(split) = split_device_path(&t) {
            let (mailbox, name) = split.map_err(|reason| ValueError::new(KIND, value, reason))?;
            let mailbox_end = mailbox.len();
            let name_start = t.len() - name.len();
            return Ok(MobileDeviceIdentity {
                text: t,
                kind: DeviceIdKind::Path {
                    mailbox_end,
                    name_start,
                },
            });
        }
        Err(ValueError::new(
            KIND,
            value,
            "expected <mailbox>\\ExchangeActiveSyncDevices\\<type>§<id>, a GUID or a distinguished name",
        ))
    }

    /// `<mailbox>\ExchangeActiveSyncDevices\<device_type>§<device_id>` (an EAS partnership).
    pub fn from_parts(
        mailbox: &str,
        device_type: &str,
        device_id: &str,
    ) -> Result<Self, ValueError> {
        Self::new(format!(
            "{}\\{DEVICES_CONTAINER}\\{}{DEVICE_NAME_SEPARATOR}{}",
            mailbox.trim(),
            device_type.trim(),
            device_id.trim()
        ))
        .and_then(|id| {
            if device_type.trim().is_empty() || device_id.trim().is_empty() {
                Err(ValueError::new(
                    "MobileDeviceIdentity",
                    &id.text,
                    "device type and id must not be empty",
                ))
            } else {
                Ok(id)
            }
        })
    }

    /// The device's `Guid`.
    pub fn from_guid(guid: Uuid) -> Self {
        MobileDeviceIdentity {
            text: guid.to_string(),
            kind: DeviceIdKind::Guid(guid),
        }
    }

    /// The identity text as it is sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The owning mailbox (first path segment), for the path form.
    pub fn mailbox(&self) -> Option<&str> {
        match self.kind {
            DeviceIdKind::Path { mailbox_end, .. } => Some(&self.text[..mailbox_end]),
            _ => None,
        }
    }

    /// The device's object name (`Android§android94732903`), for the path form.
    pub fn object_name(&self) -> Option<&str> {
        match self.kind {
            DeviceIdKind::Path { name_start, .. } => Some(&self.text[name_start..]),
            _ => None,
        }
    }

    /// The GUID, for the GUID form.
    pub fn guid(&self) -> Option<Uuid> {
        match self.kind {
            DeviceIdKind::Guid(g) => Some(g),
            _ => None,
        }
    }

    fn name_parts(&self) -> Vec<&str> {
        self.object_name()
            .map(|n| n.splitn(3, DEVICE_NAME_SEPARATOR).collect())
            .unwrap_or_default()
    }

    /// The client type's name, when the object name has three parts (`REST§Outlook§…`); EAS
    /// partnerships (two parts) give `EAS` (see `MobileDeviceIdentity::client_type` in the
    /// models for the typed value).
    pub fn client_type_name(&self) -> Option<&str> {
        match self.name_parts().as_slice() {
            [c, _, _] => Some(c),
            [_, _] => Some("EAS"),
            _ => None,
        }
    }

    /// The device type (`Android`, `iPhone`, `Outlook`, …), from the object name.
    pub fn device_type(&self) -> Option<&str> {
        match self.name_parts().as_slice() {
            [_, t, _] | [t, _] => Some(t),
            _ => None,
        }
    }

    /// The device id, from the object name.
    pub fn device_id(&self) -> Option<&str> {
        match self.name_parts().as_slice() {
            [_, _, id] | [_, id] => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for MobileDeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for MobileDeviceIdentity {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl TryFrom<&str> for MobileDeviceIdentity {
    type Error = ValueError;
    fn try_from(s: &str) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl TryFrom<String> for MobileDeviceIdentity {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        Self::new(s)
    }
}

impl AsRef<str> for MobileDeviceIdentity {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<Uuid> for MobileDeviceIdentity {
    fn from(g: Uuid) -> Self {
        Self::from_guid(g)
    }
}

impl Serialize for MobileDeviceIdentity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for MobileDeviceIdentity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FromStrVisitor::<Self>::new("a mobile device identity"))
    }
}
