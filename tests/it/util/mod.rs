//! Test helpers shared by the integration-test modules.
pub mod demo;
pub mod dns;
pub mod hostile;
pub mod tls;
