//! `journeyd once`: run one journey now and report the result.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use journeyd::journey::Journey;
use journeyd::journey::parse::{load_file, load_paths};
use journeyd::journey::template::Engine;
use journeyd::report;
use journeyd::runner::{RunEvent, Verdict, run_journey};

use super::check::print_diagnostics;
use super::options::RunArgs;
use super::{EXIT_FAIL, EXIT_OK, EXIT_USAGE, Format};

/// Arguments of `journeyd once`.
#[derive(Debug, Args)]
pub struct OnceArgs {
    /// Journey name (looked up in --journeys) or path to a journey file.
    pub journey: String,
    /// Directory holding the journeys.
    #[arg(long, default_value = "journeys")]
    pub journeys: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How the journey is run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Loads the journey, runs it, prints the report; returns the exit code.
pub async fn run(args: OnceArgs) -> u8 {
    let engine = Engine::new();
    let journey = match find_journey(&args.journey, &args.journeys, &engine) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let opts = match args.run.run_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let text = args.format == Format::Text;
    if text {
        println!("journey {} ({})", journey.name, journey.source.display());
    }
    let mut in_cleanup = false;
    let mut on_event = |e: RunEvent<'_>| {
        if let RunEvent::StepFinished { cleanup, outcome } = e
            && text
        {
            if cleanup && !in_cleanup {
                in_cleanup = true;
                println!("cleanup");
            }
            println!("{}", report::text::step_line(outcome));
            let _ = std::io::stdout().flush();
        }
    };
    let run = run_journey(&journey, &engine, &opts, &mut on_event).await;
    match args.format {
        Format::Text => println!("\n{}", report::text::summary(&run)),
        Format::Json => println!("{}", report::json(&run)),
        Format::Junit => println!("{}", report::junit::junit(std::slice::from_ref(&run))),
    }
    if run.verdict == Verdict::Pass {
        EXIT_OK
    } else {
        EXIT_FAIL
    }
}

/// A path to a file, or a journey name in `dir`.
fn find_journey(wanted: &str, dir: &Path, engine: &Engine) -> Result<Journey, u8> {
    let as_path = Path::new(wanted);
    if as_path.is_file() {
        return load_file(as_path, engine).map_err(|d| {
            print_diagnostics(&d);
            EXIT_USAGE
        });
    }
    if !dir.is_dir() {
        eprintln!(
            "error: `{wanted}` is not a file and the journeys directory {} does not exist (use --journeys DIR)",
            dir.display()
        );
        return Err(EXIT_USAGE);
    }
    let loaded = load_paths(&[dir.to_path_buf()], engine);
    if let Some(j) = loaded.journeys.into_iter().find(|j| j.name == wanted) {
        return Ok(j);
    }
    if !loaded.diagnostics.is_empty() {
        print_diagnostics(&loaded.diagnostics);
        eprintln!(
            "error: no valid journey named `{wanted}` in {}; the files above have problems",
            dir.display()
        );
    } else {
        eprintln!("error: no journey named `{wanted}` in {}", dir.display());
    }
    Err(EXIT_USAGE)
}
