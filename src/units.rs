//! Durations and sizes as people write and read them: the parsers shared by
//! journey and config validation, and the one duration formatter every output
//! (text report, assertion messages, status page) uses: `42ms`, `2.35s`, `1m05s`.

pub mod limits;

use std::time::Duration;

pub use limits::{DurationRange, SizeRange};

/// Why a duration or size was refused; `Display` is the advice shown to the author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not a number with a unit.
    #[error("invalid duration `{0}`: write a number and a unit, like `30s`, `800ms`, `2m` or `1h`")]
    Duration(String),
    /// Not bytes, nor a number with a size unit.
    #[error("invalid size `{0}`: write bytes or a number with a unit, like `1MiB` or `512KiB`")]
    Size(String),
    /// Zero: every duration is a timeout or an interval, every size a limit, and zero
    /// would mean "never" or "always".
    #[error("{kind} `{text}` must be greater than zero")]
    Zero {
        /// `duration` or `size`.
        kind: &'static str,
        /// As written.
        text: String,
    },
    /// Outside the key's documented range (see [`limits`]).
    #[error("{kind} `{text}` is out of range: write a value between {min} and {max}")]
    OutOfRange {
        /// `duration` or `size`.
        kind: &'static str,
        /// As written.
        text: String,
        /// Smallest allowed, formatted.
        min: String,
        /// Largest allowed, formatted.
        max: String,
    },
}

impl UnitError {
    fn duration_range(text: &str, range: DurationRange) -> Self {
        Self::OutOfRange {
            kind: "duration",
            text: shown(text),
            min: limits::format_limit(range.min),
            max: limits::format_limit(range.max),
        }
    }
}

/// The value as echoed in an error: the start of it, when someone pasted a
/// novel (the source line under the diagnostic shows the rest).
fn shown(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// [`parse_duration`] within `range`: what every duration key goes through, so
/// a value that passes can be added to any clock and never means "forever".
pub fn parse_duration_in(text: &str, range: DurationRange) -> Result<Duration, UnitError> {
    let d = match humantime::parse_duration(text.trim()) {
        Err(humantime::DurationError::NumberOverflow) => {
            return Err(UnitError::duration_range(text, range));
        }
        _ => parse_duration(text)?,
    };
    if d < range.min || d > range.max {
        return Err(UnitError::duration_range(text, range));
    }
    Ok(d)
}

/// [`parse_size`] within `range`.
pub fn parse_size_in(text: &str, range: SizeRange) -> Result<u64, UnitError> {
    let out_of_range = || UnitError::OutOfRange {
        kind: "size",
        text: shown(text),
        min: limits::format_size_limit(range.min),
        max: limits::format_size_limit(range.max),
    };
    let n = match parse_size(text) {
        // Digits that overflow u64 are a size, just far too large.
        Err(UnitError::Size(_)) if is_huge_number(text) => return Err(out_of_range()),
        r => r?,
    };
    if n < range.min || n > range.max {
        return Err(out_of_range());
    }
    Ok(n)
}

/// All digits (then maybe a unit), too many for a u64 or its multiple.
fn is_huge_number(text: &str) -> bool {
    let t = text.trim();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && {
        let unit = t[digits..].trim();
        ["", "B", "KB", "kB", "KiB", "MB", "MiB", "GB", "GiB"].contains(&unit)
    }
}

/// Parses `30s`, `800ms`, `2m`, `1h 30m`. Zero is rejected: every duration in
/// journeyd is a timeout or an interval, and zero would mean "never" or "always".
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let d = humantime::parse_duration(text.trim()).map_err(|_| UnitError::Duration(shown(text)))?;
    if d.is_zero() {
        return Err(UnitError::Zero {
            kind: "duration",
            text: shown(text),
        });
    }
    Ok(d)
}

/// Parses a byte size: a number of bytes, or a number with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || UnitError::Size(shown(text));
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    let size = n.checked_mul(mult).ok_or_else(bad)?;
    if size == 0 {
        return Err(UnitError::Zero {
            kind: "size",
            text: shown(text),
        });
    }
    Ok(size)
}

