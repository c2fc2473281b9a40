//! Command-line interface: argument types, logging setup and dispatch.

mod check;
mod completions;
mod config_manpage;
mod demo;
mod demo_target;
mod logfmt;
pub mod manpages;
mod once;
mod options;
mod run;
mod test;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

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
    /// Log format (default: the configuration's `log_format`, else plain).
    #[arg(long, global = true, value_enum, env = "JOURNEYD_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
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
        /// Journey files or directories (default: journeys/, or the configuration's).
        paths: Vec<PathBuf>,
        /// Also validate this daemon configuration and the journeys it names.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format: text (file:line:col with the source line, on stderr) or json
        /// (an array of {file, line, column, severity, message, hint} on stdout).
        #[arg(long, value_enum, default_value_t = check::CheckFormat::Text)]
        format: check::CheckFormat,
    },
    /// Run the daemon: schedule every journey, serve /metrics, the API and the status page.
    Run {
        /// The configuration file.
        #[arg(
            long,
            short,
            default_value = "/etc/journeyd/journeyd.yaml",
            env = "JOURNEYD_CONFIG"
        )]
        config: PathBuf,
    },
    /// Start the demo company and journeyd watching it with the shipped journeys.
    Demo,
    /// Run one journey now and report. Exit 0 pass, 1 journey failed, 2 configuration error.
    Once(once::OnceArgs),
    /// Run a suite of journeys in parallel and report (text, JSON, JUnit, HTML). Exit 0 all passed, 1 some failed, 2 configuration error.
    Test(test::TestArgs),
    /// Serve the demo company (the back-end the shipped journeys test) until Ctrl-C.
    DemoTarget {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Print the shell completion script for SHELL to stdout.
    ///
    /// The Debian package installs the bash, zsh and fish scripts. Elsewhere, for example:
    /// journeyd completions bash > ~/.local/share/bash-completion/completions/journeyd
    Completions {
        /// The shell: bash, zsh, fish (also elvish, powershell).
        shell: clap_complete::Shell,
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

/// Name of the hidden subcommand that writes the manual pages.
const MANPAGES: &str = "manpages";

/// What the command line asks for.
pub enum Invocation {
    /// A subcommand of [`Cli`].
    Cli(Cli),
    /// `journeyd manpages DIR`: write the manual pages into DIR.
    Manpages(PathBuf),
}

/// Parses the command line (exits with clap's message on a usage error).
///
/// `manpages` is added here rather than to [`Command`], so that the
/// completions and the pages, generated from [`Cli`], never offer it: it is a
/// build step of the Debian package (scripts/package-deb.sh), not a user command.
pub fn parse() -> Invocation {
    let manpages = clap::Command::new(MANPAGES)
        .hide(true)
        .about("Write the manual pages into DIR")
        .arg(
            clap::Arg::new("dir")
                .value_name("DIR")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf)),
        );
    let matches = Cli::command().subcommand(manpages).get_matches();
    if let Some((MANPAGES, sub)) = matches.subcommand()
        && let Some(dir) = sub.get_one::<PathBuf>("dir")
    {
        return Invocation::Manpages(dir.clone());
    }
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => Invocation::Cli(cli),
        Err(e) => e.format(&mut Cli::command()).exit(),
    }
}

/// Logs go to stderr; the level comes from `RUST_LOG` (default `warn` for
/// one-shot commands, so their stdout stays clean).
pub fn init_tracing(cli: &Cli) {
    let default = match cli.command {
        Command::DemoTarget { .. } | Command::Run { .. } | Command::Demo => "info",
        _ => "warn",
    };
    // The daemon's configuration may choose the format; a flag or env var wins.
    let configured = match &cli.command {
        Command::Run { config } => {
            journeyd::config::load(config)
                .ok()
                .map(|c| match c.log_format {
                    journeyd::config::LogFormat::Plain => LogFormat::Plain,
                    journeyd::config::LogFormat::Json => LogFormat::Json,
                })
        }
        _ => None,
    };
    let format = cli.log_format.or(configured).unwrap_or(LogFormat::Plain);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Plain => builder.fmt_fields(logfmt::plain_fields()).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the subcommand and returns the exit code.
pub async fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Check {
            paths,
            config,
            format,
        } => check::run(paths, config, format),
        Command::Run { config } => run::run(&config).await,
        Command::Demo => demo::run().await,
        Command::Once(args) => once::run(args).await,
        Command::Test(args) => test::run(args).await,
        Command::DemoTarget { listen } => demo_target::run(listen).await,
        Command::Completions { shell } => completions::run(shell),
    }
}
