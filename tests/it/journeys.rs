//! The shipped journeys against the demo company: all pass when it is
//! healthy, and every fault of every process makes the journey fail at the
//! right step with the right class.

use journeyd::runner::{FailureClass, JourneyRun, StepVerdict, Verdict};

use crate::util::demo::{Demo, run_against, shipped_journey};

fn describe(run: &JourneyRun) -> String {
    let steps: Vec<String> = run
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} {:?} {}",
                s.name,
                s.verdict,
                s.failure
                    .as_ref()
                    .map(|f| format!("{}: {}", f.class, f.message))
                    .unwrap_or_default()
            )
        })
        .collect();
    steps.join("\n")
}

#[tokio::test]
async fn every_shipped_journey_passes_against_a_healthy_demo() {
    let demo = Demo::start().await;
    for name in ["purchase", "contract", "app-request"] {
        let journey = shipped_journey(name);
        let run = run_against(&journey, &demo).await;
        assert_eq!(run.verdict, Verdict::Pass, "{name}:\n{}", describe(&run));
        assert!(run.steps.iter().all(|s| s.verdict == StepVerdict::Pass));
        assert!(
            run.cleanup.iter().all(|s| s.verdict == StepVerdict::Pass),
            "{name} cleanup"
        );
        // `backend:` may name the process of any step (a log-in's `auth`); the
        // `eventually` steps are the ones that prove a process finished.
        let polled: Vec<_> = (journey.steps.iter().zip(&run.steps))
            .filter(|(step, _)| step.backend.is_some() && step.eventually().is_some())
            .collect();
        assert!(!polled.is_empty(), "{name} proves a back-end process");
        for (_, s) in polled {
            assert!(s.backend_completion_seconds.is_some(), "{name}/{}", s.name);
        }
    }
}

/// (journey, process, mode, failing step, class)
const FAULTS: &[(&str, &str, &str, &str, FailureClass)] = {
    use FailureClass::*;
    &[
        ("purchase", "catalog", "stuck", "list products", Timeout),
        ("purchase", "catalog", "error", "list products", HttpStatus),
        ("purchase", "catalog", "slow", "list products", Timeout),
        (
            "purchase",
            "catalog",
            "wrong_data",
            "list products",
            Assertion,
        ),
        (
            "purchase",
            "catalog",
            "down",
            "list products",
            ConnectionReset,
        ),
        ("purchase", "orders", "stuck", "checkout", Timeout),
        ("purchase", "orders", "error", "checkout", HttpStatus),
        ("purchase", "orders", "slow", "checkout", Timeout),
        ("purchase", "orders", "wrong_data", "checkout", Capture),
        ("purchase", "orders", "down", "checkout", ConnectionReset),
        (
            "purchase",
            "payment",
            "stuck",
            "payment captured",
            BackendTimeout,
        ),
        (
            "purchase",
            "payment",
            "error",
            "payment captured",
            HttpStatus,
        ),
        ("purchase", "payment", "slow", "payment captured", Timeout),
        (
            "purchase",
            "payment",
            "wrong_data",
            "order complete",
            Assertion,
        ),
        (
            "purchase",
            "payment",
            "down",
            "payment captured",
            ConnectionReset,
        ),
        (
            "purchase",
            "payment",
            "reject",
            "payment captured",
            BackendFailed,
        ),
        (
            "purchase",
            "fulfillment",
            "stuck",
            "order ships",
            BackendTimeout,
        ),
        (
            "purchase",
            "fulfillment",
            "error",
            "order ships",
            HttpStatus,
        ),
        ("purchase", "fulfillment", "slow", "order ships", Timeout),
        (
            "purchase",
            "fulfillment",
            "wrong_data",
            "order complete",
            Assertion,
        ),
        (
            "purchase",
            "fulfillment",
            "down",
            "order ships",
            ConnectionReset,
        ),
        (
            "purchase",
            "fulfillment",
            "reject",
            "order ships",
            BackendFailed,
        ),
        ("contract", "auth", "stuck", "log in", Timeout),
        ("contract", "auth", "error", "log in", HttpStatus),
        ("contract", "auth", "slow", "log in", Timeout),
        ("contract", "auth", "wrong_data", "log in", Capture),
        ("contract", "auth", "down", "log in", ConnectionReset),
        ("contract", "contracts", "stuck", "get a quote", Timeout),
        ("contract", "contracts", "error", "get a quote", HttpStatus),
        ("contract", "contracts", "slow", "get a quote", Timeout),
        (
            "contract",
            "contracts",
            "wrong_data",
            "get a quote",
            Assertion,
        ),
        (
            "contract",
            "contracts",
            "down",
            "get a quote",
            ConnectionReset,
        ),
        (
            "contract",
            "activation",
            "stuck",
            "contract activated",
            BackendTimeout,
        ),
        (
            "contract",
            "activation",
            "error",
            "contract activated",
            HttpStatus,
        ),
        (
            "contract",
            "activation",
            "slow",
            "contract activated",
            Timeout,
        ),
        (
            "contract",
            "activation",
            "wrong_data",
            "contract details",
            Assertion,
        ),
        (
            "contract",
            "activation",
            "down",
            "contract activated",
            ConnectionReset,
        ),
        (
            "contract",
            "activation",
            "reject",
            "contract activated",
            BackendFailed,
        ),
        ("app-request", "auth", "error", "log in", HttpStatus),
        ("app-request", "app", "stuck", "file request", Timeout),
        ("app-request", "app", "error", "file request", HttpStatus),
        ("app-request", "app", "slow", "file request", Timeout),
        (
            "app-request",
            "app",
            "wrong_data",
            "request on record",
            Assertion,
        ),
        (
            "app-request",
            "app",
            "down",
            "file request",
            ConnectionReset,
        ),
        (
            "app-request",
            "backoffice",
            "stuck",
            "request processed",
            BackendTimeout,
        ),
        (
            "app-request",
            "backoffice",
            "error",
            "request processed",
            HttpStatus,
        ),
        (
            "app-request",
            "backoffice",
            "slow",
            "request processed",
            Timeout,
        ),
        (
            "app-request",
            "backoffice",
            "wrong_data",
            "customer notified",
            Assertion,
        ),
        (
            "app-request",
            "backoffice",
            "down",
            "request processed",
            ConnectionReset,
        ),
        (
            "app-request",
            "backoffice",
            "reject",
            "request processed",
            BackendFailed,
        ),
    ]
};