/// How far ahead [`later`] saturates: far beyond any range in [`limits`], near
/// enough that no platform clock overflows.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// `at + d` without the panic of `Instant + Duration` on overflow: a deadline
/// that far ahead is "not in this process's lifetime" either way.
pub fn later(at: tokio::time::Instant, d: Duration) -> tokio::time::Instant {
    at.checked_add(d.min(FAR))
        .or_else(|| at.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(at)
}

/// A duration for people, short, at millisecond precision (an assertion like
/// `≤ 1.2s` must show `1.234s`, not a rounded `1.23s`): `42ms`, `1.2s`, `2s`,
/// `1m05.2s`; `?` when the value is not a duration (negative or not finite).
pub fn format_seconds(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_string();
    }
    format_duration(Duration::from_millis((seconds * 1000.0).round() as u64))
}

/// [`format_seconds`] for a [`Duration`].
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (min, rem) = (ms / 60_000, ms % 60_000);
    let frac = match rem % 1000 {
        0 => String::new(),
        f => format!(".{f:03}").trim_end_matches('0').to_string(),
    };
    match min {
        0 => format!("{}{frac}s", rem / 1000),
        _ => format!("{min}m{:02}{frac}s", rem / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("800ms"), Ok(Duration::from_millis(800)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30"), Err(UnitError::Duration("30".into())));
        assert!(
            parse_duration("30")
                .unwrap_err()
                .to_string()
                .contains("write a number and a unit")
        );
        assert!(matches!(
            parse_duration("0s"),
            Err(UnitError::Zero {
                kind: "duration",
                ..
            })
        ));
        assert_eq!(
            parse_duration("0s").unwrap_err().to_string(),
            "duration `0s` must be greater than zero"
        );
    }

    #[test]
    fn durations_outside_their_range_are_refused_with_the_range() {
        let r = limits::JOURNEY_TIMEOUT;
        assert_eq!(parse_duration_in("1h", r), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration_in("10ms", r), Ok(Duration::from_millis(10)));
        for text in [
            "61m",
            "9ms",
            "500000000000y",
            "18446744073709551615s",
            "1000000d",
        ] {
            let e = parse_duration_in(text, r).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("duration `{text}` is out of range: write a value between 10ms and 1h"),
            );
        }
        assert!(matches!(
            parse_duration_in("soon", r),
            Err(UnitError::Duration(_))
        ));
        assert!(matches!(
            parse_duration_in("0s", r),
            Err(UnitError::Zero { .. })
        ));
    }

    #[test]
    fn sizes_outside_their_range_are_refused_with_the_range() {
        let r = limits::MAX_BODY;
        assert_eq!(parse_size_in("64MiB", r), Ok(64 << 20));
        for text in [
            "18446744073709551615",
            "99999999999999999999999",
            "65MiB",
            "1000",
            "16 GiB",
        ] {
            assert_eq!(
                parse_size_in(text, r).unwrap_err().to_string(),
                format!("size `{text}` is out of range: write a value between 1KiB and 64MiB"),
            );
        }
        assert!(matches!(parse_size_in("-1", r), Err(UnitError::Size(_))));
        let novel = "9".repeat(1 << 20);
        let e = parse_size_in(&novel, r).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("size `{}…` is out", "9".repeat(40))),
            "{e}"
        );
    }

    #[test]
    fn range_ends_use_the_largest_whole_unit() {
        use limits::format_limit as f;
        assert_eq!(f(Duration::from_millis(1)), "1ms");
        assert_eq!(f(Duration::from_millis(1500)), "1500ms");
        assert_eq!(f(Duration::from_secs(600)), "10m");
        assert_eq!(f(Duration::from_secs(3600)), "1h");
        assert_eq!(f(Duration::from_secs(365 * 86400)), "365d");
    }

    #[test]
    fn later_saturates_instead_of_panicking() {
        let now = tokio::time::Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert_eq!(later(now, Duration::MAX), now + FAR);
    }

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn durations_format_short_with_units() {
        for (secs, want) in [
            (0.0, "0ms"),
            (0.0421, "42ms"),
            (0.8, "800ms"),
            (1.0, "1s"),
            (1.2, "1.2s"),
            (2.346, "2.346s"),
            (61.005, "1m01.005s"),
            (65.2, "1m05.2s"),
            (120.0, "2m00s"),
            (f64::NAN, "?"),
            (-1.0, "?"),
        ] {
            assert_eq!(format_seconds(secs), want, "{secs}");
        }
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.234s");
    }
}
