//! Benchmark of the journey runner: N runs of a five-step journey (captures,
//! templated JSON bodies, JSON predicates, one cleanup step) against a fast
//! local target, each run with its own HTTP client and so its own connection
//! pool, as the daemon does.
//!
//! Prints wall time, runs/s, HTTP requests/s, per-run p50/p99, CPU time and
//! peak RSS, next to a reference measured in the same process and the same
//! run: the same requests sent by a bare `reqwest::Client` built per
//! iteration. The ratio journeyd / reference is the engine's overhead. If
//! `wrk` is installed, its requests/s on the same target is a second reference.
//!
//! Traffic goes only to 127.0.0.1; runs are capped at [`MAX_RUNS`] and the
//! measured blocks together at `--max-seconds`.
//!
//! ```sh
//! cargo bench --bench runner -- --runs 1000 --concurrency 1
//! ```

#[path = "runner/journey.rs"]
mod journey;
#[path = "runner/measure.rs"]
mod measure;
#[path = "runner/phase.rs"]
mod phase;
#[path = "runner/reference.rs"]
mod reference;
#[path = "runner/target.rs"]
mod target;

use std::future::Future;
use std::time::{Duration, Instant};

use measure::{machine, quantile, rss_kib};
use phase::{Phase, run_iterations};
use target::Target;

/// Upper bound for `--runs`: each run leaves a socket in TIME_WAIT.
const MAX_RUNS: usize = 10_000;

const USAGE: &str = "usage: runner [--runs N (default 1000)] [--concurrency C (default 1)] \
                     [--blocks B (default 10)] [--warmup W (default 20)] \
                     [--max-seconds S (default 100)]";

struct Args {
    runs: usize,
    concurrency: usize,
    /// The phases alternate in this many blocks.
    blocks: usize,
    warmup: usize,
    /// Limit for all measured blocks together.
    max_seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        runs: 1000,
        concurrency: 1,
        blocks: 10,
        warmup: 20,
        max_seconds: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        // `cargo bench` passes `--bench` to every bench binary.
        if flag == "--bench" {
            continue;
        }
        let mut value = || -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{flag} needs a positive number"))
        };
        match flag.as_str() {
            "--runs" => args.runs = value()? as usize,
            "--concurrency" => args.concurrency = value()? as usize,
            "--blocks" => args.blocks = value()? as usize,
            "--warmup" => args.warmup = value()? as usize,
            "--max-seconds" => args.max_seconds = value()?,
            _ => return Err(format!("unknown argument `{flag}`")),
        }
    }
    if args.runs == 0 || args.runs > MAX_RUNS {
        return Err(format!("--runs must be 1..={MAX_RUNS}"));
    }
    if args.concurrency == 0 || args.max_seconds == 0 || !(1..=args.runs).contains(&args.blocks) {
        return Err("--concurrency and --max-seconds must be at least 1, --blocks 1..=runs".into());
    }
    Ok(args)
}

/// Stops the benchmark: a number measured on failing runs would be meaningless.
pub(crate) fn abort(message: &str) -> ! {
    eprintln!("benchmark aborted: {message}");
    std::process::exit(1);
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2);
    });
    let target = Target::start().unwrap_or_else(|e| abort(&format!("target: {e}")));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| abort(&format!("runtime: {e}")));
    let base = target.base_url();
    let subject = match journey::Subject::new(&base) {
        Ok(s) => s,
        Err(e) => abort(&format!("the journey is invalid:\n{e}")),
    };
    let rss_start = rss_kib();

    let bare = || reference::run_once(base.clone());
    let journeyd = || subject.clone().run_once();
    let (journeyd, bare) = rt.block_on(measure(&args, &target, &journeyd, &bare));
    print_report(&args, &base, rss_start, &journeyd, &bare);
    // The premise of the comparison: same requests, one new connection per run on both sides.
    let requests = args.runs as u64 * journey::REQUESTS_PER_RUN;
    for p in [&journeyd, &bare] {
        if p.requests != requests || p.connections != args.runs as u64 {
            abort("the target did not see the expected requests and connections");
        }
    }
    print_wrk(&target);
}

/// Warms both up, then measures them in alternating blocks (ABBA order), so that
/// load from elsewhere on the machine falls on both alike.
async fn measure<J, JF, R, RF>(
    args: &Args,
    target: &Target,
    journeyd: &J,
    bare: &R,
) -> (Phase, Phase)
where
    J: Fn() -> JF,
    JF: Future<Output = Result<(), String>> + Send + 'static,
    R: Fn() -> RF,
    RF: Future<Output = Result<(), String>> + Send + 'static,
{
    run_iterations(args.warmup, args.concurrency, bare).await;
    run_iterations(args.warmup, args.concurrency, journeyd).await;
    let deadline = Instant::now() + Duration::from_secs(args.max_seconds);
    let (mut j, mut r) = (Phase::default(), Phase::default());
    for block in 0..args.blocks {
        // Spread the remainder over the first blocks.
        let n = args.runs / args.blocks + usize::from(block < args.runs % args.blocks);
        let c = args.concurrency;
        if block % 2 == 0 {
            r.measure_block(target, n, c, deadline, bare).await;
            j.measure_block(target, n, c, deadline, journeyd).await;
        } else {
            j.measure_block(target, n, c, deadline, journeyd).await;
            r.measure_block(target, n, c, deadline, bare).await;
        }
    }
    j.finish();
    r.finish();
    (j, r)
}

