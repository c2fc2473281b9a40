//! The template as the model holds it: its source text and where it was written.

use crate::diagnostics::Location;

/// A string that may contain template expressions (`{{ base }}/api/orders`).
///
/// Its syntax was checked at load time; rendering happens per run in
/// [`super::template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The source text as written in the journey file.
    pub source: String,
    /// Where the template was written.
    pub loc: Location,
}

impl Template {
    /// A template at an unknown location (tests, command-line `--var`).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            loc: Location::default(),
        }
    }

    /// True when the text holds no template syntax and renders to itself.
    pub fn is_literal(&self) -> bool {
        !self.source.contains("{{") && !self.source.contains("{%") && !self.source.contains("{#")
    }
}
