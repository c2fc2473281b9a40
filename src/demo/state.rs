//! The demo company's in-memory store: carts, orders, logins, quotes,
//! contracts and customer requests, each capped so a demo that runs for
//! months keeps a bounded footprint.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::DemoConfig;
use super::faults::FaultBoard;

/// Everything the handlers and workers share.
#[derive(Debug)]
pub struct App {
    /// The demo's tuning.
    pub config: DemoConfig,
    /// The faults in force.
    pub faults: FaultBoard,
    /// Cancelled when the demo shuts down; held requests give up on it.
    pub shutdown: CancellationToken,
    /// The `traceparent` of the last requests received.
    pub traces: super::traces::TraceLog,
    store: Mutex<Store>,
}

impl App {
    /// A fresh company with an empty store.
    pub fn new(config: DemoConfig, shutdown: CancellationToken) -> Arc<App> {
        let store = Store::new(config.max_records);
        Arc::new(App {
            config,
            faults: FaultBoard::default(),
            shutdown,
            traces: Default::default(),
            store: Mutex::new(store),
        })
    }

    /// Locks the store. A panic elsewhere cannot leave it half-updated in a
    /// way that matters for a demo, so a poisoned lock is simply taken over.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A map that forgets its oldest entries beyond a capacity.
#[derive(Debug)]
pub struct Capped<T> {
    cap: usize,
    map: HashMap<String, T>,
    order: VecDeque<String>,
}

impl<T> Capped<T> {
    /// An empty map holding at most `cap` entries (at least one).
    pub fn new(cap: usize) -> Self {
        Capped {
            cap: cap.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Inserts a new entry under a fresh `id`, evicting the oldest if full.
    pub fn insert(&mut self, id: String, value: T) {
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
        if self.map.insert(id.clone(), value).is_none() {
            self.order.push_back(id);
        }
    }

    /// The entry under `id`.
    pub fn get(&self, id: &str) -> Option<&T> {
        self.map.get(id)
    }

    /// The entry under `id`, for update.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.map.get_mut(id)
    }

    /// Every entry, for update, in no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.map.values_mut()
    }
}

/// A shop session's cart.
#[derive(Debug)]
pub struct Cart {
    /// The `shop_session` cookie value that owns the cart.
    pub session: String,
    /// Lines in the order they were first added.
    pub lines: Vec<CartLine>,
    /// The order the cart became at checkout; a cart is checked out once.
    pub order_id: Option<String>,
}

/// One product in a cart.
#[derive(Debug, Clone)]
pub struct CartLine {
    /// Product SKU.
    pub product_id: String,
    /// How many.
    pub quantity: u32,
}

/// Life cycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Taken at checkout, waiting for payment.
    Accepted,
    /// Paid, waiting for fulfillment.
    Paid,
    /// Handed to the carrier.
    Shipped,
    /// Payment failed for good.
    PaymentDeclined,
    /// Fulfillment failed for good.
    Undeliverable,
    /// Cancelled by the customer.
    Cancelled,
}

impl OrderStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Accepted => "accepted",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::PaymentDeclined => "payment_declined",
            OrderStatus::Undeliverable => "undeliverable",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

/// An order taken at checkout.
#[derive(Debug)]
pub struct Order {
    /// The `shop_session` cookie value that owns the order.
    pub session: String,
    /// Where the order is in its life cycle.
    pub status: OrderStatus,
    /// Sum of the cart lines at checkout.
    pub total_cents: u64,
    /// What payment took; `None` until paid.
    pub paid_cents: Option<u64>,
    /// Carrier tracking number; `None` until shipped (and after a `wrong_data` shipment).
    pub tracking_number: Option<String>,
    /// `true` once fulfillment handed the order over, even without a tracking number.
    pub shipped: bool,
    /// When the order entered `status`: workers measure their delay from here.
    pub entered: Instant,
    /// When the order was created.
    pub created_at: DateTime<Utc>,
    /// When the order last changed.
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// Moves the order to `status` now.
    pub fn transition(&mut self, status: OrderStatus) {
        self.status = status;
        self.entered = Instant::now();
        self.updated_at = Utc::now();
    }
}

