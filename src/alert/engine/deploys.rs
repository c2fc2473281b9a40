//! Naming the deploy a journey started failing after: a `JourneyFailing`
//! alert that started within `alerting.deploy_window` after a deploy touching
//! the journey's back-ends (or a deploy naming none) gets a `deploy`
//! annotation, e.g. "started failing 2m after deploy payment v1.4.2 (service
//! checkout)".
//!
//! Looked up here rather than in the pure state machine, which knows nothing
//! of the database. The tracker rebuilds the alert's annotations on every
//! failing run, so this runs after each one while the alert fires; the answer
//! is stable because it depends only on the alert's start.

use chrono::{DateTime, TimeDelta, Utc};

use super::AlertEngine;
use crate::alert::outbox::{Deploy, MAX_DEPLOYS};
use crate::alert::state::AlertTracker;

/// The annotation's key.
pub const ANNOTATION: &str = "deploy";

impl AlertEngine {
    /// Adds the [`ANNOTATION`] to the firing alert of `journey`, if a deploy explains it.
    pub(super) async fn annotate_deploy(&self, journey: &str, tracker: &mut AlertTracker) {
        let Some(alert) = tracker.firing.as_mut() else {
            return;
        };
        let window = TimeDelta::from_std(self.config.deploy_window).unwrap_or(TimeDelta::MAX);
        let start = alert.starts_at;
        let from = start
            .checked_sub_signed(window)
            .unwrap_or(DateTime::UNIX_EPOCH);
        let limit = u32::try_from(MAX_DEPLOYS).unwrap_or(u32::MAX);
        let deploys = match self.db.deploys_between(from, start, limit).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(journey, error = %e, "Cannot read deploys; the alert will not name one.");
                return;
            }
        };
        let backend = alert.labels.get("backend").map(String::as_str);
        if let Some(d) = deploys.iter().find(|d| d.touches(journey, backend)) {
            alert
                .annotations
                .insert(ANNOTATION.into(), eval_annotation(d, start));
        }
    }
}

/// "started failing 2m after deploy payment v1.4.2 (service checkout)".
pub fn eval_annotation(d: &Deploy, started: DateTime<Utc>) -> String {
    after_deploy("started failing", d, started)
}

/// "`verb` 2m after deploy payment v1.4.2 (service checkout)": the one wording of
/// a deploy for alerts and run pages.
pub fn after_deploy(verb: &str, d: &Deploy, started: DateTime<Utc>) -> String {
    let what = if d.backends.is_empty() {
        "all back-ends".to_string()
    } else {
        d.backends.join(",")
    };
    format!(
        "{verb} {} after deploy {what} {} (service {})",
        eval_after(started - d.at),
        d.version,
        d.service
    )
}

/// Whole seconds, minutes or hours and minutes: `45s`, `2m`, `1h5m`.
pub fn eval_after(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ if s % 3600 < 60 => format!("{}h", s / 3600),
        _ => format!("{}h{}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(backends: &[&str], journeys: &[&str]) -> Deploy {
        Deploy {
            id: 1,
            at: DateTime::from_timestamp(1_000_000, 0).unwrap(),
            service: "checkout".into(),
            backends: backends.iter().map(|s| s.to_string()).collect(),
            journeys: journeys.iter().map(|s| s.to_string()).collect(),
            version: "v1.4.2".into(),
            description: String::new(),
        }
    }

    #[test]
    fn annotation_names_backends_version_service_and_delay() {
        let d = deploy(&["payment"], &["purchase"]);
        let started = d.at + TimeDelta::seconds(150);
        assert_eq!(
            eval_annotation(&d, started),
            "started failing 2m after deploy payment v1.4.2 (service checkout)"
        );
        let all = deploy(&[], &[]);
        assert_eq!(
            eval_annotation(&all, all.at + TimeDelta::seconds(3)),
            "started failing 3s after deploy all back-ends v1.4.2 (service checkout)"
        );
    }

    #[test]
    fn delays_read_in_the_largest_units() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (3599, "59m"),
            (3600, "1h"),
            (3900, "1h5m"),
            (-5, "0s"),
        ] {
            assert_eq!(eval_after(TimeDelta::seconds(secs)), text, "{secs}s");
        }
    }

    #[test]
    fn a_deploy_touches_its_journeys_its_backends_or_everything() {
        let d = deploy(&["payment"], &["purchase"]);
        assert!(d.touches("purchase", None));
        assert!(d.touches("refund", Some("payment")));
        assert!(!d.touches("browse", Some("catalog")));
        assert!(!d.touches("browse", None));
        assert!(deploy(&[], &[]).touches("browse", None));
    }
}
