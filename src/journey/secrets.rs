//! Secret values for `{{ secret.NAME }}`.
//!
//! A secret comes from the environment variable `JOURNEYD_SECRET_<NAME>`
//! (upper-cased) or from a file named `NAME` in a secrets directory: the one
//! given explicitly, else systemd's `$CREDENTIALS_DIRECTORY` (so `LoadCredential=`
//! works). Values are loaded per run and every one is handed to the redactor.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where secrets are looked up.
#[derive(Debug, Clone, Default)]
pub struct SecretSource {
    /// Directories searched for a file named after the secret, in order.
    pub dirs: Vec<PathBuf>,
}

impl SecretSource {
    /// The explicit directory (if any) followed by `$CREDENTIALS_DIRECTORY` (if set).
    pub fn from_env(explicit: Option<PathBuf>) -> Self {
        let mut dirs: Vec<PathBuf> = explicit.into_iter().collect();
        if let Some(creds) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            dirs.push(PathBuf::from(creds));
        }
        Self { dirs }
    }

    /// Looks one secret up. A trailing newline in a file is dropped (editors add one).
    pub fn get(&self, name: &str) -> Option<String> {
        let var = format!("JOURNEYD_SECRET_{}", name.to_ascii_uppercase());
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return Some(v);
        }
        // Secret names are validated identifiers, so joining cannot escape the directory.
        if !is_valid_name(name) {
            return None;
        }
        self.dirs.iter().find_map(|d| {
            std::fs::read_to_string(d.join(name))
                .ok()
                .map(|v| {
                    v.strip_suffix('\n')
                        .unwrap_or(&v)
                        .trim_end_matches('\r')
                        .to_string()
                })
                .filter(|v| !v.is_empty())
        })
    }

    /// Loads every secret in `names` that can be found; missing ones stay absent
    /// and make the step that uses them fail with a `template` failure naming them.
    pub fn load(&self, names: &[String]) -> BTreeMap<String, String> {
        names
            .iter()
            .filter_map(|n| self.get(n).map(|v| (n.clone(), v)))
            .collect()
    }
}

/// A secret name is letters, digits and `_`: it becomes part of an environment variable
/// name (`JOURNEYD_SECRET_<NAME>`) and a file name, which it therefore cannot escape.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secret_is_read_without_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test_card"), "4242424242424242\n").unwrap();
        let s = SecretSource {
            dirs: vec![dir.path().to_path_buf()],
        };
        assert_eq!(s.get("test_card").as_deref(), Some("4242424242424242"));
        assert_eq!(s.get("missing"), None);
        assert_eq!(s.get("../etc/passwd"), None);
    }
}
