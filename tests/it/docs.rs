//! Examples in the docs run: every ```` ```yaml journey ```` block of
//! `docs/*.md` and the README is a valid journey.

use std::path::Path;

use journeyd::journey::parse::parse_journey;
use journeyd::journey::template::Engine;

/// Code blocks whose info string is exactly `yaml journey`.
fn journey_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim() == "```yaml journey" => current = Some((i + 2, String::new())),
            Some(_) if line.trim() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn journey_examples_in_docs_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = Engine::new();
    let mut checked = 0;
    let mut problems = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(root.join("README.md"));
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (line, block) in journey_blocks(&text) {
            checked += 1;
            if let Err(diags) = parse_journey(file, &block, &engine) {
                for d in diags {
                    problems.push(format!("{} (block at line {line}): {d}", file.display()));
                }
            }
        }
    }
    assert!(
        checked >= 5,
        "expected journey examples in docs, found {checked}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
