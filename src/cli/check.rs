//! `journeyd check`: validate journey files and print every problem, as text
//! for people or as JSON for editors and CI annotations (`--format json`).

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use journeyd::journey::parse::{Diagnostic, load_paths};
use journeyd::journey::template::Engine;
use serde::Serialize;

use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE};

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `file:line:col: message` with the source line and a caret, on stderr.
    Text,
    /// A JSON array of diagnostics on stdout (`[]` when valid).
    Json,
}

/// What a check found: the problems, or what was valid.
enum Checked {
    /// Everything valid; the sentence to print.
    Valid(String),
    /// Problems found; `per_file`: the verdict line counts the files too
    /// (the configuration check's verdict has always counted problems only).
    Invalid {
        diags: Vec<Diagnostic>,
        per_file: bool,
    },
}

/// Checks, prints in `format` and returns the exit code (usage errors always go to stderr).
pub fn run(paths: Vec<PathBuf>, config: Option<PathBuf>, format: CheckFormat) -> u8 {
    let checked = match config {
        Some(config) => check_config(&config, paths),
        None => check_paths(paths),
    };
    match (checked, format) {
        (Err(code), _) => code,
        (Ok(Checked::Valid(ok)), CheckFormat::Text) => {
            println!("{ok}");
            EXIT_OK
        }
        (Ok(Checked::Valid(_)), CheckFormat::Json) => {
            println!("[]");
            EXIT_OK
        }
        (Ok(Checked::Invalid { diags, per_file }), CheckFormat::Text) => {
            print_diagnostics(&diags);
            let files: std::collections::BTreeSet<_> = diags.iter().map(|d| &d.file).collect();
            if per_file {
                eprintln!(
                    "error: {} problem(s) in {} file(s)",
                    diags.len(),
                    files.len()
                );
            } else {
                eprintln!("error: {} problem(s)", diags.len());
            }
            EXIT_FAIL
        }
        (Ok(Checked::Invalid { diags, .. }), CheckFormat::Json) => {
            println!("{}", diagnostics_json(&diags));
            EXIT_FAIL
        }
    }
}

fn check_paths(mut paths: Vec<PathBuf>) -> Result<Checked, u8> {
    if paths.is_empty() {
        paths.push(PathBuf::from("journeys"));
    }
    for p in &paths {
        if !p.exists() {
            eprintln!("error: {} does not exist", p.display());
            return Err(EXIT_USAGE);
        }
    }
    let engine = Engine::new();
    let loaded = load_paths(&paths, &engine);
    if loaded.files == 0 {
        eprintln!(
            "error: no journey files (*.yaml, *.yml) found in {}",
            show(&paths)
        );
        return Err(EXIT_USAGE);
    }
    if loaded.diagnostics.is_empty() {
        return Ok(Checked::Valid(format!(
            "ok: {} journey(s) valid in {}",
            loaded.journeys.len(),
            show(&paths)
        )));
    }
    Ok(Checked::Invalid {
        diags: loaded.diagnostics,
        per_file: true,
    })
}

/// Renders each diagnostic with its source line, like rustc.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        let source = std::fs::read_to_string(&d.file).ok();
        eprintln!("{}\n", d.render(source.as_deref()));
    }
}

fn show(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `check --config`: the configuration and every journey it names, all problems at once.
fn check_config(config: &Path, extra: Vec<PathBuf>) -> Result<Checked, u8> {
    if !config.exists() {
        eprintln!("error: {} does not exist", config.display());
        return Err(EXIT_USAGE);
    }
    let engine = Engine::new();
    let journeys = match journeyd::config::load_all(config, &engine) {
        Ok((_, journeys)) => journeys.len(),
        Err(diags) => {
            return Ok(Checked::Invalid {
                diags,
                per_file: false,
            });
        }
    };
    let valid = format!(
        "ok: configuration {} and {} journey(s) valid",
        config.display(),
        journeys
    );
    if extra.is_empty() {
        return Ok(Checked::Valid(valid));
    }
    match check_paths(extra)? {
        Checked::Valid(_) => Ok(Checked::Valid(valid)),
        invalid => Ok(invalid),
    }
}

/// One diagnostic for machines: positions are 1-based (0 for the file as a whole).
#[derive(Debug, Serialize)]
struct JsonDiagnostic {
    file: String,
    line: u32,
    column: u32,
    severity: &'static str,
    /// The field path (`steps[0].request.url`), empty for file-level problems.
    path: String,
    /// The problem, prefixed by the field path as in the text output.
    message: String,
    /// The suggestion the message ends with ("did you mean `status`?"), if any.
    hint: Option<String>,
}

/// The diagnostics as a JSON array.
fn diagnostics_json(diags: &[Diagnostic]) -> String {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| {
            let (message, hint) = split_hint(&d.message);
            JsonDiagnostic {
                file: d.file.display().to_string(),
                line: d.loc.line,
                column: d.loc.col,
                // Every problem the loaders report stops the file from loading.
                severity: "error",
                path: d.path.clone(),
                message: if d.path.is_empty() {
                    message.to_string()
                } else {
                    format!("{}: {message}", d.path)
                },
                hint: hint.map(str::to_string),
            }
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
}

/// Splits the "did you mean" suggestion the loaders append to a message
/// (`unknown key `staus`; did you mean `status`?`) into a hint an editor can offer.
fn split_hint(message: &str) -> (&str, Option<&str>) {
    for sep in ["; did you mean ", ", did you mean "] {
        if let Some(at) = message.find(sep) {
            return (&message[..at], Some(message[at + 2..].trim()));
        }
    }
    (message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_did_you_mean_suffix_becomes_the_hint() {
        assert_eq!(
            split_hint("unknown key `staus`; did you mean `status`?"),
            ("unknown key `staus`", Some("did you mean `status`?"))
        );
        assert_eq!(split_hint("bad value"), ("bad value", None));
    }
}
