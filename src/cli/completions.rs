//! `journeyd completions SHELL`: the shell completion script, generated from
//! the clap definitions so it never lists a subcommand or flag that is gone.
//!
//! The Debian package installs the bash, zsh and fish scripts this prints
//! (scripts/package-deb.sh); anyone else can write them where their shell looks.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, EXIT_OK, EXIT_USAGE};

/// Prints the completion script for `shell` to stdout.
pub fn run(shell: Shell) -> u8 {
    let mut script = Vec::new();
    render(shell, &mut script);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the completion script: {e}");
            EXIT_USAGE
        }
    }
}

/// Writes the completion script for `shell` into `out`.
pub fn render(shell: Shell, out: &mut Vec<u8>) {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "journeyd", out);
}
