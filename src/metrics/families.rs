//! The metric families: every name, help text, label set and bucket layout, defined once,
//! plus the label value combinations needed to delete a journey's or a step's series.

use std::collections::BTreeSet;

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Registry,
};

use super::register::{counter_vec, gauge_vec, histogram_vec, int_gauge_vec, register};
use crate::runner::FailureClass;

/// Whole runs, exported for every journey: few buckets (the series budget, docs/metrics.md),
/// 500 ms to 2 minutes (the longest sensible journey timeout).
const JOURNEY_BUCKETS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
/// Single steps, exported only with `metrics.step_detail`: 5 ms to 2 minutes.
const STEP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];
/// Back-end processes (`eventually`): 500 ms to an hour, ten buckets.
const COMPLETION_BUCKETS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// Scheduling lag: a healthy scheduler is late by milliseconds; seconds mean starvation.
const LAG_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Notification delivery, from queueing to acceptance: 10 ms (a healthy receiver) to an
/// hour (a receiver that was down, with retries backing off).
const DELIVERY_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0,
];

/// Label names journeyd sets itself; the daemon's static labels may not reuse them.
pub(super) use crate::labels::RESERVED as OWN_LABELS;
/// Values of `reason` on `journeyd_store_dropped_runs_total`: the queue stayed full (or
/// the writer was gone), or the write itself failed (disk full, I/O error, corrupt file,
/// database not open).
pub(super) const DROP_REASONS: [&str; 2] = ["queue_full", "write_failed"];
/// Values of `database` on `journeyd_store_up`.
pub(super) const DATABASES: [&str; 2] = ["run_history", "alerts"];
/// Values of `result` on `journeyd_journey_runs_total`.
pub(super) const RESULTS: [&str; 2] = ["pass", "fail"];
/// Values of `result` on `journeyd_notifications_total`.
pub(super) const NOTIFICATION_RESULTS: [&str; 3] = ["delivered", "retry", "dropped"];
/// Values of `phase` on `journeyd_step_http_duration_seconds`, in `PhaseTimings` order.
pub(super) const PHASES: [&str; 4] = ["resolve", "connect", "processing", "transfer"];

/// Families labelled by journey only (plus a closed set).
pub(super) struct JourneyFamilies {
    pub runs: IntCounterVec,
    pub duration: HistogramVec,
    pub success: IntGaugeVec,
    pub degraded: IntGaugeVec,
    pub last_run: GaugeVec,
    pub last_success: GaugeVec,
    pub skipped: IntCounterVec,
    pub cert_not_after: GaugeVec,
}

impl JourneyFamilies {
    fn new(r: &Registry) -> prometheus::Result<Self> {
        let j = &["journey"];
        Ok(Self {
            runs: counter_vec(
                r,
                "journeyd_journey_runs_total",
                "Finished journey runs by result (pass or fail).",
                &["journey", "result"],
            )?,
            duration: histogram_vec(
                r,
                "journeyd_journey_duration_seconds",
                "Wall time of a journey run, steps and cleanup, in seconds.",
                j,
                JOURNEY_BUCKETS,
            )?,
            success: int_gauge_vec(
                r,
                "journeyd_journey_success",
                "1 when the last run of the journey passed, 0 when it failed.",
                j,
            )?,
            degraded: int_gauge_vec(
                r,
                "journeyd_journey_degraded",
                "1 when the last run passed but a step was slower than its warning threshold.",
                j,
            )?,
            last_run: gauge_vec(
                r,
                "journeyd_journey_last_run_timestamp_seconds",
                "Unix time at which the last run of the journey finished.",
                j,
            )?,
            last_success: gauge_vec(
                r,
                "journeyd_journey_last_success_timestamp_seconds",
                "Unix time at which the last passing run of the journey finished.",
                j,
            )?,
            skipped: counter_vec(
                r,
                "journeyd_runs_skipped_total",
                "Runs that were due but not started, by reason (overlap, shutdown, concurrency).",
                &["journey", "reason"],
            )?,
            cert_not_after: gauge_vec(
                r,
                "journeyd_tls_cert_not_after_timestamp_seconds",
                "Unix time at which the first-expiring peer certificate seen by the journey's last run expires.",
                j,
            )?,
        })
    }

    /// Deletes every series of `journey`; `reasons` are the skip reasons it has used.
    pub fn remove(&self, journey: &str, reasons: &BTreeSet<String>) {
        // Errors only mean "no such series": nothing to delete.
        for result in RESULTS {
            let _ = self.runs.remove_label_values(&[journey, result]);
        }
        for reason in reasons {
            let _ = self
                .skipped
                .remove_label_values(&[journey, reason.as_str()]);
        }
        let _ = self.duration.remove_label_values(&[journey]);
        for g in [&self.success, &self.degraded] {
            let _ = g.remove_label_values(&[journey]);
        }
        for g in [&self.last_run, &self.last_success, &self.cert_not_after] {
            let _ = g.remove_label_values(&[journey]);
        }
    }
}

