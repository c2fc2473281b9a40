//! Persistence series: whether each database is up, runs lost from the history (by
//! reason), and alert state or notifications that could only be kept in memory.
//!
//! Every series exists from the start at 0 (and `journeyd_store_up` at 1), so rules
//! using `increase()` see the first loss, and the label sets stay closed
//! ([`DROP_REASONS`], [`DATABASES`]).

use super::Metrics;
use super::families::{DATABASES, DROP_REASONS, Families};
use crate::store::{Database, StoreStatus};

/// Creates the series at their initial values.
pub(super) fn declare(families: &Families) {
    let d = &families.daemon;
    for reason in DROP_REASONS {
        d.store_dropped.with_label_values(&[reason]);
    }
    for database in DATABASES {
        d.store_up.with_label_values(&[database]).set(1);
    }
}

impl Metrics {
    /// The run history's queue depth, lost runs and health, from [`Store::status`]
    /// (running totals: the counters grow by the difference since the last call).
    ///
    /// [`Store::status`]: crate::store::Store::status
    pub fn observe_store(&self, status: &StoreStatus) {
        let d = &self.families.daemon;
        d.store_queue_depth
            .set(i64::try_from(status.queue_depth).unwrap_or(i64::MAX));
        self.set_store_up(Database::RunHistory, status.up);
        let mut state = self.lock();
        let totals = [status.dropped_queue_full, status.write_failed];
        for ((reason, now), before) in DROP_REASONS
            .into_iter()
            .zip(totals)
            .zip(state.dropped_total.iter_mut())
        {
            // A total lower than before (store reopened) adds nothing: counters never go down.
            d.store_dropped
                .with_label_values(&[reason])
                .inc_by(now.saturating_sub(*before));
            *before = now;
        }
    }

    /// `journeyd_store_up{database}`.
    pub fn set_store_up(&self, database: Database, up: bool) {
        self.families
            .daemon
            .store_up
            .with_label_values(&[database.as_label()])
            .set(i64::from(up));
    }

    /// One alert commit (or re-send) that could not be written and was kept in memory.
    pub fn alert_commit_failed(&self) {
        self.families.daemon.alert_commit_failures.inc();
    }

    /// Notifications kept only in memory.
    pub fn set_alert_notifications_in_memory(&self, n: u64) {
        self.families
            .daemon
            .alert_in_memory
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Notifications dropped because memory was full too.
    pub fn alert_notifications_lost(&self, n: u64) {
        self.families.daemon.alert_lost.inc_by(n);
    }
}
