//! Small value parsers shared by journey and config validation: durations,
//! byte sizes, and "did you mean" suggestions.

use std::time::Duration;

/// Parses `30s`, `800ms`, `2m`, `1h 30m`. Zero is rejected: every duration in
/// journeyd is a timeout or an interval, and zero would mean "never" or "always".
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|_| {
        format!("invalid duration `{text}`: write a number and a unit, like `30s`, `800ms`, `2m` or `1h`")
    })?;
    if d.is_zero() {
        return Err(format!("duration `{text}` must be greater than zero"));
    }
    Ok(d)
}

/// Parses a byte size: a number of bytes, or a number with `B`, `KB`, `KiB`, `MB`, `MiB`, `GB`, `GiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!(
            "invalid size `{text}`: write bytes or a number with a unit, like `1MiB` or `512KiB`"
        )
    };
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
        return Err(format!("size `{text}` must be greater than zero"));
    }
    Ok(size)
}

/// The candidate closest to `word`, when it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("800ms"), Ok(Duration::from_millis(800)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(
            parse_duration("30")
                .unwrap_err()
                .contains("write a number and a unit")
        );
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("greater than zero")
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
    fn typos_get_the_closest_key() {
        let keys = ["request", "response", "name", "capture"];
        assert_eq!(closest("requst", keys), Some("request"));
        assert_eq!(closest("captures", keys), Some("capture"));
        assert_eq!(closest("zzz", keys), None);
    }
}