/// Families labelled by journey and step. `duration`, `http` and `attempts` are the
/// per-step detail: registered always, filled only with `metrics.step_detail`.
pub(super) struct StepFamilies {
    pub success: IntGaugeVec,
    pub duration: HistogramVec,
    pub failures: IntCounterVec,
    pub retries: IntCounterVec,
    pub http: GaugeVec,
    pub attempts: IntGaugeVec,
    pub completion: HistogramVec,
}

impl StepFamilies {
    fn new(r: &Registry) -> prometheus::Result<Self> {
        let js = &["journey", "step"];
        Ok(Self {
            success: int_gauge_vec(
                r,
                "journeyd_step_success",
                "1 when the step passed on its last run, 0 when it failed; skipped steps keep their value.",
                js,
            )?,
            duration: histogram_vec(
                r,
                "journeyd_step_duration_seconds",
                "Wall time of a step, all attempts, in seconds (metrics.step_detail).",
                js,
                STEP_BUCKETS,
            )?,
            failures: counter_vec(
                r,
                "journeyd_step_failures_total",
                "Step failures by failure class.",
                &["journey", "step", "class"],
            )?,
            retries: counter_vec(
                r,
                "journeyd_step_retries_total",
                "Requests sent again after a transient fault, by the fault's class (created at the first retry).",
                &["journey", "step", "reason"],
            )?,
            http: gauge_vec(
                r,
                "journeyd_step_http_duration_seconds",
                "Phases of the step's last request on its last run, in seconds; connect includes TLS (metrics.step_detail).",
                &["journey", "step", "phase"],
            )?,
            attempts: int_gauge_vec(
                r,
                "journeyd_step_attempts",
                "Requests the step sent on its last run, more than one for eventually steps (metrics.step_detail).",
                js,
            )?,
            completion: histogram_vec(
                r,
                "journeyd_backend_completion_seconds",
                "How long the back-end process took to finish, for eventually steps that passed, in seconds.",
                &["journey", "step", "backend"],
                COMPLETION_BUCKETS,
            )?,
        })
    }

    /// Deletes every series of one step; `backend` is the one it proved.
    pub fn remove(&self, journey: &str, step: &str, backend: Option<&str>) {
        // Errors only mean "no such series": nothing to delete.
        for class in FailureClass::ALL {
            let _ = self
                .failures
                .remove_label_values(&[journey, step, class.as_str()]);
            let _ = self
                .retries
                .remove_label_values(&[journey, step, class.as_str()]);
        }
        for phase in PHASES {
            let _ = self.http.remove_label_values(&[journey, step, phase]);
        }
        if let Some(backend) = backend {
            self.remove_completion(journey, step, backend);
        }
        let _ = self.duration.remove_label_values(&[journey, step]);
        for g in [&self.success, &self.attempts] {
            let _ = g.remove_label_values(&[journey, step]);
        }
    }

    /// Deletes the completion histogram of a step for one backend.
    pub fn remove_completion(&self, journey: &str, step: &str, backend: &str) {
        let _ = self
            .completion
            .remove_label_values(&[journey, step, backend]);
    }
}

/// Families about the daemon itself.
pub(super) struct DaemonFamilies {
    pub backend_up: IntGaugeVec,
    pub scheduling_lag: Histogram,
    pub store_queue_depth: IntGauge,
    pub store_dropped: IntCounterVec,
    pub store_up: IntGaugeVec,
    pub alert_commit_failures: IntCounter,
    pub alert_in_memory: IntGauge,
    pub alert_lost: IntCounter,
    pub reload_ok: IntGauge,
    pub reload_time: Gauge,
    pub build_info: IntGaugeVec,
    pub journeys: IntGauge,
}

