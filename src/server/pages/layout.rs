//! Page chrome (head, inline stylesheet, header) and the text helpers every
//! page uses: HTML escaping and human-readable durations and times.
//!
//! Pages are plain strings built with `write!`; every piece of text that comes
//! from outside (journey files, responses, captured values) goes through
//! [`Esc`].

use std::fmt::{self, Write};

use chrono::{DateTime, Utc};

/// The whole stylesheet: inline, so the page works with no other request and
/// no network access to anything but the daemon.
const CSS: &str = r#"
:root{--bg:#f6f8fa;--card:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--unk:#6e7781;--run:#0969da;--resolve:#8250df;--connect:#0969da;--processing:#bc4c00;--transfer:#1a7f37;--wait:#afb8c1;--tint:rgba(207,34,46,.08)}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#151b23;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--wait:#59636e;--tint:rgba(248,81,73,.12)}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header.top{background:var(--card);border-bottom:1px solid var(--line);padding:10px 16px}
header.top .in,main{max-width:1100px;margin:0 auto}
main{padding:12px}
h1{font-size:20px;margin:0}h2{font-size:17px;margin:0}h3{font-size:15px;margin:16px 0 6px}.card>h3:first-child{margin-top:0}
a{color:inherit}a:hover{color:var(--run)}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:0 0 12px}
.card.failing{border-left:6px solid var(--fail)}.card.degraded{border-left:6px solid var(--warn)}
.row{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}
.muted{color:var(--muted)}.small{font-size:13px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:700;color:#fff;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap}
.b-passing,.b-pass{background:var(--pass)}.b-failing,.b-fail{background:var(--fail)}.b-degraded{background:var(--warn)}.b-unknown,.b-skipped{background:var(--unk)}.b-running{background:var(--run)}
.problem{background:var(--tint);border-radius:6px;padding:8px 10px;margin:8px 0;overflow-wrap:anywhere}
.strip{display:flex;gap:2px;align-items:flex-end;height:24px;flex:0 1 auto;min-width:0}
.strip a,.strip span{display:block;flex:0 1 12px;width:12px;min-width:3px;border-radius:2px}
.strip .pass{height:50%;background:var(--pass)}.strip .degraded{height:75%;background:var(--warn)}.strip .fail{height:100%;background:var(--fail)}
.spark{display:block;flex:none}.spark polyline{fill:none;stroke:var(--run);stroke-width:1.5;stroke-linejoin:round}.spark .f{fill:var(--fail)}.spark .p{fill:var(--run)}
.chip{border:1px solid var(--line);border-radius:4px;padding:0 5px;font-size:12px}
a.chip{text-decoration:none}.views{gap:6px}.views .filter{background:var(--line)}.views .filter a{text-decoration:none}
.group{margin:0 0 8px}.group-title{margin:14px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px;max-height:28em;overflow:auto;margin:4px 0}
ol.steps{list-style:none;padding:0;margin:0}
ol.steps>li{border-bottom:1px solid var(--line);padding:8px 0}
.wf{display:flex;height:12px;margin-top:6px;min-width:2px}
.wf span{display:block;height:100%}
.p-resolve{background:var(--resolve)}.p-connect{background:var(--connect)}.p-processing{background:var(--processing)}.p-transfer{background:var(--transfer)}.p-wait{background:var(--wait)}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
@media (max-width:600px){body{font-size:14px}main{padding:8px}.card{padding:10px}}
"#;

/// A complete HTML document. `refresh_seconds` adds a meta refresh so an open
/// page stays current without JavaScript.
pub fn document(title: &str, refresh_seconds: Option<u32>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + CSS.len() + 512);
    let _ = write_document(&mut out, title, refresh_seconds, body);
    out
}

fn write_document(
    out: &mut String,
    title: &str,
    refresh_seconds: Option<u32>,
    body: &str,
) -> fmt::Result {
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if let Some(s) = refresh_seconds {
        write!(out, "<meta http-equiv=\"refresh\" content=\"{s}\">")?;
    }
    write!(
        out,
        "<title>{}</title><style>{CSS}</style></head><body>",
        Esc(title)
    )?;
    out.push_str("<header class=\"top\"><div class=\"in row\"><h1><a href=\"/\">journeyd</a></h1>");
    write!(
        out,
        "<span class=\"muted\">{}</span></div></header>",
        Esc(title)
    )?;
    write!(out, "<main>{body}</main></body></html>")
}

/// HTML escaping has one home, shared with the HTML test report.
pub use crate::report::html::Esc;

/// A duration for people: `850ms`, `2.35s`, `1m05s` (the one format, [`crate::units`]).
pub use crate::units::format_seconds as fmt_secs;

/// A configured interval: `30s`, `1m`, `1m 30s`, `1.5s`.
pub fn fmt_interval(s: f64) -> String {
    if !s.is_finite() || s <= 0.0 {
        return "?".to_string();
    }
    let d = std::time::Duration::from_millis((s * 1000.0).round() as u64);
    humantime::format_duration(d).to_string()
}

/// A coarse age: `12s`, `3m`, `5h`, `2d`.
pub fn fmt_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// `3m ago`, relative to `now`.
pub fn fmt_ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("{} ago", fmt_age((now - t).num_seconds()))
}

/// An absolute time, UTC, to the second.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_escapes_markup_and_quotes() {
        let got = Esc(r#"<script>alert("x")</script> & 'y'"#).to_string();
        assert_eq!(
            got,
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(Esc("plain é").to_string(), "plain é");
    }

    #[test]
    fn durations_and_ages_read_like_a_person_wrote_them() {
        assert_eq!(fmt_secs(0.0421), "42ms");
        assert_eq!(fmt_secs(2.346), "2.346s");
        assert_eq!(fmt_secs(65.2), "1m05.2s");
        assert_eq!(fmt_secs(f64::NAN), "?");
        assert_eq!(fmt_interval(30.0), "30s");
        assert_eq!(fmt_interval(90.0), "1m 30s");
        assert_eq!(fmt_age(-5), "0s");
        assert_eq!(fmt_age(59), "59s");
        assert_eq!(fmt_age(180), "3m");
        assert_eq!(fmt_age(7200), "2h");
        assert_eq!(fmt_age(200_000), "2d");
    }
}
