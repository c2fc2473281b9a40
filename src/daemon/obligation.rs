//! Durable obligations: a run whose `durable` step had not passed at its poll
//! persists an obligation (`StoreHandOff::obligation_pending`, committed before
//! the run ends); [`Obligations`] polls the pending ones in the background with
//! the step's backoff, and finishes each exactly once.
//!
//! - **Schedule.** The second poll is due `every` after the run's poll; the
//!   pause is multiplied by `backoff` after each poll, up to `max_every`, and
//!   never passes the deadline: the last poll is at the deadline.
//! - **Breach.** A poll at or after the deadline that does not pass breaches
//!   the obligation. A deadline that passed while the daemon was down is polled
//!   once first at start-up: a back-end that finished meanwhile is fulfilled
//!   (its completion time is then an upper bound), not paged for journeyd's own
//!   downtime.
//! - **Exactly once.** Finishing is one `UPDATE ... WHERE state = 'pending'`
//!   (`store::obligation::finish`): only the call that changed the row reports
//!   it (alert engine, history, metrics), after the commit, then marks it
//!   observed. A `kill -9` between the two leaves a finished, unobserved row
//!   that is reported at the next start-up; a second observation of the same
//!   failure finds its alert already firing, so nobody is paged twice. A crash
//!   before the commit leaves the row pending: it is polled again.
//! - **Reporting.** A breach or failure is a failed run of the journey at that
//!   step and back-end (run id = obligation id), observed by the alert engine
//!   under the normal policy (a breach is `backend_timeout`, a sustained
//!   failure that needs no confirmation) and stored in the history; its message
//!   carries the first and the last poll. A fulfilment feeds the step's
//!   completion histogram; a breach feeds it at the time watched.
//! - **Cleanup.** The run's owed cleanup waits until the obligation ends; this
//!   wakes the cleanup retries when it does.
//! - **Fleet.** On PostgreSQL `due_obligations` claims rows for this replica
//!   (`FOR UPDATE SKIP LOCKED`, a claim on the database's clock) and only of
//!   journeys no other replica holds, so two replicas never poll one
//!   obligation and the journey's owner (the new one after a takeover) polls
//!   it (`store::postgres::pending`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::hooks::DaemonHooks;
use crate::runner::{
    Failure, FailureClass, JourneyRun, PollResult, StepOutcome, StepVerdict, Verdict,
    poll_obligation, poll_summary,
};
use crate::store::{DueObligation, ObligationRow, ObligationState, PendingWork, next_poll};

/// Shortest sleep between two passes.
const MIN_SLEEP: Duration = Duration::from_millis(50);
/// Longest sleep between two passes when nothing is due sooner.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Obligations polled per pass; the rest wait for the next pass.
const BATCH: usize = 32;
/// Finished obligations stay listed this long.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);

/// The pause after `pause`: times `backoff`, at most `max_every`.
pub(super) fn next_pause(pause: Duration, backoff: f64, max_every: Duration) -> Duration {
    Duration::try_from_secs_f64(pause.as_secs_f64() * backoff)
        .unwrap_or(max_every)
        .min(max_every)
}

/// How a poll ends the obligation, if it does. A poll that passes fulfils it even
/// after the deadline (a deadline that passed while journeyd was down gets this one
/// poll first): journeyd's own downtime must not page for a back-end that finished.
pub(super) fn eval_poll(
    result: PollResult,
    past_deadline: bool,
) -> (Option<ObligationState>, StepOutcome) {
    match result {
        PollResult::Fulfilled(o) => (Some(ObligationState::Fulfilled), o),
        PollResult::Failed(o) => (Some(ObligationState::Failed), o),
        PollResult::NotYet(o) if past_deadline => (Some(ObligationState::Breached), o),
        PollResult::NotYet(o) => (None, o),
    }
}

/// The background poller of pending obligations.
pub(super) struct Obligations {
    pub pending: PendingWork,
    pub hooks: Arc<DaemonHooks>,
    /// Woken when a run leaves an obligation.
    pub wake: Arc<Notify>,
    /// Wakes the cleanup retries: a held cleanup may be due once an obligation ends.
    pub cleanup_wake: Arc<Notify>,
}

