//! The PostgreSQL writer: a tokio task fed by the store's bounded queue (the
//! same [`Command`]s as the SQLite writer thread), retrying through
//! connection loss with backoff; see the module docs of [`super`].

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use tokio::sync::mpsc;

use super::{MAX_BACKOFF, MIN_BACKOFF, PgTarget, is_transient, is_transient_pg, migrate};
use crate::runner::Verdict;
use crate::store::Retention;
use crate::store::cap::CapChecks;
use crate::store::row::RunRow;
use crate::store::writer::{Cadence, Command, Counters};

/// Why a write did not happen.
enum WriteError {
    /// The server is away: keep the run and retry.
    Transient(String),
    /// The server refused this run: count it as lost and go on.
    Permanent(String),
}

fn pg(e: tokio_postgres::Error) -> WriteError {
    if is_transient_pg(&e) {
        WriteError::Transient(e.to_string())
    } else {
        WriteError::Permanent(e.to_string())
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> WriteError {
    if is_transient(&e) {
        WriteError::Transient(e.to_string())
    } else {
        WriteError::Permanent(e.to_string())
    }
}

/// The PostgreSQL side of one store: pool, target and writer task.
#[derive(Debug)]
pub(crate) struct PgHistory {
    /// Shared with the readers.
    pub(crate) pool: Pool,
    /// Where and which location.
    pub(crate) target: PgTarget,
}

impl PgHistory {
    /// A pool for `target`; nothing is contacted yet.
    pub(crate) fn new(target: PgTarget) -> Result<Self, crate::store::OpenError> {
        Ok(Self {
            pool: target.pool()?,
            target,
        })
    }

    /// Migrates the schema now, waiting at most `within`. `Ok(false)` when the
    /// server cannot be reached (the writer migrates when it comes back);
    /// a schema from a newer journeyd is an error.
    pub(crate) async fn try_migrate(
        &self,
        within: Duration,
    ) -> Result<bool, crate::store::OpenError> {
        let attempt = async {
            let mut client = self
                .pool
                .get()
                .await
                .map_err(|e| crate::store::OpenError::Other {
                    location: self.target.describe(),
                    database: crate::store::Database::RunHistory,
                    source: e.to_string().into(),
                })?;
            migrate(&mut client, &self.target.describe()).await
        };
        match tokio::time::timeout(within, attempt).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(e @ crate::store::OpenError::TooNew { .. })) => Err(e),
            Ok(Err(e)) => {
                tracing::error!(database = %self.target.describe(), error = %e,
                    "PostgreSQL is not reachable: journeys run, runs are queued and written when it returns.");
                Ok(false)
            }
            Err(_) => Ok(false),
        }
    }

    /// Starts the writer task on the store's queue.
    pub(in crate::store) fn spawn_writer(
        &self,
        rx: mpsc::Receiver<Command>,
        counters: Arc<Counters>,
        retention: Retention,
        cadence: Cadence,
        migrated: bool,
    ) -> tokio::task::JoinHandle<()> {
        counters.down.store(!migrated, Ordering::Relaxed);
        let writer = Writer {
            pool: self.pool.clone(),
            target: self.target.clone(),
            rx,
            counters,
            retention,
            cadence: Cadence {
                interval: cadence.interval.max(Duration::from_secs(1)),
                every_writes: cadence.every_writes.max(1),
            },
            migrated,
            last_prune: Instant::now(),
            writes_since_prune: 0,
            full_prune: true,
            checks: CapChecks::default(),
        };
        tokio::spawn(writer.run())
    }
}

struct Writer {
    pool: Pool,
    target: PgTarget,
    rx: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
    retention: Retention,
    cadence: Cadence,
    migrated: bool,
    last_prune: Instant,
    writes_since_prune: u64,
    /// The next pass checks the cap of every journey (the first one, and
    /// [`Store::prune_now`](crate::store::Store::prune_now)), not only of those
    /// `checks` finds due.
    full_prune: bool,
    /// Runs written per journey since its cap was last checked.
    checks: CapChecks,
}

impl Writer {
    async fn run(mut self) {
        // A full pass at start-up, as on SQLite: it catches up after downtime
        // and a lowered cap.
        self.prune().await;
        loop {
            let wait = self
                .cadence
                .interval
                .saturating_sub(self.last_prune.elapsed());
            match tokio::time::timeout(wait, self.rx.recv()).await {
                Ok(Some(cmd)) => self.handle(cmd).await,
                Ok(None) => break,
                Err(_elapsed) => self.prune().await,
            }
            // Before the next command, so a flush after the write that made a
            // pass due finds it done.
            if self.writes_since_prune >= self.cadence.every_writes {
                self.prune().await;
            }
        }
        tracing::debug!("Run history writer (PostgreSQL) stopped.");
    }

