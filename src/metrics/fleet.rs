//! Fleet series (docs/scaling.md): live replicas in this replica's location,
//! journeys it owns, lease renewals that failed, and ownership changes. All
//! exist from the start (0 without a fleet), so `increase()` sees the first.

use prometheus::{IntCounter, IntGauge, Opts, Registry};

use super::Metrics;
use super::register::register;

/// The fleet's families.
pub(super) struct FleetFamilies {
    members: IntGauge,
    owned: IntGauge,
    renew_failures: IntCounter,
    ownership_changes: IntCounter,
}

impl FleetFamilies {
    /// Creates and registers the families in `r`.
    pub(super) fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            members: register(
                r,
                IntGauge::with_opts(Opts::new(
                    "journeyd_fleet_members",
                    "Live replicas in this replica's location (heartbeat within the lease TTL), itself included.",
                ))?,
            )?,
            owned: register(
                r,
                IntGauge::with_opts(Opts::new(
                    "journeyd_fleet_journeys_owned",
                    "Journeys whose lease this replica holds, so runs.",
                ))?,
            )?,
            renew_failures: register(
                r,
                IntCounter::with_opts(Opts::new(
                    "journeyd_fleet_lease_renew_failures_total",
                    "Lease renewals that could not reach PostgreSQL.",
                ))?,
            )?,
            ownership_changes: register(
                r,
                IntCounter::with_opts(Opts::new(
                    "journeyd_fleet_ownership_changes_total",
                    "Journeys this replica took over, released or lost.",
                ))?,
            )?,
        })
    }
}

impl Metrics {
    /// `journeyd_fleet_members` and `journeyd_fleet_journeys_owned`.
    pub fn set_fleet(&self, members: usize, owned: usize) {
        let f = &self.families.fleet;
        f.members.set(i64::try_from(members).unwrap_or(i64::MAX));
        f.owned.set(i64::try_from(owned).unwrap_or(i64::MAX));
    }

    /// One failed lease renewal.
    pub fn fleet_renew_failed(&self) {
        self.families.fleet.renew_failures.inc();
    }

    /// `n` journeys changed hands (taken over, released, lost).
    pub fn fleet_ownership_changed(&self, n: usize) {
        self.families
            .fleet
            .ownership_changes
            .inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }
}
