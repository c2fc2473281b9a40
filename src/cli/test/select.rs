//! Which journeys `journeyd test` runs: files, directories (searched
//! recursively for `*.yaml`/`*.yml`) and globs, then `--tag key=value` selectors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use journeyd::journey::Journey;

/// The journey files `patterns` stand for, sorted and without duplicates.
/// `Err` lists every pattern that is unusable (matches nothing, invalid glob, unreadable).
pub fn journey_files(patterns: &[String]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for pattern in patterns {
        let path = Path::new(pattern);
        let before = files.len();
        if path.is_dir() {
            if let Err(e) = walk(path, &mut files) {
                problems.push(format!("{pattern}: cannot list the directory: {e}"));
                continue;
            }
        } else if path.exists() {
            files.push(path.to_path_buf());
        } else {
            match glob::glob(pattern) {
                Ok(paths) => {
                    for p in paths.filter_map(Result::ok) {
                        if p.is_dir() {
                            let _ = walk(&p, &mut files);
                        } else if is_yaml(&p) {
                            files.push(p);
                        }
                    }
                }
                Err(e) => {
                    problems.push(format!("{pattern}: invalid pattern: {e}"));
                    continue;
                }
            }
        }
        // A typo would otherwise test nothing and pass.
        if files.len() == before {
            problems.push(format!(
                "{pattern}: matches no journey file (*.yaml, *.yml)"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn is_yaml(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
}

/// Adds the YAML files under `dir`, recursively; hidden entries (`.git`) are skipped.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, files)?;
        } else if is_yaml(&path) {
            files.push(path);
        }
    }
    Ok(())
}

/// Parses `key=value` for `--tag`.
pub fn parse_tag(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected KEY=VALUE (a journey label), got `{s}`"))
}

/// Journeys carrying every label in `tags` (all of them must match; a key given
/// twice accepts either value, like a label selector `key in (a, b)`).
pub fn by_tags(journeys: Vec<Journey>, tags: &[(String, String)]) -> Vec<Journey> {
    let mut wanted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in tags {
        wanted.entry(k).or_default().push(v);
    }
    journeys
        .into_iter()
        .filter(|j| {
            wanted.iter().all(|(k, values)| {
                j.labels
                    .get(*k)
                    .is_some_and(|have| values.contains(&have.as_str()))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_searched_recursively_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("team/a");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        for f in [
            "top.yaml",
            "team/a/deep.yml",
            "team/notes.txt",
            ".git/x.yaml",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let root = dir.path().to_string_lossy().to_string();
        let files = journey_files(std::slice::from_ref(&root)).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["team/a/deep.yml", "top.yaml"]);

        let glob = format!("{root}/*.yaml");
        assert_eq!(journey_files(&[glob]).unwrap().len(), 1);
        let err = journey_files(&[format!("{root}/nope*.yaml")]).unwrap_err();
        assert!(
            err[0].ends_with("matches no journey file (*.yaml, *.yml)"),
            "{err:?}"
        );
    }

    #[test]
    fn tags_parse_as_key_value() {
        assert_eq!(
            parse_tag("team=checkout").unwrap(),
            ("team".into(), "checkout".into())
        );
        assert!(parse_tag("team").is_err());
        assert!(parse_tag("=x").is_err());
    }
}
