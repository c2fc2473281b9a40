//! The `journeyd` binary: parses the command line, sets up logging, runs a
//! subcommand and maps its outcome to an exit code.

mod cli;

use std::process::ExitCode;

/// jemalloc, with the options in `.cargo/config.toml`, instead of glibc's malloc: the
/// runs thread's arena kept the holes that finished runs left between long-lived
/// allocations (10.3 KiB of RSS per configured journey with glibc, 8.3 with jemalloc
/// returning freed pages after 1 s), at the same CPU per run (docs/benchmarks.md,
/// eleventh pass). SQLite, a C library, still allocates with glibc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
