//! Families about the process's own resources: file descriptors and HTTP
//! connections (descriptor exhaustion once locked the daemon out, issue 12).

use prometheus::{IntCounter, IntGauge, Registry};

use super::Metrics;

/// Descriptor and connection families.
pub(super) struct ProcessFamilies {
    open_fds: IntGauge,
    max_fds: IntGauge,
    connections: IntGauge,
    evicted: IntCounter,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(
    r: &Registry,
    c: T,
) -> prometheus::Result<T> {
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl ProcessFamilies {
    pub(super) fn new(r: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            open_fds: reg(
                r,
                IntGauge::new("journeyd_open_fds", "File descriptors journeyd has open.")?,
            )?,
            max_fds: reg(
                r,
                IntGauge::new(
                    "journeyd_max_fds",
                    "journeyd's soft open-files limit (RLIMIT_NOFILE); 0 when unlimited.",
                )?,
            )?,
            connections: reg(
                r,
                IntGauge::new(
                    "journeyd_http_connections",
                    "HTTP connections open to journeyd's listener.",
                )?,
            )?,
            evicted: reg(
                r,
                IntCounter::new(
                    "journeyd_http_connections_evicted_total",
                    "Oldest HTTP connections closed because the connection bound was reached.",
                )?,
            )?,
        })
    }
}

fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Descriptor pressure, read at scrape time (`open` None leaves the last value).
    pub fn set_fds(&self, open: Option<u64>, limit: Option<u64>) {
        if let Some(open) = open {
            self.process.open_fds.set(gauge(open));
        }
        self.process.max_fds.set(limit.map_or(0, gauge));
    }

    /// Connections open to the HTTP listener.
    pub fn set_http_connections(&self, count: usize) {
        self.process
            .connections
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// One connection closed to make room under the bound.
    pub fn http_connection_evicted(&self) {
        self.process.evicted.inc();
    }
}
