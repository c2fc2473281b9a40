//! The long-running daemon (`journeyd run --config FILE`).
//!
//! Start-up loads and validates everything before anything runs (all errors,
//! exit non-zero). Then: the store opens, the status board is rebuilt from
//! history, the scheduler and the HTTP server start, and systemd is told
//! READY. SIGHUP or `POST /-/reload` reloads: everything is validated first
//! and on any error the old set keeps running. SIGTERM or SIGINT stops
//! starting runs, lets running ones finish (cleanup included) within the
//! grace period, flushes the store and exits 0.

mod alerting;
mod cleanup;
mod deploys;
mod fleet;
mod hooks;
mod leader;
mod notify;
mod obligation;
mod reload;
mod runs;
mod supervise;
mod tick;
mod traces;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::journey::Journey;
use crate::journey::parse::Diagnostic;
use crate::journey::template::Engine;
use crate::metrics::Metrics;
use crate::runner::RunOptions;
use crate::schedule::{Command, Scheduler};
use crate::server::{self, ServerState};
use crate::status::board::StatusBoard;
use crate::status::control::{Control, Health, RunNowError};
use crate::status::recent::RECENT_RUNS;
use crate::store::{OnLost, Store, StoreOptions};
use hooks::{DaemonHooks, SharedHooks};

/// Why the daemon did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration or a journey is invalid.
    #[error("invalid configuration")]
    Config(Vec<Diagnostic>),
    /// Anything else (port in use, unwritable state directory).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Runs the daemon until SIGTERM/SIGINT (or `stop` is cancelled).
pub async fn run(config_path: &Path, stop: CancellationToken) -> Result<(), StartError> {
    let engine = Arc::new(Engine::new());
    let (config, journeys) = config::load_all(config_path, &engine).map_err(StartError::Config)?;
    // One copy of each journey, shared (not cloned) by the scheduler, the owed-cleanup
    // retries and the obligation polls.
    let journeys = journeys.into_iter().map(Arc::new).collect();
    let daemon = Daemon::start(config_path.to_path_buf(), config, journeys, engine, stop).await?;
    match daemon.serve().await {
        None => Ok(()),
        Some(why) => Err(StartError::Other(anyhow::anyhow!(
            "journeyd stopped because {why}"
        ))),
    }
}

struct Daemon {
    config_path: PathBuf,
    config: Config,
    engine: Arc<Engine>,
    hooks: Arc<DaemonHooks>,
    scheduler_tx: mpsc::Sender<Command>,
    control_rx: mpsc::Receiver<Control>,
    scheduler: tokio::task::JoinHandle<usize>,
    /// The runtime the scheduler and the runs live on; dropped last.
    runs: runs::Runs,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: CancellationToken,
    scheduler_stop: CancellationToken,
    alerting: alerting::Alerting,
    /// Cancelled when a long-lived task panics.
    died: CancellationToken,
    /// The lease loop of a fleet member; it releases every lease when stopped.
    fleet_task: Option<tokio::task::JoinHandle<()>>,
    /// The OTLP span export, when configured.
    traces: Option<traces::Export>,
}

fn run_options(config: &Config) -> RunOptions {
    let mut o = RunOptions::from_process(config.secret_source());
    o.dns_servers = config.dns_servers.clone();
    o
}

/// The configured journeys by name; the values are the scheduler's own `Arc`s.
pub(crate) type ByName = HashMap<String, Arc<Journey>>;

fn by_name(journeys: &[Arc<Journey>]) -> Arc<ByName> {
    Arc::new(
        journeys
            .iter()
            .map(|j| (j.name.clone(), j.clone()))
            .collect(),
    )
}

