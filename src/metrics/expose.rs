//! The `/metrics` exposition, written in bounded chunks.
//!
//! First the families the `prometheus` registry holds (daemon-wide, a few dozen series),
//! then the per-journey families of [`super::series`], family by family and journey by
//! journey, each family's header once. A [`Cursor`] remembers where the last chunk
//! stopped (a family and the last journey written), so a scrape of 10,000 journeys never
//! holds more than one chunk of text and takes the metrics lock only for one chunk at a
//! time. A run that finishes between two chunks shows in the families not yet written; a
//! journey removed between two chunks simply stops appearing.

use std::ops::Bound;

use prometheus::{Encoder, TextEncoder};

use super::Metrics;
use super::families::{self as f, Def, Fam, PHASES};
use super::series::JourneySeries;
use super::text::Text;

/// A chunk is cut after the first journey that takes it past this size.
pub const CHUNK_BYTES: usize = 128 * 1024;

/// The per-journey families, in the order they are written (by name, as the registry sorts).
static ORDER: [&Def; 17] = [
    &f::ALERT_STATE,
    &f::BACKEND_COMPLETION,
    &f::JOURNEY_DEGRADED,
    &f::JOURNEY_DURATION,
    &f::JOURNEY_INFO,
    &f::JOURNEY_LAST_RUN,
    &f::JOURNEY_LAST_SUCCESS,
    &f::JOURNEY_RUNS,
    &f::JOURNEY_SUCCESS,
    &f::RUNS_SKIPPED,
    &f::STEP_ATTEMPTS,
    &f::STEP_DURATION,
    &f::STEP_FAILURES,
    &f::STEP_HTTP,
    &f::STEP_RETRIES,
    &f::STEP_SUCCESS,
    &f::TLS_CERT_NOT_AFTER,
];

/// Where a scrape stands between two chunks.
#[derive(Debug, Default)]
pub struct Cursor {
    registry_done: bool,
    family: usize,
    /// The last journey written in `family`; `None` at the family's start.
    after: Option<String>,
    /// `family`'s header went out in an earlier chunk.
    started: bool,
}

impl Metrics {
    /// The next chunk of the exposition, `None` when the scrape is complete.
    pub fn render_chunk(&self, cursor: &mut Cursor) -> Option<String> {
        let mut out = String::with_capacity(CHUNK_BYTES + 16 * 1024);
        if !cursor.registry_done {
            cursor.registry_done = true;
            self.render_registry(&mut out);
        }
        let state = self.lock();
        let mut text = Text::new(&mut out, &self.statics);
        while let Some(&def) = ORDER.get(cursor.family) {
            text.family(def);
            if cursor.started {
                text.family_started();
            }
            let from = match &cursor.after {
                Some(name) => Bound::Excluded(name.as_str()),
                None => Bound::Unbounded,
            };
            for (name, series) in state.series.range::<str, _>((from, Bound::Unbounded)) {
                write(&mut text, def, name, series, &state.info_keys);
                if text.out.len() >= CHUNK_BYTES {
                    cursor.after = Some(name.clone());
                    // Only a family with a sample so far has sent its header.
                    cursor.started = !text.header_pending();
                    return Some(out);
                }
            }
            cursor.family += 1;
            cursor.after = None;
            cursor.started = false;
        }
        drop(state);
        (!out.is_empty()).then_some(out)
    }

    /// The families of the `prometheus` registry (daemon-wide series).
    fn render_registry(&self, out: &mut String) {
        let mut families = self.registry.gather();
        // The registry appends static labels after a series' own, in hash order: sort them
        // so the output is stable.
        for family in &mut families {
            for metric in family.mut_metric() {
                metric.mut_label().sort_by(|a, b| a.name().cmp(b.name()));
            }
        }
        let mut buf = Vec::new();
        match TextEncoder::new().encode(&families, &mut buf) {
            Ok(()) => out.push_str(&String::from_utf8_lossy(&buf)),
            Err(e) => tracing::error!(error = %e, "Metrics could not be encoded."),
        }
    }
}

