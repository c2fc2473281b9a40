//! Rendering a step's request templates into a [`PreparedRequest`], and
//! turning an exchange into redactable [`Evidence`].

use super::http::{HttpResponse, PreparedRequest};
use super::result::{Evidence, RequestExcerpt, ResponseExcerpt};
use crate::journey::model::{BodySpec, RequestSpec};
use crate::journey::template::{Engine, Scope, TemplateError};

/// Body bytes kept as evidence for a passing step.
const EXCERPT_PASS: usize = 1024;
/// Body bytes kept as evidence for a failing step.
const EXCERPT_FAIL: usize = 4096;

/// Renders URL, query, headers and body.
pub(super) fn render_request(
    spec: &RequestSpec,
    engine: &Engine,
    scope: &Scope,
) -> Result<PreparedRequest, TemplateError> {
    let url_text = engine.render(&spec.url, scope)?;
    let mut url = url::Url::parse(&url_text).map_err(|e| TemplateError {
        message: format!("the URL `{url_text}` is not valid: {e}"),
        offset: None,
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TemplateError {
            message: format!("the URL `{url_text}` is not http or https"),
            offset: None,
        });
    }
    if !spec.query.is_empty() {
        let mut pairs = Vec::with_capacity(spec.query.len());
        for (k, v) in &spec.query {
            pairs.push((k.as_str(), engine.render(v, scope)?));
        }
        url.query_pairs_mut().extend_pairs(pairs);
    }
    let mut headers = Vec::with_capacity(spec.headers.len() + 1);
    for (k, v) in &spec.headers {
        headers.push((k.clone(), engine.render(v, scope)?));
    }
    let (body, content_type) = match &spec.body {
        None => (None, None),
        Some(BodySpec::Json(v)) => {
            let rendered = engine.render_json(&v.value(), scope)?;
            let bytes = serde_json::to_vec(&rendered).unwrap_or_default();
            (Some(bytes), Some("application/json"))
        }
        Some(BodySpec::Form(fields)) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                ser.append_pair(k, &engine.render(v, scope)?);
            }
            (
                Some(ser.finish().into_bytes()),
                Some("application/x-www-form-urlencoded"),
            )
        }
        Some(BodySpec::Raw(t)) => (Some(engine.render(t, scope)?.into_bytes()), None),
    };
    if let Some(ct) = content_type
        && !headers.iter().any(|(k, _)| k == "content-type")
    {
        headers.push(("content-type".into(), ct.into()));
    }
    Ok(PreparedRequest {
        method: spec.method.to_string(),
        url: url.as_str().to_string(),
        parsed_url: Some(url),
        headers,
        body,
        redirects: spec.redirects,
    })
}

/// Evidence of one exchange (not yet redacted: the redactor runs on the whole outcome).
pub(super) fn evidence(
    req: &PreparedRequest,
    resp: Option<&HttpResponse>,
    failed: bool,
) -> Evidence {
    let limit = if failed { EXCERPT_FAIL } else { EXCERPT_PASS };
    Evidence {
        request: RequestExcerpt {
            method: req.method.clone(),
            url: req.url.clone(),
            headers: req.headers.clone(),
            body: req.body.as_ref().map(|b| excerpt(b, limit).0),
        },
        response: resp.map(|r| {
            let (body, truncated) = excerpt(&r.body, limit);
            ResponseExcerpt {
                status: r.status,
                headers: r.headers.clone(),
                body,
                truncated,
            }
        }),
    }
}

/// The first `limit` bytes as lossy UTF-8, cut on a character boundary.
fn excerpt(bytes: &[u8], limit: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(limit)]).into_owned();
    (text, bytes.len() > limit)
}
