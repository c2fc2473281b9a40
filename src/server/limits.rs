//! File descriptors: the connection bound derived from `RLIMIT_NOFILE`, and
//! descriptor pressure for `/metrics`.
//!
//! Journeys need descriptors too (a socket per connection, a file per secret
//! read), and a journey failing because journeyd ran out of them pages a team
//! for nothing. So the HTTP listener may hold at most a quarter of the limit;
//! the rest stays in reserve for the runner, the databases and receivers.

use std::time::Duration;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Fewest connections the listener allows, whatever the limit.
const MIN_CONNECTIONS: usize = 16;
/// Most connections the listener allows, whatever the limit.
const MAX_CONNECTIONS: usize = 4096;
/// Highest soft limit journeyd raises itself to.
const RAISE_TO: u64 = 65_536;

/// How the HTTP listener bounds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most; one more closes the oldest.
    pub max_connections: usize,
    /// Time a connection has to send a request head (also the keep-alive idle time).
    pub header_read_timeout: Duration,
}

impl Limits {
    /// Default header timeout; generous for a scrape over a slow link.
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// Limits for a process allowed `nofile` descriptors.
    pub fn for_nofile(nofile: Option<u64>) -> Limits {
        let quarter = nofile.map_or(MAX_CONNECTIONS, |n| {
            usize::try_from(n / 4).unwrap_or(MAX_CONNECTIONS)
        });
        Limits {
            max_connections: quarter.clamp(MIN_CONNECTIONS, MAX_CONNECTIONS),
            header_read_timeout: Self::HEADER_READ_TIMEOUT,
        }
    }

    /// Limits for this process's current soft `RLIMIT_NOFILE`.
    pub fn from_process() -> Limits {
        Self::for_nofile(nofile_limit())
    }
}

/// The soft `RLIMIT_NOFILE`; None when unlimited.
pub fn nofile_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Raises the soft `RLIMIT_NOFILE` towards the hard one (at most [`RAISE_TO`]),
/// as systemd recommends for programs that do not use `select()`: the soft
/// default of 1,024 exists for old programs, not for a daemon holding sockets.
/// Returns the soft limit in force afterwards.
pub fn raise_nofile() -> Option<u64> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let target = maximum.map_or(RAISE_TO, |m| m.min(RAISE_TO));
    if current.is_some_and(|c| c < target) {
        let new = Rlimit {
            current: Some(target),
            maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, new) {
            tracing::warn!(error = %e, "Cannot raise the open-files limit.");
        }
    }
    nofile_limit()
}

/// Descriptors open now (entries of `/proc/self/fd`, minus the one reading it);
/// None when it cannot be read (no procfs, or no descriptor left to open it).
pub fn open_fds() -> Option<u64> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    let n = u64::try_from(dir.count()).unwrap_or(u64::MAX);
    Some(n.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_a_quarter_of_the_limit_within_range() {
        assert_eq!(Limits::for_nofile(Some(1024)).max_connections, 256);
        assert_eq!(Limits::for_nofile(Some(256)).max_connections, 64);
        assert_eq!(Limits::for_nofile(Some(20)).max_connections, 16);
        assert_eq!(Limits::for_nofile(Some(1 << 20)).max_connections, 4096);
        assert_eq!(Limits::for_nofile(None).max_connections, 4096);
    }

    #[test]
    fn counts_open_descriptors() {
        let before = open_fds().unwrap();
        let _f = std::fs::File::open("/proc/self/limits").unwrap();
        assert!(open_fds().unwrap() > before);
    }
}