impl DaemonFamilies {
    fn new(r: &Registry) -> prometheus::Result<Self> {
        let lag = HistogramOpts::new(
            "journeyd_scheduling_lag_seconds",
            "How late runs started compared with their schedule, in seconds.",
        )
        .buckets(LAG_BUCKETS.to_vec());
        Ok(Self {
            backend_up: int_gauge_vec(
                r,
                "journeyd_backend_up",
                "1 when every step proving the back-end process passed on its last run, 0 otherwise.",
                &["backend"],
            )?,
            scheduling_lag: register(r, Histogram::with_opts(lag)?)?,
            store_queue_depth: register(
                r,
                IntGauge::new(
                    "journeyd_store_queue_depth",
                    "Runs waiting to be written to the store.",
                )?,
            )?,
            store_dropped: counter_vec(
                r,
                "journeyd_store_dropped_runs_total",
                "Runs lost from the history, by reason: queue_full (the write queue stayed full), write_failed (disk full, I/O error, corrupt or unopened database).",
                &["reason"],
            )?,
            store_up: int_gauge_vec(
                r,
                "journeyd_store_up",
                "1 when the database is open and its last write succeeded, 0 when it cannot be opened or written (journeyd keeps monitoring from memory).",
                &["database"],
            )?,
            alert_commit_failures: register(
                r,
                IntCounter::new(
                    "journeyd_alert_commit_failures_total",
                    "Alert state changes and notifications that could not be written to the alert database and were kept in memory.",
                )?,
            )?,
            alert_in_memory: register(
                r,
                IntGauge::new(
                    "journeyd_alert_notifications_in_memory",
                    "Notifications kept only in memory because the alert database cannot be written; a restart loses them.",
                )?,
            )?,
            alert_lost: register(
                r,
                IntCounter::new(
                    "journeyd_alert_notifications_lost_total",
                    "Notifications dropped because the alert database could not be written and the in-memory queue was full.",
                )?,
            )?,
            reload_ok: register(
                r,
                IntGauge::new(
                    "journeyd_config_last_reload_successful",
                    "1 when the last configuration reload succeeded, 0 when it failed or none happened yet.",
                )?,
            )?,
            reload_time: register(
                r,
                Gauge::new(
                    "journeyd_config_last_reload_success_timestamp_seconds",
                    "Unix time of the last successful configuration reload.",
                )?,
            )?,
            build_info: int_gauge_vec(
                r,
                "journeyd_build_info",
                "Always 1; the version label carries the journeyd version.",
                &["version"],
            )?,
            journeys: register(
                r,
                IntGauge::new("journeyd_journeys", "Number of journeys configured.")?,
            )?,
        })
    }
}

/// Alerting: notification delivery per receiver, alert state per journey.
pub(super) struct AlertFamilies {
    pub notifications: IntCounterVec,
    pub queue_depth: IntGaugeVec,
    pub delivery: HistogramVec,
    pub state: IntGaugeVec,
    pub deploy_last: GaugeVec,
}

impl AlertFamilies {
    fn new(r: &Registry) -> prometheus::Result<Self> {
        let receiver = &["receiver"];
        Ok(Self {
            notifications: counter_vec(
                r,
                "journeyd_notifications_total",
                "Notification delivery attempts by result: delivered, retry (failed, tried again later), dropped (rejected for good).",
                &["receiver", "result"],
            )?,
            queue_depth: int_gauge_vec(
                r,
                "journeyd_notification_queue_depth",
                "Notifications stored and not yet accepted by the receiver.",
                receiver,
            )?,
            delivery: histogram_vec(
                r,
                "journeyd_notification_delivery_seconds",
                "Time from queueing a notification to its acceptance by the receiver, retries included, in seconds.",
                receiver,
                DELIVERY_BUCKETS,
            )?,
            state: int_gauge_vec(
                r,
                "journeyd_alert_state",
                "Alert state of the journey: 0 ok, 1 pending (failing, below the threshold), 2 firing.",
                &["journey"],
            )?,
            deploy_last: gauge_vec(
                r,
                "journeyd_deploy_last_timestamp_seconds",
                "Unix time of the last deploy recorded through the API, by back-end (\"*\": a deploy naming no back-end).",
                &["backend"],
            )?,
        })
    }

    /// Deletes every series of one receiver.
    pub fn remove_receiver(&self, receiver: &str) {
        // Errors only mean "no such series": nothing to delete.
        for result in NOTIFICATION_RESULTS {
            let _ = self.notifications.remove_label_values(&[receiver, result]);
        }
        let _ = self.queue_depth.remove_label_values(&[receiver]);
        let _ = self.delivery.remove_label_values(&[receiver]);
    }
}

/// Every family registered in one registry (except `journeyd_journey_info`, see `info.rs`).
pub(super) struct Families {
    pub journey: JourneyFamilies,
    pub step: StepFamilies,
    pub daemon: DaemonFamilies,
    pub alert: AlertFamilies,
}

impl Families {
    /// Creates and registers every family in `r`.
    pub fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            journey: JourneyFamilies::new(r)?,
            step: StepFamilies::new(r)?,
            daemon: DaemonFamilies::new(r)?,
            alert: AlertFamilies::new(r)?,
        })
    }
}
