//! Validated alerting configuration: policy, receivers, routes, maintenance
//! windows. Built from the daemon configuration's `alerting:` section.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};

use super::state::AlertPolicy;

/// Receivers' settings live with each receiver (one file per kind).
pub use super::receivers::{ReceiverConfig, ReceiverKind};

/// Default of `alerting.deploy_window`.
pub const DEFAULT_DEPLOY_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The `alerting:` section.
#[derive(Debug, Clone)]
pub struct AlertingConfig {
    /// Base URL of this journeyd for run links in alerts (`http://journeyd.example.com:9750`).
    pub external_url: Option<String>,
    /// Default alert policy.
    pub policy: AlertPolicy,
    /// Where alerts go. Empty: the log receiver.
    pub receivers: Vec<ReceiverConfig>,
    /// Which alerts go where; the first matching route wins. Empty: every receiver.
    pub routes: Vec<Route>,
    /// Maintenance windows: notifications are held, runs and metrics go on.
    pub maintenance: Vec<MaintenanceWindow>,
    /// A URL that must answer for journeyd to trust its own network.
    pub connectivity_check: Option<String>,
    /// Template of a link to a run's trace, `{trace_id}` replaced
    /// (`https://grafana.example.com/explore?traceId={trace_id}`): the alerts'
    /// `trace_url` annotation.
    pub trace_url: Option<String>,
    /// One `BackendFailing` page for journeys failing at the same back-end.
    pub backends: BackendGrouping,
    /// A journey that starts failing within this long after a deploy touching
    /// its back-ends names the deploy in its alert.
    pub deploy_window: Duration,
    /// How a fleet's locations vote on a journey's alert.
    pub consensus: Consensus,
}

/// Default `alerting.consensus.min_locations`.
pub const DEFAULT_MIN_LOCATIONS: usize = 2;

/// `alerting.consensus`: a journey pages when at least `min_locations` of
/// the locations that report it (capped by their number) see it failing;
/// see `crate::alert::engine::consensus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consensus {
    /// Locations that must confirm a failure (default 2).
    pub min_locations: usize,
}

impl Default for Consensus {
    fn default() -> Self {
        Self {
            min_locations: DEFAULT_MIN_LOCATIONS,
        }
    }
}

impl Default for AlertingConfig {
    fn default() -> Self {
        Self {
            external_url: None,
            policy: AlertPolicy::default(),
            receivers: Vec::new(),
            routes: Vec::new(),
            maintenance: Vec::new(),
            connectivity_check: None,
            trace_url: None,
            backends: BackendGrouping::default(),
            deploy_window: DEFAULT_DEPLOY_WINDOW,
            consensus: Consensus::default(),
        }
    }
}

/// `group_by_backend`, `backend_min_journeys`, `backend_group_wait`: when journeys
/// failing at one back-end page once, as `BackendFailing`, instead of each on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendGrouping {
    /// On unless `group_by_backend: false`.
    pub enabled: bool,
    /// Journeys failing at one back-end before they are grouped (at least 2).
    pub min_journeys: usize,
    /// How long a new page of a journey failing at a back-end that other journeys
    /// use waits for them to fail too (Alertmanager's `group_wait`).
    pub group_wait: Duration,
}

impl Default for BackendGrouping {
    fn default() -> Self {
        Self {
            enabled: true,
            min_journeys: 2,
            group_wait: Duration::from_secs(30),
        }
    }
}

/// Sends alerts whose labels match all `matchers` to `receivers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Label equality matchers; empty matches everything.
    pub matchers: BTreeMap<String, String>,
    /// Receiver names.
    pub receivers: Vec<String>,
}

impl Route {
    /// True when every matcher equals the label.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

/// When notifications are held.
#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindow {
    /// Name, for logs and the API.
    pub name: String,
    /// Which alerts it holds (label equality); empty holds all.
    pub matchers: BTreeMap<String, String>,
    /// When.
    pub schedule: Schedule,
}