impl Obligations {
    /// Reports what the last process finished but did not report, then polls until `stop`.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        match self.pending.unobserved_obligations().await {
            Ok(rows) => {
                for row in rows {
                    self.report(row).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "Cannot read unreported obligations."),
        }
        loop {
            self.pass(&stop).await;
            let sleep = self.until_next_due().await;
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
                () = stop.cancelled() => break,
            }
        }
    }

    async fn until_next_due(&self) -> Duration {
        match self.pending.next_obligation_due().await {
            // A floor, so a row that cannot be rescheduled (a failing disk) is no busy loop.
            Ok(Some(at)) => (at - Utc::now())
                .to_std()
                .unwrap_or_default()
                .clamp(MIN_SLEEP, MAX_SLEEP),
            _ => MAX_SLEEP,
        }
    }

    /// Polls the due obligations, then refreshes the gauges and prunes old rows.
    async fn pass(&self, stop: &CancellationToken) {
        let due = match self.pending.due_obligations(Utc::now(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "Cannot list due obligations.");
                Vec::new()
            }
        };
        for d in due {
            if stop.is_cancelled() {
                break;
            }
            self.poll(d).await;
        }
        let _ = self
            .pending
            .prune_obligations(Utc::now() - KEEP_FINISHED)
            .await;
        if let Ok((counts, oldest)) = self.pending.obligation_stats().await {
            let now = Utc::now();
            let ages: Vec<(String, f64)> = (oldest.into_iter())
                .map(|(b, t)| (b, (now - t).num_milliseconds() as f64 / 1000.0))
                .collect();
            self.hooks.metrics.set_obligations(&counts, &ages);
        }
    }

    async fn poll(&self, d: DueObligation) {
        let ob = &d.obligation;
        // The current definition (`DaemonHooks::configured`, swapped on reload).
        let result = match self.hooks.configured.load().get(&ob.journey).cloned() {
            Some(j) => {
                let options = self.hooks.options.load_full();
                poll_obligation(&j, &self.hooks.engine, &options, ob).await
            }
            None => PollResult::NotYet(StepOutcome::not_sent(
                &ob.step,
                ob.backend.as_deref(),
                "the journey is no longer configured",
            )),
        };
        let now = Utc::now();
        let (state, outcome) = eval_poll(result, now >= ob.deadline);
        let Some(state) = state else {
            let next = next_poll(now, d.pause, ob.deadline);
            let pause = next_pause(d.pause, ob.backoff, ob.max_every);
            tracing::debug!(journey = %ob.journey, step = %ob.step, obligation = %ob.id,
                next_poll = %next, why = %poll_summary(&outcome), "Obligation not fulfilled yet.");
            if let Err(e) = (self.pending)
                .reschedule_obligation(ob.id, outcome, next, pause)
                .await
            {
                tracing::error!(obligation = %ob.id, error = %e, "Cannot reschedule an obligation.");
            }
            return;
        };
        match (self.pending)
            .finish_obligation(ob.id, state, outcome.clone(), now)
            .await
        {
            Ok(true) => {
                let row = ObligationRow {
                    id: ob.id,
                    run_id: ob.run_id,
                    journey: ob.journey.clone(),
                    step: ob.step.clone(),
                    backend: ob.backend.clone(),
                    created_at: ob.created_at,
                    deadline: ob.deadline,
                    next_poll_at: now,
                    polls: d.polls + 1,
                    state,
                    finished_at: Some(now),
                    first_poll: ob.first_poll.clone(),
                    last_poll: Some(outcome),
                };
                self.report(row).await;
            }
            // Another pass finished it first; it reported it.
            Ok(false) => {}
            Err(e) => tracing::error!(obligation = %ob.id, error = %e,
                "Cannot finish an obligation; it is polled again."),
        }
    }

    /// Reports a finished obligation once (see the module doc), then marks it observed.
    async fn report(&self, row: ObligationRow) {
        let finished = row.finished_at.unwrap_or_else(Utc::now);
        let took = (finished - row.created_at).num_milliseconds().max(0) as f64 / 1000.0;
        let last = row
            .last_poll
            .clone()
            .unwrap_or_else(|| row.first_poll.clone());
        let configured = self.hooks.configured.load().contains_key(&row.journey);
        match row.state {
            ObligationState::Fulfilled | ObligationState::Pending => {
                tracing::info!(journey = %row.journey, step = %row.step, obligation = %row.id,
                    seconds = took, polls = row.polls, "Obligation fulfilled.");
                if configured {
                    (self.hooks.metrics).obligation_finished(&row.journey, row.state, &last, took);
                    self.hooks
                        .observe_fulfilled(&fulfilled_run(&row, last))
                        .await;
                }
            }
            ObligationState::Failed | ObligationState::Breached => {
                let run = failed_run(&row, last);
                let journey = self.hooks.configured.load().get(&row.journey).cloned();
                if let (true, Some(j)) = (configured, journey) {
                    let step = &run.steps[..];
                    if let Some(s) = step.first() {
                        let watched = s.backend_completion_seconds.unwrap_or(took);
                        (self.hooks.metrics).obligation_finished(
                            &row.journey,
                            row.state,
                            s,
                            watched,
                        );
                    }
                    self.hooks.record_obligation(&j, &run).await;
                } else {
                    tracing::warn!(journey = %row.journey, step = %row.step, obligation = %row.id,
                        state = row.state.as_str(), "Obligation of a journey no longer configured ended.");
                }
            }
        }
        if let Err(e) = self.pending.obligation_observed(row.id).await {
            tracing::error!(obligation = %row.id, error = %e,
                "Cannot mark an obligation reported; it is reported again at start-up.");
        }
        self.cleanup_wake.notify_one();
    }
}

