//! Dates as the service sends them.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use super::ValueError;

/// Parse a date the way the service sends it: ISO 8601 with up to 7 fractional digits and an
/// offset (`"2024-03-11T09:14:02.0000000+00:00"`) or `Z` (`"2024-04-10T08:56:22.0000000Z"`).
/// A value without a zone (`"2024-03-11T09:14:02"`, the module's input form) is read as UTC.
pub fn parse_exchange_datetime(s: &str) -> Result<DateTime<Utc>, ValueError> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(n.and_utc());
        }
    }
    Err(ValueError::new(
        "date",
        s,
        "expected ISO 8601, e.g. 2024-03-11T09:14:02.0000000+00:00",
    ))
}

/// Format a date as the service prints it: UTC, 7 fractional digits, `Z`.
pub fn format_exchange_datetime(d: &DateTime<Utc>) -> String {
    let base = d.to_rfc3339_opts(SecondsFormat::Secs, true);
    let ticks = d.timestamp_subsec_nanos() / 100;
    // "2024-03-11T09:14:02Z" -> "2024-03-11T09:14:02.0000000Z"
    format!("{}.{ticks:07}Z", &base[..base.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn both_service_forms_and_naive() {
        let want = Utc.with_ymd_and_hms(2024, 3, 11, 9, 14, 2).unwrap();
        for s in [
            "2024-03-11T09:14:02.0000000+00:00",
            "2024-03-11T09:14:02.0000000Z",
            "2024-03-11T10:14:02.0000000+01:00",
            "2024-03-11T09:14:02",
            "2024-03-11T09:14:02Z",
        ] {
            assert_eq!(parse_exchange_datetime(s).unwrap(), want, "{s}");
        }
        let d = parse_exchange_datetime("2026-07-23T21:56:57.2320505Z").unwrap();
        assert_eq!(d.timestamp_subsec_nanos(), 232_050_500);
        assert_eq!(format_exchange_datetime(&d), "2026-07-23T21:56:57.2320505Z");
        assert_eq!(
            parse_exchange_datetime(&format_exchange_datetime(&d)).unwrap(),
            d
        );
        assert!(parse_exchange_datetime("/Date(123)/").is_err());
    }
}
