//! Building the alerts the state machine emits: identity labels and the annotations
//! on-call reads (summary, expected/actual, streak, links).

use std::collections::BTreeMap;

use super::{Alert, AlertContext, AlertTracker, RunFacts};

pub(super) fn identity(
    alertname: &str,
    severity: &str,
    f: &RunFacts,
    ctx: &AlertContext,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::clone(&ctx.labels);
    labels.insert("alertname".into(), alertname.into());
    labels.insert("journey".into(), ctx.journey.to_string());
    labels.insert("severity".into(), severity.into());
    if let Some(s) = &f.step {
        labels.insert("step".into(), s.clone());
    }
    if let Some(b) = &f.backend {
        labels.insert("backend".into(), b.clone());
    }
    if let Some(c) = f.class {
        labels.insert("class".into(), c.as_str().into());
    }
    labels
}

/// "purchase: order never reached 'shipped' within 20s (backend fulfillment)" style.
fn summary(f: &RunFacts, ctx: &AlertContext) -> String {
    let step = f.step.as_deref().unwrap_or("?");
    let backend = f
        .backend
        .as_ref()
        .map(|b| format!(" (backend {b})"))
        .unwrap_or_default();
    let what = match (f.class, &f.message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => "failed".to_string(),
    };
    format!("{}: step '{step}' failed{backend}: {what}", ctx.journey)
}

pub(super) fn failing_alert(f: &RunFacts, t: &AlertTracker, ctx: &AlertContext) -> Alert {
    let mut a = BTreeMap::new();
    a.insert("summary".to_string(), truncate(&summary(f, ctx), 300));
    if let Some(e) = &f.expected {
        a.insert("expected".into(), truncate(e, 300));
    }
    if let Some(x) = &f.actual {
        a.insert("actual".into(), truncate(x, 300));
    }
    a.insert("failure_streak".into(), t.failures.to_string());
    a.insert(
        "last_success".into(),
        t.last_success
            .map_or_else(|| "never".into(), |s| s.to_rfc3339()),
    );
    if let Some(base) = &ctx.base_url {
        a.insert("run_url".into(), format!("{base}/runs/{}", f.run_id));
    }
    if let Some(r) = &ctx.runbook {
        a.insert("runbook_url".into(), r.to_string());
    }
    trace_annotations(f, ctx, &mut a);
    // What the back office said when the step failed (`diagnostics:` in the journey).
    if let Some(d) = &f.diagnostics {
        a.insert("diagnostics".into(), truncate(d, 300));
    }
    Alert {
        labels: identity("JourneyFailing", "critical", f, ctx),
        annotations: a,
        starts_at: f.started_at,
    }
}

pub(super) fn degraded_alert(f: &RunFacts, ctx: &AlertContext) -> Alert {
    let mut a = BTreeMap::new();
    let step = f.step.as_deref().unwrap_or("?");
    a.insert(
        "summary".into(),
        format!(
            "{}: step '{step}' is slower than its warning threshold",
            ctx.journey
        ),
    );
    if let Some(base) = &ctx.base_url {
        a.insert("run_url".into(), format!("{base}/runs/{}", f.run_id));
    }
    if let Some(r) = &ctx.runbook {
        a.insert("runbook_url".into(), r.to_string());
    }
    Alert {
        labels: identity("JourneyDegraded", "warning", f, ctx),
        annotations: a,
        starts_at: f.started_at,
    }
}

/// `trace_id`, and `trace_url` when a template is configured: the failing request's
/// trace in Tempo, Jaeger or Grafana Explore, one click from the page.
fn trace_annotations(f: &RunFacts, ctx: &AlertContext, a: &mut BTreeMap<String, String>) {
    let Some(id) = &f.trace_id else {
        return;
    };
    a.insert("trace_id".into(), id.clone());
    if let Some(t) = &ctx.trace_url {
        a.insert("trace_url".into(), t.replace("{trace_id}", id));
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