/// The failed run a breach or failure is reported as: one step, the last poll,
/// with the first and last poll in its message.
fn failed_run(row: &ObligationRow, last: StepOutcome) -> JourneyRun {
    let finished = row.finished_at.unwrap_or_else(Utc::now);
    let within = (row.deadline - row.created_at).to_std().unwrap_or_default();
    let mut step = last;
    step.verdict = StepVerdict::Fail;
    step.obligation = None;
    step.skip_reason = None;
    let polls = format!(
        "first poll {}: {}; last poll {}: {}",
        row.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
        poll_summary(&row.first_poll),
        finished.format("%Y-%m-%dT%H:%M:%SZ"),
        poll_summary(&step),
    );
    let process = match &row.backend {
        Some(b) => format!("back-end process `{b}`"),
        None => "the back-end process".to_string(),
    };
    let failure = match (row.state, step.failure.take()) {
        (ObligationState::Failed, Some(f)) => Failure {
            message: format!("obligation failed: {} ({polls})", f.message),
            ..f
        },
        (_, f) => {
            step.backend_completion_seconds = Some(within.as_secs_f64());
            Failure {
                class: FailureClass::BackendTimeout,
                message: format!(
                    "obligation breached: {process} did not finish within {} ({} polls; {polls})",
                    humantime::format_duration(within),
                    row.polls
                ),
                mismatches: f.map(|f| f.mismatches).unwrap_or_default(),
            }
        }
    };
    step.failure = Some(failure);
    JourneyRun {
        run_id: row.id,
        journey: row.journey.clone(),
        started_at: finished,
        duration_seconds: (finished - row.created_at).num_milliseconds().max(0) as f64 / 1000.0,
        verdict: Verdict::Fail,
        degraded: false,
        captures: Default::default(),
        steps: vec![step],
        cleanup: Vec::new(),
        trace_id: None,
    }
}

