//! The lines of `[Captures]` and `[Asserts]`: a query (`jsonpath "$.id"`,
//! `header "Location"`, `status`...), then for asserts an optional `not`, a
//! predicate and a value. Tokenised here, turned into journey keys by
//! `convert.rs`.

use super::parse::unescape;

/// A token of a capture or assert line.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// `"text"`, unescaped.
    Str(String),
    /// `/regex/`.
    Regex(String),
    /// `{{ name }}`, the inside trimmed.
    Template(String),
    /// Anything else: `jsonpath`, `==`, `200`, `true`.
    Word(String),
}

/// Splits a line into tokens; `None` on an unterminated string or regex.
pub(super) fn tokens(text: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        if c == '"' || c == '/' || c == '`' {
            let (inner, next) = delimited(&chars, i, c)?;
            out.push(match c {
                '"' => Tok::Str(unescape(&inner)),
                // A backtick string is taken as written.
                '`' => Tok::Str(inner),
                _ => Tok::Regex(inner.replace("\\/", "/")),
            });
            i = next;
            continue;
        }
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest.find("}}")?;
            out.push(Tok::Template(rest[..end].trim().to_string()));
            i += 2 + rest[..end].chars().count() + 2;
            continue;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        out.push(Tok::Word(chars[start..i].iter().collect()));
    }
    Some(out)
}

/// The text between `quote` at `start` and the next unescaped `quote`.
fn delimited(chars: &[char], start: usize, quote: char) -> Option<(String, usize)> {
    let mut inner = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                inner.push('\\');
                inner.push(chars[i + 1]);
                i += 2;
            }
            c if c == quote => return Some((inner, i + 1)),
            c => {
                inner.push(c);
                i += 1;
            }
        }
    }
    None
}

/// What a capture or assert reads from the response.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Query {
    Status,
    Url,
    Body,
    Duration,
    Header(String),
    Cookie(String),
    JsonPath(String),
    Regex(String),
}

/// Reads a query at the start of `toks`, returning it and the tokens after it.
pub(super) fn query(toks: &[Tok]) -> Result<(Query, &[Tok]), String> {
    let Some(Tok::Word(kind)) = toks.first() else {
        return Err("expected a query (status, header, jsonpath, body, ...)".into());
    };
    let arg = |rest: &[Tok]| match rest.first() {
        Some(Tok::Str(s)) | Some(Tok::Regex(s)) => Ok(s.clone()),
        _ => Err(format!("`{kind}` needs a quoted argument")),
    };
    let q = match kind.as_str() {
        "status" => Query::Status,
        "url" => Query::Url,
        "body" => Query::Body,
        "duration" => Query::Duration,
        "header" => Query::Header(arg(&toks[1..])?),
        "cookie" => Query::Cookie(arg(&toks[1..])?),
        "jsonpath" => Query::JsonPath(arg(&toks[1..])?),
        "regex" => Query::Regex(arg(&toks[1..])?),
        other => return Err(format!("the `{other}` query is not converted")),
    };
    let used = match q {
        Query::Status | Query::Url | Query::Body | Query::Duration => 1,
        _ => 2,
    };
    Ok((q, &toks[used..]))
}
