//! The service's value encodings (docs/protocol.md §4.2, docs/cmdlets.md §0.6) and a small direct JSON
//! row writer used to serialize pages straight from the model.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

/// `2024-04-10T08:56:22.0000000+00:00`, or with `Z` for the `…UTC` properties.
pub fn date(value: DateTime<Utc>, utc_suffix: bool) -> String {
    let mut out = Vec::with_capacity(33);
    write_date(&mut out, value, utc_suffix);
    String::from_utf8(out).unwrap_or_default()
}

fn write_date(out: &mut Vec<u8>, value: DateTime<Utc>, utc_suffix: bool) {
    use chrono::{Datelike as _, Timelike as _};
    use std::io::Write as _;
    let ticks = value.nanosecond() % 1_000_000_000 / 100;
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ticks:07}{}",
        value.year(),
        value.month(),
        value.day(),
        value.hour(),
        value.minute(),
        value.second(),
        if utc_suffix { "Z" } else { "+00:00" }
    );
}

/// Group digits with commas: `36700160` → `36,700,160`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A `ByteQuantifiedSize`: `35 MB (36,700,160 bytes)`.
pub fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)];
    let (unit, factor) = UNITS
        .iter()
        .copied()
        .find(|&(_, f)| bytes >= f)
        .unwrap_or(("B", 1));
    let whole = bytes / factor;
    let frac = bytes % factor;
    let number = if frac == 0 {
        whole.to_string()
    } else {
        let v = bytes as f64 / factor as f64;
        let t = format!("{v:.3}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{number} {unit} ({} bytes)", thousands(bytes))
}

/// Parse a size parameter: `Unlimited` (→ `None`), a bare byte count, or `<n> B|KB|MB|GB`.
pub fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let t = t.split('(').next().unwrap_or(t).trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| format!("\"{text}\" is not a valid size"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return Err(format!("\"{text}\" is not a valid size")),
    };
    Ok(Some((num * factor as f64).round() as u64))
}

/// A `TimeSpan` in whole seconds: `1.00:00:00`, `00:15:00`.
pub fn timespan(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    );
    if days > 0 {
        format!("{days}.{hms}")
    } else {
        hms
    }
}

/// Parse a time span parameter: `Unlimited` (→ `None`), `[d.]hh:mm:ss`.
pub fn parse_timespan(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let bad = || format!("\"{text}\" is not a valid time span ([d.]hh:mm:ss)");
    let (days, hms) = match t.split_once('.') {
        Some((d, rest)) if rest.contains(':') && !d.contains(':') => {
            (d.parse::<u64>().map_err(|_| bad())?, rest)
        }
        _ => (0, t),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() != 3 {
        return Err(bad());
    }
    let n = |s: &str| s.parse::<u64>().map_err(|_| bad());
    let (h, m, s) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    if m > 59 || s > 59 || h > 23 {
        return Err(bad());
    }
    Ok(Some(days * 86_400 + h * 3600 + m * 60 + s))
}

/// Writes one JSON object key by key, honouring a `$select` projection (case-insensitive) and
/// optional annotation keys.
pub(crate) struct RowWriter<'a> {
    out: &'a mut Vec<u8>,
    select: Option<&'a BTreeSet<String>>,
    annotate: bool,
    first: bool,
}

impl<'a> RowWriter<'a> {
    /// Start an object. `select` holds lower-case property names.
    pub(crate) fn begin(
        out: &'a mut Vec<u8>,
        select: Option<&'a BTreeSet<String>>,
        annotate: bool,
    ) -> Self {
        out.push(b'{');
        RowWriter {
            out,
            select,
            annotate,
            first: true,
        }
    }

    /// Finish the object.
    pub(crate) fn end(self) {
        self.out.push(b'}');
    }

    fn wants(&self, key: &str) -> bool {
        match self.select {
            None => true,
            Some(s) => s.contains(&key.to_ascii_lowercase()),
        }
    }

