//! Writes the converted steps as journey YAML. Values are written as JSON
//! (flow style, valid YAML) so quoting is always right; what was not
//! converted is kept as a comment where it stood.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::convert::StepOut;

fn j(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The whole journey file.
pub(super) fn journey(
    name: &str,
    file: &Path,
    steps: &[StepOut],
    vars: &[String],
    orphans: &[String],
) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Imported from {} by `journeyd import hurl`.",
        file.display()
    );
    for o in orphans {
        let _ = writeln!(y, "# not converted: {o}");
    }
    let _ = writeln!(y, "name: {}", j(&name));
    if !vars.is_empty() {
        let _ = writeln!(
            y,
            "# Hurl variables: set them with HURL_<name> or --var <name>=..."
        );
        let _ = writeln!(y, "vars:");
        for v in vars {
            let _ = writeln!(y, "  {v}: {}", j(&format!("{{{{ env.HURL_{v} }}}}")));
        }
    }
    let _ = writeln!(y, "defaults:");
    let _ = writeln!(
        y,
        "  follow_redirects: false   # Hurl follows redirects only with `location: true`"
    );
    let _ = writeln!(
        y,
        "  retry: {{ max: 0 }}         # Hurl sends each request once"
    );
    let _ = writeln!(y, "steps:");
    for s in steps {
        step(&mut y, s);
    }
    y
}

fn step(y: &mut String, s: &StepOut) {
    let _ = writeln!(y, "  - name: {}", j(&s.name));
    for (line, _, text, why) in &s.notes {
        let _ = writeln!(y, "    # not converted (line {line}): {text}  -- {why}");
    }
    let _ = writeln!(y, "    request:");
    for (k, v) in &s.request {
        let _ = writeln!(y, "      {k}: {}", j(v));
    }
    let has_expect = s.status.is_some()
        || !s.headers.is_empty()
        || !s.body.is_empty()
        || !s.json.is_empty()
        || s.max_duration.is_some();
    if has_expect {
        let _ = writeln!(y, "    expect:");
        if let Some(st) = &s.status {
            let _ = writeln!(y, "      status: {}", j(st));
        }
        map_section(y, "headers", &s.headers);
        if !s.body.is_empty() {
            let _ = writeln!(y, "      body: {}", j(&s.body));
        }
        map_section(y, "json", &s.json);
        if let Some(d) = &s.max_duration {
            let _ = writeln!(y, "      max_duration: {d}");
        }
    }
    if !s.capture.is_empty() {
        let _ = writeln!(y, "    capture:");
        for (k, v) in &s.capture {
            let _ = writeln!(y, "      {k}: {}", j(v));
        }
    }
    if let Some(e) = &s.eventually {
        let _ = writeln!(y, "    eventually: {}", j(e));
    }
}

fn map_section(
    y: &mut String,
    key: &str,
    map: &indexmap::IndexMap<String, indexmap::IndexMap<String, Value>>,
) {
    if map.is_empty() {
        return;
    }
    let _ = writeln!(y, "      {key}:");
    for (k, v) in map {
        let _ = writeln!(y, "        {}: {}", j(k), j(v));
    }
}