/// The passing run a fulfilment is observed as by the alert engine: one step, the
/// last poll.
fn fulfilled_run(row: &ObligationRow, last: StepOutcome) -> JourneyRun {
    let finished = row.finished_at.unwrap_or_else(Utc::now);
    let mut step = last;
    step.verdict = StepVerdict::Pass;
    step.obligation = None;
    step.failure = None;
    JourneyRun {
        run_id: row.id,
        journey: row.journey.clone(),
        started_at: finished,
        duration_seconds: (finished - row.created_at).num_milliseconds().max(0) as f64 / 1000.0,
        verdict: Verdict::Pass,
        degraded: false,
        captures: Default::default(),
        steps: vec![step],
        cleanup: Vec::new(),
        trace_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_back_off_to_max_every() {
        let s = Duration::from_secs;
        assert_eq!(next_pause(s(1), 2.0, s(10)), s(2));
        assert_eq!(next_pause(s(8), 2.0, s(10)), s(10));
        assert_eq!(next_pause(s(10), 2.0, s(10)), s(10));
        assert_eq!(next_pause(s(3), 1.0, s(3)), s(3));
        assert_eq!(next_pause(s(1), f64::MAX, s(60)), s(60));
    }

    #[test]
    fn a_poll_decides_at_the_deadline_and_a_late_pass_still_fulfils() {
        let o = || StepOutcome::skipped("shipped", None, "");
        let state = |r, past| eval_poll(r, past).0;
        assert_eq!(state(PollResult::NotYet(o()), false), None);
        assert_eq!(
            state(PollResult::NotYet(o()), true),
            Some(ObligationState::Breached)
        );
        assert_eq!(
            state(PollResult::Fulfilled(o()), true),
            Some(ObligationState::Fulfilled)
        );
        assert_eq!(
            state(PollResult::Failed(o()), false),
            Some(ObligationState::Failed)
        );
    }

    #[test]
    fn the_last_poll_is_at_the_deadline() {
        let t0 = chrono::DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let deadline = t0 + chrono::Duration::seconds(10);
        assert_eq!(
            next_poll(t0, Duration::from_secs(4), deadline),
            t0 + chrono::Duration::seconds(4)
        );
        assert_eq!(next_poll(t0, Duration::from_secs(40), deadline), deadline);
        assert_eq!(next_poll(t0, Duration::MAX, deadline), deadline);
    }

    #[test]
    fn a_breach_is_a_backend_timeout_with_both_polls() {
        let t0 = chrono::DateTime::<Utc>::from_timestamp(1_000_000, 0).unwrap_or_default();
        let mut first = StepOutcome::skipped("shipped", Some("fulfillment"), "");
        first.http_status = Some(200);
        first.obligation = Some(crate::runner::PendingObligation {
            state: "pending".into(),
            deadline: t0,
            watched: true,
            id: None,
            reason: Some("`$.status`: expected eq \"shipped\", got \"paid\"".into()),
        });
        let mut last = first.clone();
        last.http_status = Some(503);
        let row = ObligationRow {
            id: uuid::Uuid::new_v4(),
            run_id: uuid::Uuid::new_v4(),
            journey: "purchase".into(),
            step: "shipped".into(),
            backend: Some("fulfillment".into()),
            created_at: t0,
            deadline: t0 + chrono::Duration::minutes(10),
            next_poll_at: t0,
            polls: 7,
            state: ObligationState::Breached,
            finished_at: Some(t0 + chrono::Duration::minutes(10)),
            first_poll: first,
            last_poll: Some(last.clone()),
        };
        let run = failed_run(&row, last);
        assert_eq!(run.run_id, row.id);
        assert_eq!(run.verdict, Verdict::Fail);
        let s = run.failed_step().expect("a failed step");
        assert_eq!(s.backend.as_deref(), Some("fulfillment"));
        assert_eq!(s.backend_completion_seconds, Some(600.0));
        let f = s.failure.as_ref().expect("a failure");
        assert_eq!(f.class, FailureClass::BackendTimeout);
        assert!(f.message.contains("within 10m"), "{}", f.message);
        assert!(
            f.message
                .contains("first poll 1970-01-12T13:46:40Z: HTTP 200"),
            "{}",
            f.message
        );
        assert!(
            f.message
                .contains("last poll 1970-01-12T13:56:40Z: HTTP 503"),
            "{}",
            f.message
        );
    }
}
