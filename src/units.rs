//! Durations and sizes as people write and read them: the parsers shared by
//! journey and config validation, and the one duration formatter every output
//! (text report, assertion messages, status page) uses: `42ms`, `2.35s`, `1m05s`.

use std::time::Duration;

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
}

/// Parses `30s`, `800ms`, `2m`, `1h 30m`. Zero is rejected: every duration in
/// journeyd is a timeout or an interval, and zero would mean "never" or "always".
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| UnitError::Duration(text.to_string()))?;
    if d.is_zero() {
        return Err(UnitError::Zero {
            kind: "duration",
            text: text.to_string(),
        });
    }
    Ok(d)
}

/// Parses a byte size: a number of bytes, or a number with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || UnitError::Size(text.to_string());
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
            text: text.to_string(),
        });
    }
    Ok(size)
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
