//! The JSON Schemas under `schema/` (issue 11 part 3): generated from the
//! parser's types, and every shipped or documented journey and configuration
//! is valid against them, as an editor using the modeline would see it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generated(what: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_journeyd"))
        .args(["schema", what])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

fn validator(what: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join(format!("schema/{what}.schema.json"))).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// The problems of one YAML document against a schema, one line each.
fn problems(v: &jsonschema::Validator, label: &str, yaml: &str) -> Vec<String> {
    let doc: Value = match serde_saphyr::from_str(yaml) {
        Ok(d) => d,
        Err(e) => return vec![format!("{label}: not YAML: {e}")],
    };
    v.iter_errors(&doc)
        .map(|e| format!("{label}: {} at {}", e, e.instance_path().as_str()))
        .collect()
}

/// Fenced blocks whose info string is exactly `info`, with their first line.
fn blocks(markdown: &str, info: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim() == info => current = Some((i + 2, String::new())),
            Some(_) if line.trim() == "```" => out.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

fn docs() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.push(root().join("README.md"));
    files.sort();
    files
}

#[test]
fn committed_schemas_match_the_generated_ones() {
    for what in ["journey", "config"] {
        let file = format!("schema/{what}.schema.json");
        let committed = std::fs::read_to_string(root().join(&file)).unwrap_or_default();
        assert!(
            committed == generated(what),
            "{file} differs from the raw types; regenerate it with\n  cargo run -q -- schema {what} > {file}"
        );
    }
}

#[test]
fn shipped_and_documented_journeys_are_valid_against_the_schema() {
    let v = validator("journey");
    let mut found = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("journeys")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/journey.schema.json\n"),
            "{} lacks the schema modeline",
            path.display()
        );
        found.extend(problems(&v, &path.display().to_string(), &text));
        checked += 1;
    }
    for file in docs() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, block) in blocks(&text, "```yaml journey") {
            found.extend(problems(&v, &format!("{}:{line}", file.display()), &block));
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} journeys found");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn shipped_and_documented_configs_are_valid_against_the_schema() {
    let v = validator("config");
    let mut found = Vec::new();
    let mut checked = 0;
    for (file, modeline) in [
        ("deploy/journeyd.yaml", "../schema/config.schema.json"),
        (
            "deploy/demo/journeyd.yaml",
            "../../schema/config.schema.json",
        ),
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let want = format!("# yaml-language-server: $schema={modeline}\n");
        assert!(text.starts_with(&want), "{file} lacks the schema modeline");
        found.extend(problems(&v, file, &text));
        checked += 1;
    }
    // The configuration pages show configuration files (or parts of one,
    // valid on their own since every key is optional) in plain yaml blocks.
    for page in [
        "configuration.md",
        "alerting.md",
        "metrics.md",
        "tracing.md",
    ] {
        let file = root().join("docs").join(page);
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, block) in blocks(&text, "```yaml") {
            found.extend(problems(&v, &format!("docs/{page}:{line}"), &block));
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} configurations found");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_schemas_catch_what_check_refuses() {
    let journey = validator("journey");
    let bad = [
        (
            "typo",
            "name: x\nsteps:\n  - name: a\n    request: { url: \"http://h/\" }\n    expect: { staus: 200 }\n",
        ),
        (
            "status",
            "name: x\nsteps:\n  - name: a\n    request: { url: \"http://h/\" }\n    expect: { status: 2yy }\n",
        ),
        (
            "predicate",
            "name: x\nsteps:\n  - name: a\n    request: { url: \"http://h/\" }\n    expect: { json: { \"$.a\": { eqq: 1 } } }\n",
        ),
        (
            "header",
            "name: x\nsteps:\n  - name: a\n    request: { url: \"http://h/\" }\n    expect: { headers: { x: { gt: many } } }\n",
        ),
        (
            "capture",
            "name: x\nsteps:\n  - name: a\n    request: { url: \"http://h/\" }\n    capture: { id: { json: \"$.id\", header: x } }\n",
        ),
        ("no steps", "name: x\n"),
    ];
    for (what, yaml) in bad {
        assert!(
            !problems(&journey, what, yaml).is_empty(),
            "{what} accepted"
        );
    }
    let config = validator("config");
    assert!(!problems(&config, "typo", "concurency: 3\n").is_empty());
    assert!(
        !problems(
            &config,
            "receiver",
            "alerting: { receivers: [{ name: a, type: pager }] }\n"
        )
        .is_empty()
    );
}