impl Daemon {
    async fn start(
        config_path: PathBuf,
        config: Config,
        journeys: Vec<Arc<Journey>>,
        engine: Arc<Engine>,
        stop: CancellationToken,
    ) -> anyhow::Result<Daemon> {
        // Before anything is opened: a bad JOURNEYD_RUN_THREADS stops the start.
        let runs = runs::Runs::start()?;
        // First, so a panic in any task started below is caught.
        let health = Arc::new(Health::default());
        let died = CancellationToken::new();
        supervise::install(health.clone(), died.clone());
        let board = Arc::new(StatusBoard::default());
        board.set_journeys(&journeys);
        let mut store_opts = StoreOptions::new(config.state_dir.join("journeyd.db"));
        store_opts.backend = fleet::history_backend(&config)?;
        store_opts.retention = config.retention;
        let lost_to = board.clone();
        store_opts.on_lost = Some(OnLost::new(move |journey, id| {
            lost_to.mark_unstored(journey, id);
        }));
        // A full disk starts degraded (and recovers); anything else refuses to start.
        let store = Store::connect(store_opts.clone())
            .await
            .with_context(|| format!("cannot open the history in {}", store_opts.backend))?;
        let metrics = Arc::new(
            Metrics::with_options(&config.labels, config.metrics)
                .context("cannot create the metrics registry")?,
        );
        metrics.set_journeys(&journeys);
        metrics.config_reloaded(true);
        metrics.observe_store(&store.status());
        restore_board(&board, &store).await;
        let fleet = fleet::start(&config, &store_opts.backend, &metrics, &journeys).await?;
        // Owed cleanups and obligations live where the history does.
        let pending = cleanup::open_pending(&config, &store_opts.backend, fleet.as_deref());
        let wake = Arc::new(tokio::sync::Notify::new());
        let obligation_wake = Arc::new(tokio::sync::Notify::new());
        let mut options = run_options(&config);
        options.handoff = pending.clone().map(|pending| {
            Arc::new(cleanup::StoreHandOff {
                pending,
                wake: wake.clone(),
                obligation_wake: obligation_wake.clone(),
            }) as Arc<dyn crate::runner::handoff::HandOff>
        });
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let bound = listener.local_addr().unwrap_or(config.listen);
        let base_url = config
            .alerting
            .external_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"));
        let scheduler_stop = CancellationToken::new();
        let alerting = alerting::Alerting::start(
            &config,
            metrics.clone(),
            base_url,
            &journeys,
            fleet.as_ref().map(|f| (f, &board)),
            &scheduler_stop,
        )
        .await?;
        deploys::restore_deploy_metric(&alerting.db, &metrics, &journeys).await;
        let traces = traces::Export::start(&config, metrics.clone())?;
        let hooks = Arc::new(DaemonHooks {
            engine: engine.clone(),
            options: ArcSwap::from_pointee(options),
            configured: ArcSwap::new(by_name(&journeys)),
            store: store.clone(),
            metrics: metrics.clone(),
            board: board.clone(),
            health: health.clone(),
            watchdog: notify::Watchdog::from_env(),
            alerts: alerting.engine(),
            confirm: (
                config.alerting.policy.confirm,
                config.alerting.policy.confirm_delay,
            ),
            stopping: scheduler_stop.clone(),
            fleet: fleet.clone(),
            traces: traces.as_ref().map(|t| t.exporter.clone()),
        });
        let fleet_task = fleet::spawn(fleet.as_ref(), &scheduler_stop);
        let obligations = pending.clone().map(|pending| {
            Arc::new(obligation::Obligations {
                pending,
                hooks: hooks.clone(),
                wake: obligation_wake,
                cleanup_wake: wake.clone(),
            })
        });
        if let Some(o) = &obligations {
            tokio::spawn(o.clone().run(scheduler_stop.clone()));
        }
        let cleanups = pending.clone().map(|pending| {
            Arc::new(cleanup::Cleanups {
                pending,
                hooks: hooks.clone(),
                retention: config.retention.cleanup_max_age,
                wake,
            })
        });
        if let Some(c) = &cleanups {
            // Before the scheduler starts: a row still marked live is from a cut run.
            c.release().await;
            tokio::spawn(c.clone().run(scheduler_stop.clone()));
        }
        let (control_tx, control_rx) = mpsc::channel(16);
        let state = ServerState {
            board,
            store,
            metrics,
            control: control_tx,
            admin_token: config.admin_token(),
            health: health.clone(),
            alert_db: Some(alerting.db.clone()),
            pending,
            deploy_window: config.alerting.deploy_window,
            fleet: fleet.clone(),
        };
        let nofile = server::limits::raise_nofile();
        let limits = server::limits::Limits::for_nofile(nofile);
        tracing::info!(
            open_files_limit = nofile,
            max_connections = limits.max_connections,
            "HTTP connections are bounded to keep descriptors for the journeys."
        );
        let server_stop = stop.child_token();
        let server = tokio::spawn(server::serve(
            listener,
            state,
            limits,
            server_stop.cancelled_owned(),
        ));
        let (scheduler_tx, scheduler_rx) = mpsc::channel(16);
        let count = journeys.len();
        let scheduler = Scheduler::new(
            Arc::new(SharedHooks(hooks.clone())),
            journeys,
            config.concurrency,
            scheduler_stop.clone(),
            config.first_run_within,
        );
        let scheduler = fleet::on_grid(scheduler, fleet);
        let scheduler = runs.spawn(scheduler.run(scheduler_rx, config.shutdown_grace));
        health.set_ready(true);
        tracing::info!(listen = %bound, journeys = count, state_dir = %config.state_dir.display(), "journeyd started.");
        notify::ready(&format!("monitoring {count} journeys"));
        Ok(Daemon {
            config_path,
            config,
            engine,
            hooks,
            scheduler_tx,
            control_rx,
            scheduler,
            runs,
            server,
            stop,
            scheduler_stop,
            alerting,
            died,
            fleet_task,
            traces,
        })
    }

