//! One Hurl entry to one journey step: the request, then captures, asserts
//! and options mapped to `capture`, `expect` and `eventually`. What has no
//! journey equivalent is returned as a note with its position; `emit.rs` writes
//! it as a comment in the step.

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::parse::{Body, Entry, Line};
use super::query::{Query, Tok, query, tokens};
use super::templates::Templates;

/// A step ready to be written.
#[derive(Debug, Default)]
pub(super) struct StepOut {
    pub name: String,
    /// `(line, col, source text, why)` of what was not converted.
    pub notes: Vec<(usize, usize, String, String)>,
    pub request: IndexMap<String, Value>,
    pub status: Option<Value>,
    pub headers: IndexMap<String, IndexMap<String, Value>>,
    pub body: IndexMap<String, Value>,
    pub json: IndexMap<String, IndexMap<String, Value>>,
    pub max_duration: Option<String>,
    pub capture: IndexMap<String, Value>,
    pub eventually: Option<Value>,
}

impl StepOut {
    pub(super) fn note(&mut self, at: &Line, why: impl Into<String>) {
        self.notes
            .push((at.line, at.col, at.text.clone(), why.into()));
    }
}

/// Converts entry number `n` (1-based).
pub(super) fn convert(n: usize, entry: &Entry, t: &mut Templates) -> StepOut {
    let mut out = StepOut {
        name: step_name(n, entry),
        ..StepOut::default()
    };
    for (line, why) in &entry.unsupported {
        out.note(line, why.clone());
    }
    request(entry, t, &mut out);
    if let Some(status) = &entry.status
        && status.text != "*"
    {
        match status.text.parse::<u16>() {
            Ok(code) => out.status = Some(json!(code)),
            Err(_) => out.note(status, "a status must be a number or `*`"),
        }
    }
    // Hurl captures before it asserts; a journey checks expectations first,
    // so an assert on a value this same request captures cannot be carried.
    let captured_here: Vec<String> = entry
        .captures
        .iter()
        .filter_map(|l| l.text.split_once(':'))
        .map(|(name, _)| Templates::name(name.trim()))
        .collect();
    let uses_own_capture = |line: &Line| {
        template_names(&line.text)
            .into_iter()
            .find(|n| captured_here.contains(n))
    };
    for line in entry.response_headers.iter().chain(&entry.asserts) {
        if let Some(name) = uses_own_capture(line) {
            out.note(line, format!("uses `{name}`, captured by this same request: a journey checks expectations before it captures"));
        }
    }
    let response_headers = entry
        .response_headers
        .iter()
        .filter(|l| uses_own_capture(l).is_none());
    let asserts = entry
        .asserts
        .iter()
        .filter(|l| uses_own_capture(l).is_none());
    for line in response_headers {
        match super::parse::key_value(&line.text) {
            Some((k, v)) => {
                let check = json!(t.convert(&v));
                add(
                    &mut out,
                    line,
                    Target::Header(k.to_ascii_lowercase()),
                    "equals",
                    check,
                );
            }
            None => out.note(line, "expected `Header: value`"),
        }
    }
    for line in asserts {
        if let Err(why) = assert(line, t, &mut out) {
            out.note(line, why);
        }
    }
    // Captures after asserts: a later step may use them, this one may not.
    for line in &entry.captures {
        if let Err(why) = capture(line, t, &mut out) {
            out.note(line, why);
        }
    }
    super::options::options(entry, &mut out);
    out.notes.sort_by_key(|n| (n.0, n.1));
    out
}

/// The journey names of the `{{name}}` templates in `text`.
fn template_names(text: &str) -> Vec<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(inner, _)| Templates::name(inner.trim()))
        .collect()
}

fn step_name(n: usize, entry: &Entry) -> String {
    let url = entry.url.as_str();
    // The path is what tells steps apart; the host is the same throughout.
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("/", |p| &url[i + 3 + p..]),
        None => url.find('/').map_or(url, |p| &url[p..]),
    };
    // `{{id}}` would read as a template; step names are plain text.
    let path = path.replace("{{", "{").replace("}}", "}");
    let mut name = format!("{n} {} {path}", entry.method);
    name.truncate(100);
    name
}

