//! Per-request redirect policy on a per-client reqwest policy.
//!
//! reqwest fixes the redirect policy when the client is built, but a journey sets it
//! per step. The client's policy therefore reads a [`RedirectBudget`] that `send`
//! sets before each request; a run's requests are sequential, so the budget always
//! belongs to the request in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use reqwest::redirect::Policy;

use crate::journey::model::Redirects;

/// The redirect settings of the request in flight.
#[derive(Debug, Default)]
pub(super) struct RedirectBudget {
    follow: AtomicBool,
    max: AtomicU32,
}

impl RedirectBudget {
    /// Applies the policy of the next request.
    pub fn set(&self, redirects: Redirects) {
        self.follow.store(redirects.follow, Ordering::SeqCst);
        self.max.store(redirects.max, Ordering::SeqCst);
    }
}

/// Following redirects stopped before reaching a final response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(super) struct RedirectError(pub String);

/// The reqwest policy reading `budget`.
pub(super) fn policy(budget: Arc<RedirectBudget>) -> Policy {
    Policy::custom(move |attempt| {
        if !budget.follow.load(Ordering::SeqCst) {
            return attempt.stop();
        }
        let max = budget.max.load(Ordering::SeqCst);
        let hops = attempt.previous().len();
        if u32::try_from(hops).unwrap_or(u32::MAX) <= max {
            return attempt.follow();
        }
        let looped = attempt.previous().contains(attempt.url());
        let message = if looped {
            format!(
                "redirect loop: {} was already visited; stopped after {max} redirects",
                attempt.url()
            )
        } else {
            format!(
                "too many redirects: stopped after {max}, the next one pointed to {}",
                attempt.url()
            )
        };
        attempt.error(RedirectError(message))
    })
}