/// Runs one fault case on its own demo company; returns a description of any mismatch.
async fn fault_case(
    journey: &str,
    process: &str,
    mode: &str,
    step: &str,
    class: FailureClass,
) -> Option<String> {
    let demo = Demo::start().await;
    demo.inject(process, mode).await;
    let run = run_against(&shipped_journey(journey), &demo).await;
    let case = format!("{journey} with {process}={mode}");
    let Some(failed) = run.failed_step() else {
        return Some(format!("{case}: passed, expected {class} at `{step}`"));
    };
    let got = failed.failure.as_ref().map(|f| f.class);
    if failed.name != step || got != Some(class) {
        return Some(format!(
            "{case}: expected {class} at `{step}`, got:\n{}",
            describe(&run)
        ));
    }
    // Cleanup still runs after a failure for whatever was captured; no fault here breaks
    // the endpoint cleanup uses before its variables were captured.
    let cleanup_failed = run.cleanup.iter().any(|c| c.verdict == StepVerdict::Fail);
    cleanup_failed.then(|| format!("{case}: cleanup failed:\n{:?}", run.cleanup))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_fails_the_journey_at_the_right_step_with_the_right_class() {
    // A few cases at a time: fifty demo companies at once on two cores made the
    // journeys' own step timeouts (0.5-2 s) expire from starvation, not from the fault.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(6));
    let cases: Vec<_> = FAULTS
        .iter()
        .map(|&(j, p, m, s, c)| {
            let slots = slots.clone();
            tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.unwrap();
                fault_case(j, p, m, s, c).await
            })
        })
        .collect();
    let mut problems = Vec::new();
    for c in cases {
        if let Some(p) = c.await.unwrap() {
            problems.push(p);
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        FAULTS.len(),
        problems.join("\n\n")
    );
}

#[tokio::test]
async fn removing_a_fault_makes_the_journey_pass_again() {
    let demo = Demo::start().await;
    let journey = shipped_journey("purchase");
    demo.inject("fulfillment", "stuck").await;
    let broken = run_against(&journey, &demo).await;
    let failed = broken.failed_step().expect("fails while stuck");
    assert_eq!(failed.name, "order ships");
    assert_eq!(failed.backend.as_deref(), Some("fulfillment"));
    let failure = failed.failure.as_ref().unwrap();
    assert_eq!(failure.class, FailureClass::BackendTimeout);
    assert_eq!(failure.mismatches[0].subject, "$.status");
    assert!(
        failure.mismatches[0].actual.contains("preparing"),
        "{:?}",
        failure.mismatches
    );
    // The order id is there for on-call.
    let order_id = broken.captures.get("order_id").expect("order id captured");
    assert!(
        failed
            .evidence
            .as_ref()
            .unwrap()
            .request
            .url
            .contains(order_id.as_str())
    );
    // Cleanup ran and cancelled the order.
    assert_eq!(broken.cleanup[0].verdict, StepVerdict::Pass);

    demo.restore("fulfillment").await;
    let fixed = run_against(&journey, &demo).await;
    assert_eq!(fixed.verdict, Verdict::Pass, "{}", describe(&fixed));
}
