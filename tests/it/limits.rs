//! Values `check` accepts never panic at run time (issue 12, defect 3): a
//! deterministic generator puts extreme durations, sizes and numbers in every
//! duration and size key; each journey `parse_journey` accepts is run against
//! a closed loopback port and must give a classified failure, and each daemon
//! configuration the builder accepts must hold values a clock can take.

use std::path::Path;
use std::time::Duration;

use journeyd::journey::parse::parse_journey;
use journeyd::journey::template::Engine;
use journeyd::runner::{RunOptions, StepVerdict, Verdict, run_journey};
use journeyd::units::limits;

/// Durations at and past every edge: u64::MAX seconds, years, zero, negative,
/// fractions, below a millisecond, just past an hour or a day, no unit.
const DURATIONS: &[&str] = &[
    "18446744073709551615s",
    "18446744073709551615",
    "500000000000y",
    "200000000y",
    "9999999999999999999999ms",
    "100000d",
    "0s",
    "0",
    "-5s",
    "1.5s",
    "0.001s",
    "1ns",
    "999us",
    "1ms",
    "10ms",
    "1s",
    "1h",
    "3600s",
    "3601s",
    "61m",
    "1d",
    "86401s",
    "1 fortnight",
    "''",
];

/// `every` and `max_every` values.
const POLLS: &[&str] = &[
    "18446744073709551615s",
    "500000000000y",
    "0s",
    "-1s",
    "1ms",
    "100ms",
    "1m",
    "1h",
    "61m",
];

const SIZES: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "99999999999GiB",
    "0",
    "1",
    "-1",
    "1.5MiB",
    "1023",
    "1KiB",
    "64MiB",
    "65MiB",
    "1 parsec",
];

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "10",
    "10.0000001",
    "1e308",
    ".nan",
    ".inf",
    "2",
];

/// Every key of the template below, with the values the generator puts in it.
const KEYS: &[(&str, &[&str])] = &[
    ("interval", DURATIONS),
    ("timeout", DURATIONS),
    ("max_body", SIZES),
    ("default_timeout", DURATIONS),
    ("step_timeout", DURATIONS),
    ("within", DURATIONS),
    ("every", POLLS),
    ("max_every", POLLS),
    ("backoff", NUMBERS),
    ("warn_after", DURATIONS),
    ("max_duration", DURATIONS),
    ("warn_duration", DURATIONS),
    ("cleanup_timeout", DURATIONS),
];

/// Valid values for the keys a case leaves alone.
const BASE: &[&str] = &[
    "30s", "2s", "1MiB", "1s", "1s", "1s", "200ms", "200ms", "1", "10s", "1s", "1s", "1s",
];

fn journey_yaml(v: &[&str]) -> String {
    format!(
        "name: fuzz\ninterval: {}\ntimeout: {}\nmax_body: {}\ndefaults: {{ timeout: {} }}\n\
         steps:\n  - name: s\n    request: {{ url: \"http://127.0.0.1:1/\", timeout: {} }}\n\
         \x20   eventually: {{ within: {}, every: {}, max_every: {}, backoff: {}, warn_after: {} }}\n\
         \x20   expect: {{ status: 200, max_duration: {} }}\n    warn_duration: {}\n\
         cleanup:\n  - name: c\n    request: {{ url: \"http://127.0.0.1:1/\", timeout: {} }}\n",
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]
    )
}

/// xorshift64: the same cases on every run, so a failure reproduces.
struct Gen(u64);

impl Gen {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from[(self.0 % from.len() as u64) as usize]
    }
}

