//! Journeys: the validated model (on-failure diagnostics in `diagnostic.rs`), the YAML parser and validator, templating
//! and secrets.

pub mod diagnostic;
pub mod model;
pub mod parse;
pub mod request;
pub mod secrets;
pub mod template;

pub use diagnostic::*;
pub use model::*;
