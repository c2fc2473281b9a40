//! One step: its name and backend, then each part (request, expect,
//! fail_fast, captures, eventually, retry) built by the file for that part;
//! and the journey-wide rule that step names are unique.

use std::collections::BTreeMap;
use std::time::Duration;

use super::build::{Builder, loc};
use super::raw::{RawJourney, RawStep, S};
use crate::journey::model::*;
use crate::units::limits;

impl Builder<'_> {
    pub(super) fn steps(
        &mut self,
        section: &str,
        raw: &[S<RawStep>],
        defaults: &Defaults,
    ) -> Vec<Step> {
        // Exact capacity: a Step is large, and growth by doubling left about 1.4 KiB
        // unused per five-step journey for the daemon's life (heap profile, "Lean").
        let mut out = Vec::with_capacity(raw.len());
        for (i, s) in raw.iter().enumerate() {
            let path = format!("{section}[{i}]");
            let step = self.step(&path, s, defaults);
            for key in s.value.capture.keys() {
                self.known
                    .captures
                    .insert(key.clone(), s.value.name.value.clone());
            }
            out.push(step);
            self.durable_placement(section, &path, i + 1 == raw.len(), s);
        }
        out
    }

    /// A durable step ends the run after its first poll: it must be the last main step.
    fn durable_placement(&mut self, section: &str, path: &str, last: bool, s: &S<RawStep>) {
        let Some(d) = (s.value.eventually.as_ref())
            .and_then(|e| e.value.durable.as_ref())
            .filter(|d| d.value)
        else {
            return;
        };
        let why = if section != "steps" {
            "a cleanup step cannot be durable: cleanup runs once the journey is done with its data"
        } else if !last {
            "a durable step must be the last of `steps`: the run ends after its first poll, so later steps could not use what it captures"
        } else {
            return;
        };
        self.err(loc(d), &format!("{path}.eventually.durable"), why);
    }

    pub(super) fn step(&mut self, path: &str, s: &S<RawStep>, defaults: &Defaults) -> Step {
        self.uses.clear();
        let raw = &s.value;
        let name = raw.name.value.trim().to_string();
        if name.is_empty() || name.len() > 100 {
            self.err(
                loc(&raw.name),
                &format!("{path}.name"),
                "step name must be 1-100 characters",
            );
        }
        let backend = raw.backend.as_ref().map(|b| {
            let ok = !b.value.is_empty()
                && b.value.len() <= 64
                && b.value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                self.err(loc(b), &format!("{path}.backend"), "backend must be 1-64 characters of letters, digits, `-`, `_` or `.` (it is a metric label)");
            }
            b.value.clone()
        });
        let (request, timeout) = self.request(&format!("{path}.request"), &raw.request, defaults);
        let expect = match &raw.expect {
            Some(e) => self.expect(&format!("{path}.expect"), e),
            None => Vec::new(),
        };
        let eventually = raw
            .eventually
            .as_ref()
            .and_then(|e| self.eventually(&format!("{path}.eventually"), e));
        let fail_fast = match &raw.fail_fast {
            Some(f) if raw.eventually.is_none() => {
                self.err(loc(f), &format!("{path}.fail_fast"), "fail_fast only makes sense with `eventually`: add `eventually: { within: 30s }` or remove fail_fast");
                Vec::new()
            }
            Some(f) => self.expect(&format!("{path}.fail_fast"), f),
            None => Vec::new(),
        };
        let captures = self.captures(&format!("{path}.capture"), &raw.capture);
        let warn_duration = raw.warn_duration.as_ref().and_then(|w| {
            self.duration(w, &format!("{path}.warn_duration"), limits::STEP_DURATION)
        });
        let retry = self.retry(
            &format!("{path}.retry"),
            raw.retry.as_ref(),
            &defaults.retry,
        );
        // Cleanup steps declare none (reported once, in `diagnostics.rs`).
        let diagnostics = if path.starts_with("steps") {
            self.diagnostics(&format!("{path}.diagnostics"), &raw.diagnostics, defaults)
        } else {
            Vec::new()
        };
        // The step lives as long as its journey: no growth slack in its lists, and
        // exact-size slices where nothing is added later (a few hundred bytes per
        // step; heap profile in docs/benchmarks.md, "Lean").
        let (mut fail_fast, mut diagnostics) = (fail_fast, diagnostics);
        fail_fast.shrink_to_fit();
        diagnostics.shrink_to_fit();
        Step {
            name,
            loc: loc(s),
            backend,
            request,
            timeout,
            expect: expect.into_boxed_slice(),
            captures: captures.into_boxed_slice(),
            retry: (retry != Retry::DEFAULT).then(|| Box::new(retry)),
            extras: StepExtras {
                eventually,
                fail_fast,
                warn_duration,
                diagnostics,
            }
            .boxed(),
            uses: std::mem::take(&mut self.uses).into_iter().collect(),
        }
    }

    pub(super) fn unique_step_names(&mut self, raw: &RawJourney) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let all = raw
            .steps
            .value
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("steps[{i}]"), s))
            .chain(
                raw.cleanup
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("cleanup[{i}]"), s)),
            );
        for (path, s) in all {
            let name = s.value.name.value.trim().to_string();
            if let Some(first) = seen.get(&name) {
                let msg = format!(
                    "step name `{name}` is already used by {first}; step names must be unique within a journey"
                );
                self.err(loc(&s.value.name), &format!("{path}.name"), msg);
            } else {
                seen.insert(name, path);
            }
        }
    }
}

/// Journey-wide request defaults.
pub(super) struct Defaults {
    pub(super) headers: Vec<(String, Template)>,
    pub(super) timeout: Duration,
    pub(super) redirects: Redirects,
    pub(super) retry: Retry,
}
