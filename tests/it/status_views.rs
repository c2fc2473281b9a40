//! Views per team, channel and back-end on the status page, in a real browser
//! (headless Chromium, which must be installed: `scripts/test.sh` installs the
//! Debian package, and this test fails without it rather than skip): a filtered
//! URL shows only its journeys and says what it filters by, `?group=` groups the
//! cards, and the chips on a card link to the view filtered by them.

use std::path::Path;

use crate::status_page::{CHROMIUM, chromium};
use crate::util::daemon::{CONFIG, TestDaemon};

/// `pay` and `refund` (team checkout, back-end payment, channels web and api)
/// and `browse` (team catalog, channel web), all against `target`.
fn write_journeys(dir: &Path, target: &str) {
    let journeys = dir.join("journeys");
    std::fs::create_dir_all(&journeys).unwrap();
    for (name, team, channel, backend) in [
        ("pay", "checkout", "web", "payment"),
        ("refund", "checkout", "api", "payment"),
        ("browse", "catalog", "web", "catalog"),
    ] {
        let yaml = format!(
            "name: {name}\ninterval: 1h\nlabels: {{ team: {team}, channel: {channel} }}\nsteps:\n  - name: call\n    backend: {backend}\n    request: {{ url: \"{target}/{name}\" }}\n"
        );
        std::fs::write(journeys.join(format!("{name}.yaml")), yaml).unwrap();
    }
}

/// The ids of the journey cards in `html`, in order.
fn cards(html: &str) -> Vec<&str> {
    html.split("id=\"journey-")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect()
}

/// `(group value, its cards)` of each group section, in order.
fn groups<'a>(html: &'a str, key: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let marker = format!("data-group=\"{key}\" data-value=\"");
    html.split(&marker)
        .skip(1)
        .map(|rest| (&rest[..rest.find('"').unwrap()], cards(rest)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn filtered_and_grouped_status_pages_in_headless_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install the Debian package `chromium` (scripts/test.sh does)"
    );
    let target = crate::util::alerting::Capture::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_journeys(dir.path(), &target.url(""));
    let env = [("JOURNEYD_SECRET_ADMIN_TOKEN", "views-admin-token")];
    let d = TestDaemon::start(
        dir.path(),
        &CONFIG.replace("first_run_within: 1s\n", ""),
        &env,
    )
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let dump = |url: String| {
        let scratch = scratch.path().to_path_buf();
        async move { chromium(&scratch, &["--dump-dom".to_string()], &url).await }
    };

    // One team: only its journeys, the filter shown, a way to clear it.
    let dom = dump(format!("{}/?team=checkout", d.base())).await;
    assert_eq!(cards(&dom), ["pay", "refund"], "{dom}");
    assert!(dom.contains("data-key=\"team\">team=checkout"), "{dom}");
    assert!(
        dom.contains("<a class=\"clear\" href=\"/\">clear filter</a>"),
        "{dom}"
    );
    // Chips link to narrower views of the current one.
    assert!(
        dom.contains("href=\"/?channel=web&amp;team=checkout\""),
        "{dom}"
    );

    // Grouped by team, then one back-end grouped by channel.
    let dom = dump(format!("{}/?group=team", d.base())).await;
    assert_eq!(
        groups(&dom, "team"),
        [
            ("catalog", vec!["browse"]),
            ("checkout", vec!["pay", "refund"])
        ],
        "{dom}"
    );
    assert!(
        dom.contains("<strong class=\"group-by\">team</strong>"),
        "{dom}"
    );
    assert!(
        dom.contains("href=\"/?team=checkout&amp;group=team\""),
        "{dom}"
    );
    let dom = dump(format!("{}/?backend=payment&group=channel", d.base())).await;
    assert_eq!(
        groups(&dom, "channel"),
        [("api", vec!["refund"]), ("web", vec!["pay"])],
        "{dom}"
    );
    assert!(!dom.contains("journey-browse"), "{dom}");
    // Removing the back-end filter keeps the grouping.
    assert!(dom.contains("href=\"/?group=channel\""), "{dom}");
}
