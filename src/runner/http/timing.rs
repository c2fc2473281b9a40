//! Phase timings of the request in flight.
//!
//! Opening a connection (`conn.rs`) writes how long DNS and TCP/TLS took into the
//! client's [`TimingSlot`], hop after hop of a redirect chain. A run sends its
//! requests one after the other, so one slot per client is enough; a generation
//! number guards against a connect left over from an earlier, abandoned request
//! writing into the current request's numbers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How far the current request got before its response headers arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Stage {
    /// Nothing reported yet: a pooled connection is being reused, or nothing started.
    #[default]
    Idle,
    /// Waiting for DNS.
    Resolving,
    /// DNS done (or not needed), TCP/TLS under way.
    Connecting,
    /// A fresh connection is ready; the request is on the wire.
    Connected,
}

#[derive(Debug, Default)]
struct Phases {
    generation: u64,
    stage: Stage,
    resolve: Duration,
    /// Whole connector time, DNS included (the connector resolves inside itself).
    connect_total: Duration,
}

/// Durations collected for one request, redirect hops added up.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Collected {
    pub stage: Stage,
    pub resolve: Duration,
    /// TCP + TLS, DNS excluded.
    pub connect: Duration,
    /// DNS + TCP + TLS: what to subtract from time-to-headers to get processing time.
    pub connect_total: Duration,
}

/// The per-client slot the resolver and the connector layer write into.
#[derive(Debug, Clone, Default)]
pub(super) struct TimingSlot(Arc<Mutex<Phases>>);

impl TimingSlot {
    fn lock(&self) -> MutexGuard<'_, Phases> {
        // A panic while holding this lock cannot leave the numbers inconsistent in a
        // way that matters more than losing them, so poisoning is ignored.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a new request: clears the numbers and returns its generation.
    pub fn begin(&self) -> u64 {
        let mut p = self.lock();
        let generation = p.generation.wrapping_add(1);
        *p = Phases {
            generation,
            ..Phases::default()
        };
        generation
    }

    /// The generation of the request in flight.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Moves the in-flight request to `stage`, unless it belongs to an older request.
    pub fn enter(&self, generation: u64, stage: Stage) {
        let mut p = self.lock();
        if p.generation == generation {
            p.stage = stage;
        }
    }

    /// Adds a finished DNS lookup.
    pub fn add_resolve(&self, generation: u64, took: Duration) {
        let mut p = self.lock();
        if p.generation == generation {
            p.resolve += took;
            p.stage = Stage::Connecting;
        }
    }

    /// Adds a finished connector call (DNS + TCP + TLS).
    pub fn add_connect(&self, generation: u64, took: Duration, ok: bool) {
        let mut p = self.lock();
        if p.generation == generation {
            p.connect_total += took;
            if ok {
                p.stage = Stage::Connected;
            }
        }
    }

    /// What the current request has collected so far.
    pub fn collected(&self) -> Collected {
        let p = self.lock();
        Collected {
            stage: p.stage,
            resolve: p.resolve,
            connect: p.connect_total.saturating_sub(p.resolve),
            connect_total: p.connect_total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_excludes_resolve_and_hops_add_up() {
        let slot = TimingSlot::default();
        let g = slot.begin();
        slot.add_resolve(g, Duration::from_millis(10));
        slot.add_connect(g, Duration::from_millis(30), true);
        slot.add_connect(g, Duration::from_millis(5), true);
        let c = slot.collected();
        assert_eq!(c.resolve, Duration::from_millis(10));
        assert_eq!(c.connect, Duration::from_millis(25));
        assert_eq!(c.connect_total, Duration::from_millis(35));
        assert_eq!(c.stage, Stage::Connected);
    }

    #[test]
    fn late_writes_from_an_older_request_are_ignored() {
        let slot = TimingSlot::default();
        let old = slot.begin();
        let new = slot.begin();
        slot.add_connect(old, Duration::from_secs(5), true);
        slot.enter(old, Stage::Resolving);
        let c = slot.collected();
        assert_eq!(c.connect_total, Duration::ZERO);
        assert_eq!(c.stage, Stage::Idle);
        slot.enter(new, Stage::Resolving);
        assert_eq!(slot.collected().stage, Stage::Resolving);
    }
}
