//! The journey's `trace:` key: which requests carry W3C trace headers.
//! `true` (or absent) traces the journey's own host, `false` nothing, and
//! `{ hosts: [...] }` exactly the listed hosts (`*.example.com` for subdomains).

use super::build::{Builder, loc};
use super::raw::{S, Value};
use crate::journey::model::TraceScope;

impl Builder<'_> {
    pub(super) fn trace(&mut self, raw: Option<&S<Value>>) -> TraceScope {
        let Some(raw) = raw else {
            return TraceScope::default();
        };
        let at = loc(raw);
        match &raw.value {
            Value::Bool(true) => TraceScope::OwnHost,
            Value::Bool(false) => TraceScope::Off,
            Value::Object(map) => {
                let mut hosts = Vec::new();
                for (k, v) in self.keyed("trace", at, map, &["hosts"]) {
                    debug_assert_eq!(k, "hosts");
                    hosts = self.trace_hosts(v, at);
                }
                TraceScope::Hosts(hosts)
            }
            _ => {
                self.err(
                    at,
                    "trace",
                    "expected true, false or `{ hosts: [shop.example.com, \"*.example.com\"] }`",
                );
                TraceScope::default()
            }
        }
    }

    fn trace_hosts(&mut self, v: Value, at: crate::journey::model::Location) -> Vec<String> {
        let items = match v {
            Value::Array(items) if !items.is_empty() => items,
            _ => {
                self.err(at, "trace.hosts", "expected a non-empty list of host names (use `trace: false` to send no trace headers)");
                return Vec::new();
            }
        };
        let mut hosts = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let host = item.as_str().unwrap_or_default();
            let name = host.strip_prefix("*.").unwrap_or(host);
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
            if ok {
                hosts.push(host.to_ascii_lowercase());
            } else {
                self.err(
                    at,
                    &format!("trace.hosts[{i}]"),
                    format!("`{item}` is not a host name (write `shop.example.com` or `*.example.com`, without scheme or port)"),
                );
            }
        }
        hosts
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::journey::model::TraceScope;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;

    fn parse(trace: &str) -> Result<TraceScope, String> {
        let src = format!(
            "name: j\n{trace}steps:\n  - name: a\n    request: {{ url: \"http://shop.example/\" }}\n"
        );
        parse_journey(Path::new("j.yaml"), &src, &Engine::default())
            .map(|j| j.trace)
            .map_err(|d| d[0].to_string())
    }

    #[test]
    fn trace_key_forms() {
        assert_eq!(parse(""), Ok(TraceScope::OwnHost));
        assert_eq!(parse("trace: true\n"), Ok(TraceScope::OwnHost));
        assert_eq!(parse("trace: false\n"), Ok(TraceScope::Off));
        assert_eq!(
            parse("trace: { hosts: [Shop.example, \"*.corp.example\"] }\n"),
            Ok(TraceScope::Hosts(vec![
                "shop.example".into(),
                "*.corp.example".into()
            ]))
        );
        let bad = parse("trace: { hosts: [\"http://x/\"] }\n").unwrap_err();
        assert!(bad.contains("trace.hosts[0]"), "{bad}");
        let typo = parse("trace: { host: [a] }\n").unwrap_err();
        assert!(typo.contains("did you mean `hosts`"), "{typo}");
    }
}