/// A price quote for a contract.
#[derive(Debug)]
pub struct Quote {
    /// The user who asked.
    pub user: String,
    /// The quoted price.
    pub monthly_price_cents: u64,
}

/// Life cycle of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    /// Signed, waiting for activation.
    Signed,
    /// Activated.
    Active,
    /// Activation failed for good.
    Rejected,
    /// Terminated by the customer.
    Terminated,
}

impl ContractStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Signed => "signed",
            ContractStatus::Active => "active",
            ContractStatus::Rejected => "rejected",
            ContractStatus::Terminated => "terminated",
        }
    }
}

/// A signed contract.
#[derive(Debug)]
pub struct Contract {
    /// The user who signed.
    pub user: String,
    /// The quote it was signed from.
    pub quote_id: String,
    /// Where the contract is in its life cycle.
    pub status: ContractStatus,
    /// The monthly price (copied from the quote when signed).
    pub monthly_price_cents: u64,
    /// When activation happened.
    pub activated_at: Option<DateTime<Utc>>,
    /// When the contract entered `status`.
    pub entered: Instant,
}

/// Life cycle of a customer request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Queued for the back office.
    Received,
    /// Done.
    Processed,
    /// The back office refused it for good.
    Rejected,
    /// Withdrawn by the customer.
    Withdrawn,
}

impl RequestStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Received => "received",
            RequestStatus::Processed => "processed",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Withdrawn => "withdrawn",
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// Postcode.
    pub postcode: String,
    /// City.
    pub city: String,
}

/// A change-of-address request made in the app.
#[derive(Debug)]
pub struct CustomerRequest {
    /// The user who asked.
    pub user: String,
    /// Request type (`change_of_address`).
    pub kind: String,
    /// The new address.
    pub address: Address,
    /// Where the request is in its life cycle.
    pub status: RequestStatus,
    /// When the back office processed it.
    pub processed_at: Option<DateTime<Utc>>,
    /// The notification the back office sent, once processed.
    pub notification: Option<Notification>,
    /// When the request entered `status`.
    pub entered: Instant,
}

/// A message sent to the customer.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Its id.
    pub id: String,
    /// The text sent.
    pub message: String,
}

/// All records of the demo company.
#[derive(Debug)]
pub struct Store {
    /// Carts by id.
    pub carts: Capped<Cart>,
    /// Orders by id.
    pub orders: Capped<Order>,
    /// Logged-in users by token.
    pub tokens: Capped<String>,
    /// Quotes by id.
    pub quotes: Capped<Quote>,
    /// Contracts by id.
    pub contracts: Capped<Contract>,
    /// Customer requests by id.
    pub requests: Capped<CustomerRequest>,
}

impl Store {
    /// An empty store keeping at most `cap` records of each kind.
    pub fn new(cap: usize) -> Store {
        Store {
            carts: Capped::new(cap),
            orders: Capped::new(cap),
            tokens: Capped::new(cap),
            quotes: Capped::new(cap),
            contracts: Capped::new(cap),
            requests: Capped::new(cap),
        }
    }
}

/// A fresh id: `prefix` and 16 hex digits.
pub fn new_id(prefix: &str) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &hex[..16])
}

/// A timestamp as the API shows it (RFC 3339, milliseconds, `Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_forgets_the_oldest() {
        let mut m = Capped::new(2);
        m.insert("a".into(), 1);
        m.insert("b".into(), 2);
        m.insert("c".into(), 3);
        assert_eq!((m.map.len(), m.order.len()), (2, 2));
        assert!(m.get("a").is_none());
        assert_eq!(m.get("b"), Some(&2));
        assert_eq!(m.get("c"), Some(&3));
    }

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let a = new_id("o");
        assert!(a.starts_with("o-") && a.len() == 18, "{a}");
        assert_ne!(a, new_id("o"));
    }
}
