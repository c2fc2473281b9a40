//! The one table of allowed ranges: every duration and size key of journey
//! files, the daemon configuration and the API is checked against a range
//! here, so a value `check` accepts can always be added to a clock without
//! overflow and never means "forever". `docs/journeys.md`,
//! `docs/configuration.md` and `docs/api.md` document the same ranges; the
//! test `documented_ranges_match_the_table` keeps them honest.

use std::time::Duration;

/// The allowed range of one duration key, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The key as the docs' range tables name it (first in its row).
    pub key: &'static str,
    /// Smallest value allowed.
    pub min: Duration,
    /// Largest value allowed.
    pub max: Duration,
}

/// The allowed range of one size key in bytes, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// The key as documented.
    pub key: &'static str,
    /// Smallest value allowed.
    pub min: u64,
    /// Largest value allowed.
    pub max: u64,
}

const MS: u64 = 1;
const S: u64 = 1000 * MS;
const M: u64 = 60 * S;
const H: u64 = 60 * M;
const D: u64 = 24 * H;

const fn range(key: &'static str, min_ms: u64, max_ms: u64) -> DurationRange {
    DurationRange {
        key,
        min: Duration::from_millis(min_ms),
        max: Duration::from_millis(max_ms),
    }
}

// Journey files.

/// `interval`, and the daemon's `defaults.interval`: at most daily, since a
/// journey is a probe; at least every second so runs do not pile up.
pub const INTERVAL: DurationRange = range("interval", S, D);
/// A journey's `timeout`, and the daemon's `defaults.timeout`: a whole journey.
pub const JOURNEY_TIMEOUT: DurationRange = range("timeout", 10 * MS, H);
/// A step's `timeout` and the journey's `defaults.timeout` (one request).
pub const STEP_TIMEOUT: DurationRange = range("request.timeout", MS, H);
/// `eventually.within`, `every`, `max_every`, `warn_after`: bounded by a journey.
pub const EVENTUALLY: DurationRange = range("eventually.within", MS, H);
/// `eventually.within` of a `durable: true` step: watched by the daemon beyond the run,
/// up to a month (a refund booked overnight, a contract activated by a person).
pub const DURABLE_WITHIN: DurationRange = range("eventually.within (durable)", S, 30 * D);
/// `expect.max_duration` and `warn_duration`: bounded by a request.
pub const STEP_DURATION: DurationRange = range("expect.max_duration", MS, H);
/// `retry.delay`: the pause before the first retry of a request, doubled after
/// each: a tighter loop only hammers a sick server, a longer one belongs to `eventually`.
pub const RETRY_DELAY: DurationRange = range("retry.delay", 10 * MS, 30 * S);
/// `max_body`: the largest response body buffered for one step.
pub const MAX_BODY: SizeRange = SizeRange {
    key: "max_body",
    min: 1 << 10,
    max: 64 << 20,
};

// The daemon configuration.

/// `shutdown_grace`: within systemd's stop timeout (90 s by default) plus margin.
pub const SHUTDOWN_GRACE: DurationRange = range("shutdown_grace", 100 * MS, 10 * M);
/// `first_run_within`: at most one daily interval.
pub const FIRST_RUN_WITHIN: DurationRange = range("first_run_within", S, D);
/// `history.max_age`: an hour to ten years.
pub const HISTORY_MAX_AGE: DurationRange = range("history.max_age", H, 3650 * D);
/// `history.cleanup_max_age`: owed cleanup is retried a minute to a month.
pub const CLEANUP_MAX_AGE: DurationRange = range("history.cleanup_max_age", M, 30 * D);
/// `alerting.policy.confirm_delay`: the failing run waits this long before the
/// confirmation run, so it must stay well within a journey.
pub const CONFIRM_DELAY: DurationRange = range("alerting.policy.confirm_delay", MS, 10 * M);
/// `alerting.backend_group_wait`: how long a journey's page waits for other journeys
/// failing at the same back-end; longer delays every page of a shared back-end.
pub const BACKEND_GROUP_WAIT: DurationRange = range("alerting.backend_group_wait", 0, 10 * M);
/// `alerting.policy.repeat_interval`: reminders at most every minute, at least monthly.
pub const REPEAT_INTERVAL: DurationRange = range("alerting.policy.repeat_interval", M, 30 * D);
/// `alerting.receivers[].resend_interval` (Alertmanager re-sends).
pub const RESEND_INTERVAL: DurationRange = range("alerting.receivers[].resend_interval", S, H);
/// `alerting.maintenance[].duration` of a weekly window: at most the week it recurs in.
pub const MAINTENANCE_DURATION: DurationRange = range("alerting.maintenance[].duration", M, 7 * D);

/// `alerting.deploy_window`: how long after a deploy a new failure names it.
pub const DEPLOY_WINDOW: DurationRange = range("alerting.deploy_window", M, D);

/// `tracing.otlp.timeout`: one export request to the collector.
pub const OTLP_TIMEOUT: DurationRange = range("tracing.otlp.timeout", 100 * MS, M);

// The API.

/// `duration` of `POST /api/silences`: a minute to a year.
pub const SILENCE_DURATION: DurationRange = range("duration", M, 365 * D);

/// Every duration range, for the docs test.
pub const DURATIONS: [DurationRange; 19] = [
    INTERVAL,
    RETRY_DELAY,
    JOURNEY_TIMEOUT,
    STEP_TIMEOUT,
    EVENTUALLY,
    DURABLE_WITHIN,
    STEP_DURATION,
    SHUTDOWN_GRACE,
    FIRST_RUN_WITHIN,
    HISTORY_MAX_AGE,
    CLEANUP_MAX_AGE,
    CONFIRM_DELAY,
    BACKEND_GROUP_WAIT,
    REPEAT_INTERVAL,
    RESEND_INTERVAL,
    MAINTENANCE_DURATION,
    DEPLOY_WINDOW,
    OTLP_TIMEOUT,
    SILENCE_DURATION,
];

/// A range end in the largest whole unit: `1ms`, `100ms`, `1s`, `10m`, `1h`, `30d`.
pub fn format_limit(d: Duration) -> String {
    let ms = d.as_millis();
    let ms64 = u64::try_from(ms).unwrap_or(u64::MAX);
    for (unit, size) in [("d", D), ("h", H), ("m", M), ("s", S)] {
        if ms64 >= size && ms64.is_multiple_of(size) {
            return format!("{}{unit}", ms64 / size);
        }
    }
    format!("{ms}ms")
}

/// A size range end in the largest whole binary unit: `1KiB`, `64MiB`.
pub fn format_size_limit(n: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    format!("{n}B")
}
