//! Diagnostics shared by every YAML loader (journey files and the daemon
//! configuration): source positions, the `file:line:col: field.path: message`
//! line with the source line and a caret under it (like rustc and Hurl),
//! "did you mean" suggestions, and strict YAML decoding ([`decode_yaml`]).

mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

pub use yaml::decode_yaml;

/// A 1-based position in a source file.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Location {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// Position of a spanned value decoded by [`decode_yaml`].
pub fn loc<T>(s: &Spanned<T>) -> Location {
    Location {
        line: s.referenced.line() as u32,
        col: s.referenced.column() as u32,
    }
}

/// One problem found in a journey or configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given on the command line.
    pub file: PathBuf,
    /// Where in the file (1-based); line 0 means the file itself.
    pub loc: Location,
    /// Field path like `steps[1].request.url`; empty for file-level problems.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: ",
            self.file.display(),
            self.loc.line,
            self.loc.col
        )?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl Diagnostic {
    /// A problem with the file as a whole (unreadable, matches nothing): position `0:0`.
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            loc: Location { line: 0, col: 0 },
            path: String::new(),
            message: message.into(),
        }
    }

    /// The diagnostic line followed by the offending source line and a caret, like rustc.
    pub fn render(&self, source: Option<&str>) -> String {
        let mut out = self.to_string();
        let line = source.and_then(|s| {
            s.lines()
                .nth((self.loc.line as usize).checked_sub(1)?)
                .map(str::to_string)
        });
        if let Some(line) = line {
            let num = self.loc.line.to_string();
            let pad = " ".repeat(num.len());
            let caret = " ".repeat((self.loc.col as usize).saturating_sub(1));
            out.push_str(&format!("\n{pad} |\n{num} | {line}\n{pad} | {caret}^"));
        }
        out
    }
}

/// The candidate closest to `word`, when it is close enough to be a plausible typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_the_closest_key() {
        let keys = ["request", "response", "name", "capture"];
        assert_eq!(closest("requst", keys), Some("request"));
        assert_eq!(closest("captures", keys), Some("capture"));
        assert_eq!(closest("zzz", keys), None);
    }

    #[test]
    fn render_shows_the_source_line_and_a_caret() {
        let d = Diagnostic {
            file: PathBuf::from("j.yaml"),
            loc: Location { line: 2, col: 3 },
            path: "steps".into(),
            message: "bad".into(),
        };
        assert_eq!(
            d.render(Some("a: 1\nb: 2\n")),
            "j.yaml:2:3: steps: bad\n  |\n2 | b: 2\n  |   ^"
        );
        assert_eq!(d.render(None), "j.yaml:2:3: steps: bad");
    }
}
