//! The fault model of the demo company: which back-end processes exist, which
//! failure modes can be injected into each, and the board that holds the
//! faults currently in force.
//!
//! The board is a [`tokio::sync::watch`] channel so that requests held by a
//! `stuck` fault wake up the moment the fault is changed or removed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use tokio::sync::watch;

/// The extra latency of a `slow` fault when the admin request names none.
pub const DEFAULT_SLOW_DELAY: Duration = Duration::from_millis(3000);

/// One back-end process of the demo company: it owns endpoints and maybe a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    /// Products and carts.
    Catalog,
    /// Checkout and the order resource.
    Orders,
    /// Takes payment for accepted orders (worker).
    Payment,
    /// Ships paid orders (worker).
    Fulfillment,
    /// Login.
    Auth,
    /// Quotes and contracts.
    Contracts,
    /// Activates signed contracts (worker).
    Activation,
    /// Customer requests made in the app.
    App,
    /// Processes customer requests and sends notifications (worker).
    Backoffice,
}

impl Process {
    /// Every process, in the order the docs list them.
    pub const ALL: [Process; 9] = [
        Process::Catalog,
        Process::Orders,
        Process::Payment,
        Process::Fulfillment,
        Process::Auth,
        Process::Contracts,
        Process::Activation,
        Process::App,
        Process::Backoffice,
    ];

    /// The name used in the admin API, logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Process::Catalog => "catalog",
            Process::Orders => "orders",
            Process::Payment => "payment",
            Process::Fulfillment => "fulfillment",
            Process::Auth => "auth",
            Process::Contracts => "contracts",
            Process::Activation => "activation",
            Process::App => "app",
            Process::Backoffice => "backoffice",
        }
    }

    /// Parses a name from the admin API.
    pub fn parse(name: &str) -> Option<Process> {
        Process::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether a background worker moves this process's items along.
    pub fn has_worker(self) -> bool {
        matches!(
            self,
            Process::Payment | Process::Fulfillment | Process::Activation | Process::Backoffice
        )
    }

    /// The modes this process supports: `reject` needs a worker to reject with.
    pub fn supported_modes(self) -> &'static [Mode] {
        if self.has_worker() {
            &Mode::ALL
        } else {
            &Mode::ALL[..Mode::ALL.len() - 1]
        }
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What goes wrong in a process while a fault is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The worker stops moving items; a process without a worker holds requests unanswered.
    Stuck,
    /// The endpoints answer 503.
    Error,
    /// The endpoints and the worker take `delay` longer.
    Slow,
    /// The endpoints or the worker produce plausible but wrong data.
    WrongData,
    /// The endpoints drop the connection without a response; the worker stops.
    Down,
    /// The worker moves items to its terminal failure state.
    Reject,
}

impl Mode {
    /// Every mode; `Reject` stays last (see [`Process::supported_modes`]).
    pub const ALL: [Mode; 6] = [
        Mode::Stuck,
        Mode::Error,
        Mode::Slow,
        Mode::WrongData,
        Mode::Down,
        Mode::Reject,
    ];

    /// The name used in the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Stuck => "stuck",
            Mode::Error => "error",
            Mode::Slow => "slow",
            Mode::WrongData => "wrong_data",
            Mode::Down => "down",
            Mode::Reject => "reject",
        }
    }

    /// Parses a name from the admin API.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault in force on one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub mode: Mode,
    /// Extra latency; set only for [`Mode::Slow`].
    pub delay: Option<Duration>,
}

impl Fault {
    /// The extra time the worker takes per item under this fault.
    pub fn extra_delay(fault: Option<Fault>) -> Duration {
        fault.and_then(|f| f.delay).unwrap_or_default()
    }
}

/// The faults currently in force, at most one per process.
pub type FaultMap = BTreeMap<Process, Fault>;

/// Shared, observable set of injected faults.
#[derive(Debug)]
pub struct FaultBoard {
    tx: watch::Sender<FaultMap>,
}

impl Default for FaultBoard {
    fn default() -> Self {
        FaultBoard {
            tx: watch::Sender::new(FaultMap::new()),
        }
    }
}

impl FaultBoard {
    /// The fault in force on `process`, if any.
    pub fn get(&self, process: Process) -> Option<Fault> {
        self.tx.borrow().get(&process).copied()
    }

    /// The mode in force on `process`, if any.
    pub fn mode(&self, process: Process) -> Option<Mode> {
        self.get(process).map(|f| f.mode)
    }

    /// A copy of every fault in force.
    pub fn snapshot(&self) -> FaultMap {
        self.tx.borrow().clone()
    }

    /// Puts `fault` in force on `process`, replacing any earlier one.
    pub fn set(&self, process: Process, fault: Fault) {
        self.tx.send_modify(|map| {
            map.insert(process, fault);
        });
    }

    /// Restores `process`; returns the fault that was in force.
    pub fn clear(&self, process: Process) -> Option<Fault> {
        let mut removed = None;
        self.tx.send_modify(|map| removed = map.remove(&process));
        removed
    }

    /// Restores every process.
    pub fn clear_all(&self) {
        self.tx.send_modify(FaultMap::clear);
    }

    /// Waits until `process` is no longer in `mode`.
    pub async fn wait_until_not(&self, process: Process, mode: Mode) {
        let mut rx = self.tx.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we borrow it.
        let _ = rx
            .wait_for(|map| map.get(&process).map(|f| f.mode) != Some(mode))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Process::ALL {
            assert_eq!(Process::parse(p.as_str()), Some(p));
        }
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
        assert_eq!(Process::parse("billing"), None);
        assert_eq!(Mode::parse("broken"), None);
    }

    #[test]
    fn reject_only_for_worker_processes() {
        for p in Process::ALL {
            assert_eq!(
                p.supported_modes().contains(&Mode::Reject),
                p.has_worker(),
                "{p}"
            );
            assert!(p.supported_modes().contains(&Mode::Stuck));
        }
    }

    #[tokio::test]
    async fn clearing_a_stuck_fault_wakes_waiters() {
        let board = std::sync::Arc::new(FaultBoard::default());
        let fault = Fault {
            mode: Mode::Stuck,
            delay: None,
        };
        board.set(Process::Auth, fault);
        let waiter = tokio::spawn({
            let board = board.clone();
            async move { board.wait_until_not(Process::Auth, Mode::Stuck).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        assert_eq!(board.clear(Process::Auth), Some(fault));
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter woke")
            .expect("waiter ran");
    }
}
