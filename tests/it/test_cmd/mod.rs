//! `journeyd test` end to end: the binary runs suites against the demo company
//! and scripted servers on `127.0.0.1:0`; reports are parsed (JUnit with
//! quick-xml, JSON with serde_json) and searched for secrets; exit codes 0/1/2;
//! the CI recipes of `examples/ci/` run; `check --format json` for editors.

mod ci;
mod interrupt;
mod reports;
mod suite;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::util::demo::root;

pub fn journeyd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journeyd"));
    c.current_dir(root())
        .args(args)
        .env_remove("JOURNEYD_SECRETS_DIR")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("RUST_LOG");
    c
}

/// Runs a blocking command off the async runtime (the servers serve on it).
pub async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

pub fn all_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Per `<testsuite>` of a JUnit report: its name, test case names, and the names of
/// the elements found inside its test cases (`failure`, `flakyFailure`, ...), and
/// its properties.
#[derive(Debug, Default)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<String>,
    pub inner: Vec<String>,
    pub properties: Vec<(String, String)>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> String {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().unwrap().to_string())
        .unwrap_or_default()
}

pub fn junit_suites(xml: &str) -> Vec<Suite> {
    let mut reader = Reader::from_str(xml);
    let mut suites: Vec<Suite> = Vec::new();
    let mut in_case = false;
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                match tag.as_str() {
                    "testsuite" => suites.push(Suite {
                        name: attr(&e, "name"),
                        ..Suite::default()
                    }),
                    "testcase" => {
                        suites.last_mut().unwrap().cases.push(attr(&e, "name"));
                        in_case = true;
                    }
                    "property" => suites
                        .last_mut()
                        .unwrap()
                        .properties
                        .push((attr(&e, "name"), attr(&e, "value"))),
                    other if in_case => suites.last_mut().unwrap().inner.push(other.into()),
                    _ => {}
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => in_case = false,
            _ => {}
        }
    }
    suites
}

/// A one-step journey GETting `url`, expecting `$.status == up`.
pub fn one_step(name: &str, url: &str, labels: &str) -> String {
    format!(
        "name: {name}\nlabels: {{ {labels} }}\nsteps:\n  - name: probe\n    request: {{ url: \"{url}\" }}\n    expect: {{ status: 200, json: {{ \"$.status\": up }} }}\n"
    )
}

/// A server answering `{"status":"down"}` to the first `down_first` requests,
/// then `{"status":"up"}`; returns its base URL and the request count.
pub async fn flapping(down_first: usize) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let status = if n < down_first { "down" } else { "up" };
                axum::Json(serde_json::json!({ "status": status }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, count)
}

/// A port nothing listens on: bound, then released.
pub async fn closed_port_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/health")
}
