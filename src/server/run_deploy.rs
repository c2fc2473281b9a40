//! The deploy a run started after: a run that began within
//! `alerting.deploy_window` after a deploy touching its journey (one of its
//! steps' back-ends, the journeys the deploy listed, or a deploy naming no
//! back-end) shows it on its run page and as `deploy` in `GET /api/runs/{id}`,
//! as the `JourneyFailing` alert does for the failure's start.

use chrono::{DateTime, TimeDelta};
use serde::Serialize;

use super::ServerState;
use crate::alert::engine::deploys::eval_after;
use crate::alert::outbox::{Deploy, MAX_DEPLOYS};
use crate::runner::JourneyRun;

/// A deploy as a run shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunDeploy {
    /// The deploy.
    #[serde(flatten)]
    pub deploy: Deploy,
    /// "started 2m after deploy payment v1.4.2 (service checkout)".
    pub summary: String,
}

/// The newest deploy touching `run` in the window before its start; `None`
/// without alerting (no deploys) or when reading fails (logged: the page still
/// shows the run).
pub async fn deploy_for_run(state: &ServerState, run: &JourneyRun) -> Option<RunDeploy> {
    let db = state.alert_db.as_ref()?;
    let window = TimeDelta::from_std(state.deploy_window).unwrap_or(TimeDelta::MAX);
    let start = run.started_at;
    let from = start
        .checked_sub_signed(window)
        .unwrap_or(DateTime::UNIX_EPOCH);
    let limit = u32::try_from(MAX_DEPLOYS).unwrap_or(u32::MAX);
    let deploys = match db.deploys_between(from, start, limit).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(run_id = %run.run_id, error = %e, "Cannot read deploys for a run.");
            return None;
        }
    };
    let deploy = deploys.into_iter().find(|d| eval_touches(d, run))?;
    Some(RunDeploy {
        summary: eval_summary(&deploy, run),
        deploy,
    })
}

/// True when `d` touches the run's journey or one of the back-ends its steps prove.
pub fn eval_touches(d: &Deploy, run: &JourneyRun) -> bool {
    d.touches(&run.journey, None)
        || (run.steps.iter().chain(&run.cleanup))
            .filter_map(|s| s.backend.as_deref())
            .any(|b| d.touches(&run.journey, Some(b)))
}

/// "started 2m after deploy payment v1.4.2 (service checkout)".
pub fn eval_summary(d: &Deploy, run: &JourneyRun) -> String {
    let what = if d.backends.is_empty() {
        "all back-ends".to_string()
    } else {
        d.backends.join(",")
    };
    format!(
        "started {} after deploy {what} {} (service {})",
        eval_after(run.started_at - d.at),
        d.version,
        d.service
    )
}
