//! The `alerting:` section of the daemon configuration: raw serde types and
//! their validation into [`AlertingConfig`].

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigBuilder, loc};
use crate::alert::config::*;
use crate::alert::receivers::{self, raw::RawReceiver};
use crate::alert::state::{AlertPolicy, FlakyPolicy};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerting {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    external_url: Option<Spanned<String>>,
    #[serde(default)]
    policy: Option<RawPolicy>,
    #[serde(default)]
    #[schemars(schema_with = "receivers_schema")]
    receivers: Vec<Spanned<RawReceiver>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawRoute>")]
    routes: Vec<Spanned<RawRoute>>,
    #[serde(default)]
    #[schemars(with = "Vec<RawWindow>")]
    maintenance: Vec<Spanned<RawWindow>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    connectivity_check: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    trace_url: Option<Spanned<String>>,
    #[serde(default)]
    group_by_backend: Option<bool>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    backend_min_journeys: Option<Spanned<u32>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    backend_group_wait: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    deploy_window: Option<Spanned<String>>,
    #[serde(default)]
    consensus: Option<super::consensus::RawConsensus>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    confirm: Option<u32>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    confirm_delay: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    failure_threshold: Option<Spanned<u32>>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    success_threshold: Option<Spanned<u32>>,
    #[serde(default)]
    #[schemars(with = "Option<RawWindowCount>")]
    window: Option<Spanned<RawWindowCount>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    repeat_interval: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<RawFlaky>")]
    flaky: Option<Spanned<RawFlaky>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawFlaky {
    #[serde(default)]
    runs: Option<u32>,
    #[serde(default)]
    percent: Option<f64>,
    #[serde(default)]
    min_faults: Option<u32>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWindowCount {
    failures: u32,
    runs: u32,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default, rename = "match")]
    matchers: BTreeMap<String, String>,
    receivers: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    name: String,
    #[serde(default, rename = "match")]
    matchers: BTreeMap<String, String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

impl ConfigBuilder<'_> {
    pub(super) fn alerting(&mut self, raw: Option<&RawAlerting>) -> AlertingConfig {
        let Some(raw) = raw else {
            return AlertingConfig::default();
        };
        let receivers = self.receivers(&raw.receivers);
        let names: BTreeSet<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
        let routes = raw
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| {
                for name in &r.value.receivers {
                    if !names.contains(name.as_str()) {
                        self.err(
                            loc(r),
                            &format!("alerting.routes[{i}].receivers"),
                            format!("no receiver named `{name}`"),
                        );
                    }
                }
                Route {
                    matchers: r.value.matchers.clone(),
                    receivers: r.value.receivers.clone(),
                }
            })
            .collect();
        let maintenance = raw
            .maintenance
            .iter()
            .enumerate()
            .filter_map(|(i, w)| self.window(&format!("alerting.maintenance[{i}]"), w))
            .collect();
        for u in raw.external_url.iter().chain(raw.connectivity_check.iter()) {
            if url::Url::parse(&u.value).is_err() {
                self.err(
                    loc(u),
                    "alerting",
                    format!("`{}` is not an absolute URL", u.value),
                );
            }
        }
        if let Some(t) = &raw.trace_url {
            let sample = t
                .value
                .replace("{trace_id}", "0af7651916cd43dd8448eb211c80319c");
            if !t.value.contains("{trace_id}") || url::Url::parse(&sample).is_err() {
                self.err(
                    loc(t),
                    "alerting.trace_url",
                    "must be an absolute URL containing `{trace_id}`, like `https://grafana.example.com/explore?traceId={trace_id}`",
                );
            }
        }
        AlertingConfig {
            backends: self.backend_grouping(raw),
            consensus: self.consensus(raw.consensus.as_ref()),
            trace_url: raw.trace_url.as_ref().map(|t| t.value.clone()),
            external_url: raw
                .external_url
                .as_ref()
                .map(|u| u.value.trim_end_matches('/').to_string()),
            policy: self.policy(raw.policy.as_ref()),
            receivers,
            routes,
            maintenance,
            connectivity_check: raw.connectivity_check.as_ref().map(|u| u.value.clone()),
            deploy_window: self.duration(
                &raw.deploy_window,
                "alerting.deploy_window",
                crate::units::limits::DEPLOY_WINDOW,
                DEFAULT_DEPLOY_WINDOW,
            ),
        }
    }

    fn backend_grouping(&mut self, raw: &RawAlerting) -> BackendGrouping {
        let mut g = BackendGrouping::default();
        g.enabled = raw.group_by_backend.unwrap_or(g.enabled);
        if let Some(m) = &raw.backend_min_journeys {
            if m.value < 2 {
                self.err(
                    loc(m),
                    "alerting.backend_min_journeys",
                    "must be at least 2 (one failing journey pages on its own)",
                );
            }
            g.min_journeys = usize::try_from(m.value.max(2)).unwrap_or(usize::MAX);
        }
        g.group_wait = self.duration(
            &raw.backend_group_wait,
            "alerting.backend_group_wait",
            crate::units::limits::BACKEND_GROUP_WAIT,
            g.group_wait,
        );
        g
    }

    fn policy(&mut self, raw: Option<&RawPolicy>) -> AlertPolicy {
        let mut p = AlertPolicy::default();
        let Some(raw) = raw else {
            return p;
        };
        if let Some(c) = raw.confirm {
            p.confirm = c.min(5);
        }
        p.confirm_delay = self.duration(
            &raw.confirm_delay,
            "alerting.policy.confirm_delay",
            crate::units::limits::CONFIRM_DELAY,
            p.confirm_delay,
        );
        p.repeat_interval = self.duration(
            &raw.repeat_interval,
            "alerting.policy.repeat_interval",
            crate::units::limits::REPEAT_INTERVAL,
            p.repeat_interval,
        );
        for (field, value, target) in [
            (
                "failure_threshold",
                &raw.failure_threshold,
                &mut p.failure_threshold,
            ),
            (
                "success_threshold",
                &raw.success_threshold,
                &mut p.success_threshold,
            ),
        ] {
            if let Some(v) = value {
                if v.value == 0 {
                    self.err(
                        loc(v),
                        &format!("alerting.policy.{field}"),
                        "must be at least 1",
                    );
                }
                *target = v.value.max(1);
            }
        }
        if let Some(w) = &raw.window {
            if w.value.failures == 0 || w.value.failures > w.value.runs || w.value.runs > 100 {
                self.err(
                    loc(w),
                    "alerting.policy.window",
                    "need 1 ≤ failures ≤ runs ≤ 100, like `{ failures: 3, runs: 5 }`",
                );
            } else {
                p.window = Some((w.value.failures, w.value.runs));
            }
        }
        if let Some(f) = &raw.flaky {
            self.flaky(f, &mut p.flaky);
        }
        p
    }

    /// `flaky: { runs: 60, percent: 2, min_faults: 3 }`; `runs: 0` turns it off.
    fn flaky(&mut self, f: &Spanned<RawFlaky>, out: &mut FlakyPolicy) {
        let runs = f.value.runs.unwrap_or(out.runs);
        let percent = f.value.percent.unwrap_or(out.percent);
        let min_faults = f.value.min_faults.unwrap_or(out.min_faults);
        if runs > 1000 || !(percent > 0.0 && percent <= 100.0) || min_faults == 0 {
            self.err(
                loc(f),
                "alerting.policy.flaky",
                "need 0 ≤ runs ≤ 1000 (0 turns the warning off), 0 < percent ≤ 100 and \
                 min_faults ≥ 1, like `{ runs: 60, percent: 2, min_faults: 3 }`",
            );
            return;
        }
        *out = FlakyPolicy {
            runs,
            percent,
            min_faults,
        };
    }

    fn receivers(&mut self, raw: &[Spanned<RawReceiver>]) -> Vec<ReceiverConfig> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let path = format!("alerting.receivers[{i}]");
            if !seen.insert(r.value.name.value.clone()) {
                self.err(
                    loc(&r.value.name),
                    &format!("{path}.name"),
                    format!("receiver name `{}` is used twice", r.value.name.value),
                );
            }
            // Each receiver file validates its own keys; problems and secret
            // names come back to join the configuration's.
            let checked = receivers::validate(&r.value, &path);
            for p in checked.problems {
                self.err(p.loc, &p.path, p.message);
            }
            self.secret_refs
                .extend(checked.secrets.into_iter().map(|s| super::SecretRef {
                    path: s.path,
                    name: s.name,
                    loc: s.loc,
                }));
            if let Some(kind) = checked.kind {
                out.push(ReceiverConfig {
                    name: r.value.name.value.clone(),
                    kind,
                });
            }
        }
        out
    }

    fn window(&mut self, path: &str, w: &Spanned<RawWindow>) -> Option<MaintenanceWindow> {
        let raw = &w.value;
        let schedule = if let (Some(start), Some(end)) = (&raw.start, &raw.end) {
            let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc));
            match (parse(start), parse(end)) {
                (Ok(start), Ok(end)) if start < end => Schedule::Once { start, end },
                _ => {
                    self.err(loc(w), path, "`start` and `end` must be RFC 3339 times with an offset, start before end, like 2026-12-01T22:00:00+01:00");
                    return None;
                }
            }
        } else if let (Some(at), Some(duration)) = (&raw.at, &raw.duration) {
            let start = NaiveTime::parse_from_str(at, "%H:%M");
            let duration = crate::units::parse_duration_in(
                duration,
                crate::units::limits::MAINTENANCE_DURATION,
            );
            if let Err(e @ crate::units::UnitError::OutOfRange { .. }) = &duration {
                self.err(loc(w), &format!("{path}.duration"), e.to_string());
                return None;
            }
            let tz = chrono_tz::Tz::from_str(raw.timezone.as_deref().unwrap_or("UTC"));
            let days: Result<Vec<Weekday>, _> =
                raw.days.iter().map(|d| Weekday::from_str(d)).collect();
            match (start, duration, tz, days) {
                (Ok(start), Ok(duration), Ok(tz), Ok(days)) => Schedule::Weekly {
                    days,
                    start,
                    duration,
                    tz,
                },
                _ => {
                    self.err(loc(w), path, "a recurring window needs `at: \"02:00\"`, `duration: 30m`, optional `days: [mon, tue]` and `timezone: Europe/Paris` (IANA name)");
                    return None;
                }
            }
        } else {
            self.err(
                loc(w),
                path,
                "a maintenance window needs `start` and `end`, or `at` and `duration`",
            );
            return None;
        };
        Some(MaintenanceWindow {
            name: raw.name.clone(),
            matchers: raw.matchers.clone(),
            schedule,
        })
    }
}

/// Receivers are decoded by hand (`alert::receivers::raw`), so their shape is
/// written here: `name`, a `type` among the receiver files, and that type's
/// own settings (text or a list of text; each receiver file checks its keys).
fn receivers_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "type"],
            "properties": {
                "name": { "type": "string" },
                "type": { "enum": crate::alert::receivers::TYPES }
            },
            "additionalProperties": {
                "anyOf": [
                    { "type": ["string", "number", "boolean"] },
                    { "type": "array", "items": { "type": "string" } }
                ]
            }
        }
    })
}