    /// Handles signals and API requests until shutdown; returns why a task
    /// died when that is what stopped it.
    async fn serve(mut self) -> Option<String> {
        let mut hup = signal(tokio::signal::unix::SignalKind::hangup());
        let mut term = signal(tokio::signal::unix::SignalKind::terminate());
        let mut int = signal(tokio::signal::unix::SignalKind::interrupt());
        loop {
            tokio::select! {
                () = self.died.cancelled() => break,
                () = self.stop.cancelled() => break,
                _ = recv(&mut term) => break,
                _ = recv(&mut int) => break,
                _ = recv(&mut hup) => {
                    let _ = self.reload().await;
                }
                Some(c) = self.control_rx.recv() => self.control(c).await,
            }
        }
        let died = self.died.is_cancelled().then(|| {
            self.hooks
                .health
                .failed()
                .unwrap_or_else(|| "a task panicked".to_string())
        });
        self.shutdown().await;
        died
    }

    async fn control(&mut self, c: Control) {
        match c {
            Control::RunNow { journey, reply } => {
                let (tx, rx) = oneshot::channel();
                let result = match self.scheduler_tx.send(Command::RunNow(journey, tx)).await {
                    Ok(()) => rx.await.unwrap_or(Err(RunNowError::SchedulerStopped)),
                    Err(_) => Err(RunNowError::SchedulerStopped),
                };
                let _ = reply.send(result);
            }
            Control::Reload { reply } => {
                let _ = reply.send(self.reload().await);
            }
        }
    }

    async fn shutdown(self) {
        notify::stopping();
        self.hooks.health.set_stopping();
        tracing::info!(
            grace_seconds = self.config.shutdown_grace.as_secs_f64(),
            "Shutting down: letting running journeys finish."
        );
        self.scheduler_stop.cancel();
        fleet::released(self.fleet_task).await;
        match self.scheduler.await {
            Ok(0) => {}
            Ok(cut) => tracing::warn!(
                runs = cut,
                "Runs still going at the end of the grace period were stopped."
            ),
            Err(e) => tracing::error!(error = %e, "The scheduler task failed."),
        }
        self.hooks.store.flush().await;
        if let Some(t) = self.traces {
            t.stop().await;
        }
        self.alerting.stop().await;
        self.stop.cancel();
        if let Ok(Err(e)) = self.server.await {
            tracing::error!(error = %e, "The HTTP server failed.");
        }
        // Last: connections that runs opened served everything above.
        drop(self.runs);
        tracing::info!("journeyd stopped.");
    }
}

/// Rebuilds each journey's state from history, so a restart shows the same board.
async fn restore_board(board: &StatusBoard, store: &Store) {
    match store.histories(RECENT_RUNS).await {
        Ok(histories) => {
            for (name, h) in histories {
                board.update(&name, |s| {
                    for run in h.recent.into_iter().rev() {
                        s.record(run);
                    }
                    s.last_success = h.last_success;
                });
            }
        }
        Err(e) => tracing::error!(error = %e, "Cannot read history; journey states start unknown."),
    }
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).ok()
}

async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match s {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}
