//! The CI recipes of `examples/ci/` are valid YAML, start the demo company,
//! and their `journeyd test` command, run as written (pointed at a demo on a
//! free port), passes and writes a JUnit report.

use super::{all_text, journeyd, junit_suites, output};
use crate::util::demo::{Demo, root};

/// Every string in a YAML document, folded (`>`) blocks included.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// The arguments after `journeyd test` in a recipe (one command per string or line).
fn test_command(recipe: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(recipe)).unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut all = Vec::new();
    strings(&doc, &mut all);
    assert!(
        all.iter().any(|s| s.contains("journeyd demo-target")),
        "{recipe} does not start the demo company"
    );
    let command = all
        .iter()
        .flat_map(|s| s.lines())
        .find(|l| l.contains("journeyd test "))
        .unwrap_or_else(|| panic!("no `journeyd test` in {recipe}"));
    let args: Vec<String> = command
        .split_whitespace()
        .skip_while(|w| !w.ends_with("journeyd"))
        .skip(2)
        .map(String::from)
        .collect();
    for wanted in ["journeys/", "--jobs", "--format", "junit", "--report"] {
        assert!(args.iter().any(|a| a == wanted), "{recipe}: {args:?}");
    }
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn ci_recipes_run_the_shipped_journeys_to_a_junit_report() {
    let demo = Demo::start().await;
    for recipe in [
        "examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml",
    ] {
        let mut args = test_command(recipe);
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.xml");
        // The recipe's report path, moved out of the repository.
        let at = args.iter().position(|a| a == "--report").unwrap();
        args[at + 1] = report.display().to_string();
        let mut c = journeyd(&["test"]);
        c.args(&args)
            .arg("--var")
            .arg(format!("base={}", demo.base()));
        let out = output(c).await;
        assert_eq!(out.status.code(), Some(0), "{recipe}: {}", all_text(&out));
        let suites = junit_suites(&std::fs::read_to_string(&report).unwrap());
        assert_eq!(suites.len(), 3, "{recipe}");
    }
}
