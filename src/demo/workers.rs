//! The demo company's background processes: payment, fulfillment,
//! activation and back office. Each is one task that ticks over the store and
//! moves every item whose delay has passed, honouring the faults in force.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::task::TaskTracker;
use tracing::debug;

use super::faults::{Fault, Mode, Process};
use super::requests::address_changed_message;
use super::state::{App, ContractStatus, Notification, OrderStatus, RequestStatus, Store, new_id};

/// Starts one task per worker process; they stop when `app.shutdown` is cancelled.
pub fn spawn_all(app: &Arc<App>, tracker: &TaskTracker) {
    for process in Process::ALL.into_iter().filter(|p| p.has_worker()) {
        tracker.spawn(run_worker(app.clone(), process));
    }
}

async fn run_worker(app: Arc<App>, process: Process) {
    // A zero period would make `interval` panic.
    let period = app.config.worker_tick.max(Duration::from_millis(1));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = app.shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let fault = app.faults.get(process);
        if matches!(fault.map(|f| f.mode), Some(Mode::Stuck | Mode::Down)) {
            continue;
        }
        let moved = work_once(&app, process, fault, Instant::now());
        if moved > 0 {
            debug!(process = process.as_str(), moved, "Worker moved items.");
        }
    }
}

/// Moves every item of `process` that is due at `now`; returns how many moved.
fn work_once(app: &App, process: Process, fault: Option<Fault>, now: Instant) -> usize {
    let mode = fault.map(|f| f.mode);
    let extra = Fault::extra_delay(fault);
    let config = &app.config;
    let mut store = app.store();
    match process {
        Process::Payment => pay(&mut store, due(now, config.payment_delay + extra), mode),
        Process::Fulfillment => ship(&mut store, due(now, config.fulfillment_delay + extra), mode),
        Process::Activation => {
            activate(&mut store, due(now, config.activation_delay + extra), mode)
        }
        Process::Backoffice => {
            process_requests(&mut store, due(now, config.backoffice_delay + extra), mode)
        }
        _ => 0,
    }
}

/// Items that entered their state at or before the returned instant are due.
/// `None` when the delay reaches back before the clock began: nothing is due.
fn due(now: Instant, delay: Duration) -> Option<Instant> {
    now.checked_sub(delay)
}

fn is_due(entered: Instant, cutoff: Option<Instant>) -> bool {
    cutoff.is_some_and(|c| entered <= c)
}

fn pay(store: &mut Store, cutoff: Option<Instant>, mode: Option<Mode>) -> usize {
    let due = store
        .orders
        .values_mut()
        .filter(|o| o.status == OrderStatus::Accepted && is_due(o.entered, cutoff));
    let mut moved = 0;
    for order in due {
        match mode {
            Some(Mode::Reject) => order.transition(OrderStatus::PaymentDeclined),
            Some(Mode::WrongData) => {
                order.paid_cents = Some(order.total_cents.saturating_sub(100));
                order.transition(OrderStatus::Paid);
            }
            _ => {
                order.paid_cents = Some(order.total_cents);
                order.transition(OrderStatus::Paid);
            }
        }
        moved += 1;
    }
    moved
}

fn ship(store: &mut Store, cutoff: Option<Instant>, mode: Option<Mode>) -> usize {
    let due = store
        .orders
        .values_mut()
        .filter(|o| o.status == OrderStatus::Paid && is_due(o.entered, cutoff));
    let mut moved = 0;
    for order in due {
        match mode {
            Some(Mode::Reject) => order.transition(OrderStatus::Undeliverable),
            Some(Mode::WrongData) => {
                order.shipped = true;
                order.transition(OrderStatus::Shipped);
            }
            _ => {
                order.shipped = true;
                order.tracking_number = Some(tracking_number());
                order.transition(OrderStatus::Shipped);
            }
        }
        moved += 1;
    }
    moved
}

/// `TRK-` and ten random digits.
fn tracking_number() -> String {
    let n: u64 = rand::rng().random_range(0..10_000_000_000);
    format!("TRK-{n:010}")
}

fn activate(store: &mut Store, cutoff: Option<Instant>, mode: Option<Mode>) -> usize {
    let due = store
        .contracts
        .values_mut()
        .filter(|c| c.status == ContractStatus::Signed && is_due(c.entered, cutoff));
    let mut moved = 0;
    for contract in due {
        contract.entered = Instant::now();
        if mode == Some(Mode::Reject) {
            contract.status = ContractStatus::Rejected;
        } else {
            if mode == Some(Mode::WrongData) {
                contract.monthly_price_cents += 500;
            }
            contract.status = ContractStatus::Active;
            contract.activated_at = Some(Utc::now());
        }
        moved += 1;
    }
    moved
}

fn process_requests(store: &mut Store, cutoff: Option<Instant>, mode: Option<Mode>) -> usize {
    let due = store
        .requests
        .values_mut()
        .filter(|r| r.status == RequestStatus::Received && is_due(r.entered, cutoff));
    let mut moved = 0;
    for request in due {
        request.entered = Instant::now();
        if mode == Some(Mode::Reject) {
            request.status = RequestStatus::Rejected;
        } else {
            let mut address = request.address.clone();
            if mode == Some(Mode::WrongData) {
                address.postcode = "00000".to_string();
            }
            request.notification = Some(Notification {
                id: new_id("n"),
                message: address_changed_message(&address),
            });
            request.status = RequestStatus::Processed;
            request.processed_at = Some(Utc::now());
        }
        moved += 1;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_have_ten_digits() {
        for _ in 0..100 {
            let t = tracking_number();
            let digits = t.strip_prefix("TRK-").expect("prefix");
            assert_eq!(digits.len(), 10, "{t}");
            assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{t}");
        }
    }

    #[test]
    fn an_item_is_due_once_its_delay_has_passed() {
        let start = Instant::now();
        let later = start + Duration::from_millis(100);
        assert!(!is_due(start, due(later, Duration::from_millis(150))));
        assert!(is_due(start, due(later, Duration::from_millis(100))));
        assert!(!is_due(start, None));
    }
}
