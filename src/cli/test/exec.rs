//! Runs the selected journeys of `journeyd test` in parallel: at most `jobs` at
//! once, each `repeat` times, a failed run retried up to `retries` times. Every
//! run goes through the runner exactly as `journeyd once` does.

use std::sync::Arc;

use journeyd::journey::Journey;
use journeyd::journey::template::Engine;
use journeyd::report::suite::SuiteEntry;
use journeyd::runner::{RunOptions, Verdict, run_journey};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How the suite is run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Most journeys running at once.
    pub jobs: usize,
    /// Runs of each journey.
    pub repeat: u32,
    /// Extra attempts of a failed run.
    pub retries: u32,
}

/// What the suite produced.
pub struct Outcome {
    /// Every finished journey run.
    pub entries: Vec<SuiteEntry>,
    /// Runs lost to a panic in the runner (a bug, counted as failures).
    pub crashed: usize,
    /// Runs not started because the suite was cancelled.
    pub not_run: usize,
}

/// Runs every journey of `journeys` per `plan`; `on_finished` sees each entry as it ends.
pub async fn run_all(
    journeys: Vec<Journey>,
    engine: Arc<Engine>,
    opts: Arc<RunOptions>,
    plan: Plan,
    cancel: CancellationToken,
    mut on_finished: impl FnMut(&SuiteEntry),
) -> Outcome {
    let permits = Arc::new(Semaphore::new(plan.jobs.max(1)));
    let mut tasks = JoinSet::new();
    let journeys: Vec<Arc<Journey>> = journeys.into_iter().map(Arc::new).collect();
    // Repetition-major, so a long suite runs every journey once before repeating any.
    for iteration in 1..=plan.repeat.max(1) {
        for journey in &journeys {
            let (journey, engine, opts) = (journey.clone(), engine.clone(), opts.clone());
            let (permits, cancel) = (permits.clone(), cancel.clone());
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring only waits for a free slot.
                let _permit = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Ran::NotStarted,
                    p = permits.acquire_owned() => p.ok(),
                };
                if cancel.is_cancelled() {
                    return Ran::NotStarted;
                }
                attempts(&journey, &engine, &opts, iteration, plan.retries, &cancel).await
            });
        }
    }
    let mut out = Outcome {
        entries: Vec::with_capacity(tasks.len()),
        crashed: 0,
        not_run: 0,
    };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ran::Finished(entry)) => {
                on_finished(&entry);
                out.entries.push(*entry);
            }
            Ok(Ran::NotStarted) => out.not_run += 1,
            Err(_) => out.crashed += 1,
        }
    }
    out
}

/// What became of one planned run.
enum Ran {
    Finished(Box<SuiteEntry>),
    NotStarted,
}

/// One journey run with its retries.
async fn attempts(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    iteration: u32,
    retries: u32,
    cancel: &CancellationToken,
) -> Ran {
    let mut runs = Vec::new();
    for attempt in 0..=retries {
        if attempt > 0 && cancel.is_cancelled() {
            break;
        }
        let run = run_journey(journey, engine, opts, &mut |_| {}).await;
        let passed = run.verdict == Verdict::Pass;
        runs.push(run);
        if passed {
            break;
        }
    }
    match SuiteEntry::new(
        &journey.name,
        &journey.source.display().to_string(),
        iteration,
        runs,
    ) {
        Some(entry) => Ran::Finished(Box::new(entry)),
        None => Ran::NotStarted,
    }
}
