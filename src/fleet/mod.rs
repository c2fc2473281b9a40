//! Replicas sharing the journeys of a location (issue 8): leases in
//! PostgreSQL, so each journey runs on exactly one live replica.
//!
//! # Leases
//!
//! `journey_leases(location, journey, owner, term, expires_at, last_slot)`,
//! with every time on the database's clock (`now()`), never a replica's. Each
//! replica, every third of `fleet.lease_ttl`: heartbeats into
//! `replicas(location, id, heartbeat_at)`, counts the live ones (heartbeat
//! within the TTL), renews the leases it holds, releases those beyond its fair
//! share `ceil(journeys / live replicas)` and takes free or expired ones up to
//! it. Only the excess moves when replicas come and go. Every takeover adds
//! one to the lease's fencing `term`; every stored run carries the replica and
//! term it ran under ([`crate::store::Fence`]). On SIGTERM a replica releases
//! its leases at once, so the others take them at their next round.
//!
//! # No slot runs twice
//!
//! A journey's slots sit on one grid for the whole fleet ([`slot`]). Before a
//! run, its owner claims the slot in the lease row: the claim succeeds only
//! while the lease is still its own, unexpired, and no owner ran this slot or a
//! later one. A new owner therefore starts with the journey's next slot after
//! taking over: the slot the old owner was running (or had just run) is never
//! run again, and a `kill -9` costs at most the TTL plus one slot.
//!
//! # When PostgreSQL cannot be reached
//!
//! The replica keeps running the journeys whose leases it renewed less than
//! `ttl - ttl/10` ago by its own monotonic clock (measured from before the
//! renewal was sent, so never later than the database's expiry); slot claims
//! that cannot reach the database are decided locally in that window, since
//! nobody else can hold the lease yet. Past it, the lease may have expired and
//! another replica may own the journey now, so it stops running them: running
//! them would risk two replicas running the same slot. It keeps serving
//! `/metrics` (`journeyd_fleet_lease_renew_failures_total` grows,
//! `journeyd_fleet_journeys_owned` falls to 0) and takes leases again when
//! the database returns.
//!
//! # One alerting leader
//!
//! Across every location, one replica holds the `alerting` role
//! ([`leader`]) and runs the alert engine on every run of the fleet, read
//! from [`inbox`]; see docs/scaling.md.

pub mod inbox;
#[cfg(test)]
mod inbox_tests;
pub mod leader;
pub mod lease;
pub mod slot;
#[cfg(test)]
mod tests;
pub mod view;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use deadpool_postgres::Pool;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::Fence;

/// A lease this replica holds.
#[derive(Debug, Clone, Copy)]
struct Held {
    term: i64,
    /// Runs may start until then (see the module docs).
    valid_until: Instant,
    /// The last slot this replica claimed under this lease.
    last_slot: Option<i64>,
}

/// One replica's view of its fleet; cheap to share.
pub struct Fleet {
    pool: Pool,
    location: String,
    replica: String,
    ttl: Duration,
    metrics: Arc<Metrics>,
    journeys: ArcSwap<Vec<String>>,
    held: Mutex<BTreeMap<String, Held>>,
    /// Database clock minus local clock, in milliseconds.
    offset_ms: AtomicI64,
    members: std::sync::atomic::AtomicUsize,
    stopping: AtomicBool,
    /// The journey list whose lease rows exist (rows are never deleted, so
    /// `lease::ensure` runs once per list, not every round: at 10,000
    /// journeys it cost 65-100 ms of database time per round).
    ensured: Mutex<Option<Arc<Vec<String>>>>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("location", &self.location)
            .field("replica", &self.replica)
            .finish_non_exhaustive()
    }
}

/// A replica id when none is configured: hostname and process id.
pub fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "replica".to_string());
    format!("{host}-{}", std::process::id())
}

