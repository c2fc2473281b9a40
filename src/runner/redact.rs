//! Redaction: the one place where secrets are scrubbed from what a run
//! produces. Every [`StepOutcome`] passes through
//! [`Redactor::redact_step`] before anyone (progress output, JSON, JUnit,
//! store, alerts) sees it, so no consumer has to remember to redact.

use std::borrow::Cow;

use super::{Evidence, StepOutcome};

/// What a secret is replaced with.
pub const REDACTED: &str = "***";

/// Headers whose values are always replaced, whatever they hold.
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Knows the secret values of one run and removes them from text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    values: Vec<String>,
}

impl Redactor {
    /// Registers a secret value, with the encodings it may appear in
    /// (URL-encoded in a query, JSON-escaped in a body).
    pub fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let json = serde_json::to_string(value).unwrap_or_default();
        let json_inner = json.trim_matches('"').to_string();
        for v in [value.to_string(), encoded, json_inner] {
            if !v.is_empty() && !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// True when no secret is known.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !self.values.iter().any(|v| text.contains(v.as_str())) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        Cow::Owned(out)
    }

    /// A header value as it may be shown: sensitive headers always `***`.
    pub fn header_value(&self, name: &str, value: &str) -> String {
        if SENSITIVE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            REDACTED.to_string()
        } else {
            self.redact(value).into_owned()
        }
    }

    fn scrub(&self, s: &mut String) {
        if let Cow::Owned(r) = self.redact(s) {
            *s = r;
        }
    }

    /// Scrubs every text field of a step outcome in place.
    pub fn redact_step(&self, step: &mut StepOutcome) {
        if let Some(f) = &mut step.failure {
            self.scrub(&mut f.message);
            for m in &mut f.mismatches {
                self.scrub(&mut m.subject);
                self.scrub(&mut m.expected);
                self.scrub(&mut m.actual);
            }
        }
        if let Some(reason) = &mut step.skip_reason {
            self.scrub(reason);
        }
        if let Some(e) = &mut step.evidence {
            self.redact_evidence(e);
        }
    }

    fn redact_evidence(&self, e: &mut Evidence) {
        self.scrub(&mut e.request.url);
        for (k, v) in &mut e.request.headers {
            *v = self.header_value(k, v);
        }
        if let Some(b) = &mut e.request.body {
            self.scrub(b);
        }
        if let Some(r) = &mut e.response {
            for (k, v) in &mut r.headers {
                *v = self.header_value(k, v);
            }
            self.scrub(&mut r.body);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_replaced_in_all_encodings() {
        let mut r = Redactor::default();
        r.add("p@ss word\"x");
        assert_eq!(r.redact("pw=p@ss word\"x!"), "pw=***!");
        assert_eq!(r.redact("q=p%40ss+word%22x"), "q=***");
        assert_eq!(r.redact(r#"{"pw":"p@ss word\"x"}"#), r#"{"pw":"***"}"#);
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn longer_secret_wins_over_its_prefix() {
        let mut r = Redactor::default();
        r.add("abc");
        r.add("abcdef");
        assert_eq!(r.redact("xabcdefx"), "x***x");
    }

    #[test]
    fn sensitive_headers_are_always_hidden() {
        let r = Redactor::default();
        assert_eq!(r.header_value("Authorization", "Bearer t"), REDACTED);
        assert_eq!(r.header_value("set-cookie", "s=1"), REDACTED);
        assert_eq!(r.header_value("content-type", "text/plain"), "text/plain");
    }
}
