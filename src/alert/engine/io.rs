//! The engine's outbox calls: state and notifications committed together,
//! and the delivery worker woken. Errors are logged: alerting must not stop
//! the daemon, and the outbox retries what it holds.

use chrono::{DateTime, Utc};

use super::AlertEngine;
use crate::alert::outbox::Silence;
use crate::alert::state::AlertEvent;

impl AlertEngine {
    pub(super) async fn silences(&self, now: DateTime<Utc>) -> Vec<Silence> {
        self.db.active_silences(now).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "Cannot read silences.");
            Vec::new()
        })
    }

    pub(super) async fn commit(&self, journey: &str, json: &str, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.commit(journey, json, notes).await {
            tracing::error!(journey, error = %e, "Cannot store alert state; notifications may be late.");
        }
        if !notes.is_empty() {
            self.delivery.wake();
        }
    }

    pub(super) async fn send(&self, notes: &[(String, AlertEvent)]) {
        if let Err(e) = self.db.enqueue(notes).await {
            tracing::error!(error = %e, "Cannot queue notifications.");
        }
        self.delivery.wake();
    }
}
