//! Waiting on a condition with a deadline, never on a fixed sleep.

use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is checked again.
pub const POLL: Duration = Duration::from_millis(100);

/// Checks `check` every [`POLL`] until it returns `Ok`, for at most `within`.
///
/// `check` returns `Err(state)` while the condition does not hold yet; `state`
/// describes what it saw, so a timeout says what was observed last instead of
/// just "timed out".
pub async fn wait_until<T>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + within;
    loop {
        let last = match check().await {
            Ok(v) => return Ok(v),
            Err(state) => state,
        };
        if Instant::now() >= deadline {
            return Err(format!(
                "condition not met within {within:?}; last observed: {last}"
            ));
        }
        tokio::time::sleep_until((Instant::now() + POLL).min(deadline)).await;
    }
}
