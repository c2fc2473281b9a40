//! The journey under test, run by journeyd: five steps and one cleanup step
//! with JSON and header captures, templated JSON bodies and JSON predicates.

use std::path::Path;
use std::sync::Arc;

use journeyd::journey::Journey;
use journeyd::journey::parse::parse_journey;
use journeyd::journey::template::Engine;
use journeyd::runner::{JourneyRun, RunOptions, StepVerdict, Verdict, run_journey};

/// Requests one run sends: five steps and one cleanup step.
pub const REQUESTS_PER_RUN: u64 = 6;

/// The journey's YAML, pointed at `base`.
pub fn yaml(base: &str) -> String {
    format!(
        r#"name: bench-order
description: Benchmark journey - browse, order, check, confirm, cancel.
timeout: 20s
vars:
  base: "{base}"
  email: "bench+{{{{ uuid }}}}@example.com"
defaults:
  headers: {{ accept: application/json }}
  timeout: 5s
steps:
  - name: list products
    request: {{ url: "{{{{ base }}}}/api/products" }}
    expect:
      status: 200
      json:
        "$.items": {{ type: array, len_gt: 0 }}
        "$.items[0].id": {{ matches: "^p-[0-9]+$" }}
    capture:
      product_id: {{ json: "$.items[0].id" }}
  - name: product detail
    request: {{ url: "{{{{ base }}}}/api/products/{{{{ product_id }}}}" }}
    expect:
      status: 200
      json:
        "$.id": {{ eq: "{{{{ product_id }}}}" }}
        "$.price_cents": {{ type: number, gt: 0 }}
  - name: place order
    request:
      method: POST
      url: "{{{{ base }}}}/api/orders"
      json: {{ product_id: "{{{{ product_id }}}}", quantity: 2, email: "{{{{ email }}}}" }}
    expect:
      status: 201
      json: {{ "$.status": {{ eq: accepted }} }}
    capture:
      order_id: {{ json: "$.order_id" }}
      request_id: {{ header: x-request-id }}
  - name: order visible
    request: {{ url: "{{{{ base }}}}/api/orders/{{{{ order_id }}}}" }}
    expect:
      status: 200
      json:
        "$.order_id": {{ eq: "{{{{ order_id }}}}" }}
        "$.status": {{ matches: "^(accepted|confirmed)$" }}
        "$.items": {{ len_gt: 0 }}
        "$.total_cents": {{ type: number }}
  - name: confirm order
    request:
      method: POST
      url: "{{{{ base }}}}/api/orders/{{{{ order_id }}}}/confirm"
      headers: {{ x-request-id: "{{{{ request_id }}}}" }}
      json: {{ request_id: "{{{{ request_id }}}}", email: "{{{{ email }}}}" }}
    expect:
      status: 200
      json:
        "$.status": confirmed
        "$.request_id": {{ eq: "{{{{ request_id }}}}" }}
cleanup:
  - name: cancel order
    request: {{ method: DELETE, url: "{{{{ base }}}}/api/orders/{{{{ order_id }}}}" }}
    expect: {{ status: 204 }}
"#
    )
}

/// Everything a journeyd run needs, shared by concurrent runs.
#[derive(Clone)]
pub struct Subject {
    journey: Arc<Journey>,
    engine: Arc<Engine>,
    opts: Arc<RunOptions>,
}

impl Subject {
    /// Parses and validates the journey for `base`; a diagnostic aborts the benchmark.
    pub fn new(base: &str) -> Result<Self, String> {
        let engine = Engine::new();
        let journey = parse_journey(Path::new("bench-order.yaml"), &yaml(base), &engine).map_err(
            |diags| {
                diags
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        )?;
        Ok(Self {
            journey: Arc::new(journey),
            engine: Arc::new(engine),
            opts: Arc::new(RunOptions::default()),
        })
    }

    /// One run with its own client (a fresh connection pool); Err unless every step passed.
    pub async fn run_once(self) -> Result<(), String> {
        let run = run_journey(&self.journey, &self.engine, &self.opts, &mut |_| {}).await;
        check(&run)
    }
}

fn check(run: &JourneyRun) -> Result<(), String> {
    let failed = run
        .steps
        .iter()
        .chain(&run.cleanup)
        .find(|s| s.verdict != StepVerdict::Pass);
    match (run.verdict, failed) {
        (Verdict::Pass, None) => Ok(()),
        (_, Some(step)) => Err(format!(
            "step `{}` {:?}: {}",
            step.name,
            step.verdict,
            step.failure
                .as_ref()
                .map(|f| format!("{}: {}", f.class.as_str(), f.message))
                .or_else(|| step.skip_reason.clone())
                .unwrap_or_default()
        )),
        (Verdict::Fail, None) => Err("the run failed without a failed step".into()),
    }
}
