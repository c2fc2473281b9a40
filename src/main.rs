//! The `journeyd` binary: parses the command line, sets up logging, runs a
//! subcommand and maps its outcome to an exit code.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::parse() {
        cli::Invocation::Cli(args) => args,
        cli::Invocation::Manpages(dir) => return ExitCode::from(cli::manpages::run(&dir)),
    };
    cli::init_tracing(&args);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_USAGE);
        }
    };
    let code = runtime.block_on(cli::dispatch(args));
    ExitCode::from(code)
}
