//! The status page's card about obligations of durable steps: per journey,
//! how many are pending and the age of the oldest, and how many ended badly
//! in the last week. Never the captured values they need.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::layout::{Esc, fmt_ago};
use crate::server::ServerState;
use crate::store::{ObligationRow, ObligationState};

/// Rows read for the card.
const READ: usize = 2000;

/// The card; empty when there is no obligation (most daemons).
pub async fn status_card(state: &ServerState, now: DateTime<Utc>) -> String {
    let Some(p) = &state.pending else {
        return String::new();
    };
    render_card(&p.obligations(READ).await.unwrap_or_default(), now)
}

#[derive(Default)]
struct PerJourney {
    pending: usize,
    oldest: Option<DateTime<Utc>>,
    breached: usize,
    failed: usize,
}

/// See [`status_card`].
pub fn render_card(rows: &[ObligationRow], now: DateTime<Utc>) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut by: BTreeMap<&str, PerJourney> = BTreeMap::new();
    for r in rows {
        let j = by.entry(&r.journey).or_default();
        match r.state {
            ObligationState::Pending => {
                j.pending += 1;
                j.oldest = Some(j.oldest.map_or(r.created_at, |o| o.min(r.created_at)));
            }
            ObligationState::Breached => j.breached += 1,
            ObligationState::Failed => j.failed += 1,
            ObligationState::Fulfilled => {}
        }
    }
    let mut out = String::from(
        "<section class=\"card\"><h2>Obligations</h2><p>Durable steps watched after their run.</p><ul class=\"small\">",
    );
    for (journey, j) in by {
        let oldest = j
            .oldest
            .map(|t| format!(", oldest {}", fmt_ago(now, t).trim_end_matches(" ago")))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li>{}: {} pending{oldest}; {} breached, {} failed in the last week</li>",
            Esc(journey),
            j.pending,
            j.breached,
            j.failed
        );
    }
    out.push_str("</ul></section>");
    out
}
