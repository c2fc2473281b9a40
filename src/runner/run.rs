//! Orchestration. OWNER: main — stub.

/// Options.
#[derive(Debug, Default)]
pub struct RunOptions {}
/// Event.
#[derive(Debug)]
pub struct RunEvent {}
/// Run.
pub async fn run_journey() {}
