//! A real Prometheus (Debian's package) scrapes the real daemon: the series
//! the design promises arrive with their labels, and PromQL sees a journey
//! go red when the demo's fulfillment gets stuck.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::daemon::{CONFIG, TestDaemon, daemon_env, require_tool, write_journeys};
use crate::util::demo::Demo;
use crate::util::wait::wait_until;

const PROMETHEUS: &str = "/usr/bin/prometheus";
const SOON: Duration = Duration::from_secs(90);

/// A Prometheus server on a loopback port; killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    http: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second, keeping its data and output in `dir`.
    fn start(dir: &Path, target: std::net::SocketAddr) -> Prometheus {
        // Prometheus cannot be handed a listener, so a free port is picked and
        // released for it to bind: the one unavoidable gap where another process
        // could take the port first (start-up then fails loudly, it does not hang).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: journeyd\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let log = dir.join("prometheus.log");
        let out = File::create(&log).unwrap();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start prometheus");
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            http,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn ready(&mut self) {
        let (http, url) = (&self.http, format!("{}/-/ready", self.base));
        let child = &mut self.child;
        let ready = wait_until(SOON, async || {
            if let Ok(Some(status)) = child.try_wait() {
                return Ok(Err(format!("prometheus exited: {status}")));
            }
            match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => Ok(Ok(())),
                Ok(r) => Err(format!("{}", r.status())),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
        if let Err(e) | Ok(Err(e)) = ready {
            panic!(
                "prometheus not ready: {e}\n--- its output ---\n{}",
                self.output()
            );
        }
    }

    /// An instant PromQL query: the result vector.
    async fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let resp = self
            .http
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", promql)])
            .send()
            .await
            .map_err(|e| format!("{promql}: {e}"))?;
        let body: Value = resp.json().await.map_err(|e| format!("{promql}: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{promql}: {body}"));
        }
        body["data"]["result"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("{promql}: {body}"))
    }

    /// Waits until `promql` returns a non-empty vector all of whose values satisfy `ok`.
    async fn wait_for(&self, promql: &str, ok: impl Fn(&str) -> bool) -> Vec<Value> {
        wait_until(SOON, async || {
            let result = self.query(promql).await?;
            let holds = !result.is_empty()
                && result
                    .iter()
                    .all(|s| s["value"][1].as_str().is_some_and(&ok));
            if holds {
                Ok(result)
            } else {
                Err(format!("{promql} = {result:?}"))
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n--- prometheus output ---\n{}", self.output()))
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn real_prometheus_scrapes_the_daemon() {
    if !require_tool(PROMETHEUS) {
        return;
    }
    let demo = Demo::start().await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &["app-request", "contract", "purchase"], "2s");
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &daemon_env(&demo, "demo-password", "prom-admin-token"),
    )
    .await;
    let prom_dir = tempfile::tempdir().unwrap();
    let mut prom = Prometheus::start(prom_dir.path(), d.addr());
    prom.ready().await;

    let up = prom
        .wait_for("up{job=\"journeyd\"} == 1", |v| v == "1")
        .await;
    assert_eq!(up.len(), 1, "{up:?}");
    let success = prom
        .wait_for("journeyd_journey_success{journey=\"purchase\"}", |v| {
            v == "1"
        })
        .await;
    assert_eq!(success.len(), 1, "one purchase series: {success:?}");
    assert_eq!(success[0]["metric"]["location"], "test", "{success:?}");
    assert_eq!(success[0]["metric"]["job"], "journeyd", "{success:?}");

    demo.inject("fulfillment", "stuck").await;
    prom.wait_for("journeyd_journey_success{journey=\"purchase\"}", |v| {
        v == "0"
    })
    .await;
    let increase = prom
        .wait_for(
            "increase(journeyd_step_failures_total{journey=\"purchase\",step=\"order ships\",class=\"backend_timeout\"}[2m]) > 0",
            |v| v.parse::<f64>().is_ok_and(|x| x > 0.0),
        )
        .await;
    assert_eq!(increase[0]["metric"]["location"], "test", "{increase:?}");
    // The journeys that do not depend on fulfillment stay green.
    prom.wait_for(
        "journeyd_journey_success{journey=~\"contract|app-request\"}",
        |v| v == "1",
    )
    .await;
    let up = prom.query("up{job=\"journeyd\"} == 1").await.unwrap();
    assert_eq!(
        up.len(),
        1,
        "journeyd scrape failed: {up:?}\n{}",
        prom.output()
    );
    // The live exposition, failures and all, passes promtool's lint.
    let live = d.metrics().await.unwrap();
    assert!(live.contains("journeyd_step_failures_total{"), "{live}");
    let lint = promtool_check_metrics(&live);
    assert!(lint.is_empty(), "promtool check metrics:\n{lint}");
}

/// Output of `promtool check metrics` (empty when the exposition is clean).
fn promtool_check_metrics(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let mut report = String::from_utf8_lossy(&out.stdout).into_owned();
    report.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() && report.is_empty() {
        report = format!("promtool exited with {}", out.status);
    }
    report
}
