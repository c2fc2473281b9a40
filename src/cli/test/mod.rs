//! `journeyd test`: run a suite of journeys (files, directories, globs, label
//! selectors) in parallel, with repeats and retries, and report the result for
//! a person (progress and a summary table) and for CI (JSON, JUnit, HTML).
//!
//! Exit 0 when every run passed (a flaky one, failed then passed on a retry,
//! counts as passed), 1 when one failed, 2 on a configuration error: a journey
//! that does not parse stops the suite before anything runs. An interrupted
//! suite (Ctrl-C, SIGTERM) reports what finished and exits 1.

mod exec;
mod output;
mod progress;
mod select;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use journeyd::journey::parse::load_paths;
use journeyd::journey::template::Engine;
use journeyd::report::suite::SuiteReport;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::check::print_diagnostics;
use super::demo_target::shutdown_signal;
use super::options::RunArgs;
use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE};
use exec::Plan;
use output::TestFormat;

/// Arguments of `journeyd test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Journey files, directories (searched recursively) or globs [default: journeys]
    pub paths: Vec<String>,
    /// Run only journeys with this label (repeatable; all keys must match): --tag team=checkout
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = select::parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Journeys run at once [default: the number of CPUs]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Run every journey N times.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Run a failed journey again up to N times; passing on a retry is reported as flaky.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Report format (on stdout, or in --report FILE).
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Write the report to FILE and print the summary table on stdout.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// How the journeys are run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Selects, validates and runs the journeys, prints and writes the reports;
/// returns the exit code.
pub async fn run(args: TestArgs) -> u8 {
    let patterns = if args.paths.is_empty() {
        vec!["journeys".to_string()]
    } else {
        args.paths.clone()
    };
    let files = match select::journey_files(&patterns) {
        Ok(f) => f,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {p}");
            }
            return EXIT_USAGE;
        }
    };
    let engine = Engine::new();
    let loaded = load_paths(&files, &engine);
    // Nothing runs unless every file is valid: half a suite would pass for the wrong reason.
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&loaded.diagnostics);
        eprintln!(
            "error: {} problem(s); no journey was run",
            loaded.diagnostics.len()
        );
        return EXIT_USAGE;
    }
    let journeys = select::by_tags(loaded.journeys, &args.tags);
    if journeys.is_empty() {
        eprintln!("error: no journey matches the --tag selectors");
        return EXIT_USAGE;
    }
    let opts = match args.run.run_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let plan = Plan {
        jobs: args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs),
        repeat: args.repeat,
        retries: args.retries,
    };
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let mut progress = progress::Progress::new(journeys.len() * plan.repeat as usize, plan.repeat);
    progress.start();
    let cancel = CancellationToken::new();
    let watcher = tokio::spawn(cancel_on_signal(cancel.clone()));
    let shared = (Arc::new(engine), Arc::new(opts));
    let outcome = exec::run_all(journeys, shared.0, shared.1, plan, cancel, |e| {
        progress.finished(e)
    })
    .await;
    watcher.abort();
    progress.finish();
    let suite = SuiteReport::new(
        started_at,
        start.elapsed().as_secs_f64(),
        plan.repeat,
        outcome.entries,
    );
    if let Err(e) = output::emit(&suite, args.format, args.report.as_deref()) {
        eprintln!("error: {e}");
        return EXIT_USAGE;
    }
    if outcome.not_run > 0 {
        eprintln!(
            "error: interrupted: {} journey run(s) not started",
            outcome.not_run
        );
        return EXIT_FAIL;
    }
    if outcome.crashed > 0 {
        eprintln!(
            "error: {} journey run(s) crashed (a bug in journeyd: please report it)",
            outcome.crashed
        );
        return EXIT_FAIL;
    }
    if suite.totals.failed > 0 {
        EXIT_FAIL
    } else {
        EXIT_OK
    }
}

/// First SIGINT/SIGTERM: start nothing new, let running journeys finish their
/// cleanup. Second: stop at once (exit 130, as a shell reports an interrupt).
async fn cancel_on_signal(cancel: CancellationToken) {
    shutdown_signal().await;
    eprintln!(
        "\r\x1b[Kinterrupted: letting running journeys finish with their cleanup (interrupt again to stop now)"
    );
    cancel.cancel();
    shutdown_signal().await;
    std::process::exit(130);
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
