//! Importers: files of other tools converted into journey YAML.
//!
//! Each importer reads its format, writes a journey that passes `journeyd
//! check` as it is, and reports whatever it could not convert at its
//! `file:line:col` while leaving it in the output as a YAML comment: nothing is
//! dropped silently, so an author sees what to finish by hand.

pub mod hurl;

use std::path::PathBuf;

/// Something of the source that the journey does not carry over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconverted {
    /// The source file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Why it was not converted.
    pub message: String,
}

impl std::fmt::Display for Unconverted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )
    }
}

/// A converted file: the journey text and what was left as comments.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The journey, as YAML.
    pub yaml: String,
    /// What was not converted, in source order.
    pub unconverted: Vec<Unconverted>,
}
