//! Runs the real `journeyd run` binary for a test: config and journeys in a
//! temporary directory, `listen: 127.0.0.1:0`, the bound address read from the
//! JSON start log line, every log line kept for later searches, and the child
//! killed when the handle is dropped.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::demo::{Demo, root};
use super::wait::wait_until;

/// How long start-up may take before the test fails (a debug build under load).
pub const START_WITHIN: Duration = Duration::from_secs(30);

/// The card number the purchase journey pays with (the demo accepts any 16 digits).
pub const TEST_CARD: &str = "4111111111111111";

/// The daemon configuration every test starts from; `first_run_within: 1s` makes
/// the first runs come at once instead of somewhere in the interval.
pub const CONFIG: &str = "\
listen: 127.0.0.1:0
journeys: [journeys]
state_dir: state
admin_token_secret: admin_token
labels: { location: test }
first_run_within: 1s
shutdown_grace: 20s
";

/// [`CONFIG`] for a restart that must not run anything soon: without
/// `first_run_within`, a journey with a `1h` interval first runs at its phase in
/// the hour (over 20 minutes away for the shipped journeys' names).
pub fn quiet_config() -> String {
    CONFIG.replace("first_run_within: 1s\n", "")
}

/// Copies `journeys/NAME.yaml` into `dir/journeys/`, with the interval replaced by
/// `interval` and every `eventually.within` shrunk to 3 s. Removes journey files
/// already there that are not in `names`.
pub fn write_journeys(dir: &Path, names: &[&str], interval: &str) {
    let target = dir.join("journeys");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&target).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().and_then(OsStr::to_str).unwrap_or("");
        if !names.contains(&stem) {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for name in names {
        let source = std::fs::read_to_string(root().join(format!("journeys/{name}.yaml"))).unwrap();
        let mut text = source.clone();
        for from in ["interval: 30s", "interval: 60s"] {
            text = text.replace(from, &format!("interval: {interval}"));
        }
        for from in ["within: 20s", "within: 15s", "within: 10s"] {
            text = text.replace(from, "within: 3s");
        }
        // A shipped journey whose timings changed must not silently keep 30 s runs.
        assert!(
            text.contains(&format!("interval: {interval}")),
            "{name}.yaml: no interval replaced"
        );
        assert!(
            text.contains("within: 3s"),
            "{name}.yaml: no `within` replaced"
        );
        std::fs::write(target.join(format!("{name}.yaml")), text).unwrap();
    }
}

/// The environment the shipped journeys need against `demo`: its base URL for
/// all three, the card, the demo password and the admin token.
pub fn daemon_env(demo: &Demo, password: &str, admin_token: &str) -> Vec<(String, String)> {
    let base = demo.base();
    [
        ("SHOP_URL", base.as_str()),
        ("CONTRACTS_URL", base.as_str()),
        ("APP_URL", base.as_str()),
        ("JOURNEYD_SECRET_TEST_CARD", TEST_CARD),
        ("JOURNEYD_SECRET_DEMO_PASSWORD", password),
        ("JOURNEYD_SECRET_ADMIN_TOKEN", admin_token),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A running `journeyd run`; killed (SIGKILL) when dropped if still running.
pub struct TestDaemon {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    http: reqwest::Client,
}

/// Appends everything `from` writes to `logs`, on a thread of its own.
fn collect(mut from: impl Read + Send + 'static, logs: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]);
            logs.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&text);
        }
    });
}

/// The address in the `journeyd started.` JSON line, if it was logged.
fn started_address(logs: &str) -> Option<SocketAddr> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "journeyd started.")
        .and_then(|v| v["fields"]["listen"].as_str()?.parse().ok())
}

