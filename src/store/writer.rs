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
use super::row::{MAX_BATCH, RunRow, insert, insert_all};
use super::window::Window;
use super::{Access, OnLost, Retention, schema, sqlite};
use crate::runner::Verdict;

/// What the writer is asked to do, in queue order.
pub(super) enum Command {
    /// Write one run.
    Write(Box<RunRow>),
    /// Reply once everything queued before (and any running prune) is done.
    Flush(oneshot::Sender<()>),
    /// Reply once every run queued before is committed (a read wants them);
    /// unlike `Flush`, a retention pass under way goes on in its own time.
    Commit(oneshot::Sender<()>),
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

/// A closed database is re-opened at most this often.
pub const REOPEN_EVERY: Duration = Duration::from_secs(5);

/// How long a passing run may wait for company before it is committed
/// ([`StoreOptions::pass_window`](super::StoreOptions::pass_window)).
///
/// A commit costs about as much as the rest of a run's bookkeeping (seven WAL
/// frames, two of them the shared index leaves, and six lock calls): with each
/// pass committed alone, the history was a fifth of the daemon's CPU per run in
/// the peers benchmark (docs/benchmarks.md, "Tenth pass"). Passes that arrive
/// within this window share one transaction. A failing run, a flush, a shutdown
/// or a full batch commits at once, with every pass held before it, so what
/// on-call needs is never held; a `kill -9` loses at most this much of passing
/// history, as it loses the runs under way (the next pass shows the same).
pub const PASS_WINDOW: Duration = Duration::from_millis(250);

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
    /// Passes handed to the writer's open commit window.
    pub(super) window: Window,
    /// Test hook: runs the writer has taken from the queue.
    #[cfg(test)]
    pub(super) taken: AtomicU64,
    /// Test hook: transactions that wrote runs.
    #[cfg(test)]
    pub(super) commits: AtomicU64,
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
    pass_window: Duration,
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
        pass_window,
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
    /// [`PASS_WINDOW`], or the store's own.
    pass_window: Duration,
}

impl Writer {
    /// The loop: take a command (without waiting while a prune is under way),
    /// handle it, then advance retention by one batch.
    fn run(mut self, rt: &tokio::runtime::Runtime) {
        // A full pass at start-up catches up after downtime (and a lowered
        // cap), and gives the write count a fixed origin.
        self.start_prune(true);
        // A command that ended a group commit, handled in the next round.
        let mut deferred = None;
        loop {
            let next = if deferred.is_some() {
                deferred.take()
            } else if self.pruner.is_busy() {
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
            match next {
                Some(Command::Write(row)) if !row.alert_only => {
                    deferred = self.write_queued(row, rt);
                }
                Some(cmd) => self.handle(cmd),
                None => {}
            }
            self.reopen();
            if let Some(conn) = &self.conn
                && self.pruner.is_busy()
            {
                self.pruner.step(conn);
            } else if self.until_prune_due().is_zero() {
                self.start_prune(false);
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

    /// Starts a pass: over every journey in the history when `full`, else over
    /// the journeys due for a cap check (`Pruner::start`).
    fn start_prune(&mut self, full: bool) {
        if let Some(conn) = &self.conn {
            self.pruner.start(conn, full);
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
                self.start_prune(true);
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
                self.pruner.written(row.journey());
            }
            Command::Commit(done) => {
                let _ = done.send(());
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
                self.start_prune(true);
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

    /// Writes `first` and the runs queued behind it in one transaction (group
    /// commit: when runs arrive faster than single commits go, each commit
    /// carries more of them and rewrites the shared index pages once). A batch
    /// that starts with a pass waits up to [`PASS_WINDOW`] for more passes; a
    /// failing run or a command ends the wait. Returns the command that ended the batch, for the next
    /// round: retention advances between the two, as between any two commands.
    fn write_queued(
        &mut self,
        first: Box<RunRow>,
        rt: &tokio::runtime::Runtime,
    ) -> Option<Command> {
        let mut batch = vec![first];
        let mut after = None;
        if passed(&batch[0]) {
            // Passes join through `window` meanwhile; anything through the queue
            // (a failure, a command, a pass that found the window full) ends it.
            self.counters.window.open();
            #[cfg(test)]
            self.counters.taken.fetch_add(1, Ordering::Relaxed);
            let deadline = tokio::time::Instant::now() + self.pass_window;
            let recv = async { tokio::time::timeout_at(deadline, self.rx.recv()).await };
            match rt.block_on(recv) {
                Ok(Some(Command::Write(row))) if !row.alert_only => batch.push(row),
                Ok(Some(other)) => after = Some(other),
                // Every handle is gone (the queue drains next round), or the window ended.
                Ok(None) | Err(_) => {}
            }
            batch.extend(self.counters.window.close());
        }
        // Whatever queued up meanwhile rides along, up to the command that ends it.
        while after.is_none() && batch.len() < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(Command::Write(row)) if !row.alert_only => batch.push(row),
                Ok(other) => after = Some(other),
                Err(_) => break,
            }
        }
        self.reopen();
        let together = match &mut self.conn {
            Some(conn) if batch.len() > 1 => insert_all(conn, &batch).is_ok(),
            _ => false,
        };
        for row in &batch {
            // A batch that failed is written run by run, so only the runs that
            // cannot be written are counted lost.
            if !together {
                self.write(row);
            }
            self.counters.depth.fetch_sub(1, Ordering::Relaxed);
            self.writes_since_prune += 1;
            self.pruner.written(row.journey());
        }
        if together {
            self.counters.down.store(false, Ordering::Relaxed);
            #[cfg(test)]
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        after
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
        #[cfg(test)]
        if result.is_ok() {
            self.counters.commits.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = result {
            let why = format!("cannot write it: {e}");
            self.counters.lost(false, row.run_id(), row.journey(), &why);
        }
    }
}

/// A passing run: it may wait in the window (a failure never does).
fn passed(row: &RunRow) -> bool {
    row.summary.verdict == Verdict::Pass
}