fn print_report(args: &Args, base: &str, rss_start: Option<u64>, j: &Phase, r: &Phase) {
    println!("journeyd runner benchmark");
    println!("machine:     {}", machine());
    println!("target:      {base} (axum, 1 thread, in-process)");
    println!(
        "journey:     5 steps + 1 cleanup = {} requests/run, one fresh client (pool) per run",
        journey::REQUESTS_PER_RUN
    );
    println!(
        "runs:        {} (+{} warm-up each), concurrency {}, in {} alternating blocks",
        args.runs, args.warmup, args.concurrency, args.blocks
    );
    println!("RSS at start: {:.1} MiB", mib(rss_start));
    println!();
    println!(
        "| {:<30} | {:>10} | {:>12} | {:>6} |",
        "", "journeyd", "bare reqwest", "ratio"
    );
    println!("|{:-<32}|{:->11}:|{:->13}:|{:->7}:|", "", "", "", "");
    for (name, digits, f) in rows(args.runs) {
        let (a, b) = (f(j), f(r));
        println!(
            "| {name:<30} | {a:>10.digits$} | {b:>12.digits$} | {:>6.2} |",
            a / b
        );
    }
    println!();
    println!(
        "answered: journeyd {} requests on {} connections, bare reqwest {} on {} (expected {} on {})",
        j.requests,
        j.connections,
        r.requests,
        r.connections,
        args.runs as u64 * journey::REQUESTS_PER_RUN,
        args.runs
    );
    println!(
        "overhead of the engine (journeyd / bare reqwest): wall {:.2}x, runner CPU {:.2}x",
        j.wall.as_secs_f64() / r.wall.as_secs_f64(),
        j.cpu_runner().as_secs_f64() / r.cpu_runner().as_secs_f64()
    );
}

fn mib(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |k| k as f64 / 1024.0)
}

type Row = (&'static str, usize, Box<dyn Fn(&Phase) -> f64>);

/// The report's rows: name, decimals, value of a phase.
fn rows(runs: usize) -> Vec<Row> {
    let runs = runs as f64;
    let secs = |d: Duration| d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    vec![
        ("wall time (s)", 3, Box::new(move |p| secs(p.wall))),
        ("runs/s", 0, Box::new(move |p| runs / secs(p.wall))),
        (
            "HTTP requests/s",
            0,
            Box::new(move |p| p.requests as f64 / secs(p.wall)),
        ),
        (
            "run p50 (ms)",
            3,
            Box::new(move |p| ms(quantile(&p.durations, 0.50))),
        ),
        (
            "run p99 (ms)",
            3,
            Box::new(move |p| ms(quantile(&p.durations, 0.99))),
        ),
        (
            "CPU runner user+sys (s)",
            3,
            Box::new(move |p| secs(p.cpu_runner())),
        ),
        (
            "CPU runner per request (us)",
            1,
            Box::new(move |p| secs(p.cpu_runner()) * 1e6 / p.requests as f64),
        ),
        (
            "CPU process user (s)",
            3,
            Box::new(move |p| secs(p.cpu_process.user)),
        ),
        (
            "CPU process sys (s)",
            3,
            Box::new(move |p| secs(p.cpu_process.sys)),
        ),
        (
            "CPU target thread (s)",
            3,
            Box::new(move |p| secs(p.cpu_target.total())),
        ),
        (
            "peak RSS in the phase (MiB)",
            1,
            Box::new(move |p| mib(p.peak_rss_kib)),
        ),
    ]
}

/// A second reference: raw keep-alive throughput of the same target, if `wrk` is installed.
fn print_wrk(target: &Target) {
    let url = format!("{}/api/products", target.base_url());
    let out = std::process::Command::new("wrk")
        .args(["-t1", "-c8", "-d5s", "--timeout", "2s", &url])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let rps = text
                .lines()
                .find(|l| l.starts_with("Requests/sec:"))
                .unwrap_or("Requests/sec: (not found in wrk output)");
            println!("wrk -t1 -c8 -d5s GET /api/products (keep-alive, same target): {rps}");
        }
        Ok(out) => println!("wrk reference skipped: wrk exited with {}", out.status),
        Err(_) => println!("wrk reference skipped: wrk is not installed"),
    }
}
