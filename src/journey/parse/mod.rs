//! Parsing and validation of journey files.
//!
//! A file goes through three stages, in the style of Vector's config: serde
//! decodes it into private `Raw*` types (`raw.rs`), a `Builder` validates them
//! purely and builds the model (`build.rs` for the journey, `step.rs` for a
//! step, one file per part of a step: `request.rs`, `expect.rs`, `body.rs`,
//! `capture.rs`, `eventually.rs`, `retry.rs`, `diagnostics.rs` for on-failure requests; `templates.rs` checks variables,
//! `values.rs` holds shared decoding helpers), and every problem becomes a [`Diagnostic`]
//! naming `file:line:col`, the field path and what to do. All semantic
//! problems of a file are collected; a structural error (unknown key, wrong
//! type) stops serde at the first one, so it is reported alone for that file.

mod body;
mod build;
mod capture;
mod diagnostics;
mod eventually;
mod expect;
mod locations;
mod patterns;
mod raw;
mod request;
mod retry;
mod shapes;
mod step;
mod templates;
mod trace;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::model::Journey;
use super::template::Engine;

pub use crate::diagnostics::{Diagnostic, closest, decode_yaml};
pub use crate::units::{parse_duration, parse_size};

/// Defaults for journeys that do not set them (the daemon config can change them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JourneyDefaults {
    /// `interval` when a journey has none.
    pub interval: std::time::Duration,
    /// `timeout` when a journey has none.
    pub timeout: std::time::Duration,
}

impl Default for JourneyDefaults {
    fn default() -> Self {
        Self {
            interval: std::time::Duration::from_secs(60),
            timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// The JSON Schema of the journey format, for editors: generated from the
/// raw types the parser decodes, so it cannot drift from what `check` accepts.
pub fn journey_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(raw::RawJourney);
    schema.insert("title".into(), "journeyd journey".into());
    schema.to_value()
}

/// Parses and validates one journey from its source text.
pub fn parse_journey(
    file: &Path,
    source: &str,
    engine: &Engine,
) -> Result<Journey, Vec<Diagnostic>> {
    parse_journey_with(file, source, engine, JourneyDefaults::default())
}

/// [`parse_journey`] with explicit defaults.
pub fn parse_journey_with(
    file: &Path,
    source: &str,
    engine: &Engine,
    defaults: JourneyDefaults,
) -> Result<Journey, Vec<Diagnostic>> {
    let raw = build::decode_raw(file, source)?;
    build::Builder::new(file, engine, defaults).build(raw)
}

/// Reads and validates one journey file.
pub fn load_file(file: &Path, engine: &Engine) -> Result<Journey, Vec<Diagnostic>> {
    load_file_with(file, engine, JourneyDefaults::default())
}

fn load_file_with(
    file: &Path,
    engine: &Engine,
    defaults: JourneyDefaults,
) -> Result<Journey, Vec<Diagnostic>> {
    match std::fs::read_to_string(file) {
        Ok(source) => parse_journey_with(file, &source, engine, defaults),
        Err(e) => Err(vec![file_diagnostic(
            file,
            format!("cannot read the file: {e}"),
        )]),
    }
}

/// Journeys and problems found under some paths.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Valid journeys, in file name order.
    pub journeys: Vec<Journey>,
    /// Every problem, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// Number of files read.
    pub files: usize,
}

/// Loads every journey under `paths` (files, or directories holding `*.yaml`/`*.yml`),
/// checking that journey names are unique across files.
pub fn load_paths(paths: &[PathBuf], engine: &Engine) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = Vec::new();
    for p in paths {
        match journey_files(p) {
            Ok(mut found) => files.append(&mut found),
            Err(d) => loaded.diagnostics.push(d),
        }
    }
    load_files(files, engine, JourneyDefaults::default(), loaded)
}

/// Loads journeys from patterns: files, directories, or globs like `journeys/*.yaml`.
/// A pattern that matches nothing is a problem (a typo would silently monitor nothing).
pub fn load_patterns(patterns: &[String], engine: &Engine, defaults: JourneyDefaults) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = Vec::new();
    for pattern in patterns {
        let path = Path::new(pattern);
        if path.exists() {
            match journey_files(path) {
                Ok(mut found) => files.append(&mut found),
                Err(d) => loaded.diagnostics.push(d),
            }
            continue;
        }
        let matched: Vec<PathBuf> = match glob::glob(pattern) {
            Ok(paths) => paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect(),
            Err(e) => {
                loaded
                    .diagnostics
                    .push(file_diagnostic(path, format!("invalid pattern: {e}")));
                continue;
            }
        };
        if matched.is_empty() {
            loaded
                .diagnostics
                .push(file_diagnostic(path, "matches no journey file".to_string()));
        }
        files.extend(matched);
    }
    files.sort();
    files.dedup();
    load_files(files, engine, defaults, loaded)
}

fn load_files(
    files: Vec<PathBuf>,
    engine: &Engine,
    defaults: JourneyDefaults,
    mut loaded: Loaded,
) -> Loaded {
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        loaded.files += 1;
        match load_file_with(&file, engine, defaults) {
            Ok(j) => {
                if let Some(first) = seen.get(&j.name) {
                    loaded.diagnostics.push(Diagnostic {
                        file: file.clone(),
                        loc: j.name_loc,
                        path: "name".into(),
                        message: format!(
                            "journey name `{}` is already used by {}; journey names must be unique",
                            j.name,
                            first.display()
                        ),
                    });
                } else {
                    seen.insert(j.name.clone(), file.clone());
                    loaded.journeys.push(j);
                }
            }
            Err(mut d) => loaded.diagnostics.append(&mut d),
        }
    }
    loaded
}

/// The journey files a path stands for: itself, or the sorted YAML files of a directory.
fn journey_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta =
        std::fs::metadata(path).map_err(|e| file_diagnostic(path, format!("cannot read: {e}")))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| file_diagnostic(path, format!("cannot list the directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

fn file_diagnostic(file: &Path, message: String) -> Diagnostic {
    Diagnostic::file(file, message)
}