    fn key_with(&mut self, key: &str, suffix: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if key
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            // Property names are plain ASCII: no escaping needed.
            self.out.push(b'"');
            self.out.extend_from_slice(key.as_bytes());
            self.out.extend_from_slice(suffix.as_bytes());
            self.out.extend_from_slice(b"\":");
        } else {
            let full = format!("{key}{suffix}");
            serde_json::to_writer(&mut *self.out, &full).expect("writing to a Vec cannot fail");
            self.out.push(b':');
        }
    }

    fn key(&mut self, key: &str) {
        self.key_with(key, "");
    }

    fn annotation(&mut self, key: &str, data_type: Option<&str>, odata_type: Option<&str>) {
        if !self.annotate {
            return;
        }
        if let Some(t) = data_type {
            self.key_with(key, "@data.type");
            self.raw_str(t);
        }
        if let Some(t) = odata_type {
            self.key_with(key, "@odata.type");
            self.raw_str(t);
        }
    }

    fn raw_str(&mut self, v: &str) {
        if v.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            // Nothing to escape (UTF-8 is written as is).
            self.out.push(b'"');
            self.out.extend_from_slice(v.as_bytes());
            self.out.push(b'"');
        } else {
            serde_json::to_writer(&mut *self.out, v).expect("writing to a Vec cannot fail");
        }
    }

    /// A key with an arbitrary (unprojected) literal; used for the malformed annotation key.
    pub(crate) fn literal(&mut self, key: &str, json: &str) {
        if self.select.is_none() {
            self.key(key);
            self.out.extend_from_slice(json.as_bytes());
        }
    }

    /// A string property (`null` when `None`).
    pub(crate) fn str(&mut self, key: &str, v: Option<&str>) {
        if self.wants(key) {
            self.key(key);
            match v {
                Some(v) => self.raw_str(v),
                None => self.out.extend_from_slice(b"null"),
            }
        }
    }

    /// A GUID property (with `System.Guid` / `#Guid` annotations when annotating).
    pub(crate) fn guid(&mut self, key: &str, v: &uuid::Uuid) {
        if self.wants(key) {
            self.annotation(key, Some("System.Guid"), Some("#Guid"));
            self.key(key);
            let mut buf = uuid::Uuid::encode_buffer();
            let s = v.hyphenated().encode_lower(&mut buf);
            self.raw_str(s);
        }
    }

    /// A boolean property.
    pub(crate) fn bool(&mut self, key: &str, v: bool) {
        if self.wants(key) {
            self.key(key);
            self.out
                .extend_from_slice(if v { b"true" } else { b"false" });
        }
    }

    /// An integer property (`null` when `None`).
    pub(crate) fn int(&mut self, key: &str, v: Option<i64>) {
        if self.wants(key) {
            self.annotation(key, Some("System.Int32"), None);
            self.key(key);
            match v {
                Some(n) => self.out.extend_from_slice(n.to_string().as_bytes()),
                None => self.out.extend_from_slice(b"null"),
            }
        }
    }

    /// A date property (`null` when `None`); `utc` selects the `Z` suffix.
    pub(crate) fn date(&mut self, key: &str, v: Option<DateTime<Utc>>, utc: bool) {
        if self.wants(key) {
            if v.is_some() {
                self.annotation(key, Some("System.DateTime"), None);
            }
            self.key(key);
            match v {
                Some(d) => {
                    self.out.push(b'"');
                    write_date(self.out, d, utc);
                    self.out.push(b'"');
                }
                None => self.out.extend_from_slice(b"null"),
            }
        }
    }

    /// A multi-valued string property.
    pub(crate) fn strs<S: AsRef<str>>(&mut self, key: &str, v: &[S]) {
        if self.wants(key) {
            self.annotation(key, None, Some("#Collection(String)"));
            self.key(key);
            self.out.push(b'[');
            for (i, s) in v.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                self.raw_str(s.as_ref());
            }
            self.out.push(b']');
        }
    }

    /// A property from a JSON value.
    pub(crate) fn value(&mut self, key: &str, v: &serde_json::Value) {
        if self.wants(key) {
            if v.is_array() {
                self.annotation(key, None, Some("#Collection(String)"));
            }
            self.key(key);
            serde_json::to_writer(&mut *self.out, v).expect("writing to a Vec cannot fail");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(size(36_700_160), "35 MB (36,700,160 bytes)");
        assert_eq!(size(512), "512 B (512 bytes)");
        assert_eq!(size(1_572_864), "1.5 MB (1,572,864 bytes)");
        assert_eq!(parse_size("10 MB").unwrap(), Some(10 << 20));
        assert_eq!(parse_size("Unlimited").unwrap(), None);
        assert!(parse_size("ten").is_err());
        assert_eq!(timespan(86_400), "1.00:00:00");
        assert_eq!(timespan(900), "00:15:00");
        assert_eq!(parse_timespan("1.00:00:00").unwrap(), Some(86_400));
        assert_eq!(parse_timespan("00:05:00").unwrap(), Some(300));
        assert!(parse_timespan("5 minutes").is_err());
        let d = DateTime::parse_from_rfc3339("2024-04-10T08:56:22Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date(d, false), "2024-04-10T08:56:22.0000000+00:00");
        assert_eq!(date(d, true), "2024-04-10T08:56:22.0000000Z");
    }
}
