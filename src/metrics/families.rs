//! The metric families: every name, help text, label set and bucket layout, defined once.
//! Daemon-wide families are registered in the `prometheus` registry; per-journey families
//! are [`Def`]s whose series `series.rs` holds and `expose.rs` writes.

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Registry,
};

use super::register::{counter_vec, gauge_vec, histogram_vec, int_gauge_vec, register};

/// Whole runs, exported for every journey: few buckets (the series budget, docs/metrics.md),
/// 500 ms to 2 minutes (the longest sensible journey timeout).
pub(super) const JOURNEY_BUCKETS: &[f64] = &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
/// Single steps, exported only with `metrics.step_detail`: 5 ms to 2 minutes.
pub(super) const STEP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];
/// Back-end processes (`eventually`): 500 ms to an hour, ten buckets.
pub(super) const COMPLETION_BUCKETS: &[f64] =
    &[0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
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

/// How a family journeyd writes itself (see `expose.rs`) is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Which per-journey family a [`Def`] is (the exposition matches on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fam {
    AlertState,
    BackendCompletion,
    JourneyDegraded,
    JourneyDuration,
    JourneyInfo,
    JourneyLastRun,
    JourneyLastSuccess,
    JourneyRuns,
    JourneySuccess,
    RunsSkipped,
    StepAttempts,
    StepDuration,
    StepFailures,
    StepHttp,
    StepRetries,
    StepSuccess,
    TlsCertNotAfter,
}

/// A per-journey family: its series live in `series.rs`, not in the registry (a scrape
/// of 10,000 journeys through `gather()` cost 0.6 s of CPU). Labels, in sorted order,
/// are listed on each definition; every series also carries the static labels.
#[derive(Debug)]
pub(super) struct Def {
    pub fam: Fam,
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// Histogram bucket bounds (`+Inf` is implied).
    pub buckets: &'static [f64],
}

const fn def(fam: Fam, name: &'static str, kind: Kind, help: &'static str) -> Def {
    Def {
        fam,
        name,
        help,
        kind,
        buckets: &[],
    }
}

/// `journey`, `result`.
pub(super) const JOURNEY_RUNS: Def = def(
    Fam::JourneyRuns,
    "journeyd_journey_runs_total",
    Kind::Counter,
    "Finished journey runs by result (pass or fail).",
);
/// `journey`.
pub(super) const JOURNEY_DURATION: Def = Def {
    buckets: JOURNEY_BUCKETS,
    ..def(
        Fam::JourneyDuration,
        "journeyd_journey_duration_seconds",
        Kind::Histogram,
        "Wall time of a journey run, steps and cleanup, in seconds.",
    )
};
/// `journey`.
pub(super) const JOURNEY_SUCCESS: Def = def(
    Fam::JourneySuccess,
    "journeyd_journey_success",
    Kind::Gauge,
    "1 when the last run of the journey passed, 0 when it failed.",
);
/// `journey`.
pub(super) const JOURNEY_DEGRADED: Def = def(
    Fam::JourneyDegraded,
    "journeyd_journey_degraded",
    Kind::Gauge,
    "1 when the last run passed but a step was slower than its warning threshold.",
);
/// `journey`.
pub(super) const JOURNEY_LAST_RUN: Def = def(
    Fam::JourneyLastRun,
    "journeyd_journey_last_run_timestamp_seconds",
    Kind::Gauge,
    "Unix time at which the last run of the journey finished.",
);
/// `journey`.
pub(super) const JOURNEY_LAST_SUCCESS: Def = def(
    Fam::JourneyLastSuccess,
    "journeyd_journey_last_success_timestamp_seconds",
    Kind::Gauge,
    "Unix time at which the last passing run of the journey finished.",
);
/// `journey`, `reason`.
pub(super) const RUNS_SKIPPED: Def = def(
    Fam::RunsSkipped,
    "journeyd_runs_skipped_total",
    Kind::Counter,
    "Runs that were due but not started, by reason (overlap, shutdown, concurrency).",
);
/// `journey`.
pub(super) const TLS_CERT_NOT_AFTER: Def = def(
    Fam::TlsCertNotAfter,
    "journeyd_tls_cert_not_after_timestamp_seconds",
    Kind::Gauge,
    "Unix time at which the first-expiring peer certificate seen by the journey's last run expires.",
);
/// `journey` and the journeys' static label keys (see `info.rs`).
pub(super) const JOURNEY_INFO: Def = def(
    Fam::JourneyInfo,
    "journeyd_journey_info",
    Kind::Gauge,
    "Always 1; the labels carry the journey's static labels (empty when unset).",
);
/// `journey`.
pub(super) const ALERT_STATE: Def = def(
    Fam::AlertState,
    "journeyd_alert_state",
    Kind::Gauge,
    "Alert state of the journey: 0 ok, 1 pending (failing, below the threshold), 2 firing.",
);
/// `journey`, `step`.
pub(super) const STEP_SUCCESS: Def = def(
    Fam::StepSuccess,
    "journeyd_step_success",
    Kind::Gauge,
    "1 when the step passed on its last run, 0 when it failed; skipped steps keep their value.",
);
/// `journey`, `step` (metrics.step_detail).
pub(super) const STEP_DURATION: Def = Def {
    buckets: STEP_BUCKETS,
    ..def(
        Fam::StepDuration,
        "journeyd_step_duration_seconds",
        Kind::Histogram,
        "Wall time of a step, all attempts, in seconds (metrics.step_detail).",
    )
};
/// `class`, `journey`, `step`.
pub(super) const STEP_FAILURES: Def = def(
    Fam::StepFailures,
    "journeyd_step_failures_total",
    Kind::Counter,
    "Step failures by failure class.",
);
/// `journey`, `reason`, `step`.
pub(super) const STEP_RETRIES: Def = def(
    Fam::StepRetries,
    "journeyd_step_retries_total",
    Kind::Counter,
    "Requests sent again after a transient fault, by the fault's class (created at the first retry).",
);
/// `journey`, `phase`, `step` (metrics.step_detail).
pub(super) const STEP_HTTP: Def = def(
    Fam::StepHttp,
    "journeyd_step_http_duration_seconds",
    Kind::Gauge,
    "Phases of the step's last request on its last run, in seconds; connect includes TLS (metrics.step_detail).",
);
/// `journey`, `step` (metrics.step_detail).
pub(super) const STEP_ATTEMPTS: Def = def(
    Fam::StepAttempts,
    "journeyd_step_attempts",
    Kind::Gauge,
    "Requests the step sent on its last run, more than one for eventually steps (metrics.step_detail).",
);
/// `backend`, `journey`, `step`.
pub(super) const BACKEND_COMPLETION: Def = Def {
    buckets: COMPLETION_BUCKETS,
    ..def(
        Fam::BackendCompletion,
        "journeyd_backend_completion_seconds",
        Kind::Histogram,
        "How long the back-end process took to finish, for eventually steps that passed, in seconds.",
    )
};

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

