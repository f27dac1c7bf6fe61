//! The settings of a mobile device mailbox policy: names, kinds, validation and defaults
//! (docs/cmdlets.md §3, §4).

use serde_json::{Value, json};

use super::format;

/// How a policy setting is validated and encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Enum(&'static [&'static str]),
    /// `Unlimited<TimeSpan>` with an inclusive range in seconds.
    Span(u64, u64),
    /// `Unlimited<ByteQuantifiedSize>` up to a byte maximum.
    Size(u64),
    /// `Unlimited<int>` with an inclusive range.
    UnlimitedInt(i64, i64),
    Int(i64, i64),
    NullableInt(i64, i64),
    Strings,
    /// Output only (not a parameter).
    Output,
}

pub(crate) struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    pub default: fn() -> Value,
}

const BLUETOOTH: &[&str] = &["Disable", "HandsfreeOnly", "Allow"];
const NEGOTIATION: &[&str] = &[
    "BlockNegotiation",
    "OnlyStrongAlgorithmNegotiation",
    "AllowAnyAlgorithmNegotiation",
];
const CALENDAR: &[&str] = &["All", "TwoWeeks", "OneMonth", "ThreeMonths", "SixMonths"];
const EMAIL: &[&str] = &[
    "All",
    "OneDay",
    "ThreeDays",
    "OneWeek",
    "TwoWeeks",
    "OneMonth",
];
const SIGNED: &[&str] = &["SHA1", "MD5"];
const ENCRYPTION: &[&str] = &["TripleDES", "DES", "RC2128bit", "RC264bit", "RC240bit"];

macro_rules! s {
    ($name:literal, $kind:expr, $default:expr) => {
        Setting {
            name: $name,
            kind: $kind,
            default: || $default,
        }
    };
}

/// Policy settings in output order.
pub(crate) static SETTINGS: &[Setting] = &[
    s!("AllowNonProvisionableDevices", Kind::Bool, json!(true)),
    s!("AlphanumericPasswordRequired", Kind::Bool, json!(false)),
    s!("AttachmentsEnabled", Kind::Bool, json!(true)),
    s!("DeviceEncryptionEnabled", Kind::Bool, json!(false)),
    s!("RequireStorageCardEncryption", Kind::Bool, json!(false)),
    s!("PasswordEnabled", Kind::Bool, json!(false)),
    s!("PasswordRecoveryEnabled", Kind::Bool, json!(false)),
    s!(
        "DevicePolicyRefreshInterval",
        Kind::Span(0, 2_147_483_647),
        json!("Unlimited")
    ),
    s!("AllowSimplePassword", Kind::Bool, json!(true)),
    s!(
        "MaxAttachmentSize",
        Kind::Size(2_147_482_624),
        json!("Unlimited")
    ),
    s!("WSSAccessEnabled", Kind::Bool, json!(true)),
    s!("UNCAccessEnabled", Kind::Bool, json!(true)),
    s!("MinPasswordLength", Kind::NullableInt(1, 16), Value::Null),
    s!(
        "MaxInactivityTimeLock",
        Kind::Span(60, 3600),
        json!("Unlimited")
    ),
    s!(
        "MaxPasswordFailedAttempts",
        Kind::UnlimitedInt(4, 16),
        json!("Unlimited")
    ),
    s!(
        "PasswordExpiration",
        Kind::Span(86_400, 730 * 86_400),
        json!("Unlimited")
    ),
    s!("PasswordHistory", Kind::Int(0, 50), json!(0)),
    s!("IsDefault", Kind::Bool, json!(false)),
    s!("AllowApplePushNotifications", Kind::Bool, json!(true)),
    s!("AllowMicrosoftPushNotifications", Kind::Bool, json!(true)),
    s!("AllowGooglePushNotifications", Kind::Bool, json!(true)),
    s!("AllowStorageCard", Kind::Bool, json!(true)),
    s!("AllowCamera", Kind::Bool, json!(true)),
    s!("RequireDeviceEncryption", Kind::Bool, json!(false)),
    s!("AllowUnsignedApplications", Kind::Bool, json!(true)),
    s!("AllowUnsignedInstallationPackages", Kind::Bool, json!(true)),
    s!("AllowWiFi", Kind::Bool, json!(true)),
    s!("AllowTextMessaging", Kind::Bool, json!(true)),
    s!("AllowPOPIMAPEmail", Kind::Bool, json!(true)),
    s!("AllowIrDA", Kind::Bool, json!(true)),
    s!("RequireManualSyncWhenRoaming", Kind::Bool, json!(false)),
    s!("AllowDesktopSync", Kind::Bool, json!(true)),
    s!("AllowHTMLEmail", Kind::Bool, json!(true)),
    s!("RequireSignedSMIMEMessages", Kind::Bool, json!(false)),
    s!("RequireEncryptedSMIMEMessages", Kind::Bool, json!(false)),
    s!("AllowSMIMESoftCerts", Kind::Bool, json!(true)),
    s!("AllowBrowser", Kind::Bool, json!(true)),
    s!("AllowConsumerEmail", Kind::Bool, json!(true)),
    s!("AllowRemoteDesktop", Kind::Bool, json!(true)),
    s!("AllowInternetSharing", Kind::Bool, json!(true)),
    s!("AllowBluetooth", Kind::Enum(BLUETOOTH), json!("Allow")),
    s!("MaxCalendarAgeFilter", Kind::Enum(CALENDAR), json!("All")),
    s!("MaxEmailAgeFilter", Kind::Enum(EMAIL), json!("All")),
    s!(
        "RequireSignedSMIMEAlgorithm",
        Kind::Enum(SIGNED),
        json!("SHA1")
    ),
    s!(
        "RequireEncryptionSMIMEAlgorithm",
        Kind::Enum(ENCRYPTION),
        json!("TripleDES")
    ),
    s!(
        "AllowSMIMEEncryptionAlgorithmNegotiation",
        Kind::Enum(NEGOTIATION),
        json!("AllowAnyAlgorithmNegotiation")
    ),
    s!("MinPasswordComplexCharacters", Kind::Int(1, 4), json!(1)),
    s!(
        "MaxEmailBodyTruncationSize",
        Kind::UnlimitedInt(0, 2_147_483_647),
        json!("Unlimited")
    ),
    s!(
        "MaxEmailHTMLBodyTruncationSize",
        Kind::UnlimitedInt(0, 2_147_483_647),
        json!("Unlimited")
    ),
    s!("UnapprovedInROMApplicationList", Kind::Strings, json!([])),
    s!("ApprovedApplicationList", Kind::Strings, json!([])),
    s!("AllowExternalDeviceManagement", Kind::Bool, json!(false)),
    s!(
        "MobileOTAUpdateMode",
        Kind::Output,
        json!("MinorVersionUpdates")
    ),
    s!("AllowMobileOTAUpdate", Kind::Bool, json!(true)),
    s!("IrmEnabled", Kind::Bool, json!(true)),
];