/// One-off or recurring.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// From `start` to `end`.
    Once {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
    /// Every listed weekday at `start` local time, for `duration`.
    Weekly {
        /// Days it starts on (empty: every day).
        days: Vec<Weekday>,
        /// Local start time.
        start: NaiveTime,
        /// Length.
        duration: Duration,
        /// Time zone of `start`.
        tz: chrono_tz::Tz,
    },
}

impl MaintenanceWindow {
    /// Is the window open at `at` for an alert with `labels`?
    pub fn holds(&self, labels: &BTreeMap<String, String>, at: DateTime<Utc>) -> bool {
        self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v)) && self.schedule.active(at)
    }
}

impl Schedule {
    /// Is the schedule active at `at`?
    pub fn active(&self, at: DateTime<Utc>) -> bool {
        match self {
            Schedule::Once { start, end } => *start <= at && at < *end,
            Schedule::Weekly {
                days,
                start,
                duration,
                tz,
            } => {
                let local = at.with_timezone(tz);
                // A window that started on one of the last days may still be open.
                // (At most a week back: config checks the duration is at most 7d, and
                // checked date and time arithmetic keep a bad value from panicking.)
                let span_days = duration.as_secs().div_ceil(86_400).min(7);
                (0..=span_days).any(|back| {
                    let Some(day) = local.date_naive().checked_sub_days(chrono::Days::new(back))
                    else {
                        return false;
                    };
                    if !days.is_empty() && !days.contains(&day.weekday()) {
                        return false;
                    }
                    let Some(begin) = tz.from_local_datetime(&day.and_time(*start)).earliest()
                    else {
                        return false;
                    };
                    let begin = begin.with_timezone(&Utc);
                    let end = chrono::Duration::from_std(*duration)
                        .ok()
                        .and_then(|d| begin.checked_add_signed(d))
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    begin <= at && at < end
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekly_window_respects_its_time_zone_and_crosses_midnight() {
        let w = Schedule::Weekly {
            days: vec![Weekday::Mon],
            start: NaiveTime::from_hms_opt(23, 30, 0).unwrap(),
            duration: Duration::from_secs(3600),
            tz: chrono_tz::Europe::Paris,
        };
        // Monday 2026-11-23 23:30 Paris = 22:30 UTC (winter time).
        assert!(!w.active(utc("2026-11-23T22:29:00Z")));
        assert!(w.active(utc("2026-11-23T22:30:00Z")));
        assert!(
            w.active(utc("2026-11-23T23:29:00Z")),
            "still open after local midnight"
        );
        assert!(!w.active(utc("2026-11-23T23:30:00Z")));
        assert!(!w.active(utc("2026-11-24T22:45:00Z")), "not on Tuesday");
    }

    #[test]
    fn one_off_window_is_half_open() {
        let w = Schedule::Once {
            start: utc("2026-12-01T21:00:00Z"),
            end: utc("2026-12-02T01:00:00Z"),
        };
        assert!(w.active(utc("2026-12-01T21:00:00Z")));
        assert!(!w.active(utc("2026-12-02T01:00:00Z")));
    }

    #[test]
    fn routes_and_windows_match_on_labels() {
        let labels: BTreeMap<String, String> =
            [("team".to_string(), "checkout".to_string())].into();
        let r = Route {
            matchers: labels.clone(),
            receivers: vec!["pd".into()],
        };
        assert!(r.matches(&labels));
        assert!(!r.matches(&BTreeMap::new()));
        let w = MaintenanceWindow {
            name: "deploy".into(),
            matchers: [("team".to_string(), "contracts".to_string())].into(),
            schedule: Schedule::Once {
                start: utc("2026-01-01T00:00:00Z"),
                end: utc("2027-01-01T00:00:00Z"),
            },
        };
        assert!(!w.holds(&labels, utc("2026-06-01T00:00:00Z")));
    }
}