/// Alerting: notification delivery per receiver (the alert state per journey is
/// [`ALERT_STATE`]).
pub(super) struct AlertFamilies {
    pub notifications: IntCounterVec,
    pub queue_depth: IntGaugeVec,
    pub delivery: HistogramVec,
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

/// Work that outlives a run: cleanup still owed, obligations of durable steps.
pub(super) struct DurableFamilies {
    pub cleanup_pending: IntGauge,
    pub cleanup_abandoned: IntCounterVec,
    pub obligations: GaugeVec,
    pub obligations_finished: IntCounterVec,
    pub obligation_oldest: GaugeVec,
}

impl DurableFamilies {
    fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            cleanup_pending: register(
                r,
                IntGauge::new(
                    "journeyd_cleanup_pending",
                    "Cleanups owed by runs that could not finish them (crash, shutdown, failed cleanup request), retried in the background.",
                )?,
            )?,
            cleanup_abandoned: counter_vec(
                r,
                "journeyd_cleanup_abandoned_total",
                "Cleanups given up after the retention limit: test data left behind in the target.",
                &["journey"],
            )?,
            obligations: gauge_vec(
                r,
                "journeyd_obligations",
                "Obligations of durable steps in journeyd.db by state: pending now; fulfilled, failed and breached as kept (a week).",
                &["state"],
            )?,
            obligations_finished: counter_vec(
                r,
                "journeyd_obligations_finished_total",
                "Obligations finished since journeyd started, by state (fulfilled, failed, breached).",
                &["state"],
            )?,
            obligation_oldest: gauge_vec(
                r,
                "journeyd_obligation_oldest_pending_seconds",
                "Age of the oldest pending obligation per back-end.",
                &["backend"],
            )?,
        })
    }
}

/// Every family registered in the registry (the daemon-wide ones; per-journey families
/// are the [`Def`]s above).
pub(super) struct Families {
    pub daemon: DaemonFamilies,
    pub alert: AlertFamilies,
    pub durable: DurableFamilies,
    pub fleet: super::fleet::FleetFamilies,
}

impl Families {
    /// Creates and registers every family in `r`.
    pub fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            daemon: DaemonFamilies::new(r)?,
            alert: AlertFamilies::new(r)?,
            durable: DurableFamilies::new(r)?,
            fleet: super::fleet::FleetFamilies::new(r)?,
        })
    }
}
