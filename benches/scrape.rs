//! Benchmark of one `/metrics` scrape at scale: N configured 5-step journeys (one
//! back-end proof each) that have all passed and failed once, rendered chunk by chunk
//! with [`Metrics::render_chunk`] as the server streams it (each chunk dropped once
//! counted, as once sent). Prints CPU time, wall time, bytes and
//! series per scrape, and the transient memory (peak RSS during the scrapes minus
//! RSS before), for the default exposition and with `step_detail`.
//!
//! Nothing goes over the network. Goal (lean issue): 10,000 journeys in at most
//! 100 ms CPU per scrape, no transient spike.
//!
//! ```sh
//! cargo bench --bench scrape -- --journeys 10000
//! ```

// A benchmark fails by panicking, like a test.
#![allow(clippy::panic)]

#[path = "runner/measure.rs"]
#[allow(dead_code)]
mod measure;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::DateTime;
use journeyd::journey::Journey;
use journeyd::journey::parse::parse_journey;
use journeyd::journey::template::Engine;
use journeyd::metrics::{Cursor, Metrics, MetricsOptions};
use journeyd::runner::{Failure, FailureClass, JourneyRun, StepOutcome, StepVerdict, Verdict};
use measure::{peak_rss_kib, reset_peak_rss, rss_kib, thread_cpu};

const STEPS: [&str; 5] = [
    "home",
    "log in",
    "add to cart",
    "place order",
    "order shipped",
];
const SCRAPES: u32 = 5;

fn journey(i: usize, engine: &Engine) -> Journey {
    let src = [
        format!("name: j{i}"),
        format!("labels: {{ team: t{}, channel: web }}", i % 20),
        "steps:".to_string(),
        "  - name: home".into(),
        "    request: { url: \"https://shop.example/\" }".into(),
        "  - name: log in".into(),
        "    request: { method: POST, url: \"https://shop.example/login\" }".into(),
        "  - name: add to cart".into(),
        "    request: { method: POST, url: \"https://shop.example/cart\" }".into(),
        "  - name: place order".into(),
        "    request: { method: POST, url: \"https://shop.example/orders\" }".into(),
        "  - name: order shipped".into(),
        "    backend: fulfillment".into(),
        "    request: { url: \"https://shop.example/orders/1\" }".into(),
        "    eventually: { within: 30s, every: 1s }".into(),
    ]
    .join("\n");
    match parse_journey(Path::new("bench.yaml"), &src, engine) {
        Ok(j) => j,
        Err(d) => panic!("{d:?}"),
    }
}

fn run(name: &str, fail: bool) -> JourneyRun {
    let steps = STEPS
        .iter()
        .map(|s| {
            let backend = (*s == "order shipped").then_some("fulfillment");
            let mut o = StepOutcome::skipped(s, backend, "");
            o.verdict = StepVerdict::Pass;
            o.duration_seconds = 0.05;
            o.attempts = 1;
            o.cert_not_after = DateTime::from_timestamp(1_800_000_000, 0);
            if backend.is_some() {
                o.backend_completion_seconds = Some(2.0);
            }
            if fail && backend.is_some() {
                o.verdict = StepVerdict::Fail;
                o.failure = Some(Failure {
                    class: FailureClass::BackendTimeout,
                    message: "did not finish".into(),
                    mismatches: Vec::new(),
                });
            }
            o
        })
        .collect();
    JourneyRun {
        run_id: uuid::Uuid::new_v4(),
        journey: name.to_string(),
        started_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        duration_seconds: 1.5,
        verdict: if fail { Verdict::Fail } else { Verdict::Pass },
        degraded: false,
        captures: BTreeMap::new(),
        steps,
        cleanup: Vec::new(),
        trace_id: None,
    }
}

fn measure(n: usize, options: MetricsOptions) {
    let engine = Engine::new();
    let journeys: Vec<Journey> = (0..n).map(|i| journey(i, &engine)).collect();
    let labels = BTreeMap::from([("location".to_string(), "bench".to_string())]);
    let m = match Metrics::with_options(&labels, options) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    m.set_journeys(&journeys);
    for j in &journeys {
        m.observe_run(j, &run(&j.name, false));
        m.observe_run(j, &run(&j.name, true));
    }
    // One warm-up scrape, then the measured ones.
    let warm = m.render();
    let series = warm.lines().filter(|l| !l.starts_with('#')).count();
    drop(warm);
    let before = rss_kib().unwrap_or(0);
    let reset = reset_peak_rss();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let mut bytes = 0;
    for _ in 0..SCRAPES {
        bytes = scrape(&m);
    }
    let cpu = thread_cpu().since(cpu0).total() / SCRAPES;
    let wall = t0.elapsed() / SCRAPES;
    let peak = peak_rss_kib().unwrap_or(0);
    let spike = if reset {
        format!("{} MiB", peak.saturating_sub(before) / 1024)
    } else {
        "unknown (cannot reset VmHWM)".to_string()
    };
    println!(
        "{n:>6} journeys, step_detail={:<5}: {series:>7} series ({:.1} per journey), {:>6} KiB, \
         CPU {:>7.1} ms, wall {:>7.1} ms per scrape, transient RSS {spike}",
        options.step_detail,
        series as f64 / n as f64,
        bytes / 1024,
        ms(cpu),
        ms(wall),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut counts = vec![100, 1_000, 10_000];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--journeys" => {
                counts = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .map(|n: usize| vec![n.min(20_000)])
                    .unwrap_or(counts);
            }
            "--bench" => {}
            other => eprintln!("ignoring argument {other}"),
        }
    }
    println!("== machine: {}", measure::machine());
    for n in counts {
        measure(n, MetricsOptions::default());
    }
    measure(1_000, MetricsOptions { step_detail: true });
}

/// One scrape as `/metrics` streams it; returns its size in bytes.
fn scrape(m: &Metrics) -> usize {
    let mut cursor = Cursor::default();
    let mut bytes = 0;
    while let Some(chunk) = m.render_chunk(&mut cursor) {
        bytes += chunk.len();
    }
    bytes
}