/// One journey's samples of one family.
fn write(t: &mut Text<'_>, def: &'static Def, j: &str, s: &JourneySeries, info_keys: &[String]) {
    let jl = [("journey", j)];
    let gauge = |t: &mut Text<'_>, v: Option<f64>| {
        if let Some(v) = v {
            t.sample(def, "", &jl, v);
        }
    };
    let flag = |b: Option<bool>| b.map(|b| f64::from(u8::from(b)));
    match def.fam {
        Fam::AlertState => gauge(t, s.alert_state.map(|v| v as f64)),
        Fam::JourneyDegraded => gauge(t, flag(s.degraded)),
        Fam::JourneySuccess => gauge(t, flag(s.success)),
        Fam::JourneyLastRun => gauge(t, s.last_run),
        Fam::JourneyLastSuccess => gauge(t, s.last_success),
        Fam::TlsCertNotAfter => gauge(t, s.cert_not_after),
        Fam::JourneyDuration => {
            if let Some(h) = &s.duration {
                t.histogram(def, &jl, h);
            }
        }
        Fam::JourneyInfo => {
            let mut labels: Vec<(&str, &str)> = info_keys
                .iter()
                .map(String::as_str)
                .zip(s.info.iter().map(String::as_str))
                .collect();
            let at = labels.partition_point(|(k, _)| *k < "journey");
            labels.insert(at, ("journey", j));
            t.sample(def, "", &labels, 1.0);
        }
        Fam::JourneyRuns => {
            for (result, count) in f::RESULTS.into_iter().zip(s.runs) {
                t.sample(def, "", &[("journey", j), ("result", result)], count as f64);
            }
        }
        Fam::RunsSkipped => {
            for (reason, count) in &s.skipped {
                t.sample(
                    def,
                    "",
                    &[("journey", j), ("reason", reason)],
                    *count as f64,
                );
            }
        }
        _ => write_steps(t, def, j, s),
    }
}

/// One journey's samples of a per-step family.
fn write_steps(t: &mut Text<'_>, def: &'static Def, j: &str, s: &JourneySeries) {
    for st in &s.steps {
        let step = &*st.name;
        let js = [("journey", j), ("step", step)];
        match def.fam {
            Fam::StepSuccess => {
                if let Some(ok) = st.success {
                    t.sample(def, "", &js, f64::from(u8::from(ok)));
                }
            }
            Fam::StepAttempts => {
                if let Some(d) = &st.detail {
                    t.sample(def, "", &js, d.attempts as f64);
                }
            }
            Fam::StepDuration => {
                if let Some(h) = st.detail.as_ref().and_then(|d| d.duration.as_ref()) {
                    t.histogram(def, &js, h);
                }
            }
            Fam::StepFailures => {
                for (class, count) in &*st.failures {
                    let l = [("class", class.as_str()), ("journey", j), ("step", step)];
                    t.sample(def, "", &l, *count as f64);
                }
            }
            Fam::StepRetries => {
                for (class, count) in &*st.retries {
                    let l = [("journey", j), ("reason", class.as_str()), ("step", step)];
                    t.sample(def, "", &l, *count as f64);
                }
            }
            Fam::StepHttp => {
                for (phase, secs) in PHASES
                    .into_iter()
                    .zip(st.detail.iter().flat_map(|d| &d.http))
                {
                    let l = [("journey", j), ("phase", phase), ("step", step)];
                    t.sample(def, "", &l, *secs);
                }
            }
            Fam::BackendCompletion => {
                if let (Some(h), Some(backend)) = (&st.completion, &st.backend) {
                    let l = [("backend", &**backend), ("journey", j), ("step", step)];
                    t.histogram(def, &l, h);
                }
            }
            _ => {}
        }
    }
}
