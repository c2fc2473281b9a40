//! Label names: the one syntax check and the one list of names journeyd keeps
//! for itself, used by the journey parser (journey `labels`), the daemon
//! configuration (static `labels`) and the metrics registry, so a name that
//! passes `journeyd check` never fails later at start-up. Also the rule for
//! the plain names that become label values (locations, replicas), shared by
//! the configuration (`fleet:`) and the journey parser (`locations:`).

/// Location and replica names (`fleet.location`, `fleet.replica`, a journey's
/// `locations:`): label values and log fields, so short and plain.
pub fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What a valid location name is, said where one is not (`fleet.location`, `locations:`).
pub const LOCATION_RULE: &str = "a location is 1 to 64 letters, digits, `-`, `_` or `.`";

/// Label names journeyd (or the Prometheus server scraping it) puts on metrics
/// and alerts itself; neither a journey's nor the daemon's `labels` may use them.
pub const RESERVED: &[&str] = &[
    // On metric series.
    "journey",
    "step",
    "backend",
    "class",
    "phase",
    "result",
    "reason",
    "receiver",
    "version",
    "database",
    // Histogram and summary buckets.
    "le",
    "quantile",
    // On alerts.
    "alertname",
    "severity",
    // Added by Prometheus at scrape time; a series carrying them is renamed `exported_*`.
    "instance",
    "job",
];

/// Why a label name is refused; its `Display` is the message shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelNameError {
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*`, or starts with `__` (kept by Prometheus).
    #[error("label name `{0}` must match [a-zA-Z_][a-zA-Z0-9_]* and not start with `__`")]
    Syntax(String),
    /// One of [`RESERVED`].
    #[error("label `{0}` is set by journeyd itself; choose another name")]
    Reserved(String),
}

/// Checks a user-chosen label name: Prometheus syntax, not `__`-prefixed, not reserved.
pub fn check_name(name: &str) -> Result<(), LabelNameError> {
    let syntax = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if !syntax {
        Err(LabelNameError::Syntax(name.to_string()))
    } else if is_reserved(name) {
        Err(LabelNameError::Reserved(name.to_string()))
    } else {
        Ok(())
    }
}

/// Whether journeyd keeps this label name for itself.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_syntax() {
        for ok in ["team", "_x", "channel_2", "location"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "2x", "a-b", "__meta", "é"] {
            assert!(
                matches!(check_name(bad), Err(LabelNameError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_label_journeyd_sets_is_reserved() {
        for name in [
            "journey",
            "step",
            "backend",
            "class",
            "phase",
            "result",
            "reason",
            "receiver",
            "alertname",
            "severity",
            "le",
            "quantile",
            "version",
            "database",
        ] {
            assert!(
                matches!(check_name(name), Err(LabelNameError::Reserved(_))),
                "{name}"
            );
        }
    }
}
