//! Secret values for `{{ secret.NAME }}`.
//!
//! A secret comes from the environment variable `JOURNEYD_SECRET_<NAME>`
//! (upper-cased) or from a file named `NAME` in a secrets directory: the one
//! given explicitly, else systemd's `$CREDENTIALS_DIRECTORY` (so `LoadCredential=`
//! works). Values are loaded per run and every one is handed to the redactor.
//!
//! A file that exists but cannot be read (a directory, not UTF-8, no permission,
//! journeyd out of file descriptors) is a [`SecretError`], never "not set": the
//! operator must see which file failed and why.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// A secret file exists but could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The read itself failed (a directory, permission, EMFILE...).
    #[error("secret `{name}`: could not read {}: {source}", path.display())]
    Unreadable {
        /// The secret's name.
        name: String,
        /// The file tried.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("secret `{name}`: could not read {}: the file is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The secret's name.
        name: String,
        /// The file tried.
        path: PathBuf,
    },
}

impl SecretError {
    /// True when the read failed because journeyd itself is out of resources
    /// (EMFILE, ENFILE, ENOMEM): a fault of the prober, not of the journey's target
    /// nor of the secret's configuration.
    pub fn out_of_resources(&self) -> bool {
        match self {
            SecretError::Unreadable { source, .. } => is_out_of_resources(source),
            SecretError::NotUtf8 { .. } => false,
        }
    }
}

/// EMFILE (24), ENFILE (23) or ENOMEM (12), or the standard library's
/// `OutOfMemory` kind: the process or the system ran out of something.
pub fn is_out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(12 | 23 | 24)) || e.kind() == io::ErrorKind::OutOfMemory
}

/// The prefix of a run failure caused by journeyd's own exhaustion; the alert
/// engine routes such runs to the probe alert, not to the journey's team.
pub const OUT_OF_RESOURCES: &str = "journeyd is out of resources: ";

/// One sentence for a run whose secret files could not be read: every error,
/// prefixed with [`OUT_OF_RESOURCES`] when any is journeyd's own exhaustion.
pub fn describe(errors: &[SecretError]) -> String {
    let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let prefix = if errors.iter().any(SecretError::out_of_resources) {
        OUT_OF_RESOURCES
    } else {
        ""
    };
    format!("{prefix}{}", all.join("; "))
}

/// Secrets of one run: the values found, and the files that could not be read.
#[derive(Debug, Default)]
pub struct LoadedSecrets {
    /// Name to value, for every secret found and read.
    pub values: BTreeMap<String, String>,
    /// Every secret whose file exists but could not be read.
    pub errors: Vec<SecretError>,
}

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
    /// `Ok(None)` means not set anywhere (or set to the empty string); a file that
    /// exists but cannot be read is an error, not "not set".
    pub fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        let var = format!("JOURNEYD_SECRET_{}", name.to_ascii_uppercase());
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return Ok(Some(v));
        }
        // Secret names are validated identifiers, so joining cannot escape the directory.
        if !is_valid_name(name) {
            return Ok(None);
        }
        for d in &self.dirs {
            if let Some(v) = read_file(name, &d.join(name))? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Loads every secret in `names`. Missing ones stay absent and make the step
    /// that uses them fail with a `template` failure naming them; unreadable ones
    /// are listed in [`LoadedSecrets::errors`].
    pub fn load(&self, names: &[String]) -> LoadedSecrets {
        let mut out = LoadedSecrets::default();
        for n in names {
            match self.get(n) {
                Ok(Some(v)) => {
                    out.values.insert(n.clone(), v);
                }
                Ok(None) => {}
                Err(e) => out.errors.push(e),
            }
        }
        out
    }
}

/// Reads one secret file: `Ok(None)` when it does not exist or is empty.
fn read_file(name: &str, path: &Path) -> Result<Option<String>, SecretError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(SecretError::Unreadable {
                name: name.to_string(),
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let v = String::from_utf8(bytes).map_err(|_| SecretError::NotUtf8 {
        name: name.to_string(),
        path: path.to_path_buf(),
    })?;
    let v = v.strip_suffix('\n').unwrap_or(&v).trim_end_matches('\r');
    Ok((!v.is_empty()).then(|| v.to_string()))
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
        let s = source(dir.path());
        assert_eq!(
            s.get("test_card").unwrap().as_deref(),
            Some("4242424242424242")
        );
        assert_eq!(s.get("missing").unwrap(), None);
        assert_eq!(s.get("../etc/passwd").unwrap(), None);
    }

    fn source(dir: &Path) -> SecretSource {
        SecretSource {
            dirs: vec![dir.to_path_buf()],
        }
    }

    #[test]
    fn unreadable_secret_file_is_an_error_naming_the_path_not_unset() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sec_dir")).unwrap();
        std::fs::write(dir.path().join("sec_bin"), [0xff, 0xfe, 0x00]).unwrap();
        let s = source(dir.path());
        let cases = [
            ("sec_dir", "Is a directory"),
            ("sec_bin", "the file is not UTF-8 text"),
        ];
        for (name, reason) in cases {
            let err = s.get(name).unwrap_err();
            let path = dir.path().join(name);
            let want = format!("secret `{name}`: could not read {}: ", path.display());
            let msg = err.to_string();
            assert!(msg.starts_with(&want), "{name}: {msg}");
            assert!(msg.contains(reason), "{name}: {msg}");
            assert!(!err.out_of_resources(), "{name}");
        }
        let loaded = s.load(&["sec_dir".into(), "missing".into()]);
        assert!(loaded.values.is_empty());
        assert_eq!(loaded.errors.len(), 1, "missing is not set, not an error");
    }

    #[test]
    fn only_exhaustion_of_journeyd_itself_is_out_of_resources() {
        let cases = [
            (24, true),  // EMFILE
            (23, true),  // ENFILE
            (12, true),  // ENOMEM
            (13, false), // EACCES: the operator's configuration
            (21, false), // EISDIR
            (5, false),  // EIO
        ];
        for (errno, want) in cases {
            let e = SecretError::Unreadable {
                name: "k".into(),
                path: "/run/credentials/k".into(),
                source: io::Error::from_raw_os_error(errno),
            };
            assert_eq!(e.out_of_resources(), want, "errno {errno}");
        }
    }
}