impl TestDaemon {
    /// Writes `config_yaml` to `dir/journeyd.yaml`, starts the daemon on it with
    /// JSON logs and `env`, and waits (bounded) for its start line.
    pub async fn start<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        dir: &Path,
        config_yaml: &str,
        env: &[(K, V)],
    ) -> TestDaemon {
        Self::start_limited(dir, config_yaml, env, None).await
    }

    /// [`start`](Self::start) with soft and hard `RLIMIT_NOFILE` set to `nofile`
    /// (through `bash -c 'ulimit -n N; exec journeyd ...'`).
    pub async fn start_limited<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        dir: &Path,
        config_yaml: &str,
        env: &[(K, V)],
        nofile: Option<u32>,
    ) -> TestDaemon {
        let config = dir.join("journeyd.yaml");
        std::fs::write(&config, config_yaml).unwrap();
        let mut cmd = match nofile {
            None => Command::new(env!("CARGO_BIN_EXE_journeyd")),
            Some(n) => {
                let mut c = Command::new("bash");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(env!("CARGO_BIN_EXE_journeyd"));
                c
            }
        };
        cmd.current_dir(dir)
            .arg("run")
            .arg("--config")
            .arg(&config)
            .args(["--log-format", "json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Nothing from the developer's or CI's environment may change what runs.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("JOURNEYD_") {
                cmd.env_remove(k);
            }
        }
        for k in [
            "CREDENTIALS_DIRECTORY",
            "STATE_DIRECTORY",
            "NOTIFY_SOCKET",
            "WATCHDOG_USEC",
            "WATCHDOG_PID",
        ] {
            cmd.env_remove(k);
        }
        cmd.env("RUST_LOG", "info,journeyd=debug");
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().expect("spawn journeyd");
        let logs = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), logs.clone());
        collect(child.stderr.take().unwrap(), logs.clone());
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let waited = wait_until(START_WITHIN, async || {
            let text = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(addr) = started_address(&text) {
                return Ok(Ok(addr));
            }
            match child.try_wait() {
                Ok(Some(status)) => Ok(Err(format!("journeyd exited ({status}) before starting"))),
                _ => Err("no `journeyd started.` line yet".to_string()),
            }
        })
        .await;
        let addr = match waited {
            Ok(Ok(addr)) => addr,
            Ok(Err(why)) | Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                let text = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!("journeyd did not start: {why}\n--- its output ---\n{text}");
            }
        };
        assert!(addr.ip().is_loopback(), "journeyd listens on {addr}");
        TestDaemon {
            child,
            addr,
            logs,
            http,
        }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// GET: status and body.
    pub async fn get(&self, path: &str) -> Result<(u16, String), String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base()))
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| format!("GET {path}: body: {e}"))?;
        Ok((status, body))
    }

    /// GET a JSON document that must come with 200.
    pub async fn get_json(&self, path: &str) -> Result<Value, String> {
        let (status, body) = self.get(path).await?;
        if status != 200 {
            return Err(format!("GET {path}: {status}: {body}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("GET {path}: not JSON ({e}): {body}"))
    }

    /// POST with an optional bearer token: status and body.
    pub async fn post(&self, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
        let mut req = self.http.post(format!("{}{path}", self.base()));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| format!("POST {path}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| format!("POST {path}: body: {e}"))?;
        Ok((status, body))
    }

    /// `/metrics`, which must answer 200.
    pub async fn metrics(&self) -> Result<String, String> {
        match self.get("/metrics").await? {
            (200, body) => Ok(body),
            (status, body) => Err(format!("GET /metrics: {status}: {body}")),
        }
    }

    /// One journey from `/api/journeys`.
    pub async fn journey(&self, name: &str) -> Result<Value, String> {
        let all = self.get_json("/api/journeys").await?;
        all.as_array()
            .and_then(|a| a.iter().find(|j| j["name"] == name))
            .cloned()
            .ok_or_else(|| format!("no journey {name:?} in {all}"))
    }

    /// Sends a signal (`TERM`, `HUP`, ...) with `kill -s`.
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(
            status.success(),
            "kill -s {sig} {}: {status}",
            self.child.id()
        );
    }

    /// SIGKILL, and reap it.
    pub fn kill9(&mut self) -> ExitStatus {
        self.child.kill().expect("SIGKILL journeyd");
        self.child.wait().expect("reap journeyd")
    }

    /// Waits (bounded) for the process to exit; fails the test with its logs otherwise.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let child = &mut self.child;
        let exited = wait_until(within, async || match child.try_wait() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err("still running".to_string()),
            Err(e) => Err(format!("try_wait: {e}")),
        })
        .await;
        match exited {
            Ok(status) => status,
            Err(why) => panic!(
                "journeyd did not exit: {why}\n--- its output ---\n{}",
                self.logs()
            ),
        }
    }
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One sample of the text exposition format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with `_total`, `_bucket` and so on).
    pub name: String,
    /// Labels, by name.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// Every sample in a Prometheus text exposition (comments skipped).
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| parse_sample(l).unwrap_or_else(|| panic!("unparsable metric line: {l:?}")))
        .collect()
}

fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_string();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(mut s) = rest.strip_prefix('{') {
        // `name="value"` pairs separated by commas; values escape \\, \" and \n.
        loop {
            s = s.trim_start_matches([',', ' ']);
            if let Some(after) = s.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = s.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i + 1,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (_, other) => value.push(other),
                }
            };
            labels.insert(key.trim().to_string(), value);
            s = &after[end..];
        }
    }
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The value of the sample named `name` whose labels are exactly `labels`, in any order.
pub fn sample_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_metrics(text)
        .into_iter()
        .find(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
}

/// Whether an external program a test drives is installed. Absent, the test is
/// skipped with a note on a developer's machine, and fails in CI (`CI` set),
/// where `scripts/test.sh` installs it.
pub fn require_tool(path: &str) -> bool {
    if Path::new(path).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{path} is missing; CI must install it (scripts/test.sh installs the Debian package)"
    );
    eprintln!("note: {path} is not installed and CI is not set: skipping this test");
    false
}
