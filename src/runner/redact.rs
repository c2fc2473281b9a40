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

/// Shortest derived form (encoding, case change) that is registered.
pub const MIN_DERIVED_LEN: usize = 4;

/// How many times JSON escaping is applied at most.
const MAX_JSON_LEVELS: usize = 3;

/// The inside of `s` as a JSON string literal (without the quotes).
fn json_escape(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap_or_default();
    json.get(1..json.len().saturating_sub(1))
        .unwrap_or_default()
        .to_string()
}

/// `value` as the `url` crate (and so reqwest) writes it when a template puts it into
/// a URL: percent-encoded as in a path and as in a query (space as `%20`, where a
/// form body writes `+`).
fn url_forms(value: &str) -> [String; 2] {
    let Ok(mut u) = url::Url::parse("http://h/") else {
        return [String::new(), String::new()];
    };
    u.set_path(value);
    let path = u.path().get(1..).unwrap_or_default().to_string();
    u.set_query(Some(value));
    [path, u.query().unwrap_or_default().to_string()]
}

/// Every form of `value` the redactor looks for, `value` first.
fn forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let url: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    // Each plain form may then be JSON-escaped by the request body or the
    // target's echo; base64 needs no such treatment (no escaped characters).
    let [path, query] = url_forms(value);
    let plain = [
        value.to_string(),
        url,
        path,
        query,
        value.to_uppercase(),
        value.to_lowercase(),
    ];
    let mut out = plain.to_vec();
    for start in plain {
        let mut cur = start;
        for _ in 0..MAX_JSON_LEVELS {
            let next = json_escape(&cur);
            if next == cur {
                break;
            }
            out.push(next.clone());
            cur = next;
        }
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(value.as_bytes()));
    }
    out
}

/// Knows the secret values of one run and removes them from text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    values: Vec<String>,
}

impl Redactor {
    /// Registers a secret value with the forms it may appear in: raw,
    /// URL-encoded, JSON-escaped up to three times (a target echoing a JSON
    /// body inside a JSON string escapes it twice), upper and lower case
    /// (each also JSON-escaped), base64 (standard and URL-safe, with and without
    /// padding). Derived forms shorter than
    /// [`MIN_DERIVED_LEN`] are skipped so a tiny secret's variants do not
    /// blank out ordinary text; the raw value is always kept.
    pub fn add(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        for v in forms(value) {
            let keep = v == value || v.len() >= MIN_DERIVED_LEN;
            if keep && !v.is_empty() && !self.values.contains(&v) {
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
        for d in &mut step.diagnostics {
            self.redact_diagnostic(d);
        }
    }

    /// A diagnostic keeps no headers; everything else it holds may echo a secret.
    fn redact_diagnostic(&self, d: &mut super::DiagnosticResult) {
        self.scrub(&mut d.url);
        let texts = [
            &mut d.excerpt,
            &mut d.body,
            &mut d.error,
            &mut d.skip_reason,
        ];
        for t in texts.into_iter().flatten() {
            self.scrub(t);
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
    fn twice_escaped_secret_in_an_echoed_json_body_is_redacted() {
        let mut r = Redactor::default();
        let secret = r#"a"b\c-Xy9"#;
        r.add(secret);
        let inner = serde_json::to_string(&serde_json::json!({ "pw": secret })).unwrap();
        let echoed = serde_json::to_string(&serde_json::json!({ "echo": inner })).unwrap();
        let thrice = serde_json::to_string(&serde_json::json!({ "outer": echoed })).unwrap();
        for text in [echoed, thrice] {
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{out}");
            assert!(!out.contains("Xy9"), "{out}");
        }
    }

    #[test]
    fn base64_and_case_forms_are_redacted() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let mut r = Redactor::default();
        let secret = "s3cr?t>>pw";
        r.add(secret);
        for form in [
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
            secret.to_uppercase(),
        ] {
            assert_eq!(r.redact(&format!("x {form} y")), format!("x {REDACTED} y"));
        }
        assert_eq!(r.redact("unrelated text 123"), "unrelated text 123");
    }

    #[test]
    fn a_secret_in_a_url_path_or_query_is_redacted() {
        let mut r = Redactor::default();
        let secret = "tok en<1>/x";
        r.add(secret);
        // As a template renders it, then reqwest parses the URL.
        let u = url::Url::parse(&format!("http://shop.test/orders/{secret}?t={secret}")).unwrap();
        assert_eq!(
            r.redact(u.as_str()),
            "http://shop.test/orders/***?t=***",
            "{u}"
        );
    }

    #[test]
    fn tiny_secret_derived_forms_are_not_registered() {
        let mut r = Redactor::default();
        r.add("ab");
        assert_eq!(r.redact("AB YWI ab"), "AB YWI ***");
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