fn request(entry: &Entry, t: &mut Templates, out: &mut StepOut) {
    let r = &mut out.request;
    r.insert("method".into(), json!(entry.method));
    r.insert("url".into(), json!(t.convert(&entry.url)));
    let pairs = |t: &mut Templates, kv: &[(String, String)]| -> IndexMap<String, Value> {
        kv.iter()
            .map(|(k, v)| (k.clone(), json!(t.convert(v))))
            .collect()
    };
    let mut headers = pairs(t, &entry.headers);
    if let Some(line) = &entry.basic_auth {
        match super::parse::key_value(&line.text) {
            Some((user, pass)) if !format!("{user}{pass}").contains("{{") => {
                use base64::Engine as _;
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                headers.insert("authorization".into(), json!(format!("Basic {token}")));
            }
            _ => out.notes.push((line.line, line.col, line.text.clone(), "[BasicAuth] with variables is not converted: write an `authorization` header with `| base64`".into())),
        }
    }
    let r = &mut out.request;
    if !headers.is_empty() {
        r.insert("headers".into(), json!(headers));
    }
    if !entry.query.is_empty() {
        r.insert("query".into(), json!(pairs(t, &entry.query)));
    }
    if !entry.form.is_empty() {
        let form = pairs(t, &entry.form);
        out.request.insert("form".into(), json!(form));
    }
    match &entry.body {
        Some(Body::Json(line)) => match t.convert_json(&line.text) {
            Some(v) => {
                out.request.insert("json".into(), v);
            }
            None => out.note(
                &Line {
                    text: first_line(&line.text),
                    ..line.clone()
                },
                "this JSON body is not valid JSON once its variables are replaced",
            ),
        },
        Some(Body::Raw(text)) => {
            out.request.insert("body".into(), json!(t.convert(text)));
        }
        None => {}
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Where an assert lands in `expect`.
enum Target {
    Header(String),
    Body,
    Json(String),
}

fn add(out: &mut StepOut, at: &Line, target: Target, key: &str, value: Value) {
    let is_body = matches!(target, Target::Body);
    let map = match target {
        Target::Header(name) => out.headers.entry(name).or_default(),
        Target::Body => &mut out.body,
        Target::Json(path) => out.json.entry(path).or_default(),
    };
    // Several `body contains` become one list; elsewhere a key holds one value.
    if is_body
        && key == "contains"
        && let (Some(Value::Array(items)), Value::Array(more)) = (map.get_mut("contains"), &value)
    {
        items.extend(more.iter().cloned());
        return;
    }
    if map.contains_key(key) {
        out.note(
            at,
            format!("a second `{key}` on the same value is not converted"),
        );
        return;
    }
    map.insert(key.to_string(), value);
}

/// A predicate's journey key and value: `== 1` → `("eq", 1)`.
fn predicate(toks: &[Tok], t: &mut Templates) -> Result<(String, Value), String> {
    let (negated, toks) = match toks.first() {
        Some(Tok::Word(w)) if w == "not" => (true, &toks[1..]),
        _ => (false, toks),
    };
    let Some(Tok::Word(op)) = toks.first() else {
        return Err("expected a predicate (==, !=, >, contains, matches, exists, ...)".into());
    };
    let value = toks.get(1).map(|v| t.value(v));
    let text = || match toks.get(1) {
        Some(Tok::Str(s) | Tok::Regex(s)) => Ok(s.clone()),
        _ => Err(format!("`{op}` needs a quoted value")),
    };
    let type_of = match op.as_str() {
        "isString" => Some("string"),
        "isInteger" | "isFloat" | "isNumber" => Some("number"),
        "isBoolean" => Some("bool"),
        "isCollection" | "isList" => Some("array"),
        "isObject" => Some("object"),
        _ => None,
    };
    if let Some(ty) = type_of.filter(|_| !negated) {
        return Ok(("type".into(), json!(ty)));
    }
    let (key, value) = match (op.as_str(), value) {
        ("exists", _) => ("exists", json!(!negated)),
        (_, None) => return Err(format!("`{op}` needs a value")),
        _ if negated => return Err("`not` is converted only before `exists`".into()),
        ("==", Some(v)) => ("eq", v),
        ("!=", Some(v)) => ("ne", v),
        (">", Some(v)) => ("gt", v),
        (">=", Some(v)) => ("gte", v),
        ("<", Some(v)) => ("lt", v),
        ("<=", Some(v)) => ("lte", v),
        ("contains" | "includes", Some(v)) => ("contains", v),
        ("matches", Some(_)) => ("matches", json!(text()?)),
        ("startsWith", Some(_)) => ("matches", json!(format!("^{}", regex::escape(&text()?)))),
        ("endsWith", Some(_)) => ("matches", json!(format!("{}$", regex::escape(&text()?)))),
        (other, _) => return Err(format!("the `{other}` predicate is not converted")),
    };
    if let Some(extra) = toks.get(2) {
        return Err(format!(
            "unexpected `{extra:?}` after the predicate (filters are not converted)"
        ));
    }
    Ok((key.to_string(), value))
}

fn assert(line: &Line, t: &mut Templates, out: &mut StepOut) -> Result<(), String> {
    let toks = tokens(&line.text).ok_or("unterminated string or regex")?;
    let (q, rest) = query(&toks)?;
    // `jsonpath "$.items" count == 3`: the one filter with a journey equivalent.
    if let (Query::JsonPath(path), Some(Tok::Word(f))) = (&q, rest.first())
        && f == "count"
    {
        let (key, value) = predicate(&rest[1..], t)?;
        let key = match key.as_str() {
            "eq" => "len",
            "gt" => "len_gt",
            "lt" => "len_lt",
            other => return Err(format!("`count {other}` is not converted (use ==, > or <)")),
        };
        add(out, line, Target::Json(path.clone()), key, value);
        return Ok(());
    }
    let (key, value) = predicate(rest, t)?;
    match q {
        Query::Status if key == "eq" => match value.as_u64() {
            Some(code) => out.status = Some(json!(code)),
            None => return Err("`status ==` needs a number".into()),
        },
        Query::Header(name) => {
            let key = match key.as_str() {
                "eq" => "equals",
                "ne" => return Err("`header ... !=` has no journey equivalent".into()),
                other => other,
            };
            let value = if key == "equals" {
                json!(scalar(&value))
            } else {
                value
            };
            add(
                out,
                line,
                Target::Header(name.to_ascii_lowercase()),
                key,
                value,
            );
        }
        Query::JsonPath(path) => add(out, line, Target::Json(path), &key, value),
        Query::Body => match key.as_str() {
            "contains" => add(out, line, Target::Body, "contains", json!([scalar(&value)])),
            "matches" => add(out, line, Target::Body, "matches", value),
            "eq" => add(
                out,
                line,
                Target::Body,
                "matches",
                json!(format!("(?s)^{}$", regex::escape(&scalar(&value)))),
            ),
            other => return Err(format!("`body {other}` is not converted")),
        },
        Query::Duration => {
            let ms = value
                .as_u64()
                .ok_or("a duration is a number of milliseconds")?;
            let max = match key.as_str() {
                "lt" if ms > 1 => ms - 1,
                "lte" => ms,
                _ => return Err("only `duration <` and `duration <=` are converted".into()),
            };
            out.max_duration = Some(format!("{max}ms"));
        }
        _ => return Err("this query and predicate have no journey equivalent".into()),
    }
    Ok(())
}

/// A JSON value as the text a header or body check compares.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn capture(line: &Line, t: &mut Templates, out: &mut StepOut) -> Result<(), String> {
    let (name, rest) = line.text.split_once(':').ok_or("expected `name: query`")?;
    let toks = tokens(rest).ok_or("unterminated string or regex")?;
    let (q, filters) = query(&toks)?;
    if !filters.is_empty() {
        return Err("capture filters are not converted".into());
    }
    let source = match q {
        Query::JsonPath(p) => json!({ "json": p }),
        Query::Header(h) => json!({ "header": h.to_ascii_lowercase() }),
        Query::Cookie(c) => json!({ "cookie": c }),
        Query::Regex(r) => json!({ "regex": r }),
        Query::Status => json!({ "status": true }),
        Query::Url => json!({ "url": true }),
        Query::Body | Query::Duration => {
            return Err("this capture has no journey equivalent".into());
        }
    };
    let name = t.define(name.trim());
    out.capture.insert(name, source);
    Ok(())
}
