//! The status page (`GET /`): one card per journey, failing ones first, each
//! with its state, what broke, a strip of recent runs and a duration sparkline.

use std::fmt::{self, Write};

use axum::extract::State;
use axum::response::Html;
use chrono::{DateTime, Utc};

use super::layout::{Esc, document, fmt_age, fmt_ago, fmt_interval, fmt_secs, fmt_time};
use super::views::{self, View};
use super::{state_name, svg};
use crate::runner::{RunSummary, Verdict};
use crate::server::ServerState;
use crate::status::board::{JourneyState, JourneyStatus};
use crate::status::recent::RecentRun;

/// How often an open status page reloads itself, seconds.
pub const REFRESH_SECONDS: u32 = 10;

/// `GET /`; `?team=checkout` (any label, or `backend`) shows only those journeys,
/// `?group=team` groups them ([`views`]).
pub async fn page(
    State(state): State<ServerState>,
    axum::extract::Query(query): axum::extract::Query<crate::server::filter::LabelFilter>,
) -> Html<String> {
    let now = Utc::now();
    let mut extra = super::fleet::status_card(&state);
    extra.push_str(&super::cleanups::status_card(&state, now).await);
    extra.push_str(&super::obligations::status_card(&state, now).await);
    let view = View::from_query(query);
    let journeys = view.filter.apply(state.board.snapshot());
    Html(render_view(journeys, now, &extra, &view))
}

/// The whole page. Journeys are shown failing first, then degraded, unknown,
/// passing, by name within each group: on-call reads from the top.
pub fn render(journeys: Vec<JourneyStatus>, now: DateTime<Utc>) -> String {
    render_with(journeys, now, "")
}

/// [`render`] with `extra` cards (already HTML) after the summary.
pub fn render_with(journeys: Vec<JourneyStatus>, now: DateTime<Utc>, extra: &str) -> String {
    render_view(journeys, now, extra, &View::default())
}

/// [`render_with`] for `journeys` already filtered by `view`, grouped as it says.
pub fn render_view(
    mut journeys: Vec<JourneyStatus>,
    now: DateTime<Utc>,
    extra: &str,
    view: &View,
) -> String {
    journeys.sort_by(|a, b| {
        rank(a.state)
            .cmp(&rank(b.state))
            .then(a.name().cmp(b.name()))
    });
    let failing = count(&journeys, JourneyState::Failing);
    let mut body = String::new();
    let _ = write_summary(&mut body, &journeys, now);
    let _ = views::write_bar(&mut body, view, &journeys);
    body.push_str(extra);
    if journeys.is_empty() && view.filter.0.is_empty() {
        body.push_str("<section class=\"card\"><p>No journeys are configured.</p></section>");
    } else if journeys.is_empty() {
        body.push_str("<section class=\"card\"><p>No journeys match this filter.</p></section>");
    }
    match &view.group {
        None => {
            for j in &journeys {
                let _ = write_card(&mut body, j, now, view);
            }
        }
        Some(key) => {
            for (value, group) in views::eval_groups(&journeys, key) {
                let _ = views::write_group_head(&mut body, view, key, value, &group);
                for j in group {
                    let _ = write_card(&mut body, j, now, view);
                }
                body.push_str("</section>");
            }
        }
    }
    let title = if failing > 0 {
        format!("{failing} failing")
    } else {
        "status".to_string()
    };
    document(&title, Some(REFRESH_SECONDS), &body)
}

fn rank(state: JourneyState) -> u8 {
    match state {
        JourneyState::Failing => 0,
        JourneyState::Degraded => 1,
        JourneyState::Unknown => 2,
        JourneyState::Passing => 3,
    }
}

