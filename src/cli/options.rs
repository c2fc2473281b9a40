//! Options shared by the commands that run journeys (`once`, `test`): variables,
//! an env file, secrets and DNS, turned into the runner's [`RunOptions`] in one place
//! so both commands run a journey exactly the same way.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use journeyd::journey::secrets::SecretSource;
use journeyd::runner::RunOptions;

/// How journeys are run: flattened into `once` and `test`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Set a journey variable, overriding its definition (repeatable): --var base=http://127.0.0.1:8080
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read `env.NAME` values from this file of NAME=VALUE lines (they override the environment).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Directory with one file per secret (default: $CREDENTIALS_DIRECTORY under systemd).
    #[arg(long, env = "JOURNEYD_SECRETS_DIR")]
    pub secrets_dir: Option<PathBuf>,
    /// DNS server to use instead of the system resolver (repeatable), e.g. 127.0.0.1:53.
    #[arg(long = "dns-server", value_name = "ADDR")]
    pub dns_servers: Vec<SocketAddr>,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

impl RunArgs {
    /// The runner's options; `Err` is a message naming `file:line` of a bad env file.
    pub fn run_options(&self) -> Result<RunOptions, String> {
        let mut opts = RunOptions::from_process(SecretSource::from_env(self.secrets_dir.clone()));
        opts.overrides = self.vars.iter().cloned().collect::<BTreeMap<_, _>>();
        opts.dns_servers = self.dns_servers.clone();
        if let Some(file) = &self.env_file {
            opts.env.extend(load_env_file(file)?);
        }
        Ok(opts)
    }
}

/// Reads an env file.
fn load_env_file(file: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read the env file: {e}", file.display()))?;
    parse_env(&text).map_err(|(line, msg)| format!("{}:{line}:1: {msg}", file.display()))
}

/// Parses the common `.env` subset: `NAME=VALUE` lines, an optional `export `,
/// `#` comments, blank lines, and values optionally in single or double quotes
/// (no escapes, no interpolation: a value is taken as written, so a `$` in a
/// password stays a `$`). `Err` is (1-based line, message).
pub fn parse_env(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut vars = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((name, value)) = line.split_once('=') else {
            return Err((i + 1, "expected NAME=VALUE".to_string()));
        };
        let name = name.trim();
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err((
                i + 1,
                format!("`{name}` is not a variable name (letters, digits and `_`)"),
            ));
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
            .unwrap_or(value);
        vars.insert(name.to_string(), unquoted.to_string());
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lines_comments_export_and_quotes() {
        let text = "# shop\nSHOP_URL=http://127.0.0.1:9000\n\nexport A = 'x y'\nB=\"$HOME\"\nC=\n";
        let vars = parse_env(text).unwrap();
        assert_eq!(vars["SHOP_URL"], "http://127.0.0.1:9000");
        assert_eq!(vars["A"], "x y");
        assert_eq!(vars["B"], "$HOME");
        assert_eq!(vars["C"], "");
        assert_eq!(vars.len(), 4);
    }

    #[test]
    fn env_file_errors_name_the_line() {
        assert_eq!(
            parse_env("A=1\nnot a pair\n").unwrap_err(),
            (2, "expected NAME=VALUE".to_string())
        );
        assert_eq!(parse_env("1A=x").unwrap_err().0, 1);
        assert_eq!(parse_env("A B=x").unwrap_err().0, 1);
    }

    #[test]
    fn var_needs_a_name() {
        assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_var("=x").is_err());
        assert!(parse_var("x").is_err());
    }
}
