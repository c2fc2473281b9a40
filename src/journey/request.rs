//! What a step sends: the request, its body and redirects, and the retry of a
//! request that failed in a transient way.

use std::borrow::Cow;
use std::time::Duration;

use super::template::Template;

/// The request part of a step.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Absolute URL.
    pub url: Template,
    /// Query parameters appended to the URL.
    pub query: Box<[(String, Template)]>,
    /// Request headers (journey defaults first, step headers override by name).
    pub headers: Box<[(String, Template)]>,
    /// Optional body.
    pub body: Option<BodySpec>,
    /// Redirect handling.
    pub redirects: Redirects,
}

/// Redirect policy of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirects {
    /// Follow 3xx responses with a `Location`.
    pub follow: bool,
    /// At most this many hops when following.
    pub max: u32,
}

impl Default for Redirects {
    fn default() -> Self {
        Self {
            follow: true,
            max: 10,
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum BodySpec {
    /// JSON document; every string leaf is a template. A leaf that is exactly one
    /// `{{ expression }}` keeps the expression's JSON type (number, bool, object).
    Json(JsonBody),
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, Template)>),
    /// Raw text, sent as is (set `content-type` yourself).
    Raw(Template),
}

/// A JSON request body as written (string leaves are templates), kept as compact
/// JSON text. A step lives as long as its journey is configured, and a parsed
/// object holds a B-tree node of about 630 bytes however few its keys, against
/// some 50 bytes of text for a typical body; a run parses the text again before
/// rendering it, about a microsecond (heap profile in docs/benchmarks.md, "Lean").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonBody(Box<str>);

impl JsonBody {
    /// The body of `value`; an error when its text does not read back (a document
    /// nested deeper than `serde_json` reads), so a run cannot meet it.
    pub fn new(value: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let text = serde_json::to_string(value)?;
        serde_json::from_str::<serde_json::Value>(&text)?;
        Ok(Self(text.into_boxed_str()))
    }

    /// The document, parsed again. [`JsonBody::new`] checked that it reads back.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

/// Retry of a single request that failed in a transient way (connection refused or
/// reset, a timeout before the response headers, or one of `statuses`), within the
/// step's own timeout. An answered request whose expectations fail is never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first attempt; 0 turns retries off.
    pub max: u32,
    /// Pause before the first retry; it doubles after each (a `Retry-After` header wins).
    pub delay: Duration,
    /// Statuses retried unless the step's own `status` expectation accepts them.
    pub statuses: Cow<'static, [u16]>,
    /// The journey declared `retry:` (on the step or in `defaults`): every method is
    /// retried. Otherwise only GET, HEAD, OPTIONS, or a request with an `Idempotency-Key`.
    pub declared: bool,
}

impl Retry {
    /// Two retries, 200 ms then 400 ms, on 429, 502, 503 and 504; safe methods only.
    pub const DEFAULT: Self = Self {
        max: 2,
        delay: Duration::from_millis(200),
        statuses: Cow::Borrowed(&[429, 502, 503, 504]),
        declared: false,
    };
}

impl Default for Retry {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::JsonBody;
    use serde_json::json;

    #[test]
    fn a_json_body_reads_back_as_the_document_it_was_made_of() {
        let doc = json!({"product_id": "{{ product_id }}", "quantity": 1, "tags": ["a", {"b": null}], "price": 12.5});
        assert_eq!(JsonBody::new(&doc).expect("body").value(), doc);
    }

    #[test]
    fn a_json_body_too_deep_to_read_back_is_refused() {
        let mut doc = json!(1);
        for _ in 0..200 {
            doc = json!([doc]);
        }
        assert!(JsonBody::new(&doc).is_err());
        assert!(JsonBody::new(&json!([[[1]]])).is_ok());
    }
}