fn count(journeys: &[JourneyStatus], state: JourneyState) -> usize {
    journeys.iter().filter(|j| j.state == state).count()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn write_summary(out: &mut String, journeys: &[JourneyStatus], now: DateTime<Utc>) -> fmt::Result {
    let failing = count(journeys, JourneyState::Failing);
    let degraded = count(journeys, JourneyState::Degraded);
    write!(
        out,
        "<section class=\"card row\"><strong>{}</strong>",
        plural(journeys.len(), "journey")
    )?;
    let failing_class = if failing > 0 { "failing" } else { "passing" };
    write!(
        out,
        "<span class=\"badge b-{failing_class}\">{failing} failing</span>"
    )?;
    if degraded > 0 {
        write!(
            out,
            "<span class=\"badge b-degraded\">{degraded} degraded</span>"
        )?;
    }
    write!(
        out,
        "<span class=\"small muted\">as of {}, refreshes every {REFRESH_SECONDS}s</span></section>",
        fmt_time(now)
    )
}

fn write_card(out: &mut String, j: &JourneyStatus, now: DateTime<Utc>, view: &View) -> fmt::Result {
    let state = state_name(j.state);
    let name = Esc(j.name());
    write!(
        out,
        "<section class=\"card {state}\" id=\"journey-{name}\">"
    )?;
    write!(out, "<div class=\"row\"><h2>{name}</h2>")?;
    write!(out, "<span class=\"badge b-{state}\">{state}</span>")?;
    if j.running {
        out.push_str("<span class=\"badge b-running\">running</span>");
    }
    write!(
        out,
        "<span class=\"small muted\">every {}</span></div>",
        fmt_interval(j.interval_seconds())
    )?;
    if let Some(d) = &j.description() {
        write!(
            out,
            "<p class=\"small muted\" style=\"margin:2px 0\">{}</p>",
            Esc(d)
        )?;
    }
    if let (JourneyState::Failing, Some(run)) = (j.state, &j.last_run) {
        write_problem(out, run, j.is_stored(&run.run_id))?;
    }
    write_history(out, j)?;
    write_facts(out, j, now, view)?;
    out.push_str("</section>");
    Ok(())
}

/// What broke in the last run: step, backend, class, message, and a link to the
/// evidence (when the store has it).
fn write_problem(out: &mut String, run: &RunSummary, stored: bool) -> fmt::Result {
    out.push_str("<div class=\"problem\"><strong>Failing at step ");
    match &run.failed_step {
        Some(step) => write!(out, "&ldquo;{}&rdquo;", Esc(step))?,
        None => out.push_str("(unknown)"),
    }
    out.push_str("</strong>");
    if let Some(b) = &run.failed_backend {
        write!(out, " &middot; backend <strong>{}</strong>", Esc(b))?;
    }
    if let Some(c) = run.failure_class {
        write!(out, " &middot; <code>{c}</code>")?;
    }
    out.push_str("<br>");
    if let Some(m) = &run.failure_message {
        write!(out, "{} ", Esc(m))?;
    }
    if stored {
        write!(out, "<a href=\"/runs/{}\">evidence</a></div>", run.run_id)
    } else {
        out.push_str(
            "<span class=\"muted\">(not stored: the history could not be written)</span></div>",
        );
        Ok(())
    }
}

/// The strip of recent runs (oldest to newest) and the duration sparkline.
fn write_history(out: &mut String, j: &JourneyStatus) -> fmt::Result {
    if j.recent.is_empty() {
        out.push_str("<p class=\"small muted\">No runs yet.</p>");
        return Ok(());
    }
    write!(
        out,
        "<div class=\"row\"><div class=\"strip\" aria-label=\"last {} runs, oldest first\">",
        j.recent.len()
    )?;
    for run in j.recent.iter().rev() {
        let (class, tip) = cell(run, j.recent.failed_step(run));
        if j.is_stored(&run.run_id) {
            write!(
                out,
                "<a class=\"{class}\" href=\"/runs/{}\" title=\"{t}\" aria-label=\"{t}\"></a>",
                run.run_id,
                t = Esc(&tip)
            )?;
        } else {
            let tip = format!("{tip} (not stored)");
            write!(
                out,
                "<span class=\"{class}\" title=\"{t}\" aria-label=\"{t}\"></span>",
                t = Esc(&tip)
            )?;
        }
    }
    out.push_str("</div>");
    let points: Vec<(f64, bool)> = j
        .recent
        .iter()
        .rev()
        .map(|r| (r.duration_seconds(), r.verdict == Verdict::Fail))
        .collect();
    let max = points.iter().map(|p| p.0).fold(0.0, f64::max);
    let last = j.recent.front().map_or(0.0, RecentRun::duration_seconds);
    let label = format!(
        "durations of the last {} runs: last {}, slowest {}",
        points.len(),
        fmt_secs(last),
        fmt_secs(max)
    );
    out.push_str(&svg::sparkline(&points, &label));
    write!(
        out,
        "<span class=\"small muted\">last {}</span></div>",
        fmt_secs(last)
    )
}

/// The class and tooltip of one strip cell.
fn cell(run: &RecentRun, failed_step: Option<&str>) -> (&'static str, String) {
    let when = fmt_time(run.started_at());
    let took = fmt_secs(run.duration_seconds());
    match run.verdict {
        Verdict::Fail => {
            let step = failed_step.unwrap_or("?");
            let class = run.failure_class.map_or("?", |c| c.as_str());
            ("fail", format!("{when}: fail at {step} ({class}), {took}"))
        }
        Verdict::Pass if run.degraded => ("degraded", format!("{when}: pass, slow, {took}")),
        Verdict::Pass => ("pass", format!("{when}: pass, {took}")),
    }
}

/// Last success, next run, labels and back-ends (links to their views), links.
fn write_facts(
    out: &mut String,
    j: &JourneyStatus,
    now: DateTime<Utc>,
    view: &View,
) -> fmt::Result {
    out.push_str("<div class=\"row small muted\" style=\"margin-top:6px\">");
    match j.last_success {
        Some(t) => write!(
            out,
            "<span title=\"{}\">last success {}</span>",
            fmt_time(t),
            fmt_ago(now, t)
        )?,
        None => out.push_str("<span>last success never</span>"),
    }
    match (j.running, j.next_run) {
        (true, _) => out.push_str("<span>running now</span>"),
        (false, Some(t)) if t > now => write!(
            out,
            "<span title=\"{}\">next run in {}</span>",
            fmt_time(t),
            fmt_age((t - now).num_seconds())
        )?,
        (false, Some(_)) => out.push_str("<span>next run due</span>"),
        (false, None) => {}
    }
    // A fleet's locations, as the alerting leader sees them.
    for (loc, phase) in &j.locations {
        write!(
            out,
            "<span title=\"location\">{}: {}</span>",
            Esc(loc),
            Esc(phase)
        )?;
    }
    for (k, v) in j.labels() {
        views::write_chip(out, view, k, v)?;
    }
    let backends: std::collections::BTreeSet<&str> = j.backends().into_iter().collect();
    for b in backends {
        views::write_chip(out, view, "backend", b)?;
    }
    // Only http(s) links: a `javascript:` runbook must not become a clickable link.
    if let Some(r) = j.runbook()
        && (r.starts_with("https://") || r.starts_with("http://"))
    {
        write!(out, "<a href=\"{}\">runbook</a>", Esc(r))?;
    }
    write!(
        out,
        "<a href=\"/api/journeys/{}\">JSON</a></div>",
        Esc(j.name())
    )
}
