//! Alerting series: notification delivery per receiver and the alert state of
//! each journey.
//!
//! Like journeys, receivers are declared ([`Metrics::set_receivers`]): their
//! counters are born at 0 so `increase()` sees the first failure, the series
//! of receivers removed by a reload are deleted, and updates for undeclared
//! receivers are ignored so a worker finishing after a reload cannot bring a
//! deleted series back. `journeyd_alert_state` follows the journeys declared
//! by [`Metrics::set_journeys`].

use super::Metrics;
use super::families::NOTIFICATION_RESULTS;

/// The values `journeyd_alert_state` can take: a closed set owned by the
/// metrics, so the registry does not depend on the alert engine's types (the
/// engine maps its own phase onto this, see `crate::alert::state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertLevel {
    /// Passing: 0.
    Ok,
    /// Failing below the threshold: 1.
    Pending,
    /// Alert firing: 2.
    Firing,
}

impl AlertLevel {
    /// Every level, in gauge order.
    pub const ALL: [AlertLevel; 3] = [AlertLevel::Ok, AlertLevel::Pending, AlertLevel::Firing];

    /// The name used in documentation and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Ok => "ok",
            AlertLevel::Pending => "pending",
            AlertLevel::Firing => "firing",
        }
    }

    /// The gauge value exported for this level.
    pub fn gauge(self) -> i64 {
        match self {
            AlertLevel::Ok => 0,
            AlertLevel::Pending => 1,
            AlertLevel::Firing => 2,
        }
    }
}

impl Metrics {
    /// Declares the receivers currently configured: creates their series at 0
    /// and deletes the series of receivers no longer present.
    pub fn set_receivers(&self, names: &[String]) {
        let f = &self.families.alert;
        let mut state = self.lock();
        for gone in state.receivers.iter().filter(|r| !names.contains(r)) {
            f.remove_receiver(gone);
        }
        for name in names {
            for result in NOTIFICATION_RESULTS {
                f.notifications.with_label_values(&[name.as_str(), result]);
            }
            if !state.receivers.contains(name) {
                f.queue_depth.with_label_values(&[name.as_str()]).set(0);
            }
        }
        state.receivers = names.iter().cloned().collect();
    }

    /// Counts one delivery attempt of `receiver`; `result` is `delivered`, `retry`
    /// (failed, tried again later) or `dropped` (rejected for good).
    pub fn notification(&self, receiver: &str, result: &str) {
        if !NOTIFICATION_RESULTS.contains(&result) {
            tracing::debug!(receiver = %receiver, result = %result, "Unknown notification result not exported.");
            return;
        }
        // The lock is held while updating, so a concurrent `set_receivers` cannot
        // delete the series in between and see it come back.
        let state = self.lock();
        if state.receivers.contains(receiver) {
            self.families
                .alert
                .notifications
                .with_label_values(&[receiver, result])
                .inc();
        }
    }

    /// Notifications stored for `receiver` and not yet accepted.
    pub fn set_notification_queue(&self, receiver: &str, depth: u64) {
        let state = self.lock();
        if state.receivers.contains(receiver) {
            self.families
                .alert
                .queue_depth
                .with_label_values(&[receiver])
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
    }

    /// Time from queueing a notification to its acceptance by `receiver`.
    pub fn observe_delivery(&self, receiver: &str, seconds: f64) {
        let state = self.lock();
        if seconds.is_finite() && state.receivers.contains(receiver) {
            self.families
                .alert
                .delivery
                .with_label_values(&[receiver])
                .observe(seconds.max(0.0));
        }
    }

    /// `journeyd_alert_state{journey}`: 0 ok, 1 pending, 2 firing. Journeys not
    /// declared by the last [`Metrics::set_journeys`] are ignored.
    pub fn set_alert_state(&self, journey: &str, level: AlertLevel) {
        let value = level.gauge();
        if let Some(series) = self.lock().series.get_mut(journey) {
            series.alert_state = Some(value);
        }
    }

    /// `journeyd_deploy_last_timestamp_seconds{backend}`: a deploy recorded at
    /// `at` (Unix seconds) touched `backend` (`*` for a deploy naming none).
    /// Callers pass only back-ends of configured journeys (or `*`), which keeps
    /// the label set bounded although the API accepts any name.
    pub fn deploy_recorded(&self, backend: &str, at: f64) {
        if at.is_finite() {
            self.families
                .alert
                .deploy_last
                .with_label_values(&[backend])
                .set(at);
        }
    }
}
