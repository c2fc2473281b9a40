//! `journeyd import hurl FILE... [-o DIR]`: converts Hurl files into journeys,
//! to standard output (`---` between files) or one `NAME.yaml` per input in
//! DIR. What is not converted is reported on stderr as `file:line:col` and
//! left as a comment in the output. Exit 0 when everything was converted, 1
//! when something was left as a comment, 2 when a file cannot be read or
//! written.

use std::path::PathBuf;

use clap::Subcommand;

use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE};

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Convert Hurl files into journeys. Exit 0 all converted, 1 parts left as comments, 2 unreadable.
    Hurl {
        /// The Hurl files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write one journey per input (NAME.yaml) into this directory instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Runs the import and returns the exit code.
pub fn run(cmd: ImportCommand) -> u8 {
    let ImportCommand::Hurl { files, output } = cmd;
    if let Some(dir) = &output
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return EXIT_USAGE;
    }
    let mut incomplete = false;
    for (i, file) in files.iter().enumerate() {
        let source = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return EXIT_USAGE;
            }
        };
        let imported = journeyd::import::hurl::import(file, &source);
        for u in &imported.unconverted {
            eprintln!("{u}");
        }
        incomplete |= !imported.unconverted.is_empty();
        match &output {
            Some(dir) => {
                let stem = file.file_stem().unwrap_or_default().to_string_lossy();
                let target = dir.join(format!("{stem}.yaml"));
                if let Err(e) = std::fs::write(&target, &imported.yaml) {
                    eprintln!("error: cannot write {}: {e}", target.display());
                    return EXIT_USAGE;
                }
                eprintln!("wrote {}", target.display());
            }
            None => {
                if i > 0 {
                    println!("---");
                }
                print!("{}", imported.yaml);
            }
        }
    }
    if incomplete { EXIT_FAIL } else { EXIT_OK }
}
