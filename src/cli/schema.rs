//! `journeyd schema journey|config`: prints the JSON Schema generated from the
//! parser's raw types. Hidden: its output is committed under `schema/` (a
//! test fails when it drifts), and editors read those files.

use clap::ValueEnum;

use super::EXIT_OK;

/// Which JSON Schema to print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// A journey file (`journeys/*.yaml`).
    Journey,
    /// The daemon configuration (`journeyd.yaml`).
    Config,
}

/// Prints the schema, pretty, with a final newline.
pub fn run(what: SchemaKind) -> u8 {
    println!("{}", render(what));
    EXIT_OK
}

/// The schema as committed under `schema/`.
pub fn render(what: SchemaKind) -> String {
    let schema = match what {
        SchemaKind::Journey => journeyd::journey::parse::journey_schema(),
        SchemaKind::Config => journeyd::config::config_schema(),
    };
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
