//! `ByteQuantifiedSize`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FromStrVisitor, ValueError};

const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
];

/// A size in bytes (Exchange `ByteQuantifiedSize`).
///
/// Parses every form the service sends or accepts: `"35 MB (36,700,160 bytes)"` (the exact
/// count in parentheses wins), `"10 MB"`, `"512 KB"`, `"1.5 GB"`, `"4096 B"`, a bare number of
/// bytes. Units are binary (1 KB = 1024 bytes) and case-insensitive.
///
/// Displays the shortest exact input form the service accepts: `"10 MB"` when the count is a
/// whole number of KB/MB/GB, otherwise the bare byte count (`"36700161"`), which the service
/// reads as bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteSize(u64);

impl ByteSize {
    /// A size of `bytes` bytes.
    pub const fn from_bytes(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    /// A size of `kb` kilobytes (1024 bytes each), saturating.
    pub const fn from_kb(kb: u64) -> Self {
        ByteSize(kb.saturating_mul(1 << 10))
    }

    /// A size of `mb` megabytes (1024² bytes each), saturating.
    pub const fn from_mb(mb: u64) -> Self {
        ByteSize(mb.saturating_mul(1 << 20))
    }

    /// A size of `gb` gigabytes (1024³ bytes each), saturating.
    pub const fn from_gb(gb: u64) -> Self {
        ByteSize(gb.saturating_mul(1 << 30))
    }

    /// The exact number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl From<u64> for ByteSize {
    fn from(bytes: u64) -> Self {
        ByteSize(bytes)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b == 0 {
            return f.write_str("0");
        }
        for (unit, mult) in UNITS[1..4].iter().rev() {
            if b.is_multiple_of(*mult) {
                return write!(f, "{} {unit}", b / mult);
            }
        }
        write!(f, "{b}")
    }
}

impl FromStr for ByteSize {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = |reason: &str| ValueError::new("ByteSize", s, reason);
        let t = s.trim();
        if t.is_empty() {
            return Err(err("empty size"));
        }
        // "35 MB (36,700,160 bytes)": the exact count in parentheses.
        if let Some(open) = t.find('(') {
            let inner = t[open + 1..]
                .trim_end()
                .strip_suffix(')')
                .ok_or_else(|| err("unbalanced parenthesis"))?
                .trim();
            let digits = inner
                .strip_suffix("bytes")
                .or_else(|| inner.strip_suffix("byte"))
                .ok_or_else(|| err("expected \"(<n> bytes)\""))?
                .trim();
            let clean: String = digits
                .chars()
                .filter(|c| !matches!(c, ',' | '.' | ' ' | '\u{a0}'))
                .collect();
            if clean.is_empty() || !clean.chars().all(|c| c.is_ascii_digit()) {
                return Err(err("the byte count in parentheses is not a number"));
            }
            return clean
                .parse::<u64>()
                .map(ByteSize)
                .map_err(|_| err("byte count out of range"));
        }
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(t.len());
        let (num, unit) = (t[..split].trim(), t[split..].trim());
        let mult = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(unit))
                .or_else(|| unit.eq_ignore_ascii_case("bytes").then_some(&UNITS[0]))
                .map(|(_, m)| *m)
                .ok_or_else(|| err("unknown unit (expected B, KB, MB, GB or TB)"))?
        };
        let num: String = num.chars().filter(|c| *c != ',').collect();
        if num.is_empty() {
            return Err(err("missing number"));
        }
        if let Ok(n) = num.parse::<u64>() {
            return n
                .checked_mul(mult)
                .map(ByteSize)
                .ok_or_else(|| err("size out of range"));
        }
        let f: f64 = num.parse().map_err(|_| err("not a number"))?;
        let total = f * mult as f64;
        if !total.is_finite() || total < 0.0 || total > u64::MAX as f64 {
            return Err(err("size out of range"));
        }
        if total.fract() != 0.0 {
            return Err(err("not a whole number of bytes"));
        }
        Ok(ByteSize(total as u64))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FromStrVisitor::<Self>::new("a size such as \"10 MB\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_service_and_input_forms() {
        let cases = [
            ("35 MB (36,700,160 bytes)", 36_700_160),
            ("99 GB (106,300,440,576 bytes)", 106_300_440_576),
            ("1.5 GB (1,610,612,736 bytes)", 1_610_612_736),
            ("10 MB", 10 * 1024 * 1024),
            ("512 KB", 512 * 1024),
            ("512kb", 512 * 1024),
            ("1.5 GB", 1_610_612_736),
            ("4096", 4096),
            ("4096 B", 4096),
            ("0 B (0 bytes)", 0),
        ];
        for (s, n) in cases {
            assert_eq!(s.parse::<ByteSize>().unwrap().bytes(), n, "{s}");
        }
        for bad in ["", "MB", "10 XB", "12 MB (many bytes)", "0.1 B", "-1"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips_exactly() {
        for n in [
            0u64,
            1,
            1023,
            1024,
            36_700_160,
            36_700_161,
            2_147_482_624,
            1 << 30,
        ] {
            let s = ByteSize(n).to_string();
            assert_eq!(s.parse::<ByteSize>().unwrap().bytes(), n, "{s}");
        }
        assert_eq!(ByteSize(36_700_160).to_string(), "35 MB");
        assert_eq!(ByteSize(36_700_161).to_string(), "36700161");
        assert_eq!(ByteSize::from_kb(2_097_151).to_string(), "2097151 KB");
    }

    #[test]
    fn serde_accepts_numbers_and_strings() {
        let v: ByteSize = serde_json::from_str("\"35 MB (36,700,160 bytes)\"").unwrap();
        assert_eq!(v.bytes(), 36_700_160);
        let v: ByteSize = serde_json::from_str("2048").unwrap();
        assert_eq!(v, ByteSize::from_kb(2));
    }
}