/// Index of a setting by name (case-insensitive).
pub(crate) fn index_of(name: &str) -> Option<usize> {
    SETTINGS
        .iter()
        .position(|s| s.name.eq_ignore_ascii_case(name))
}

/// Default values of a fresh policy.
pub(crate) fn defaults() -> Vec<Value> {
    SETTINGS.iter().map(|s| (s.default)()).collect()
}

pub(crate) fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s == "$true" => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") || s == "$false" => Some(false),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Validate and normalise a parameter value into the stored/output encoding.
/// `Err` carries the message of a `ParameterTransformationException`-style failure.
pub(crate) fn normalise(setting: &Setting, v: &Value) -> Result<Value, String> {
    let name = setting.name;
    let range = |n: i64, lo: i64, hi: i64| {
        if n < lo || n > hi {
            Err(format!(
                "Cannot process argument transformation on parameter '{name}'. The value {n} is out of range; valid values are {lo} to {hi}."
            ))
        } else {
            Ok(())
        }
    };
    let bad = || {
        format!(
            "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{v}\"."
        )
    };
    match setting.kind {
        Kind::Bool => parse_bool(v).map(Value::Bool).ok_or_else(bad),
        Kind::Enum(names) => {
            let s = v.as_str().ok_or_else(bad)?;
            names
                .iter()
                .find(|n| n.eq_ignore_ascii_case(s.trim()))
                .map(|n| json!(n))
                .ok_or_else(|| {
                    format!(
                        "Cannot process argument transformation on parameter '{name}'. Unable to match the identifier name {s} to a valid enumerator name. Specify one of the following enumerator names and try again: {}",
                        names.join(", ")
                    )
                })
        }
        Kind::Span(lo, hi) => {
            let s = v.as_str().ok_or_else(bad)?;
            match format::parse_timespan(s).map_err(|e| format!("{name}: {e}"))? {
                None => Ok(json!("Unlimited")),
                Some(secs) => {
                    range(secs as i64, lo as i64, hi as i64)?;
                    Ok(json!(format::timespan(secs)))
                }
            }
        }
        Kind::Size(max) => {
            let text = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return Err(bad()),
            };
            match format::parse_size(&text).map_err(|e| format!("{name}: {e}"))? {
                None => Ok(json!("Unlimited")),
                Some(b) => {
                    range(b as i64, 0, max as i64)?;
                    Ok(json!(format::size(b)))
                }
            }
        }
        Kind::UnlimitedInt(lo, hi) => {
            if v.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("unlimited"))
            {
                return Ok(json!("Unlimited"));
            }
            let n = as_int(v).ok_or_else(bad)?;
            range(n, lo, hi)?;
            Ok(json!(n.to_string()))
        }
        Kind::Int(lo, hi) => {
            let n = as_int(v).ok_or_else(bad)?;
            range(n, lo, hi)?;
            Ok(json!(n))
        }
        Kind::NullableInt(lo, hi) => {
            if v.is_null() {
                return Ok(Value::Null);
            }
            let n = as_int(v).ok_or_else(bad)?;
            range(n, lo, hi)?;
            Ok(json!(n))
        }
        Kind::Strings => match v {
            Value::Null => Ok(json!([])),
            Value::String(s) => Ok(json!([s])),
            Value::Array(a) if a.iter().all(Value::is_string) => Ok(Value::Array(a.clone())),
            _ => Err(bad()),
        },
        Kind::Output => Err(bad()),
    }
}

/// The password-related settings reset when `PasswordEnabled:$false` is sent alone
/// (docs/cmdlets.md §4).
pub(crate) const PASSWORD_SETTINGS: &[&str] = &[
    "AllowSimplePassword",
    "AlphanumericPasswordRequired",
    "MinPasswordComplexCharacters",
    "MinPasswordLength",
    "MaxPasswordFailedAttempts",
    "MaxInactivityTimeLock",
    "PasswordRecoveryEnabled",
    "PasswordExpiration",
    "PasswordHistory",
    "RequireDeviceEncryption",
    "DeviceEncryptionEnabled",
    "RequireStorageCardEncryption",
];
