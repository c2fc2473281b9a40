//! Work a run hands to the daemon because it may outlive the run: cleanup
//! steps still owed (crash, `kill -9`, shutdown grace exceeded, a failed
//! cleanup request). The runner says what is owed through [`HandOff`]; the
//! daemon persists it and retries it (`daemon::cleanup`).

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
}
