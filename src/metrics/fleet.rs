//! Fleet series (docs/scaling.md): live replicas in this replica's location,
//! journeys it owns, lease renewals that failed, and ownership changes. All
//! exist from the start (0 without a fleet), so `increase()` sees the first.
//! The alerting leader adds, per location, whether its network is up, and
//! per journey, how many locations see it failing.

use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use super::Metrics;
use super::register::register;

/// The fleet's families.
pub(super) struct FleetFamilies {
    members: IntGauge,
    owned: IntGauge,
    renew_failures: IntCounter,
    ownership_changes: IntCounter,
    location_up: IntGaugeVec,
    locations_failing: IntGaugeVec,
    leader: IntGauge,
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
            leader: register(
                r,
                IntGauge::with_opts(Opts::new(
                    "journeyd_fleet_alerting_leader",
                    "1 while this replica holds the fleet's alerting role (runs the alert engine and delivers).",
                ))?,
            )?,
            location_up: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "journeyd_location_up",
                        "1 while a location's journeys do not all fail at DNS/connect (on the alerting leader).",
                    ),
                    &["location"],
                )?,
            )?,
            locations_failing: register(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "journeyd_alert_locations_failing",
                        "Voting locations whose own alert for the journey fires (on the alerting leader).",
                    ),
                    &["journey"],
                )?,
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

    /// `journeyd_fleet_alerting_leader`.
    pub fn set_alerting_leader(&self, leads: bool) {
        self.families.fleet.leader.set(i64::from(leads));
    }

    /// `journeyd_location_up{location}`: locations come from the fleet's
    /// configuration, a handful.
    pub fn set_location_up(&self, location: &str, up: bool) {
        let f = &self.families.fleet;
        f.location_up
            .with_label_values(&[location])
            .set(i64::from(up));
    }

    /// `journeyd_alert_locations_failing{journey}`.
    pub fn set_alert_locations_failing(&self, journey: &str, n: usize) {
        let f = &self.families.fleet;
        f.locations_failing
            .with_label_values(&[journey])
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Drops a removed journey's `journeyd_alert_locations_failing`.
    pub fn remove_alert_locations_failing(&self, journey: &str) {
        let _ = self
            .families
            .fleet
            .locations_failing
            .remove_label_values(&[journey]);
    }
}
