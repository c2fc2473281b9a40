//! Journeys: the validated model, the YAML parser and validator, templating
//! and secrets.

pub mod model;
pub mod parse;
pub mod secrets;
pub mod template;

pub use model::*;
