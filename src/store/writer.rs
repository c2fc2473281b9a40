//! The writer thread: the only read-write connection, fed by the bounded queue.
//!
//! One thread owns the connection so SQLite never sees two writers from this
//! process (no `SQLITE_BUSY` between our own writes) and slow disk I/O never
//! blocks a tokio worker. A failed write is logged and counted, and the thread
//! goes on: a full disk must not stop the monitoring it records. Between
//! commands it runs retention passes, one small batch at a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::prune::Pruner;
use super::{Access, OnLost, Retention, schema, sqlite};
use crate::runner::{JourneyRun, RunSummary, Verdict};

/// What the writer is asked to do, in queue order.
pub(super) enum Command {
    /// Write one run.
    Write(Box<RunRow>),
    /// Reply once everything queued before (and any running prune) is done.
    Flush(oneshot::Sender<()>),
    /// Run a complete retention pass now, then reply.
    Prune(oneshot::Sender<()>),
    /// Test hook: reply on `paused`, then block until `resume` is dropped.
    #[cfg(test)]
    Pause {
        paused: oneshot::Sender<()>,
        resume: std::sync::mpsc::Receiver<()>,
    },
    /// Test hook: run a closure on the writer's connection (to fill the disk, say).
    #[cfg(test)]
    WithConn(Box<dyn FnOnce(&Connection) + Send>, oneshot::Sender<()>),
}

/// A run prepared for insertion: the summary columns and the full JSON.
/// Built on the caller's side so the queue holds one string, not a deep clone.
pub(super) struct RunRow {
    pub(super) summary: RunSummary,
    pub(super) json: String,
    /// Which replica ran it under which lease term (a fleet; PostgreSQL keeps it).
    pub(super) fence: Option<Fence>,
    /// Input for the fleet's alerting leader only, not a run of the history
    /// (PostgreSQL puts it in `alert_inbox`; SQLite, which has no fleet, skips it).
    pub(super) alert_only: bool,
}

/// The fencing token of a run in a fleet: the replica and the lease term it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// The replica id.
    pub replica: String,
    /// The journey's lease term when the run started.
    pub term: i64,
}

impl RunRow {
    /// Serializes `run`.
    pub(super) fn new(run: &JourneyRun, fence: Option<Fence>) -> Result<Self, serde_json::Error> {
        Ok(Self {
            summary: run.summary(),
            json: serde_json::to_string(run)?,
            fence,
            alert_only: false,
        })
    }

    /// The run's id, for logs.
    pub(super) fn run_id(&self) -> uuid::Uuid {
        self.summary.run_id
    }

    /// The run's journey, for logs.
    pub(super) fn journey(&self) -> &str {
        &self.summary.journey
    }
}

/// A closed database is re-opened at most this often.
pub const REOPEN_EVERY: Duration = Duration::from_secs(5);

/// Counters shared by the handles and the writer.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Runs accepted into the queue and not yet written (or failed).
    pub(super) depth: AtomicUsize,
    /// Runs dropped because the queue stayed full.
    pub(super) dropped: AtomicU64,
    /// Runs that could not be written (write failed, database not open,
    /// writer gone, not serializable).
    pub(super) write_errors: AtomicU64,
    /// False while the database is not open or its last write failed.
    pub(super) down: AtomicBool,
    /// Told about every lost run.
    pub(super) on_lost: Option<OnLost>,
}

impl Counters {
    /// Counts a lost run (queue full or write failed), logs it and tells `on_lost`.
    pub(super) fn lost(&self, queue_full: bool, run_id: uuid::Uuid, journey: &str, why: &str) {
        let counter = if queue_full {
            &self.dropped
        } else {
            &self.write_errors
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            run_id = %run_id,
            journey = %journey,
            reason = why,
            "Run lost from the history."
        );
        if let Some(f) = &self.on_lost {
            f.call(journey, run_id);
        }
    }
}

/// When the writer starts a retention pass on its own.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cadence {
    /// At most this long between passes.
    pub(super) interval: Duration,
    /// A pass after this many writes, so bursts cannot outgrow the cap for long.
    pub(super) every_writes: u64,
}

/// Starts the writer thread; it exits when every sender is dropped and the
/// queue is drained.
pub(super) fn spawn(
    path: PathBuf,
    conn: Option<Connection>,
    rx: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
    retention: Retention,
    cadence: Cadence,
) -> std::io::Result<JoinHandle<()>> {
    // A private current-thread runtime only to wait on the queue with a
    // timeout; everything else on this thread is plain blocking code.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    counters.down.store(conn.is_none(), Ordering::Relaxed);
    let writer = Writer {
        path,
        conn,
        last_open: Instant::now(),
        rx,
        counters,
        pruner: Pruner::new(retention),
        cadence: Cadence {
            interval: cadence.interval.max(Duration::from_secs(1)),
            every_writes: cadence.every_writes.max(1),
        },
        last_prune: None,
        writes_since_prune: 0,
    };
    std::thread::Builder::new()
        .name("journeyd-store".into())
        .spawn(move || writer.run(&rt))
}

/// State of the writer thread.
struct Writer {
    path: PathBuf,
    /// `None` while the database cannot be opened (a start on a full disk).
    conn: Option<Connection>,
    last_open: Instant,
    rx: mpsc::Receiver<Command>,
    counters: Arc<Counters>,
    pruner: Pruner,
    cadence: Cadence,
    last_prune: Option<Instant>,
    writes_since_prune: u64,
}

