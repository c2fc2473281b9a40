//! Command-line interface: argument types, logging setup and dispatch.

mod check;
mod demo_target;
mod once;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Exit code: success / journey passed / files valid.
pub const EXIT_OK: u8 = 0;
/// Exit code: journey failed / files invalid.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// journeyd: replays customer journeys and proves the back-end processes behind them finish.
#[derive(Debug, Parser)]
#[command(name = "journeyd", version, about, long_about = None)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Plain, env = "JOURNEYD_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate journey files: reports every problem as file:line:col. Exit 0 valid, 1 invalid, 2 usage error.
    Check {
        /// Journey files or directories (default: journeys/).
        paths: Vec<PathBuf>,
    },
    /// Run one journey now and report. Exit 0 pass, 1 journey failed, 2 configuration error.
    Once(once::OnceArgs),
    /// Serve the demo company (the back-end the shipped journeys test) until Ctrl-C.
    DemoTarget {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
}

/// Output format of `once`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Live progress and a readable summary.
    Text,
    /// The full JourneyRun as JSON.
    Json,
    /// JUnit XML.
    Junit,
}

/// Logs go to stderr; the level comes from `RUST_LOG` (default `warn` for
/// one-shot commands, so their stdout stays clean).
pub fn init_tracing(cli: &Cli) {
    let default = match cli.command {
        Command::DemoTarget { .. } => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the subcommand and returns the exit code.
pub async fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Check { paths } => check::run(paths),
        Command::Once(args) => once::run(args).await,
        Command::DemoTarget { listen } => demo_target::run(listen).await,
    }
}
