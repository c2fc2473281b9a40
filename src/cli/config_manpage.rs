//! journeyd.yaml(5), generated from the commented example configuration
//! (deploy/journeyd.yaml, the file the Debian package installs as
//! /etc/journeyd/journeyd.yaml): one entry per top-level key, with the comment
//! above the key as its description and the key's lines as its example.
//!
//! Built from that file rather than written by hand, the page cannot drift
//! from it; scripts/check-deploy.sh keeps the file naming every key of the
//! configuration types, and the test `manpages::` checks the page against the
//! keys the binary itself accepts.

use roff::{Roff, bold, italic, roman};

/// The example configuration the page is made from.
const EXAMPLE: &str = include_str!("../../deploy/journeyd.yaml");

/// One top-level key of the example: its comment and its (maybe commented-out) lines.
#[derive(Debug, PartialEq, Eq)]
struct KeySection {
    key: String,
    doc: Vec<String>,
    example: Vec<String>,
}

/// The roff source of journeyd.yaml(5).
pub fn render() -> String {
    let mut r = Roff::new();
    let source = format!("journeyd {}", env!("CARGO_PKG_VERSION"));
    r.control("TH", ["JOURNEYD.YAML", "5", "", &source, "File Formats"]);
    r.control("SH", ["NAME"]);
    r.text([roman(
        "journeyd.yaml - configuration of the journeyd daemon",
    )]);
    r.control("SH", ["SYNOPSIS"]);
    r.text([bold("/etc/journeyd/journeyd.yaml")]);
    description(&mut r);
    r.control("SH", ["KEYS"]);
    r.text([roman(
        "Each key as the installed file shows it, with its default. A key shown commented out is \
         unset by default.",
    )]);
    for section in key_sections(EXAMPLE) {
        r.control("TP", []).text([bold(section.key.as_str())]);
        r.text([roman(docs_paths(&section.doc.join(" ")))]);
        r.control("IP", []).control("nf", []);
        for line in &section.example {
            r.text([roman(line.as_str())]);
        }
        r.control("fi", []);
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman(
        "journeyd(1), journeyd-run(1), journeyd-check(1), systemd.exec(5), \
         /usr/share/doc/journeyd/configuration.md, /usr/share/doc/journeyd/alerting.md",
    )]);
    r.render()
}

fn description(r: &mut Roff) {
    r.control("SH", ["DESCRIPTION"]);
    r.text([
        roman("The configuration of "),
        bold("journeyd run"),
        roman(
            ", a YAML file: where the journeys are, where the run history is kept, where the \
             daemon listens, how it alerts. Every key is optional. Unknown keys are errors, with \
             the closest valid key suggested. Relative paths are relative to the directory of \
             the file. Durations are a number and a unit: 800ms, 30s, 5m, 2h, 30d.",
        ),
    ]);
    r.control("PP", []);
    r.text([roman(
        "Validate the file, every journey it names and every secret it names before (re)loading. \
         As root, with the secrets the unit hands to the service as credentials:",
    )]);
    r.control("IP", []).control("nf", []);
    r.text([roman(
        "CREDENTIALS_DIRECTORY=/etc/journeyd/secrets journeyd check --config /etc/journeyd/journeyd.yaml",
    )]);
    r.control("fi", []).control("PP", []);
    r.text([
        roman("Then "),
        bold("systemctl reload journeyd"),
        roman(
            ": journeys, defaults and secrets take effect on reload; keys whose description says \
             so need ",
        ),
        bold("systemctl restart journeyd"),
        roman(". Secrets are never written in this file: it names them ("),
        italic("admin_token_secret"),
        roman(
            ", a receiver's *_secret), and journeyd reads them from JOURNEYD_SECRET_NAME, the \
             secrets_dir, or the systemd credentials (LoadCredential= lines in the unit, best \
             added with systemctl edit journeyd).",
        ),
    ]);
}

/// Repository paths in the comments, as the package installs them.
fn docs_paths(text: &str) -> String {
    text.replace(
        "deploy/prometheus/",
        "/usr/share/doc/journeyd/examples/prometheus/",
    )
    .replace("docs/", "/usr/share/doc/journeyd/")
}

/// A top-level key line: `key:` or, commented out, `# key:`.
fn key_of(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ").unwrap_or(line);
    let (key, _) = rest.split_once(':')?;
    let is_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    is_key.then_some(key)
}

/// Splits the example into blank-line separated blocks and keeps those that
/// hold a key: the comment above the key is its doc, the rest its example.
/// The file's opening comment (no key) is skipped.
fn key_sections(example: &str) -> Vec<KeySection> {
    let mut sections = Vec::new();
    for block in example.split("\n\n") {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(at) = lines.iter().position(|l| key_of(l).is_some()) else {
            continue;
        };
        let Some(key) = key_of(lines[at]) else {
            continue;
        };
        let doc = lines[..at]
            .iter()
            .map(|l| l.trim_start_matches('#').trim().to_owned())
            .collect();
        let example = lines[at..].iter().map(|l| (*l).to_owned()).collect();
        sections.push(KeySection {
            key: key.to_owned(),
            doc,
            example,
        });
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_becomes_key_doc_and_example() {
        let text = "# Header without a key.\n\n# Where to listen.\n# Loopback only.\nlisten: 127.0.0.1:9750\n\n\
                    # Unset by default.\n# state_dir: /var/lib/journeyd\n";
        let sections = key_sections(text);
        assert_eq!(
            sections,
            vec![
                KeySection {
                    key: "listen".into(),
                    doc: vec!["Where to listen.".into(), "Loopback only.".into()],
                    example: vec!["listen: 127.0.0.1:9750".into()],
                },
                KeySection {
                    key: "state_dir".into(),
                    doc: vec!["Unset by default.".into()],
                    example: vec!["# state_dir: /var/lib/journeyd".into()],
                },
            ]
        );
    }

    #[test]
    fn nested_keys_stay_in_their_parent_example() {
        let text = "# Defaults.\ndefaults:\n  # How often.\n  interval: 60s\n";
        let sections = key_sections(text);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].key, "defaults");
        assert_eq!(
            sections[0].example,
            ["defaults:", "  # How often.", "  interval: 60s"]
        );
    }

    #[test]
    fn prose_with_a_colon_is_not_a_key() {
        assert_eq!(key_of("# Reference: docs/configuration.md."), None);
        assert_eq!(key_of("#   external_url: http://x"), None);
        assert_eq!(key_of("# dns_servers: [1.1.1.1]"), Some("dns_servers"));
    }

    #[test]
    fn the_shipped_example_documents_its_keys() {
        let keys: Vec<String> = key_sections(EXAMPLE).into_iter().map(|s| s.key).collect();
        for key in [
            "listen",
            "journeys",
            "state_dir",
            "defaults",
            "history",
            "alerting",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
    }
}