fn unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Fleet {
    /// A fleet member on `pool` (whose schema the store migrates); nothing runs yet.
    pub fn new(
        pool: Pool,
        location: String,
        replica: String,
        ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Arc<Fleet> {
        Arc::new(Fleet {
            pool,
            location,
            replica,
            ttl,
            metrics,
            journeys: ArcSwap::default(),
            held: Mutex::new(BTreeMap::new()),
            offset_ms: AtomicI64::new(0),
            members: std::sync::atomic::AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
            ensured: Mutex::new(None),
        })
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// This replica's location.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The lease TTL (the alerting role uses the same).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The fleet's own connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The journeys configured here (start-up and every reload).
    pub fn set_journeys(&self, names: impl IntoIterator<Item = String>) {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        self.journeys.store(Arc::new(names));
    }

    /// Journeys this replica holds right now (sorted).
    pub fn owned(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Now on the database's clock, Unix milliseconds (as of the last heartbeat).
    pub fn now_ms(&self) -> i64 {
        unix_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// The delay until a journey's next slot on the fleet's grid (for the scheduler).
    pub fn until_next_slot(&self, journey: &str, interval: Duration) -> Duration {
        slot::until_next(journey, interval, self.now_ms())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Renews leases every third of the TTL until `stop`, then releases them all.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let every = self.ttl / 3;
        loop {
            // A failure is logged and counted by `round`.
            let _ = self.round().await;
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = stop.cancelled() => break,
            }
        }
        if !self.stopping.load(Ordering::Relaxed) {
            self.release_all().await;
        }
    }

    /// Stops claiming slots and gives every lease back at once (SIGTERM).
    pub async fn release_all(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        let given = std::mem::take(&mut *self.lock()).len();
        let released = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            lease::release(&client, &self.location, &self.replica, None)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.ttl / 3, released).await {
            Ok(Ok(n)) => tracing::info!(location = %self.location, released = n,
                "Released every journey lease: the other replicas take them over now."),
            Ok(Err(e)) => tracing::warn!(error = %e,
                "Cannot release the journey leases: the others take them when they expire."),
            Err(_) => tracing::warn!(
                "Releasing the journey leases timed out: the others take them when they expire."
            ),
        }
        self.metrics.fleet_ownership_changed(given);
        self.metrics.set_fleet(0, 0);
    }

    /// One round: heartbeat, renew, rebalance. A failure (returned, and
    /// counted) lets leases lapse locally.
    pub async fn round(&self) -> Result<(), String> {
        if self.stopping.load(Ordering::Relaxed) {
            return Ok(());
        }
        let started = Instant::now();
        let result = tokio::time::timeout(self.ttl / 3, self.try_round(started)).await;
        let failed = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".to_string()),
        };
        if let Some(e) = &failed {
            self.metrics.fleet_renew_failed();
            tracing::warn!(location = %self.location, error = %e,
                "Cannot renew the journey leases: journeys whose lease may have expired stop here.");
            let now = Instant::now();
            let lapsed = {
                let mut held = self.lock();
                let before = held.len();
                held.retain(|_, h| h.valid_until > now);
                before - held.len()
            };
            self.metrics.fleet_ownership_changed(lapsed);
        }
        let members = self.members.load(Ordering::Relaxed);
        self.metrics.set_fleet(members, self.lock().len());
        failed.map_or(Ok(()), Err)
    }

    async fn try_round(
        &self,
        started: Instant,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let client = self.pool.get().await?;
        let (loc, me, ttl) = (&self.location, &self.replica, self.ttl);
        let journeys = self.journeys.load_full();
        let db_ms = lease::heartbeat(&client, loc, me).await?;
        self.offset_ms.store(db_ms - unix_ms(), Ordering::Relaxed);
        let fresh = self
            .ensured
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|done| Arc::ptr_eq(done, &journeys));
        if !fresh {
            lease::ensure(&client, loc, &journeys).await?;
            *self.ensured.lock().unwrap_or_else(PoisonError::into_inner) = Some(journeys.clone());
        }
        let members = lease::live_members(&client, loc, ttl).await?;
        self.members.store(members, Ordering::Relaxed);
        let renewed = lease::renew(&client, loc, me, &journeys, ttl).await?;
        let share = journeys.len().div_ceil(members);
        let mut keep: Vec<(String, i64)> = renewed;
        if keep.len() > share {
            let excess: Vec<String> = keep.split_off(share).into_iter().map(|(j, _)| j).collect();
            lease::release(&client, loc, me, Some(&excess)).await?;
        }
        let wanted = share.saturating_sub(keep.len());
        let taken = if wanted > 0 {
            lease::acquire(&client, loc, me, &journeys, wanted, ttl).await?
        } else {
            Vec::new()
        };
        self.apply(started, keep, taken);
        Ok(())
    }

    /// Updates the local leases after a successful round.
    fn apply(&self, started: Instant, keep: Vec<(String, i64)>, taken: Vec<(String, i64)>) {
        let valid_until = started + self.ttl - self.ttl / 10;
        let mut held = self.lock();
        let kept: HashSet<&str> = keep.iter().map(|(j, _)| j.as_str()).collect();
        let lost = held.keys().filter(|j| !kept.contains(j.as_str())).count();
        held.retain(|j, _| kept.contains(j.as_str()));
        for (journey, term) in keep {
            let h = held.entry(journey).or_insert(Held {
                term,
                valid_until,
                last_slot: None,
            });
            h.valid_until = valid_until;
            h.term = term;
        }
        for (journey, term) in &taken {
            tracing::info!(journey = %journey, term, location = %self.location, "Took over the journey.");
            held.insert(
                journey.clone(),
                Held {
                    term: *term,
                    valid_until,
                    last_slot: None,
                },
            );
        }
        // Released (beyond the fair share) and lost (expired) alike left `held` above.
        let changes = lost + taken.len();
        drop(held);
        self.metrics.fleet_ownership_changed(changes);
    }

    /// The fencing token for work of `journey` that is not a scheduled slot
    /// (an obligation this replica finished): the term of its lease when it
    /// holds one, else 0 (nobody holds it; pending work of such a journey may
    /// be finished by any replica, `store::postgres::pending`).
    pub fn fence_of(&self, journey: &str) -> Fence {
        Fence {
            replica: self.replica.clone(),
            term: self.lock().get(journey).map_or(0, |h| h.term),
        }
    }

    /// Whether this replica runs the journey's current slot now; the fencing
    /// token to store with the run when it does (see the module docs).
    pub async fn may_run(&self, journey: &str, interval: Duration) -> Option<Fence> {
        if self.stopping.load(Ordering::Relaxed) {
            return None;
        }
        let held = *self.lock().get(journey)?;
        if held.valid_until <= Instant::now() {
            return None;
        }
        let slot = slot::slot_at(journey, interval, self.now_ms());
        if held.last_slot.is_some_and(|s| s >= slot) {
            return None;
        }
        let claim = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            lease::claim_slot(
                &client,
                &self.location,
                &self.replica,
                journey,
                held.term,
                slot,
            )
            .await
            .map_err(|e| e.to_string())
        };
        let wait = held
            .valid_until
            .saturating_duration_since(Instant::now())
            .min(self.ttl / 6);
        match tokio::time::timeout(wait, claim).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::debug!(
                    journey,
                    slot,
                    "Slot not claimed: the lease moved, or this slot already ran."
                );
                return None;
            }
            // The lease is still ours by the local clock: nobody else can hold it yet.
            Ok(Err(_)) | Err(_) => {
                if held.valid_until <= Instant::now() {
                    return None;
                }
            }
        }
        if let Some(h) = self.lock().get_mut(journey) {
            h.last_slot = Some(slot);
        }
        Some(Fence {
            replica: self.replica.clone(),
            term: held.term,
        })
    }
}
