//! `journeyd run`: the daemon.

use std::path::Path;

use journeyd::daemon::{self, StartError};
use tokio_util::sync::CancellationToken;

use super::check::print_diagnostics;
use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE};

/// Runs until SIGTERM/SIGINT; configuration errors exit 2 before anything starts.
pub async fn run(config: &Path) -> u8 {
    match daemon::run(config, CancellationToken::new()).await {
        Ok(()) => EXIT_OK,
        Err(StartError::Config(diags)) => {
            print_diagnostics(&diags);
            eprintln!("error: {} problem(s); journeyd did not start", diags.len());
            EXIT_USAGE
        }
        Err(StartError::Other(e)) => {
            eprintln!("error: {e:#}");
            EXIT_FAIL
        }
    }
}
