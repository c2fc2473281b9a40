//! Writing the Prometheus text format (version 0.0.4) straight into a buffer: one family
//! header, then sample lines, without building any intermediate message.
//!
//! Output matches the `prometheus` crate's `TextEncoder` byte for byte for the same
//! series: labels sorted by name with the static labels merged in, `le` last, values
//! formatted by `f64`'s `Display`, `# HELP` escaped for `\` and newlines and label values
//! for `\`, `"` and newlines.

use std::fmt::Write as _;

use super::families::{Def, Kind};
use super::series::Hist;

/// A buffer of exposition text and the static labels every series carries.
pub(super) struct Text<'a> {
    pub out: &'a mut String,
    /// Static labels, sorted by name (names never clash with journeyd's own).
    statics: &'a [(String, String)],
    /// The family whose header is due before its first sample.
    pending: Option<&'static Def>,
}

impl<'a> Text<'a> {
    pub fn new(out: &'a mut String, statics: &'a [(String, String)]) -> Self {
        Self {
            out,
            statics,
            pending: None,
        }
    }

    /// Starts a family: its `# HELP`/`# TYPE` lines come with its first sample, so a
    /// family without series writes nothing.
    pub fn family(&mut self, def: &'static Def) {
        self.pending = Some(def);
    }

    /// The current family already has its header (a scrape resumed in the middle of it).
    pub fn family_started(&mut self) {
        self.pending = None;
    }

    /// The current family's header is still to be written (no sample yet).
    pub fn header_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// One sample of the current family; `own` sorted by label name.
    pub fn sample(&mut self, def: &Def, suffix: &str, own: &[(&str, &str)], value: f64) {
        self.line(def, suffix, own, None, value);
    }

    /// A histogram: cumulative buckets, `+Inf`, `_sum`, `_count`.
    pub fn histogram(&mut self, def: &Def, own: &[(&str, &str)], h: &Hist) {
        let mut cumulative = 0;
        for (i, n) in h.buckets.iter().enumerate() {
            cumulative += n;
            let bound = def.buckets.get(i).copied().unwrap_or(f64::INFINITY);
            self.line(def, "_bucket", own, Some(bound), cumulative as f64);
        }
        self.line(def, "_sum", own, None, h.sum);
        self.line(def, "_count", own, None, h.count as f64);
    }

    fn header(&mut self) {
        let Some(def) = self.pending.take() else {
            return;
        };
        let kind = match def.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        self.out.push_str("# HELP ");
        self.out.push_str(def.name);
        self.out.push(' ');
        escape(self.out, def.help, false);
        let _ = write!(self.out, "\n# TYPE {} {kind}\n", def.name);
    }

    fn line(&mut self, def: &Def, suffix: &str, own: &[(&str, &str)], le: Option<f64>, v: f64) {
        self.header();
        let out = &mut *self.out;
        out.push_str(def.name);
        out.push_str(suffix);
        // Both lists are sorted by name: merge them.
        let (mut a, mut b) = (own.iter().peekable(), self.statics.iter().peekable());
        let mut first = true;
        loop {
            let take_static = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.0 > y.0.as_str(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            let (name, value) = if take_static {
                b.next().map(|(n, v)| (n.as_str(), v.as_str()))
            } else {
                a.next().copied()
            }
            .unwrap_or_default();
            out.push(if first { '{' } else { ',' });
            first = false;
            out.push_str(name);
            out.push_str("=\"");
            escape(out, value, true);
            out.push('"');
        }
        if let Some(le) = le {
            out.push(if first { '{' } else { ',' });
            first = false;
            out.push_str("le=\"");
            number(out, le);
            out.push('"');
        }
        if !first {
            out.push('}');
        }
        out.push(' ');
        number(out, v);
        out.push('\n');
    }
}

/// A value as the crate writes it (`f64::to_string`), with `+Inf` for the last bucket.
fn number(out: &mut String, v: f64) {
    if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Escapes `\` and newlines, and `"` in label values.
fn escape(out: &mut String, s: &str, quote: bool) {
    if !s.contains(['\\', '\n', '"']) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}