    async fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Write(row) => {
                self.write(&row).await;
                self.counters.depth.fetch_sub(1, Ordering::Relaxed);
                self.writes_since_prune += 1;
                self.checks.written(row.journey());
            }
            Command::Flush(done) | Command::Commit(done) => {
                let _ = done.send(());
            }
            Command::Prune(done) => {
                self.full_prune = true;
                self.prune().await;
                let _ = done.send(());
            }
            #[cfg(test)]
            Command::Pause { paused, resume } => {
                let _ = paused.send(());
                let _ = tokio::task::spawn_blocking(move || resume.recv()).await;
            }
            #[cfg(test)]
            Command::WithConn(_, done) => {
                let _ = done.send(());
            }
        }
    }

    /// Writes one run, retrying with backoff while the server is away; the
    /// queue behind it buffers (bounded) meanwhile.
    async fn write(&mut self, row: &RunRow) {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.try_write(row).await {
                Ok(()) => {
                    if self.counters.down.swap(false, Ordering::Relaxed) {
                        tracing::info!(database = %self.target.describe(), "PostgreSQL is back; runs are stored again.");
                    }
                    return;
                }
                Err(WriteError::Permanent(e)) => {
                    let why = format!("PostgreSQL refused it: {e}");
                    self.counters.lost(false, row.run_id(), row.journey(), &why);
                    return;
                }
                Err(WriteError::Transient(e)) => {
                    if !self.counters.down.swap(true, Ordering::Relaxed) {
                        tracing::warn!(database = %self.target.describe(), error = %e,
                            "PostgreSQL is not reachable: runs wait in the queue (bounded) and are retried.");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn try_write(&mut self, row: &RunRow) -> Result<(), WriteError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        if !self.migrated {
            migrate(&mut client, &self.target.describe())
                .await
                .map_err(|e| WriteError::Transient(e.to_string()))?;
            self.migrated = true;
        }
        if row.alert_only {
            client
                .execute(
                    "INSERT INTO alert_inbox (run_id, location, run_json) VALUES ($1, $2, $3)",
                    &[
                        &row.summary.run_id.to_string(),
                        &self.target.location,
                        &row.json,
                    ],
                )
                .await
                .map_err(pg)?;
            return Ok(());
        }
        let stmt = client
            .prepare_cached(
                "INSERT INTO runs (run_id, location, journey, started_at, duration_seconds,
                     verdict, degraded, failed_step, failed_backend, failure_class,
                     failure_message, run_json, replica, fencing_term)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (run_id) DO NOTHING",
            )
            .await
            .map_err(pg)?;
        let s = &row.summary;
        let verdict = match s.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        };
        let tx = client.transaction().await.map_err(pg)?;
        let inserted = tx
            .execute(
                &stmt,
                &[
                    &s.run_id.to_string(),
                    &self.target.location,
                    &s.journey,
                    &s.started_at.timestamp_millis(),
                    &s.duration_seconds,
                    &verdict,
                    &s.degraded,
                    &s.failed_step,
                    &s.failed_backend,
                    &s.failure_class.map(|c| c.as_str()),
                    &s.failure_message,
                    &row.json,
                    &row.fence.as_ref().map(|f| f.replica.as_str()),
                    &row.fence.as_ref().map(|f| f.term),
                ],
            )
            .await
            .map_err(pg)?;
        // A fenced run comes from a fleet member: the alerting leader reads
        // it from the inbox, committed with the run (`crate::fleet::inbox`).
        if inserted == 1 && row.fence.is_some() {
            tx.execute(
                "INSERT INTO alert_inbox (run_id) VALUES ($1)",
                &[&s.run_id.to_string()],
            )
            .await
            .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)
    }

    /// One retention pass for this location: deletes runs older than the
    /// maximum age, then runs beyond the per-journey cap, of every journey on a
    /// full pass, else of those due (`CapChecks`). A failed pass is retried
    /// whole at the next one.
    async fn prune(&mut self) {
        self.last_prune = Instant::now();
        self.writes_since_prune = 0;
        let full = std::mem::take(&mut self.full_prune);
        let cap_runs = self.retention.max_runs_per_journey;
        let written = if full {
            self.checks.all_checked();
            Vec::new()
        } else {
            self.checks.due(cap_runs)
        };
        let max_age =
            chrono::Duration::from_std(self.retention.max_age).unwrap_or(chrono::Duration::MAX);
        let cutoff = chrono::Utc::now()
            .checked_sub_signed(max_age)
            .map_or(i64::MIN, |t| t.timestamp_millis());
        let cap = i64::try_from(self.retention.max_runs_per_journey).unwrap_or(i64::MAX);
        let (migrated, target) = (&mut self.migrated, &self.target);
        let result = async {
            let mut client = self.pool.get().await.map_err(|e| e.to_string())?;
            // The start-up pass can come before the first write, which migrates.
            if !*migrated {
                migrate(&mut client, &target.describe())
                    .await
                    .map_err(|e| e.to_string())?;
                *migrated = true;
            }
            client
                .execute(
                    "DELETE FROM runs WHERE location = $1 AND started_at < $2",
                    &[&target.location, &cutoff],
                )
                .await
                .map_err(|e| e.to_string())?;
            // Every journey on a full pass (NULL), else those due.
            let journeys = (!full).then_some(&written);
            if full || !written.is_empty() {
                client
                    .execute(
                        "DELETE FROM runs WHERE run_id IN (
                           SELECT run_id FROM (
                             SELECT run_id, row_number() OVER
                               (PARTITION BY journey ORDER BY started_at DESC) AS rn
                             FROM runs WHERE location = $1
                               AND ($3::text[] IS NULL OR journey = ANY($3))) ranked
                           WHERE rn > $2)",
                        &[&target.location, &cap, &journeys],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "Retention pass on PostgreSQL failed; retried at the next one.");
            self.full_prune |= full;
            self.checks.unchecked(written, cap_runs);
        }
    }
}
