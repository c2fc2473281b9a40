//! [`TemplateError`]: what went wrong in a template, and where in its source.

use super::text::char_offset;

/// A template failed to compile or render.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Human message naming the undefined variable or the syntax problem.
    pub message: String,
    /// Where in the template source the problem is, in characters from its start
    /// (0-based), when known. Add it to the template's column to point at the spot.
    pub offset: Option<usize>,
}

impl TemplateError {
    /// An error without a position.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            offset: None,
        }
    }

    /// Converts a minijinja error on `source`, dropping minijinja's own
    /// `(in <string>:1)` suffix: our callers report the journey file position.
    pub(super) fn from_minijinja(err: &minijinja::Error, source: &str) -> Self {
        Self::from_minijinja_at(err, source, 0)
    }

    /// Like [`Self::from_minijinja`] for an error on a part of `source` that
    /// starts `shift` bytes in (the expression of a JSON leaf).
    pub(super) fn from_minijinja_at(err: &minijinja::Error, source: &str, shift: usize) -> Self {
        let message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        Self {
            message,
            offset: error_range(err, shift).map(|r| char_offset(source, r.start)),
        }
    }
}

/// The byte range of an error, moved `shift` bytes into the enclosing source.
pub(super) fn error_range(err: &minijinja::Error, shift: usize) -> Option<std::ops::Range<usize>> {
    err.range().map(|r| r.start + shift..r.end + shift)
}
