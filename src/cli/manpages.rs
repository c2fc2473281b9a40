//! `journeyd manpages DIR` (hidden): writes the manual pages, generated from
//! the clap definitions and the example configuration so they never drift:
//! `journeyd.1`, one `journeyd-SUBCOMMAND.1` per visible subcommand, and
//! `journeyd.yaml.5` (see [`super::config_manpage`]).
//!
//! scripts/package-deb.sh runs it with the binary it packages; the test
//! `manpages::` in tests/it checks every subcommand gets its page.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_mangen::Man;
use roff::{Roff, bold, roman};

use super::{Cli, EXIT_FAIL, EXIT_OK, EXIT_USAGE, config_manpage};

/// Writes every page into `dir` (created if missing) and prints their paths.
pub fn run(dir: &Path) -> u8 {
    match write_all(dir) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the manual pages to {}: {e}",
                dir.display()
            );
            EXIT_USAGE
        }
    }
}

fn write_all(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, text) in pages()? {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// Every page as (file name, roff source).
pub fn pages() -> std::io::Result<Vec<(String, String)>> {
    // No `help` subcommand in the pages: it would be listed as journeyd-help(1),
    // a page nobody needs. The binary itself keeps `journeyd help`.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![("journeyd.1".to_owned(), render(&cmd, &root_sections(&cmd))?)];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = Man::new(sub.clone()).get_filename();
        pages.push((name, render(sub, &subcommand_sections())?));
    }
    pages.push(("journeyd.yaml.5".to_owned(), config_manpage::render()));
    Ok(pages)
}

/// clap_mangen's page for `cmd`, followed by `extra` sections.
fn render(cmd: &clap::Command, extra: &Roff) -> std::io::Result<String> {
    let mut out = Vec::new();
    Man::new(cmd.clone())
        .source(format!("journeyd {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)?;
    let mut text = String::from_utf8_lossy(&out).into_owned();
    text.push_str(&extra.to_roff());
    Ok(text)
}

/// Exit status, environment, files and cross-references of journeyd(1).
fn root_sections(cmd: &clap::Command) -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        (EXIT_OK, "Success: the journey passed, the files are valid."),
        (EXIT_FAIL, "The journey failed, or the files are invalid."),
        (EXIT_USAGE, "Usage or configuration error."),
    ] {
        r.control("TP", [])
            .text([bold(code.to_string())])
            .text([roman(meaning)]);
    }
    r.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in [
        (
            "RUST_LOG",
            "Log level and filter (default info for run, warn otherwise).",
        ),
        (
            "JOURNEYD_SECRET_NAME",
            "The secret NAME (upper case), looked up before the secrets directory and the systemd credentials.",
        ),
        (
            "CREDENTIALS_DIRECTORY",
            "Set by systemd (LoadCredential= in the unit): the directory of the secrets handed to the service.",
        ),
        (
            "STATE_DIRECTORY",
            "Set by systemd (StateDirectory= in the unit): where the run history is kept when the configuration sets no state_dir.",
        ),
    ] {
        r.control("TP", [])
            .text([bold(name)])
            .text([roman(meaning)]);
    }
    r.control("SH", ["FILES"]);
    for (path, meaning) in [
        (
            "/etc/journeyd/journeyd.yaml",
            "The daemon configuration, see journeyd.yaml(5).",
        ),
        (
            "/etc/journeyd/journeys/",
            "The journeys the default configuration runs.",
        ),
        (
            "/etc/journeyd/secrets/",
            "Secret files (root only), handed to the service by LoadCredential= lines of the unit.",
        ),
        (
            "/var/lib/journeyd/",
            "The run history (SQLite), made by systemd.",
        ),
        (
            "/usr/share/doc/journeyd/",
            "Installation, configuration, journey, alerting and API documentation, and example Prometheus, Alertmanager and Grafana files.",
        ),
    ] {
        r.control("TP", [])
            .text([bold(path)])
            .text([roman(meaning)]);
    }
    r.control("SH", ["SEE ALSO"]);
    let mut refs: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("journeyd-{}(1)", s.get_name()))
        .collect();
    refs.extend(["journeyd.yaml(5)", "systemctl(1)", "journalctl(1)"].map(String::from));
    r.text([roman(refs.join(", "))]);
    r
}

/// Cross-references of each journeyd-SUBCOMMAND(1).
fn subcommand_sections() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SEE ALSO"]);
    r.text([roman("journeyd(1), journeyd.yaml(5)")]);
    r
}
