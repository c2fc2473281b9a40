//! `journeyd check`: validate journey files and print every problem.

use std::path::PathBuf;

use journeyd::journey::parse::load_paths;
use journeyd::journey::template::Engine;

use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE};

/// Prints diagnostics (with the source line) to stderr and a one-line verdict.
pub fn run(mut paths: Vec<PathBuf>, config: Option<PathBuf>) -> u8 {
    if let Some(config) = config {
        return check_config(&config, paths);
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("journeys"));
    }
    for p in &paths {
        if !p.exists() {
            eprintln!("error: {} does not exist", p.display());
            return EXIT_USAGE;
        }
    }
    let engine = Engine::new();
    let loaded = load_paths(&paths, &engine);
    if loaded.files == 0 {
        eprintln!(
            "error: no journey files (*.yaml, *.yml) found in {}",
            show(&paths)
        );
        return EXIT_USAGE;
    }
    if loaded.diagnostics.is_empty() {
        println!(
            "ok: {} journey(s) valid in {}",
            loaded.journeys.len(),
            show(&paths)
        );
        return EXIT_OK;
    }
    print_diagnostics(&loaded.diagnostics);
    let files: std::collections::BTreeSet<_> = loaded.diagnostics.iter().map(|d| &d.file).collect();
    eprintln!(
        "error: {} problem(s) in {} file(s)",
        loaded.diagnostics.len(),
        files.len()
    );
    EXIT_FAIL
}

/// Renders each diagnostic with its source line, like rustc.
pub fn print_diagnostics(diags: &[journeyd::journey::parse::Diagnostic]) {
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
fn check_config(config: &std::path::Path, extra: Vec<PathBuf>) -> u8 {
    if !config.exists() {
        eprintln!("error: {} does not exist", config.display());
        return EXIT_USAGE;
    }
    let engine = Engine::new();
    match journeyd::config::load_all(config, &engine) {
        Ok((_, journeys)) if extra.is_empty() => {
            println!(
                "ok: configuration {} and {} journey(s) valid",
                config.display(),
                journeys.len()
            );
            EXIT_OK
        }
        Ok((_, journeys)) => {
            let code = run(extra, None);
            if code == EXIT_OK {
                println!(
                    "ok: configuration {} and {} journey(s) valid",
                    config.display(),
                    journeys.len()
                );
            }
            code
        }
        Err(diags) => {
            print_diagnostics(&diags);
            eprintln!("error: {} problem(s)", diags.len());
            EXIT_FAIL
        }
    }
}
