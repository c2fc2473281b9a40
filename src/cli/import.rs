//! `journeyd import`: converts files of other tools into journeys.

use clap::Subcommand;

/// What to import.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {}

/// Runs the import and returns the exit code.
pub fn run(cmd: ImportCommand) -> u8 {
    match cmd {}
}