/// Each key with each of its values (the others valid), then random mixes.
fn cases() -> Vec<String> {
    let mut out = Vec::new();
    for (k, (_, values)) in KEYS.iter().enumerate() {
        for v in *values {
            let mut vals = BASE.to_vec();
            vals[k] = v;
            out.push(journey_yaml(&vals));
        }
    }
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200 {
        let vals: Vec<&str> = (KEYS.iter())
            .zip(BASE)
            .map(|((_, values), base)| match g.pick(&["x", "base"]) {
                "x" => g.pick(values),
                _ => *base,
            })
            .collect();
        out.push(journey_yaml(&vals));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_journey_check_accepts_runs_to_a_classified_result() {
    let engine = std::sync::Arc::new(Engine::new());
    let mut runs = tokio::task::JoinSet::new();
    let mut refused = 0;
    for yaml in cases() {
        let Ok(journey) = parse_journey(Path::new("fuzz.yaml"), &yaml, &engine) else {
            refused += 1;
            continue;
        };
        let engine = engine.clone();
        // All at once, each under a real-time bound: an accepted journey may wait
        // up to an hour (valid, only slow), so one still running at the bound
        // counts as "no panic yet"; the point is that computing its deadlines,
        // sleeps and polls with extreme values panics at once when it panics.
        runs.spawn(async move {
            let opts = RunOptions::default();
            let mut on_event = |_: journeyd::runner::RunEvent<'_>| {};
            let run = run_journey(&journey, &engine, &opts, &mut on_event);
            (
                tokio::time::timeout(Duration::from_secs(4), run).await.ok(),
                yaml,
            )
        });
    }
    let (mut accepted, mut finished) = (0, 0);
    while let Some(joined) = runs.join_next().await {
        accepted += 1;
        let (run, yaml) = joined.unwrap_or_else(|e| panic!("a run panicked: {e}"));
        let Some(run) = run else { continue };
        finished += 1;
        assert_eq!(run.verdict, Verdict::Fail, "{yaml}");
        let step = &run.steps[0];
        assert_eq!(step.verdict, StepVerdict::Fail, "{yaml}");
        assert!(step.failure.is_some(), "no failure class:\n{yaml}");
        assert!(run.duration_seconds.is_finite(), "{yaml}");
    }
    // Both sides of the ranges are exercised, and most runs end in time.
    assert!(
        accepted >= 40 && refused >= 100 && finished * 2 >= accepted,
        "{accepted} accepted, {finished} finished, {refused} refused"
    );
}

/// Daemon configuration keys and the range each built value must fall in.
const CONFIG_KEYS: &[&str] = &[
    "shutdown_grace: {}",
    "first_run_within: {}",
    "defaults: { interval: {} }",
    "defaults: { timeout: {} }",
    "history: { max_age: {} }",
    "alerting: { policy: { confirm_delay: {} } }",
    "alerting: { policy: { repeat_interval: {} } }",
    "alerting: { receivers: [{ name: am, type: alertmanager, urls: [\"http://127.0.0.1:9093\"], resend_interval: {} }] }",
    "alerting: { maintenance: [{ name: w, at: \"02:00\", duration: {} }] }",
];

#[test]
fn every_daemon_configuration_the_builder_accepts_fits_a_clock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journeyd.yaml");
    let now = chrono::Utc::now();
    let mut accepted = 0;
    for key in CONFIG_KEYS {
        for value in DURATIONS.iter().chain(POLLS) {
            let text = format!("journeys: [j]\n{}\n", key.replace("{}", value));
            std::fs::write(&path, &text).unwrap();
            let Ok(c) = journeyd::config::load(&path) else {
                continue;
            };
            accepted += 1;
            let p = &c.alerting.policy;
            let durations = [
                (c.shutdown_grace, limits::SHUTDOWN_GRACE),
                (
                    c.first_run_within.unwrap_or(Duration::from_secs(1)),
                    limits::FIRST_RUN_WITHIN,
                ),
                (c.journey_defaults.interval, limits::INTERVAL),
                (c.journey_defaults.timeout, limits::JOURNEY_TIMEOUT),
                (c.retention.max_age, limits::HISTORY_MAX_AGE),
                (p.confirm_delay, limits::CONFIRM_DELAY),
                (p.repeat_interval, limits::REPEAT_INTERVAL),
            ];
            for (d, range) in durations {
                assert!(
                    d >= range.min && d <= range.max,
                    "{}: {d:?}\n{text}",
                    range.key
                );
                let d = chrono::TimeDelta::from_std(d).unwrap();
                assert!(now.checked_add_signed(d).is_some(), "{text}");
            }
            for w in &c.alerting.maintenance {
                // A window's end is computed from any instant: it must stay representable.
                let _ = w.holds(&Default::default(), now);
            }
        }
    }
    assert!(accepted >= 9, "{accepted} accepted");
}

#[test]
fn every_range_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let docs: String = ["journeys.md", "configuration.md", "api.md"]
        .iter()
        .map(|f| std::fs::read_to_string(root.join(f)).unwrap())
        .collect();
    let row = |key: &str, min: String, max: String| {
        let found = docs.lines().any(|l| {
            l.starts_with(&format!("| `{key}`")) && l.contains(&format!("| {min} | {max} |"))
        });
        assert!(found, "no row `| `{key}` ... | {min} | {max} |` in docs/");
    };
    for r in limits::DURATIONS {
        row(
            r.key,
            limits::format_limit(r.min),
            limits::format_limit(r.max),
        );
    }
    let s = limits::MAX_BODY;
    row(
        s.key,
        limits::format_size_limit(s.min),
        limits::format_size_limit(s.max),
    );
}

#[test]
fn metrics_step_detail_parses_and_unknown_keys_get_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journeyd.yaml");
    std::fs::write(&path, "journeys: [j]\n").unwrap();
    assert!(!journeyd::config::load(&path).unwrap().metrics.step_detail);
    std::fs::write(&path, "journeys: [j]\nmetrics: { step_detail: true }\n").unwrap();
    assert!(journeyd::config::load(&path).unwrap().metrics.step_detail);
    std::fs::write(&path, "journeys: [j]\nmetrics: { step_detial: true }\n").unwrap();
    let errors = journeyd::config::load(&path).unwrap_err();
    let shown = errors[0].to_string();
    assert!(
        shown.contains("step_detial") && shown.contains("did you mean `step_detail`"),
        "{shown}"
    );
}
