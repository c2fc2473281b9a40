//! Test helpers shared by the integration-test modules.
pub mod alerting;
pub mod daemon;
pub mod demo;
pub mod dns;
pub mod hostile;
pub mod postgres;
pub mod tls;
pub mod tmpfs;
pub mod wait;
