//! The deploy a run started after: a run that began within
//! `alerting.deploy_window` after a deploy touching its journey (one of its
//! steps' back-ends, the journeys the deploy listed, or a deploy naming no
//! back-end) shows it on its run page and as `deploy` in `GET /api/runs/{id}`,
//! as the `JourneyFailing` alert does for the failure's start.

use chrono::{DateTime, TimeDelta};
use serde::Serialize;

use super::ServerState;
use crate::alert::engine::deploys::after_deploy;
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
    after_deploy("started", d, run.started_at)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeDelta, Utc};

    use super::*;
    use crate::runner::{StepOutcome, Verdict};

    fn deploy(backends: &[&str], journeys: &[&str]) -> Deploy {
        Deploy {
            id: 1,
            at: DateTime::from_timestamp(1_000_000, 0).unwrap(),
            service: "checkout".into(),
            backends: backends.iter().map(|s| s.to_string()).collect(),
            journeys: journeys.iter().map(|s| s.to_string()).collect(),
            version: "v1.4.2".into(),
            description: String::new(),
        }
    }

    fn run(journey: &str, backends: &[&str], started: DateTime<Utc>) -> JourneyRun {
        JourneyRun {
            run_id: uuid::Uuid::nil(),
            journey: journey.into(),
            started_at: started,
            duration_seconds: 1.0,
            verdict: Verdict::Pass,
            degraded: false,
            captures: BTreeMap::new(),
            steps: backends
                .iter()
                .map(|b| StepOutcome::skipped("s", Some(b), ""))
                .collect(),
            cleanup: Vec::new(),
            trace_id: None,
        }
    }

    #[test]
    fn a_deploy_touches_a_run_through_any_steps_backend_its_journey_or_everything() {
        let at = deploy(&[], &[]).at;
        let d = deploy(&["payment"], &["purchase"]);
        assert!(eval_touches(&d, &run("purchase", &[], at)));
        assert!(eval_touches(&d, &run("refund", &["auth", "payment"], at)));
        assert!(!eval_touches(&d, &run("browse", &["catalog"], at)));
        assert!(eval_touches(&deploy(&[], &[]), &run("browse", &[], at)));
    }

    #[test]
    fn the_summary_names_the_delay_backends_version_and_service() {
        let d = deploy(&["payment", "auth"], &[]);
        let r = run("purchase", &["payment"], d.at + TimeDelta::seconds(125));
        assert_eq!(
            eval_summary(&d, &r),
            "started 2m after deploy payment,auth v1.4.2 (service checkout)"
        );
    }
}
