//! Retry of a single request after a transient fault, before the step is judged: a
//! blip (a refused or reset connection, a 502/503/504 from a proxy, a 429) is not a
//! customer outage, and paging for it teaches on-call to mute the monitor.
//!
//! What is retried: transport faults that happened before any response (connect,
//! connection reset, a timeout before the headers), and statuses in the policy that
//! the step's own `status` expectation does not accept. Never an answered request
//! whose expectations fail: that is an answer, not a blip. Only safe methods (GET,
//! HEAD, OPTIONS) or a request with an `Idempotency-Key` are retried, unless the
//! journey declared `retry:` (then the author vouches for idempotency).

use std::time::Duration;

use super::expect::eval_status;
use super::http::{Exchange, PreparedRequest};
use super::result::FailureClass;
use crate::journey::model::{Expectation, Retry, Step};

/// The shortest budget worth another request: less would only report its own timeout.
const MIN_BUDGET: Duration = Duration::from_millis(250);
/// A `Retry-After` longer than this is not a blip: the step is judged at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Why and after which pause to send the request again, or `None` to judge it now.
pub(super) fn decide(
    step: &Step,
    req: &PreparedRequest,
    ex: &Exchange,
    retried: u32,
    budget_left: Duration,
) -> Option<(FailureClass, Duration)> {
    let policy = step.retry();
    if retried >= policy.max || !method_allows(policy, req) {
        return None;
    }
    let (reason, retry_after) = match &ex.outcome {
        Err(te) => match te.class {
            FailureClass::Connect | FailureClass::ConnectionReset => (te.class, None),
            FailureClass::Timeout if te.partial.is_none() => (te.class, None),
            _ => return None,
        },
        Ok(resp) => {
            if !policy.statuses.contains(&resp.status) || expects_status(step, resp.status) {
                return None;
            }
            let after = resp
                .headers
                .iter()
                .find(|(k, _)| k == "retry-after")
                .and_then(|(_, v)| retry_after(v));
            (FailureClass::HttpStatus, after)
        }
    };
    let backoff = policy.delay.saturating_mul(2u32.saturating_pow(retried));
    let pause = match retry_after {
        Some(after) if after > MAX_RETRY_AFTER => return None,
        Some(after) => after.max(backoff),
        None => backoff,
    };
    (budget_left >= pause.saturating_add(MIN_BUDGET)).then_some((reason, pause))
}

fn method_allows(policy: &Retry, req: &PreparedRequest) -> bool {
    policy.declared
        || matches!(req.method.as_str(), "GET" | "HEAD" | "OPTIONS")
        || req
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
}

/// The step's own `status` expectation accepts `status` (it asked for the 503): the
/// same check the step is judged by.
fn expects_status(step: &Step, status: u16) -> bool {
    step.expect.iter().any(|e| match e {
        Expectation::Status(accepted) => eval_status(accepted, status).is_none(),
        _ => false,
    })
}

/// `Retry-After` in seconds (an HTTP date is also allowed by RFC 9110; it is read
/// relative to now).
fn retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let left = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }
}
