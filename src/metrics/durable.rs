//! Series of work that outlives a run: cleanups still owed and the ones given
//! up (`journeyd_cleanup_pending`, `journeyd_cleanup_abandoned_total`).

use super::Metrics;

impl Metrics {
    /// Sets how many cleanups are pending.
    pub fn set_cleanup_pending(&self, n: u64) {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.families.durable.cleanup_pending.set(n);
    }

    /// Counts a cleanup abandoned after the retention limit.
    pub fn cleanup_abandoned(&self, journey: &str) {
        self.families
            .durable
            .cleanup_abandoned
            .with_label_values(&[journey])
            .inc();
    }
}
