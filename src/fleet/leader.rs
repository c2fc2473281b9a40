//! The fleet's one alerting leader (issue 8): a role lease in PostgreSQL,
//! `fleet_roles(role, owner, term, expires_at)`, row `'alerting'`, on the
//! database's clock with the same TTL and renew cadence as the journey leases
//! ([`super`]).
//!
//! Every replica of every location tries to take or renew the role every
//! third of the TTL. The statement succeeds for the owner (renewal, same
//! term) or when the role is free or expired (takeover: `term + 1`), so each
//! takeover has a new fencing term, and a deposed leader's writes can be
//! refused by it.
//!
//! # When the leader cannot reach PostgreSQL
//!
//! It stays leader only until `ttl - ttl/10` after the start of its last
//! successful renewal, by its own monotonic clock (as journey leases do): that
//! is never later than the database's expiry, so two replicas never believe
//! they lead at once. At that moment [`Leadership::term`] turns `None` and the
//! subscribers stop reconciling and delivering at once, whether or not the
//! database is back. On SIGTERM the leader frees the role, so another replica
//! takes it at its next round instead of after the TTL.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_postgres::Client;
use tokio_util::sync::CancellationToken;

/// The role of the replica that runs the alert engine and the deliveries.
pub const ALERTING: &str = "alerting";

/// One replica's candidacy for a role; cheap to share in an `Arc`.
pub struct Leadership {
    pool: Pool,
    role: &'static str,
    owner: String,
    ttl: Duration,
    /// `Some(term)` while this replica leads.
    state: watch::Sender<Option<i64>>,
    /// Leads until then at most (see the module docs).
    valid_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("role", &self.role)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

fn secs(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

/// Takes `role` when free or expired (new term) or renews it for its owner
/// (same term); the term when `owner` holds it afterwards.
pub(super) async fn take_or_renew(
    c: &Client,
    role: &str,
    owner: &str,
    ttl: Duration,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let row = c
        .query_opt(
            "INSERT INTO fleet_roles AS r (role, owner, term, expires_at)
             VALUES ($1, $2, 1, now() + make_interval(secs => $3::float8))
             ON CONFLICT (role) DO UPDATE SET
               owner = EXCLUDED.owner,
               term = CASE WHEN r.owner = EXCLUDED.owner AND r.expires_at > now()
                           THEN r.term ELSE COALESCE(r.term, 0) + 1 END,
               expires_at = EXCLUDED.expires_at
             WHERE r.owner = EXCLUDED.owner OR r.owner IS NULL
                OR r.expires_at IS NULL OR r.expires_at <= now()
             RETURNING term",
            &[&role, &owner, &secs(ttl)],
        )
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Frees `role` if `owner` holds it.
pub(super) async fn release(
    c: &Client,
    role: &str,
    owner: &str,
) -> Result<u64, tokio_postgres::Error> {
    c.execute(
        "UPDATE fleet_roles SET owner = NULL, expires_at = now() WHERE role = $1 AND owner = $2",
        &[&role, &owner],
    )
    .await
}

impl Leadership {
    /// A candidate for `role` named `owner` (unique in the fleet: location and
    /// replica); nothing is contacted yet.
    pub fn new(pool: Pool, role: &'static str, owner: String, ttl: Duration) -> Leadership {
        let (state, _) = watch::channel(None);
        Leadership {
            pool,
            role,
            owner,
            ttl,
            state,
            valid_until: Mutex::new(None),
        }
    }

    /// This candidate's name in `fleet_roles.owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The term while this replica leads, else `None`.
    pub fn term(&self) -> Option<i64> {
        *self.state.borrow()
    }

    /// Changes of [`term`](Self::term).
    pub fn subscribe(&self) -> watch::Receiver<Option<i64>> {
        self.state.subscribe()
    }

    fn set(&self, term: Option<i64>, valid_until: Option<Instant>) {
        *self
            .valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = valid_until;
        self.state.send_if_modified(|t| {
            let changed = *t != term;
            *t = term;
            changed
        });
    }

    fn valid_until(&self) -> Option<Instant> {
        *self
            .valid_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt to take or renew the role. A failure keeps the role only
    /// until its local validity ends ([`expire`](Self::expire)).
    pub async fn round(&self) -> Result<Option<i64>, String> {
        let started = Instant::now();
        let attempt = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            take_or_renew(&client, self.role, &self.owner, self.ttl)
                .await
                .map_err(|e| e.to_string())
        };
        let result = match tokio::time::timeout(self.ttl / 3, attempt).await {
            Ok(r) => r,
            Err(_) => Err("timed out".to_string()),
        };
        match &result {
            Ok(Some(term)) => {
                if self.term() != Some(*term) {
                    tracing::info!(role = self.role, owner = %self.owner, term,
                        "Took the role: this replica leads now.");
                }
                self.set(Some(*term), Some(started + self.ttl - self.ttl / 10));
            }
            Ok(None) => {
                if self.term().is_some() {
                    tracing::warn!(role = self.role, owner = %self.owner,
                        "Lost the role to another replica.");
                }
                self.set(None, None);
            }
            Err(e) => {
                tracing::warn!(role = self.role, error = %e,
                    "Cannot renew the role: this replica leads only until its lease may have expired.");
                self.expire();
            }
        }
        result
    }

    /// Gives the role up when its local validity has ended.
    pub fn expire(&self) {
        if self.valid_until().is_some_and(|v| v <= Instant::now()) {
            tracing::warn!(role = self.role, owner = %self.owner,
                "The role's lease may have expired: stopped leading.");
            self.set(None, None);
        }
    }

    /// Takes or renews the role every third of the TTL until `stop`, giving
    /// it up at once when its validity ends between rounds; then releases it.
    pub async fn run(&self, stop: CancellationToken) {
        let every = self.ttl / 3;
        loop {
            let _ = self.round().await;
            let next = Instant::now() + every;
            loop {
                let wake = self.valid_until().map_or(next, |v| v.min(next));
                tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
                    () = stop.cancelled() => {
                        self.release().await;
                        return;
                    }
                }
                self.expire();
                if Instant::now() >= next {
                    break;
                }
            }
        }
    }

    /// Stops leading now and frees the role for the others' next round.
    pub async fn release(&self) {
        let was = self.term();
        self.set(None, None);
        if was.is_none() {
            return;
        }
        let released = async {
            let client = self.pool.get().await.map_err(|e| e.to_string())?;
            release(&client, self.role, &self.owner)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.ttl / 3, released).await {
            Ok(Ok(_)) => tracing::info!(role = self.role, owner = %self.owner,
                "Released the role: another replica takes it at its next round."),
            Ok(Err(e)) => tracing::warn!(role = self.role, error = %e,
                "Cannot release the role: another replica takes it when it expires."),
            Err(_) => tracing::warn!(
                role = self.role,
                "Releasing the role timed out: another replica takes it when it expires."
            ),
        }
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
