//! .NET `TimeSpan` / Exchange `EnhancedTimeSpan`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FromStrVisitor, ValueError};

const TICKS_PER_SECOND: i64 = 10_000_000;

/// A time span as Exchange prints and parses it: `[-][d.]hh:mm:ss[.fffffff]`
/// (`"1.00:00:00"`, `"00:15:00"`, `"90.00:00:00"`, `"-00:00:30"`).
///
/// Stored in .NET ticks (100 ns), so every value the service sends round-trips exactly.
/// Use [`Unlimited<ExchangeTimeSpan>`](super::Unlimited) for properties that may be `Unlimited`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExchangeTimeSpan {
    ticks: i64,
}

impl ExchangeTimeSpan {
    /// A span of whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        ExchangeTimeSpan {
            ticks: secs.saturating_mul(TICKS_PER_SECOND),
        }
    }

    /// A span of whole minutes.
    pub const fn from_minutes(minutes: i64) -> Self {
        Self::from_secs(minutes.saturating_mul(60))
    }

    /// A span of whole hours.
    pub const fn from_hours(hours: i64) -> Self {
        Self::from_secs(hours.saturating_mul(3600))
    }

    /// A span of whole days.
    pub const fn from_days(days: i64) -> Self {
        Self::from_secs(days.saturating_mul(86_400))
    }

    /// A span of .NET ticks (100 ns each).
    pub const fn from_ticks(ticks: i64) -> Self {
        ExchangeTimeSpan { ticks }
    }

    /// Length in .NET ticks (100 ns).
    pub const fn ticks(self) -> i64 {
        self.ticks
    }

    /// Whole seconds (truncated towards zero).
    pub const fn as_secs(self) -> i64 {
        self.ticks / TICKS_PER_SECOND
    }

    /// Whether the span is a whole number of seconds.
    pub const fn is_whole_seconds(self) -> bool {
        self.ticks % TICKS_PER_SECOND == 0
    }

    /// Whether the span is negative.
    pub const fn is_negative(self) -> bool {
        self.ticks < 0
    }

    /// As a [`std::time::Duration`], or `None` when negative.
    pub fn to_std(self) -> Option<std::time::Duration> {
        u64::try_from(self.ticks)
            .ok()
            .map(|t| std::time::Duration::from_nanos(t.saturating_mul(100)))
    }
}

impl TryFrom<std::time::Duration> for ExchangeTimeSpan {
    type Error = ValueError;
    fn try_from(d: std::time::Duration) -> Result<Self, ValueError> {
        i64::try_from(d.as_nanos() / 100)
            .map(ExchangeTimeSpan::from_ticks)
            .map_err(|_| ValueError::new("ExchangeTimeSpan", &format!("{d:?}"), "too long"))
    }
}

impl fmt::Display for ExchangeTimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.ticks < 0;
        let t = self.ticks.unsigned_abs();
        let tps = TICKS_PER_SECOND as u64;
        let frac = t % tps;
        let secs = t / tps;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        if neg {
            f.write_str("-")?;
        }
        if days > 0 {
            write!(f, "{days}.")?;
        }
        write!(f, "{h:02}:{m:02}:{s:02}")?;
        if frac > 0 {
            write!(f, ".{frac:07}")?;
        }
        Ok(())
    }
}

impl FromStr for ExchangeTimeSpan {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = |reason: &str| ValueError::new("ExchangeTimeSpan", s, reason);
        let t = s.trim();
        let (neg, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let num = |x: &str, what: &str| -> Result<u64, ValueError> {
            if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&format!("{what} is not a number")));
            }
            x.parse::<u64>()
                .map_err(|_| err(&format!("{what} out of range")))
        };
        let parts: Vec<&str> = body.split(':').collect();
        let ticks: u128 = match parts.as_slice() {
            // "d" alone means days, as in .NET.
            [d] => u128::from(num(d, "days")?) * 86_400 * TICKS_PER_SECOND as u128,
            [first, mm, rest @ ..] if rest.len() <= 1 => {
                let (days, hh) = match first.split_once('.') {
                    Some((d, h)) => (num(d, "days")?, num(h, "hours")?),
                    None => (0, num(first, "hours")?),
                };
                let mm = num(mm, "minutes")?;
                let (ss, frac) = match rest.first() {
                    None => (0, 0),
                    Some(sec) => match sec.split_once('.') {
                        Some((s2, f)) => {
                            if f.is_empty() || f.len() > 7 || !f.bytes().all(|b| b.is_ascii_digit())
                            {
                                return Err(err("fraction must be 1 to 7 digits"));
                            }
                            let padded = format!("{f:0<7}");
                            (num(s2, "seconds")?, num(&padded, "fraction")?)
                        }
                        None => (num(sec, "seconds")?, 0),
                    },
                };
                if hh > 23 || mm > 59 || ss > 59 {
                    return Err(err("hours must be 0-23, minutes and seconds 0-59"));
                }
                let secs = u128::from(days) * 86_400
                    + u128::from(hh) * 3600
                    + u128::from(mm) * 60
                    + u128::from(ss);
                secs * TICKS_PER_SECOND as u128 + u128::from(frac)
            }
            _ => return Err(err("expected [-][d.]hh:mm[:ss[.fffffff]]")),
        };
        let ticks = i64::try_from(ticks).map_err(|_| err("time span out of range"))?;
        Ok(ExchangeTimeSpan {
            ticks: if neg { -ticks } else { ticks },
        })
    }
}

impl Serialize for ExchangeTimeSpan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExchangeTimeSpan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(FromStrVisitor::<Self>::new(
            "a time span such as \"1.00:00:00\"",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let cases = [
            ("1.00:00:00", 86_400),
            ("00:15:00", 900),
            ("90.00:00:00", 90 * 86_400),
            ("00:00:00", 0),
            ("-00:00:30", -30),
            ("730.00:00:00", 730 * 86_400),
            ("01:00:00", 3600),
        ];
        for (s, secs) in cases {
            let t: ExchangeTimeSpan = s.parse().unwrap();
            assert_eq!(t.as_secs(), secs, "{s}");
            assert_eq!(t.to_string(), s);
        }
        let t: ExchangeTimeSpan = "00:00:01.5".parse().unwrap();
        assert!(!t.is_whole_seconds());
        assert_eq!(t.to_string(), "00:00:01.5000000");
        assert_eq!(t.to_string().parse::<ExchangeTimeSpan>().unwrap(), t);
        assert_eq!(
            "2".parse::<ExchangeTimeSpan>().unwrap(),
            ExchangeTimeSpan::from_days(2)
        );
        for bad in [
            "",
            "x",
            "25:00:00",
            "00:61:00",
            "1.2.3",
            "00:00:00.12345678",
            "::",
        ] {
            assert!(bad.parse::<ExchangeTimeSpan>().is_err(), "{bad}");
        }
    }

    #[test]
    fn converts_to_std() {
        assert_eq!(
            ExchangeTimeSpan::from_minutes(2).to_std(),
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(ExchangeTimeSpan::from_secs(-1).to_std(), None);
    }
}
