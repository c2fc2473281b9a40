//! `journeyd import hurl`: Hurl files to journeys.
//!
//! Why a hand-written parser and not the `hurl_core` crate: `hurl_core` builds
//! against libxml2 (for XPath) and needs libclang headers at build time, so
//! every developer machine and CI would need extra system packages for a
//! converter that never evaluates XPath. The subset converted here is the
//! line-oriented part of the documented grammar (Hurl's `docs/grammar.md`):
//! an entry starts with `METHOD URL`, request headers follow, then sections
//! (`[Query]`, `[Form]`, `[BasicAuth]`, `[Options]`) and a body; `HTTP CODE`
//! starts the response, with implicit header checks, `[Captures]` and
//! `[Asserts]`. Everything else (multipart, cookies sections, XPath, filters,
//! most options) is reported at its `file:line:col` and kept as a comment.
//!
//! Semantics carried over: Hurl does not follow redirects unless told to
//! (`location: true`), so the journey sets `defaults.follow_redirects: false`;
//! `[Options] retry` re-sends an entry until its asserts hold, which is what
//! `eventually` does (`within` = retries × interval).

mod convert;
mod emit;
mod options;
mod parse;
mod query;
mod templates;

use std::path::Path;

use super::{Imported, Unconverted};

/// Converts the Hurl `source` read from `file` into a journey.
pub fn import(file: &Path, source: &str) -> Imported {
    let entries = parse::parse(source);
    let mut t = templates::Templates::new();
    let steps: Vec<convert::StepOut> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.start.is_some())
        .map(|(i, e)| convert::convert(i + 1, e, &mut t))
        .collect();
    let mut unconverted: Vec<Unconverted> = entries
        .iter()
        .filter(|e| e.start.is_none())
        .flat_map(|e| &e.unsupported)
        .map(|(line, why)| (line.line, line.col, why.clone()))
        .chain(steps.iter().flat_map(|s| {
            s.notes
                .iter()
                .map(|(line, col, _, why)| (*line, *col, why.clone()))
        }))
        .map(|(line, col, message)| Unconverted {
            file: file.to_path_buf(),
            line,
            col,
            message,
        })
        .collect();
    unconverted.sort_by_key(|u| (u.line, u.col));
    let orphans: Vec<String> = entries
        .iter()
        .filter(|e| e.start.is_none())
        .flat_map(|e| &e.unsupported)
        .map(|(l, why)| format!("line {}: {} ({why})", l.line, l.text))
        .collect();
    let name = journey_name(file);
    let yaml = emit::journey(&name, file, &steps, &t.undeclared(), &orphans);
    Imported { yaml, unconverted }
}

/// The journey name from the file name: `get-orders.hurl` → `get-orders`.
fn journey_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.truncate(64);
    if name.is_empty() {
        "imported".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests;
