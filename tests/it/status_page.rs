//! The status page in a real browser (Debian's headless Chromium): on-call
//! opens it on a phone and sees which journey is red, at which step, and why;
//! the run page shows what was expected and what came back. Screenshots are
//! kept in `target/artifacts/`.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::daemon::{CONFIG, TestDaemon, daemon_env, require_tool, write_journeys};
use crate::util::demo::{Demo, root};
use crate::util::wait::wait_until;

pub const CHROMIUM: &str = "/usr/bin/chromium";
/// A cold Chromium start in a loaded debug-build test run takes seconds, not minutes.
const BROWSER_WITHIN: Duration = Duration::from_secs(90);

/// Runs headless Chromium with `args` then `url`, killed if it overruns; its stdout.
pub async fn chromium(scratch: &Path, args: &[String], url: &str) -> String {
    let profile = tempfile::tempdir_in(scratch).unwrap();
    let out_path = scratch.join(format!(
        "{}.out",
        profile.path().file_name().unwrap().to_string_lossy()
    ));
    let err_path = out_path.with_extension("err");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        // Its own process group, so an overrun kills its helper processes too.
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let child_ref = &mut child;
    let exited = wait_until(BROWSER_WITHIN, async || match child_ref.try_wait() {
        Ok(Some(status)) => Ok(status),
        _ => Err("still running".to_string()),
    })
    .await;
    let stderr = || std::fs::read_to_string(&err_path).unwrap_or_default();
    let status = match exited {
        Ok(status) => status,
        Err(e) => {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &group])
                .status();
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} {url}: {e}\n--- stderr ---\n{}", stderr());
        }
    };
    assert!(
        status.success(),
        "chromium {args:?} {url}: {status}\n--- stderr ---\n{}",
        stderr()
    );
    std::fs::read_to_string(&out_path).unwrap()
}

/// The HTML of the card of one journey on the status page.
fn card<'a>(dom: &'a str, journey: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"journey-{journey}\""))
        .unwrap_or_else(|| panic!("no card for {journey} in:\n{dom}"));
    let rest = &dom[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

/// Takes a phone-sized screenshot into `target/artifacts/NAME` and checks it is a real picture.
async fn screenshot(scratch: &Path, url: &str, name: &str) -> PathBuf {
    let dir = root().join("target/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join(name);
    let _ = std::fs::remove_file(&png);
    let args = [
        format!("--screenshot={}", png.display()),
        "--window-size=412,915".to_string(),
    ];
    chromium(scratch, &args, url).await;
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
    assert!(
        bytes.len() > 10 * 1024,
        "{}: only {} bytes",
        png.display(),
        bytes.len()
    );
    println!("artifact: {}", png.display());
    png
}

#[tokio::test(flavor = "multi_thread")]
async fn status_page_shows_the_failing_journey_in_a_real_browser() {
    if !require_tool(CHROMIUM) {
        return;
    }
    let demo = Demo::start().await;
    demo.inject("fulfillment", "stuck").await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &["app-request", "contract", "purchase"], "2s");
    let d = TestDaemon::start(
        dir.path(),
        CONFIG,
        &daemon_env(&demo, "demo-password", "page-admin-token"),
    )
    .await;
    let failing_run = wait_until(Duration::from_secs(60), async || {
        let all = d.get_json("/api/journeys").await?;
        let states: Vec<(String, String)> = all
            .as_array()
            .ok_or("not a list")?
            .iter()
            .map(|j| {
                (
                    j["name"].as_str().unwrap_or("").to_string(),
                    j["state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let purchase = all
            .as_array()
            .and_then(|a| a.iter().find(|j| j["name"] == "purchase"))
            .ok_or("no purchase")?;
        let want = [
            ("app-request", "passing"),
            ("contract", "passing"),
            ("purchase", "failing"),
        ];
        let matches = want
            .iter()
            .all(|(n, s)| states.iter().any(|(a, b)| a == n && b == s));
        match purchase["last_run"]["run_id"].as_str() {
            Some(id) if matches && purchase["failing_step"] == "order ships" => Ok(id.to_string()),
            _ => Err(format!("{states:?}")),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("purchase never failed alone: {e}"));

    let scratch = tempfile::tempdir().unwrap();
    let dom = chromium(
        scratch.path(),
        &["--dump-dom".to_string()],
        &format!("{}/", d.base()),
    )
    .await;
    let purchase = card(&dom, "purchase");
    assert!(
        purchase.contains("b-failing\">failing<"),
        "no failing badge:\n{purchase}"
    );
    // What broke, in the visible text (the strip's tooltips repeat it in attributes).
    let problem = purchase
        .split("class=\"problem\"")
        .nth(1)
        .and_then(|p| p.split("</div>").next())
        .unwrap_or_else(|| panic!("no problem box in the purchase card:\n{purchase}"));
    for want in ["order ships", "fulfillment", "backend_timeout", "evidence"] {
        assert!(
            problem.contains(want),
            "the problem box lacks {want:?}:\n{problem}"
        );
    }
    for name in ["contract", "app-request"] {
        let c = card(&dom, name);
        assert!(
            c.contains("b-passing\">passing<") && !c.contains("problem"),
            "{name} card:\n{c}"
        );
    }
    // On-call reads from the top: the failing journey comes first.
    let first = ["purchase", "contract", "app-request"]
        .map(|n| dom.find(&format!("id=\"journey-{n}\"")).unwrap());
    assert!(
        first[0] < first[1] && first[0] < first[2],
        "purchase is not listed first"
    );
    screenshot(scratch.path(), &format!("{}/", d.base()), "status-page.png").await;

    let run_url = format!("{}/runs/{failing_run}", d.base());
    let run_dom = chromium(scratch.path(), &["--dump-dom".to_string()], &run_url).await;
    for want in ["order ships", "backend_timeout", "cancel order"] {
        assert!(
            run_dom.contains(want),
            "run page lacks {want:?}:\n{run_dom}"
        );
    }
    // The mismatch table: subject, expected, actual.
    assert!(
        run_dom.contains("<th>subject</th><th>expected</th><th>actual</th>"),
        "no expected/actual table:\n{run_dom}"
    );
    let row = regex::Regex::new(
        r"<tr><td><code>\$\.status</code></td><td><code>[^<]*shipped[^<]*</code></td><td><code>[^<]*preparing[^<]*</code></td></tr>",
    )
    .unwrap();
    assert!(
        row.is_match(&run_dom),
        "no row expecting shipped and showing preparing:\n{run_dom}"
    );
    screenshot(scratch.path(), &run_url, "run-page.png").await;
}
