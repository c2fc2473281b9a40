//! `[Options]` of an entry: `retry` and `retry-interval` become `eventually`
//! (Hurl re-sends the request until its asserts hold, as `eventually` does),
//! `location: true` follows redirects; every other option is reported.

use serde_json::json;

use super::convert::StepOut;
use super::parse::Entry;

/// Applies the entry's options to `out`.
pub(super) fn options(entry: &Entry, out: &mut StepOut) {
    let mut retry: Option<i64> = None;
    let mut interval_ms: u64 = 1000;
    for line in &entry.options {
        let Some((k, v)) = super::parse::key_value(&line.text) else {
            out.note(line, "expected `option: value`");
            continue;
        };
        match k.as_str() {
            "retry" => match v.parse::<i64>() {
                Ok(n) if n > 0 => retry = Some(n),
                _ => out.note(line, "only a positive `retry` count becomes `eventually` (an unbounded retry has no deadline)"),
            },
            "retry-interval" => match crate::units::parse_duration(&v).map(|d| d.as_millis() as u64).or_else(|_| v.parse::<u64>().map_err(|e| e.to_string())) {
                Ok(ms) if ms > 0 => interval_ms = ms,
                _ => out.note(line, "`retry-interval` must be milliseconds or a duration"),
            },
            "location" if v == "true" => {
                out.request.insert("follow_redirects".into(), json!(true));
            }
            _ => out.note(line, format!("option `{k}` is not converted")),
        }
    }
    if let Some(n) = retry {
        // Hurl sends the request once, then up to `retry` more times,
        // `retry-interval` apart: the same wait as `eventually`.
        let within = interval_ms.saturating_mul(n as u64).min(3_600_000);
        out.eventually =
            Some(json!({ "within": format!("{within}ms"), "every": format!("{interval_ms}ms") }));
    }
}
