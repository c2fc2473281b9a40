//! `request`: method, URL, headers, body, timeout and redirects of a step.

use std::time::Duration;

use indexmap::IndexMap;

use super::build::{Builder, Defaults, loc};
use super::raw::{RawRequest, S, Value};
use crate::journey::model::*;
use crate::units::limits;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

impl Builder<'_> {
    pub(super) fn request(
        &mut self,
        path: &str,
        r: &S<RawRequest>,
        defaults: &Defaults,
    ) -> (RequestSpec, Duration) {
        let raw = &r.value;
        let method = self.method(path, raw);
        let url = self.url(path, raw);
        let query = raw
            .query
            .iter()
            .filter_map(|(k, v)| {
                self.scalar_template(v, &format!("{path}.query.{k}"))
                    .map(|t| (k.clone(), t))
            })
            .collect::<Box<[_]>>();
        let mut headers = defaults.headers.clone();
        for (name, t) in self.headers(&raw.headers, &format!("{path}.headers")) {
            headers.retain(|(n, _)| *n != name);
            headers.push((name, t));
        }
        let body = self.body(path, raw);
        let timeout = raw
            .timeout
            .as_ref()
            .and_then(|t| self.duration(t, &format!("{path}.timeout"), limits::STEP_TIMEOUT))
            .unwrap_or(defaults.timeout);
        let mut redirects = defaults.redirects;
        if let Some(f) = raw.follow_redirects {
            redirects.follow = f;
        }
        if let Some(m) = &raw.max_redirects {
            redirects.max = m.value;
        }
        (
            RequestSpec {
                method,
                url,
                query,
                headers: headers.into_boxed_slice(),
                body,
                redirects,
            },
            timeout,
        )
    }

    /// The method, upper-cased, as one of [`METHODS`] (no copy per step); GET when
    /// unset.
    fn method(&mut self, path: &str, raw: &RawRequest) -> &'static str {
        let Some(m) = &raw.method else {
            return "GET";
        };
        let upper = m.value.to_ascii_uppercase();
        let known = METHODS.iter().copied().find(|known| *known == upper);
        if known.is_none() {
            self.err(
                loc(m),
                &format!("{path}.method"),
                format!(
                    "unknown method `{}`; use one of {}",
                    m.value,
                    METHODS.join(", ")
                ),
            );
        }
        known.unwrap_or("GET")
    }

    /// The URL template; a literal URL is checked now (a templated one when rendered).
    fn url(&mut self, path: &str, raw: &RawRequest) -> Template {
        let url = self.template(&raw.url.value, loc(&raw.url), &format!("{path}.url"));
        if url.is_literal() {
            match url::Url::parse(&url.source) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => self.err(
                    url.loc,
                    &format!("{path}.url"),
                    format!("unsupported scheme `{}`: use http or https", u.scheme()),
                ),
                Err(e) => self.err(
                    url.loc,
                    &format!("{path}.url"),
                    format!("invalid URL `{}`: {e}", url.source),
                ),
            }
        }
        url
    }

    pub(super) fn body(&mut self, path: &str, raw: &RawRequest) -> Option<BodySpec> {
        let given = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            let at = loc(&raw.url);
            self.err(
                at,
                path,
                "a request has at most one of `json`, `form` and `body`",
            );
            return None;
        }
        if let Some(j) = &raw.json {
            self.json_templates(&j.value, loc(j), &format!("{path}.json"));
            return match JsonBody::new(&j.value) {
                Ok(body) => Some(BodySpec::Json(body)),
                Err(e) => {
                    self.err(
                        loc(j),
                        &format!("{path}.json"),
                        format!("the JSON body cannot be sent: {e}; nest it less deeply"),
                    );
                    None
                }
            };
        }
        if let Some(f) = &raw.form {
            let fields = f
                .value
                .iter()
                .filter_map(|(k, v)| {
                    self.scalar_template(v, &format!("{path}.form.{k}"))
                        .map(|t| (k.clone(), t))
                })
                .collect();
            return Some(BodySpec::Form(fields));
        }
        raw.body
            .as_ref()
            .map(|b| BodySpec::Raw(self.template(&b.value, loc(b), &format!("{path}.body"))))
    }

    pub(super) fn headers(
        &mut self,
        raw: &IndexMap<String, S<Value>>,
        path: &str,
    ) -> Vec<(String, Template)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            let p = format!("{path}.{name}");
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.err(
                    loc(value),
                    &p,
                    format!("`{name}` is not a valid HTTP header name"),
                );
            }
            if let Some(t) = self.scalar_template(value, &p) {
                out.push((name.to_ascii_lowercase(), t));
            }
        }
        out
    }
}
