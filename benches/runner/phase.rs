//! Measuring a phase: iterations run `concurrency` at a time, in blocks, with
//! the wall time, CPU time, requests, connections and peak RSS of each block
//! added up.
//!
//! The two phases alternate block by block (see `main`), because this machine
//! is shared: a build starting halfway through would otherwise slow down only
//! the phase that happened to run second and skew the ratio.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::measure::{Cpu, peak_rss_kib, process_cpu, reset_peak_rss};
use crate::target::Target;

/// What a phase measured, summed over its blocks.
#[derive(Default)]
pub struct Phase {
    /// Wall time inside blocks.
    pub wall: Duration,
    /// The whole process, target thread included.
    pub cpu_process: Cpu,
    /// The target's thread alone.
    pub cpu_target: Cpu,
    /// Requests the target answered.
    pub requests: u64,
    /// Connections the target accepted.
    pub connections: u64,
    /// Per-iteration durations, sorted once [`Phase::finish`] ran.
    pub durations: Vec<Duration>,
    /// Highest `VmHWM` seen at the end of a block (reset at its start).
    pub peak_rss_kib: Option<u64>,
}

impl Phase {
    /// CPU of the client side: the process minus the target's thread.
    pub fn cpu_runner(&self) -> Duration {
        self.cpu_process
            .total()
            .saturating_sub(self.cpu_target.total())
    }

    /// Sorts the durations for quantiles.
    pub fn finish(&mut self) {
        self.durations.sort();
    }

    /// Runs one block of `n` iterations and adds what it measured. Aborts the
    /// benchmark when an iteration fails or `deadline` passes.
    pub async fn measure_block<F, Fut>(
        &mut self,
        target: &Target,
        n: usize,
        concurrency: usize,
        deadline: Instant,
        make: &F,
    ) where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        reset_peak_rss();
        let target0 = target.cpu().await;
        let (conn0, req0) = (target.connections(), target.requests());
        let (cpu0, t0) = (process_cpu(), Instant::now());
        let left = deadline.saturating_duration_since(t0);
        let run = run_iterations(n, concurrency, make);
        let Ok(mut durations) = tokio::time::timeout(left, run).await else {
            crate::abort("the time limit (--max-seconds) passed before the runs finished");
        };
        self.wall += t0.elapsed();
        let cpu = process_cpu().since(cpu0);
        self.requests += target.requests() - req0;
        self.connections += target.connections() - conn0;
        let cpu_target = target.cpu().await.since(target0);
        self.cpu_process = self.cpu_process.plus(cpu);
        self.cpu_target = self.cpu_target.plus(cpu_target);
        self.durations.append(&mut durations);
        self.peak_rss_kib = self.peak_rss_kib.max(peak_rss_kib());
    }
}

/// Runs `make()` `n` times, `concurrency` at a time; the first error aborts the benchmark.
pub async fn run_iterations<F, Fut>(n: usize, concurrency: usize, make: &F) -> Vec<Duration>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut set = JoinSet::new();
    let mut durations = Vec::with_capacity(n);
    let mut started = 0;
    let timed = |fut: Fut| async move {
        let t = Instant::now();
        fut.await.map(|()| t.elapsed())
    };
    while started < n.min(concurrency) {
        set.spawn(timed(make()));
        started += 1;
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(d)) => durations.push(d),
            Ok(Err(e)) => crate::abort(&format!("a run failed: {e}")),
            Err(e) => crate::abort(&format!("a run panicked: {e}")),
        }
        if started < n {
            set.spawn(timed(make()));
            started += 1;
        }
    }
    durations
}
