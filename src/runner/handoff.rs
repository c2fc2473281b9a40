//! Work a run hands to the daemon because it may outlive the run: cleanup
//! steps still owed (crash, `kill -9`, shutdown grace exceeded, a failed
//! cleanup request), and the obligation of a `durable` step whose back-end had
//! not finished at the run's poll. The runner says what is owed through
//! [`HandOff`]; the daemon persists it and retries or polls it
//! (`daemon::cleanup`, `daemon::obligation`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Cleanup steps of one run that still have to run, with the values they need.
///
/// `values` holds every variable the owed steps read (vars and captures) as the
/// run had them, so a retry sends the same requests. Captures marked `secret`
/// (a session token, say) are never stored: `refresh` names the main steps
/// that capture them (a log-in), which a retry runs again first, with fresh
/// secrets, to get new ones; the values those steps read are stored too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwedCleanup {
    /// Journey name.
    pub journey: String,
    /// The run that owes it.
    pub run_id: uuid::Uuid,
    /// Names of the cleanup steps still owed, in journey order.
    pub steps: Vec<String>,
    /// Variables the owed steps read, by name.
    pub values: BTreeMap<String, serde_json::Value>,
    /// Main steps to run again before the owed steps, in journey order: they
    /// capture the secret values the owed steps read.
    pub refresh: Vec<String>,
}

/// A durable step the daemon keeps polling after its run: what to send and until when.
///
/// `values` holds the variables the step (and its `refresh` steps) read, as the
/// run had them, except secret captures and any value containing a secret (a
/// var built from `secret.NAME`): a poll renders the journey's vars again with
/// fresh secrets and runs the `refresh` steps (a log-in) first for fresh
/// secret captures, as owed cleanup does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obligation {
    /// Obligation id.
    pub id: uuid::Uuid,
    /// Journey name.
    pub journey: String,
    /// The run that left it.
    pub run_id: uuid::Uuid,
    /// The durable step.
    pub step: String,
    /// Its back-end.
    pub backend: Option<String>,
    /// Variables the step and its refresh steps read, by name (never secrets).
    pub values: BTreeMap<String, serde_json::Value>,
    /// Main steps run before each poll: they capture the secrets the step reads.
    pub refresh: Vec<String>,
    /// The run's poll (the first).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// `created_at + within`: after it, the obligation is breached.
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// Pause before the second poll; multiplied by `backoff` after each, up to `max_every`.
    pub every: std::time::Duration,
    /// `eventually.backoff`.
    pub backoff: f64,
    /// `eventually.max_every`.
    pub max_every: std::time::Duration,
    /// The run's poll, redacted: the first-poll evidence of a breach.
    pub first_poll: crate::runner::StepOutcome,
}

/// Where a run reports work that must survive it. Implementations persist
/// before returning: the next request of the run may be the last thing the
/// process does.
#[async_trait::async_trait]
pub trait HandOff: Send + Sync + fmt::Debug {
    /// Cleanup became owed (a value a cleanup step reads was captured), or what
    /// is owed changed. Replaces what was recorded for this run.
    async fn cleanup_owed(&self, owed: &OwedCleanup);

    /// The run's own cleanup finished: `remaining` are the steps that failed
    /// (empty when everything owed is done); they are retried in the background.
    async fn cleanup_settled(&self, journey: &str, run_id: uuid::Uuid, remaining: &[String]);

    /// A durable step left an obligation. Returns whether it was persisted (then the
    /// run's cleanup is held until the obligation ends, see [`Self::cleanup_held`]).
    async fn obligation_pending(&self, obligation: &Obligation) -> bool;

    /// The run ends with an obligation pending: its owed cleanup waits for it.
    async fn cleanup_held(&self, journey: &str, run_id: uuid::Uuid, steps: &[String]);
}
