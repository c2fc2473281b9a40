//! Alerting: the pure alert lifecycle ([`state`]). Delivery (receivers, the
//! durable outbox) builds on it.

pub mod config;
pub mod state;
