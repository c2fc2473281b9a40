//! `journeyd check`: golden tests on invalid journeys, and the shipped journeys are valid.
//!
//! Each `tests/fixtures/invalid/NAME.yaml` has a `NAME.err` holding the exact
//! stderr of `journeyd check tests/fixtures/invalid/NAME.yaml`. Regenerate with
//! `JOURNEYD_BLESS=1 cargo test --test it check::` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn journeyd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("RUST_LOG");
    c
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_fixtures_print_their_exact_errors() {
    let bless = std::env::var_os("JOURNEYD_BLESS").is_some();
    let files = fixtures();
    assert!(
        files.len() >= 8,
        "expected the invalid fixtures, found {files:?}"
    );
    let mut failures = Vec::new();
    for file in files {
        let rel = format!(
            "tests/fixtures/invalid/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        let out = journeyd().args(["check", &rel]).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{rel}: exit code; stderr:\n{stderr}"
        );
        let err_file = file.with_extension("err");
        if bless {
            std::fs::write(&err_file, &stderr).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&err_file).unwrap_or_default();
        if expected != stderr {
            failures.push(format!(
                "--- {rel}\nexpected:\n{expected}\nactual:\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_problem_line_names_file_line_and_column() {
    for file in fixtures() {
        let err = std::fs::read_to_string(file.with_extension("err")).unwrap();
        let first = err.lines().next().unwrap_or("");
        let rel = format!(
            "tests/fixtures/invalid/{}:",
            file.file_name().unwrap().to_string_lossy()
        );
        assert!(first.starts_with(&rel), "{first}");
        let pos: Vec<&str> = first[rel.len()..].splitn(3, ':').collect();
        assert!(pos[0].parse::<u32>().unwrap() >= 1, "{first}");
        assert!(pos[1].parse::<u32>().unwrap() >= 1, "{first}");
    }
}

#[test]
fn shipped_journeys_are_valid() {
    let out = journeyd().args(["check", "journeys"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let count = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "yaml")
        })
        .count();
    assert!(
        stdout.contains(&format!("ok: {count} journey(s) valid")),
        "{stdout}"
    );
}

#[test]
fn duplicate_journey_names_across_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let body = "name: same\nsteps:\n  - name: a\n    request: { url: \"http://127.0.0.1:1/\" }\n";
    std::fs::write(dir.path().join("a.yaml"), body).unwrap();
    std::fs::write(dir.path().join("b.yml"), body).unwrap();
    let out = journeyd().arg("check").arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("b.yml:1:7: name: journey name `same` is already used by"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = journeyd().args(["check", "no/such/dir"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = journeyd()
        .args(["check", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let empty = tempfile::tempdir().unwrap();
    let out = journeyd().arg("check").arg(empty.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn invalid_configs_print_their_exact_errors() {
    let bless = std::env::var_os("JOURNEYD_BLESS").is_some();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid-config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2);
    for file in files {
        let rel = format!(
            "tests/fixtures/invalid-config/{}",
            file.file_name().unwrap().to_string_lossy()
        );
        let out = journeyd()
            .args(["check", "--config", &rel])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{rel}: {stderr}");
        let err_file = file.with_extension("err");
        if bless {
            std::fs::write(&err_file, &stderr).unwrap();
        } else {
            let expected = std::fs::read_to_string(&err_file).unwrap_or_default();
            assert_eq!(stderr, expected, "{rel}");
        }
    }
}

#[test]
fn a_missing_secret_is_reported_where_it_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let journeys = Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys");
    let config = dir.path().join("journeyd.yaml");
    std::fs::write(
        &config,
        format!(
            "journeys: [{}]\nadmin_token_secret: nowhere_to_be_found\n",
            journeys.display()
        ),
    )
    .unwrap();
    let out = journeyd()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(
            "journeyd.yaml:2:21: admin_token_secret: secret `nowhere_to_be_found` not found"
        ),
        "{stderr}"
    );
    let ok = journeyd()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env("JOURNEYD_SECRET_NOWHERE_TO_BE_FOUND", "x")
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// Regression: a daemon label journeyd uses itself (`receiver` on the notification metrics)
/// passed the configuration check, and `journeyd run` then died with "cannot create the
/// metrics registry". It must be refused at its `file:line:col`, by `check` and by `run`.
#[test]
fn a_reserved_daemon_label_is_refused_at_its_place_by_check_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let journeys = Path::new(env!("CARGO_MANIFEST_DIR")).join("journeys");
    let config = dir.path().join("journeyd.yaml");
    std::fs::write(
        &config,
        format!(
            "journeys: [{}]\nstate_dir: {}\nlisten: 127.0.0.1:0\nlabels: {{ receiver: pager }}\n",
            journeys.display(),
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    for cmd in ["check", "run"] {
        let out = journeyd()
            .arg(cmd)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{cmd}: {stderr}");
        assert!(
            stderr.contains(
                "journeyd.yaml:4:9: labels.receiver: label `receiver` is set by journeyd itself"
            ),
            "{cmd}: {stderr}"
        );
        assert!(!stderr.contains("metrics registry"), "{cmd}: {stderr}");
    }
}
