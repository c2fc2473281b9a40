//! The status page's card about cleanup owed by runs that could not finish
//! it: count, abandoned, and each owed step with its age and last error.
//! Never the captured values it needs (they may be secret).

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::layout::{Esc, fmt_ago};
use crate::server::ServerState;
use crate::store::PendingCleanup;

/// The status page's card about owed cleanup; empty when nothing is owed or
/// abandoned (a healthy daemon shows nothing).
pub async fn status_card(state: &ServerState, now: DateTime<Utc>) -> String {
    let Some(p) = &state.pending else {
        return String::new();
    };
    let pending = p.cleanups().await.unwrap_or_default();
    render_card(&pending, p.abandoned_total(), now)
}

/// See [`status_card`].
pub fn render_card(pending: &[PendingCleanup], abandoned: u64, now: DateTime<Utc>) -> String {
    if pending.is_empty() && abandoned == 0 {
        return String::new();
    }
    let mut out = String::from("<section class=\"card\"><h2>Cleanup owed</h2><p>");
    let _ = write!(
        out,
        "{} pending, {abandoned} abandoned since start (test data left in the target).</p>",
        pending.len()
    );
    if !pending.is_empty() {
        out.push_str("<ul class=\"small\">");
        for c in pending {
            let _ = write!(
                out,
                "<li>{}: {} (owed {}, {} attempts{})</li>",
                Esc(&c.journey),
                Esc(&c.steps.join(", ")),
                fmt_ago(now, c.created_at),
                c.attempts,
                c.last_error
                    .as_deref()
                    .map(|e| format!("; last error: {}", Esc(e)))
                    .unwrap_or_default()
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    out
}
