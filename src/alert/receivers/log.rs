//! The log receiver: alerts as structured log lines. It is what runs when no
//! receiver is configured, so a fresh install still says what broke.
//! A firing alert is a WARN (a failing journey is the product working, not the
//! daemon needing an operator); a resolve is an INFO. It never fails.

use std::sync::Arc;

use super::raw::Fields;
use super::{BuildContext, ReceiverSpec};
use super::{DeliveryError, Notification, Receiver, parts};

/// Writes alerts to the daemon's log.
#[derive(Debug)]
pub struct Log {
    name: String,
}

impl Log {
    /// A log receiver called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl Receiver for Log {
    fn name(&self) -> &str {
        &self.name
    }

    async fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let (alert, ended) = parts(&n.event);
        let label = |k: &str| alert.labels.get(k).map_or("", String::as_str);
        let note = |k: &str| alert.annotations.get(k).map_or("", String::as_str);
        let summary = note("summary");
        match ended {
            None => tracing::warn!(
                alertname = label("alertname"),
                journey = label("journey"),
                step = label("step"),
                backend = label("backend"),
                class = label("class"),
                severity = label("severity"),
                run_url = note("run_url"),
                "Alert firing: {summary}"
            ),
            Some(at) => tracing::info!(
                alertname = label("alertname"),
                journey = label("journey"),
                step = label("step"),
                backend = label("backend"),
                class = label("class"),
                ends_at = %at.to_rfc3339(),
                "Alert resolved: {summary}"
            ),
        }
        Ok(())
    }
}

/// `type: log` settings: none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogConfig;

impl ReceiverSpec for LogConfig {
    const TYPE: &'static str = "log";
    const KEYS: &'static [&'static str] = &[];

    fn validate(_: &mut Fields<'_>) -> Self {
        LogConfig
    }

    fn build(&self, ctx: &BuildContext<'_>) -> Result<Arc<dyn Receiver>, String> {
        Ok(Arc::new(Log::new(ctx.name)))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::alert::receivers::testutil::{purchase_alert, utc};
    use crate::alert::state::AlertEvent;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Delivers `event` with a JSON subscriber on this thread; returns the one line logged.
    async fn log_line(event: AlertEvent) -> serde_json::Value {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let n = Notification { id: 1, event };
        Log::new("log").deliver(&n).await.unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        serde_json::from_str(lines[0]).unwrap()
    }

    #[tokio::test]
    async fn firing_is_a_warning_with_what_broke() {
        let line = log_line(AlertEvent::Firing(purchase_alert())).await;
        assert_eq!(line["level"], "WARN");
        let f = &line["fields"];
        assert_eq!(f["alertname"], "JourneyFailing");
        assert_eq!(f["journey"], "purchase");
        assert_eq!(f["step"], "order_ships");
        assert_eq!(f["backend"], "fulfillment");
        assert_eq!(f["class"], "backend_timeout");
        assert_eq!(
            f["message"],
            format!("Alert firing: {}", purchase_alert().annotations["summary"])
        );
    }

    #[tokio::test]
    async fn resolved_is_info() {
        let line = log_line(AlertEvent::Resolved(
            purchase_alert(),
            utc("2026-03-01T10:05:00Z"),
        ))
        .await;
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["journey"], "purchase");
        assert_eq!(line["fields"]["ends_at"], "2026-03-01T10:05:00+00:00");
    }
}
