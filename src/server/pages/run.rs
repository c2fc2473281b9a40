//! The run page (`GET /runs/{id}`): one run as on-call needs it: verdict, what
//! broke, captured values, a step-by-step timeline with a waterfall of HTTP
//! phases, the failing step's mismatches and evidence, then cleanup.

use std::fmt::{self, Write};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::layout::{Esc, document, fmt_secs, fmt_time};
use super::{message_page, not_found, step, verdict_name};
use crate::runner::{JourneyRun, StepVerdict};
use crate::server::ServerState;
use crate::server::run_deploy::{RunDeploy, deploy_for_run};

/// `GET /runs/{id}`.
pub async fn page(State(state): State<ServerState>, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Malformed run id",
            "A run id is a UUID, as in the links of the status page.",
        );
    };
    match state.store.get_run(id).await {
        Ok(Some(run)) => {
            let deploy = deploy_for_run(&state, &run).await;
            Html(render_with(&run, deploy.as_ref())).into_response()
        }
        Ok(None) => not_found(
            "Run not found",
            "No run with this id is in the history; it may have been pruned by retention.",
        ),
        Err(e) => {
            tracing::error!(error = %e, "Reading run history failed.");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Run history unavailable",
                &format!("Reading run history failed: {e}"),
            )
        }
    }
}

/// The whole page.
pub fn render(run: &JourneyRun) -> String {
    render_with(run, None)
}

/// The whole page, naming the deploy the run started after, if any.
pub fn render_with(run: &JourneyRun, deploy: Option<&RunDeploy>) -> String {
    let mut body = String::new();
    let _ = write_body(&mut body, run, deploy);
    let title = format!("{} run: {}", run.journey, verdict_name(run.verdict));
    document(&title, None, &body)
}

fn write_body(out: &mut String, run: &JourneyRun, deploy: Option<&RunDeploy>) -> fmt::Result {
    write_header(out, run)?;
    if let Some(d) = deploy {
        write_deploy(out, d)?;
    }
    if !run.captures.is_empty() {
        out.push_str(
            "<section class=\"card\"><h3>Captured values</h3><div class=\"scroll\"><table>",
        );
        out.push_str("<thead><tr><th>variable</th><th>value</th></tr></thead><tbody>");
        for (k, v) in &run.captures {
            write!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                Esc(k),
                Esc(v)
            )?;
        }
        out.push_str("</tbody></table></div></section>");
    }
    // Steps and cleanup share one scale so their bars compare.
    let longest = run
        .steps
        .iter()
        .chain(&run.cleanup)
        .map(|s| s.duration_seconds)
        .filter(|d| d.is_finite())
        .fold(0.0, f64::max);
    out.push_str("<section class=\"card\"><h3>Steps</h3>");
    step::write_legend(out)?;
    step::write_list(out, step::STEPS, &run.steps, longest)?;
    out.push_str("</section>");
    if !run.cleanup.is_empty() {
        out.push_str("<section class=\"card\"><h3>Cleanup</h3>");
        step::write_list(out, step::CLEANUP, &run.cleanup, longest)?;
        out.push_str("</section>");
    }
    Ok(())
}

fn write_header(out: &mut String, run: &JourneyRun) -> fmt::Result {
    let verdict = verdict_name(run.verdict);
    write!(
        out,
        "<section class=\"card {}\">",
        if verdict == "fail" { "failing" } else { "" }
    )?;
    write!(
        out,
        "<div class=\"row\"><h2>{}</h2><span class=\"badge b-{verdict}\">{verdict}</span>",
        Esc(&run.journey)
    )?;
    if run.degraded {
        out.push_str("<span class=\"badge b-degraded\">slow</span>");
    }
    out.push_str("</div>");
    write!(
        out,
        "<div class=\"row small muted\"><span>started {}</span><span>took {}</span>\
         <span>run <code>{}</code></span>",
        fmt_time(run.started_at),
        fmt_secs(run.duration_seconds),
        run.run_id
    )?;
    if let Some(t) = &run.trace_id {
        write!(
            out,
            "<span>trace <code class=\"trace\">{}</code></span>",
            Esc(t)
        )?;
    }
    out.push_str("</div>");
    // The same step as `JourneyRun::failed_step`, with its position for the anchor.
    let failed = run
        .steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.verdict == StepVerdict::Fail);
    if let Some((i, s)) = failed {
        out.push_str("<div class=\"problem\"><strong>Failed at step ");
        let anchor = step::anchor(step::STEPS, i);
        write!(
            out,
            "<a href=\"#{anchor}\">&ldquo;{}&rdquo;</a></strong>",
            Esc(&s.name)
        )?;
        if let Some(b) = &s.backend {
            write!(out, " &middot; backend <strong>{}</strong>", Esc(b))?;
        }
        if let Some(f) = &s.failure {
            write!(
                out,
                " &middot; <code>{}</code><br>{}",
                f.class,
                Esc(&f.message)
            )?;
        }
        out.push_str("</div>");
    }
    write!(
        out,
        "<div class=\"row small\"><a href=\"/\">&larr; all journeys</a>\
         <a href=\"/api/runs/{}\">this run as JSON</a></div></section>",
        run.run_id
    )
}

/// The deploy the run started after: what, which version, when.
fn write_deploy(out: &mut String, d: &RunDeploy) -> fmt::Result {
    write!(
        out,
        "<section class=\"card deploy\"><h3>Deploy</h3><p>{}</p><p class=\"small muted\">recorded {}",
        Esc(&d.summary),
        fmt_time(d.deploy.at)
    )?;
    if !d.deploy.description.is_empty() {
        write!(out, " &middot; {}", Esc(&d.deploy.description))?;
    }
    out.push_str(" &middot; <a href=\"/api/deploys\">recent deploys</a></p></section>");
    Ok(())
}
