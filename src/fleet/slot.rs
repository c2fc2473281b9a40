//! A journey's slots on one grid for the whole fleet: slot `k` of a journey
//! with interval `i` starts at Unix time `k * i + offset(name)`, so every
//! replica (and the test that counts requests) names a run's slot the same
//! way. The offset spreads journeys over the interval like the scheduler's
//! phase does, without its random jitter (the slot must be exact).
//!
//! Time here is the database's clock as seen from the replica (local Unix
//! time plus the offset measured at each heartbeat), never another host's.

use std::time::Duration;

use crate::schedule::fnv1a;

fn interval_ms(interval: Duration) -> i64 {
    i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// Where in the interval the journey's slots start, in milliseconds.
pub fn offset_ms(name: &str, interval: Duration) -> i64 {
    let ms = interval_ms(interval);
    // `ms` is positive, so the remainder fits and is non-negative.
    i64::try_from(fnv1a(name) % ms.unsigned_abs()).unwrap_or(0)
}

/// The slot a run starting at `unix_ms` belongs to: the nearest grid point,
/// so a start a little early or late (timers, clock offset) names the same slot.
pub fn slot_at(name: &str, interval: Duration, unix_ms: i64) -> i64 {
    let ms = interval_ms(interval);
    let since = unix_ms.saturating_sub(offset_ms(name, interval));
    since.saturating_add(ms / 2).div_euclid(ms)
}

/// How long from `unix_ms` until the journey's next slot starts (at most one interval).
pub fn until_next(name: &str, interval: Duration, unix_ms: i64) -> Duration {
    let ms = interval_ms(interval);
    let into = unix_ms
        .saturating_sub(offset_ms(name, interval))
        .rem_euclid(ms);
    let wait = if into == 0 { 0 } else { ms - into };
    Duration::from_millis(u64::try_from(wait).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: Duration = Duration::from_secs(30);

    #[test]
    fn the_next_slot_start_names_its_slot_even_a_little_early_or_late() {
        let now = 1_750_000_012_345;
        let wait = until_next("purchase", I, now);
        assert!(wait <= I, "{wait:?}");
        let start = now + i64::try_from(wait.as_millis()).unwrap();
        let slot = slot_at("purchase", I, start);
        assert_eq!(slot_at("purchase", I, start - 900), slot);
        assert_eq!(slot_at("purchase", I, start + 900), slot);
        assert_eq!(slot_at("purchase", I, start + 30_000), slot + 1);
        assert_eq!(until_next("purchase", I, start), Duration::ZERO);
    }

    #[test]
    fn journeys_are_spread_over_the_interval() {
        let offsets: std::collections::BTreeSet<i64> = ["purchase", "contract", "app-request"]
            .iter()
            .map(|n| offset_ms(n, I))
            .collect();
        assert_eq!(offsets.len(), 3);
        assert!(offsets.iter().all(|o| (0..30_000).contains(o)));
    }
}