impl Writer {
    /// The loop: take a command (without waiting while a prune is under way),
    /// handle it, then advance retention by one batch.
    fn run(mut self, rt: &tokio::runtime::Runtime) {
        // A pass at start-up catches up after downtime, and gives the write
        // count a fixed origin.
        self.start_prune();
        loop {
            let next = if self.pruner.is_busy() {
                match self.rx.try_recv() {
                    Ok(cmd) => Some(cmd),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            } else {
                let mut wait = self.until_prune_due();
                if self.conn.is_none() {
                    wait = wait.min(REOPEN_EVERY);
                }
                // The timer must be created inside the runtime, hence the async block.
                let recv = async { tokio::time::timeout(wait, self.rx.recv()).await };
                match rt.block_on(recv) {
                    Ok(Some(cmd)) => Some(cmd),
                    Ok(None) => break,
                    Err(_elapsed) => None,
                }
            };
            if let Some(cmd) = next {
                self.handle(cmd);
            }
            self.reopen();
            if let Some(conn) = &self.conn
                && self.pruner.is_busy()
            {
                self.pruner.step(conn);
            } else if self.until_prune_due().is_zero() {
                self.start_prune();
            }
        }
        tracing::debug!("Run history writer stopped.");
    }

    /// Time left before the next scheduled pass; zero when one is due now.
    fn until_prune_due(&self) -> Duration {
        if self.writes_since_prune >= self.cadence.every_writes {
            return Duration::ZERO;
        }
        self.last_prune.map_or(Duration::ZERO, |t| {
            self.cadence.interval.saturating_sub(t.elapsed())
        })
    }

    fn start_prune(&mut self) {
        if let Some(conn) = &self.conn {
            self.pruner.start(conn);
        }
        self.last_prune = Some(Instant::now());
        self.writes_since_prune = 0;
    }

    /// Opens (creates, migrates) a database that could not be opened before,
    /// when it is time to try again: it comes back by itself when space returns.
    fn reopen(&mut self) {
        if self.conn.is_some() || self.last_open.elapsed() < REOPEN_EVERY {
            return;
        }
        self.last_open = Instant::now();
        match sqlite::open(&self.path, &schema::HISTORY, Access::ReadWrite) {
            Ok(conn) => {
                tracing::info!(path = %self.path.display(), "Run history opened; runs are stored again.");
                self.conn = Some(conn);
                self.counters.down.store(false, Ordering::Relaxed);
                self.start_prune();
            }
            Err(e) => tracing::debug!(error = %e, "Run history still cannot be opened."),
        }
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Write(row) if row.alert_only => {
                self.counters.depth.fetch_sub(1, Ordering::Relaxed);
            }
            Command::Write(row) => {
                self.write(&row);
                self.counters.depth.fetch_sub(1, Ordering::Relaxed);
                self.writes_since_prune += 1;
            }
            Command::Flush(done) => {
                // A flush settles the store, so tests and shutdown see the
                // result of a pass that had already started.
                if let Some(conn) = &self.conn {
                    self.pruner.finish(conn);
                }
                let _ = done.send(());
            }
            Command::Prune(done) => {
                if let Some(conn) = &self.conn {
                    self.pruner.finish(conn);
                }
                self.start_prune();
                if let Some(conn) = &self.conn {
                    self.pruner.finish(conn);
                }
                let _ = done.send(());
            }
            #[cfg(test)]
            Command::Pause { paused, resume } => {
                let _ = paused.send(());
                let _ = resume.recv();
            }
            #[cfg(test)]
            Command::WithConn(f, done) => {
                if let Some(conn) = &self.conn {
                    f(conn);
                }
                let _ = done.send(());
            }
        }
    }

    /// Writes one run; a failure is the operator's problem (disk full,
    /// permissions), so it is logged at ERROR and counted, and the writer goes on.
    fn write(&mut self, row: &RunRow) {
        self.reopen();
        let result = match &mut self.conn {
            Some(conn) => insert(conn, row).map_err(|e| e.to_string()),
            None => Err(format!(
                "the run history {} is not open (its disk was full at start)",
                self.path.display()
            )),
        };
        self.counters.down.store(result.is_err(), Ordering::Relaxed);
        if let Err(e) = result {
            let why = format!("cannot write it: {e}");
            self.counters.lost(false, row.run_id(), row.journey(), &why);
        }
    }
}

/// Inserts one run in its own transaction. A repeated run id keeps the first copy.
///
/// One statement is its own transaction in SQLite: an explicit `BEGIN` and
/// `COMMIT` would only add two statements to parse per run.
fn insert(conn: &mut Connection, row: &RunRow) -> rusqlite::Result<()> {
    let s = &row.summary;
    conn.prepare_cached(
        "INSERT INTO runs (run_id, journey, started_at, duration_seconds, verdict, degraded,
                           failed_step, failed_backend, failure_class, failure_message, run_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (run_id) DO NOTHING",
    )?
    .execute(rusqlite::params![
        s.run_id.to_string(),
        s.journey,
        s.started_at.timestamp_millis(),
        s.duration_seconds,
        match s.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
        },
        s.degraded,
        s.failed_step,
        s.failed_backend,
        s.failure_class.map(|c| c.as_str()),
        s.failure_message,
        row.json,
    ])?;
    Ok(())
}
