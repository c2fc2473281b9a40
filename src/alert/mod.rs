//! Alerting: the pure alert lifecycle ([`state`]). Delivery (receivers, the
//! durable outbox) builds on it.

pub mod config;
pub mod engine;
pub mod outbox;
pub mod receivers;
pub mod state;
