//! A Hurl file split into entries (one request and its response section),
//! line by line, keeping each line's position. Only the structure is read
//! here; the lines of `[Captures]`, `[Asserts]` and `[Options]` are decoded by
//! `convert.rs`, which knows what a journey can express.

/// A source line (1-based number, column of its first non-blank character).
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub line: usize,
    pub col: usize,
    pub text: String,
}

/// A request body.
#[derive(Debug, Clone)]
pub(super) enum Body {
    /// A JSON document (`{...}` or `[...]`), as written.
    Json(Line),
    /// Text between ``` fences, or between single backticks.
    Raw(String),
}

/// One request and what its response must satisfy.
#[derive(Debug, Clone, Default)]
pub(super) struct Entry {
    /// The `METHOD URL` line.
    pub start: Option<Line>,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub basic_auth: Option<Line>,
    pub options: Vec<Line>,
    pub body: Option<Body>,
    /// `HTTP 200` (the status text after `HTTP`, `*` for any).
    pub status: Option<Line>,
    /// Implicit header checks after the status line.
    pub response_headers: Vec<Line>,
    pub captures: Vec<Line>,
    pub asserts: Vec<Line>,
    /// Lines of sections or forms this importer does not convert.
    pub unsupported: Vec<(Line, String)>,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// Where the lines being read go.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    RequestHeaders,
    Query,
    Form,
    BasicAuth,
    Options,
    ResponseHeaders,
    Captures,
    Asserts,
    Other,
}

/// Splits `source` into entries. Comments and blank lines are skipped.
pub(super) fn parse(source: &str) -> Vec<Entry> {
    let lines: Vec<&str> = source.lines().collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut section = Section::Other;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let text = raw.trim();
        let line = Line {
            line: i + 1,
            col: raw.len() - raw.trim_start().len() + 1,
            text: text.to_string(),
        };
        i += 1;
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if let Some((method, url)) = request_line(text) {
            entries.push(Entry {
                start: Some(line),
                method,
                url,
                ..Entry::default()
            });
            section = Section::RequestHeaders;
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            let why = "expected a request (`GET https://...`)".to_string();
            entries.push(Entry::default());
            if let Some(e) = entries.last_mut() {
                e.unsupported.push((line, why));
            }
            continue;
        };
        if let Some(name) = section_name(text) {
            section = match name {
                "QueryStringParams" | "Query" => Section::Query,
                "FormParams" | "Form" => Section::Form,
                "BasicAuth" => Section::BasicAuth,
                "Options" => Section::Options,
                "Captures" => Section::Captures,
                "Asserts" => Section::Asserts,
                _ => {
                    let why = format!("section [{name}] is not converted");
                    entry.unsupported.push((line, why));
                    Section::Other
                }
            };
            continue;
        }
        if (text.starts_with("HTTP ") || text.starts_with("HTTP/")) && entry.status.is_none() {
            let status = text.split_whitespace().nth(1).unwrap_or("*").to_string();
            entry.status = Some(Line {
                text: status,
                ..line
            });
            section = Section::ResponseHeaders;
            continue;
        }
        // A body ends the request (after its sections) or the response; one
        // after `HTTP` is Hurl's implicit check of the whole response body.
        let body = if text.starts_with("```") {
            let (body, next) = fenced(&lines, i);
            i = next;
            Some(Body::Raw(body))
        } else if text.starts_with('{') || text.starts_with('[') {
            let (json, next) = json_block(&lines, i - 1);
            i = next;
            Some(Body::Json(Line {
                text: json,
                ..line.clone()
            }))
        } else {
            text.strip_prefix('`')
                .and_then(|t| t.strip_suffix('`'))
                .filter(|_| !text.contains(':'))
                .map(|inner| Body::Raw(inner.to_string()))
        };
        if let Some(body) = body {
            if entry.status.is_none() && entry.body.is_none() {
                entry.body = Some(body);
            } else {
                let why = "a response body check is not converted: assert parts of it with `jsonpath` or `body contains`";
                entry.unsupported.push((line, why.to_string()));
            }
            continue;
        }
        match section {
            Section::RequestHeaders | Section::Query | Section::Form => match key_value(text) {
                Some(kv) if section == Section::Query => entry.query.push(kv),
                Some(kv) if section == Section::Form => entry.form.push(kv),
                Some(kv) => entry.headers.push(kv),
                None => entry
                    .unsupported
                    .push((line, "expected `name: value`".to_string())),
            },
            Section::BasicAuth => entry.basic_auth = Some(line),
            Section::Options => entry.options.push(line),
            Section::ResponseHeaders => entry.response_headers.push(line),
            Section::Captures => entry.captures.push(line),
            Section::Asserts => entry.asserts.push(line),
            Section::Other => entry
                .unsupported
                .push((line, "inside a section that is not converted".to_string())),
        }
    }
    entries
}

fn request_line(text: &str) -> Option<(String, String)> {
    let mut parts = text.split_whitespace();
    let method = parts.next()?;
    let url = parts.next()?;
    (METHODS.contains(&method) && parts.next().is_none())
        .then(|| (method.to_string(), url.to_string()))
}

fn section_name(text: &str) -> Option<&str> {
    let name = text.strip_prefix('[')?.strip_suffix(']')?;
    name.chars()
        .all(|c| c.is_ascii_alphabetic())
        .then_some(name)
}

/// `name: value` (the value unquoted when written as a Hurl string).
pub(super) fn key_value(text: &str) -> Option<(String, String)> {
    let (k, v) = text.split_once(':')?;
    let k = k.trim();
    if k.is_empty() || k.contains(' ') {
        return None;
    }
    Some((unquote_key(k), unquote(v.trim())))
}

fn unquote_key(k: &str) -> String {
    k.strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(k)
        .to_string()
}

/// A Hurl quoted string's value, or the text as is.
pub(super) fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => v.to_string(),
    }
}

pub(super) fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The text between a ``` line (at `start - 1`) and its closing fence.
fn fenced(lines: &[&str], start: usize) -> (String, usize) {
    let mut body = String::new();
    let mut i = start;
    while i < lines.len() {
        if lines[i].trim() == "```" {
            return (body, i + 1);
        }
        body.push_str(lines[i]);
        body.push('\n');
        i += 1;
    }
    (body, i)
}

/// A JSON body starting at `start`: lines until brackets balance (outside strings).
fn json_block(lines: &[&str], start: usize) -> (String, usize) {
    let mut depth = 0i64;
    let mut in_string = false;
    let mut escaped = false;
    let mut text = String::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        text.push_str(line);
        text.push('\n');
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '{' | '[' if !in_string => depth += 1,
                '}' | ']' if !in_string => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 {
            return (text, i + 1);
        }
    }
    (text, lines.len())
}
