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
}

/// Runs every journey of `journeys` per `plan`; `on_finished` sees each entry as it ends.
pub async fn run_all(
    journeys: Vec<Journey>,
    engine: Arc<Engine>,
    opts: Arc<RunOptions>,
    plan: Plan,
    mut on_finished: impl FnMut(&SuiteEntry),
) -> Outcome {
    let permits = Arc::new(Semaphore::new(plan.jobs.max(1)));
    let mut tasks = JoinSet::new();
    let journeys: Vec<Arc<Journey>> = journeys.into_iter().map(Arc::new).collect();
    // Repetition-major, so a long suite runs every journey once before repeating any.
    for iteration in 1..=plan.repeat.max(1) {
        for journey in &journeys {
            let (journey, engine, opts) = (journey.clone(), engine.clone(), opts.clone());
            let permits = permits.clone();
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring only waits for a free slot.
                let _permit = permits.acquire_owned().await.ok();
                attempts(&journey, &engine, &opts, iteration, plan.retries).await
            });
        }
    }
    let mut out = Outcome {
        entries: Vec::with_capacity(tasks.len()),
        crashed: 0,
    };
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Some(entry)) => {
                on_finished(&entry);
                out.entries.push(entry);
            }
            Ok(None) | Err(_) => out.crashed += 1,
        }
    }
    out
}

/// One journey run with its retries.
async fn attempts(
    journey: &Journey,
    engine: &Engine,
    opts: &RunOptions,
    iteration: u32,
    retries: u32,
) -> Option<SuiteEntry> {
    let mut runs = Vec::new();
    for _ in 0..=retries {
        let run = run_journey(journey, engine, opts, &mut |_| {}).await;
        let passed = run.verdict == Verdict::Pass;
        runs.push(run);
        if passed {
            break;
        }
    }
    SuiteEntry::new(
        &journey.name,
        &journey.source.display().to_string(),
        iteration,
        runs,
    )
}
