//! Compiled regexes and JSONPaths shared by their text.
//!
//! A compiled `regex::Regex` costs about 9 KiB (its NFA, a small full DFA, the
//! meta strategy and a pool of search caches), a compiled JSONPath 100-200 bytes
//! of segments and selectors, and a thousand generated journeys often repeat the
//! same `matches:` pattern or the same `$.status`. Every journey loaded while a
//! text is alive gets the same `Arc`, in this load and across reloads; the entry
//! dies with the last journey that uses it. Matching is unchanged: the text is
//! the whole key, and both are safe to share between threads (a regex search
//! takes a cache from its pool; a JSONPath query reads its path only).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use regex::Regex;

use crate::journey::model::JsonQuery;

/// Live values by source text; dead entries are dropped whenever the map doubles.
struct Interned<T> {
    by_source: HashMap<String, Weak<T>>,
    /// Size at which dead entries are dropped next.
    prune_at: usize,
}

impl<T> Interned<T> {
    fn new() -> Mutex<Self> {
        Mutex::new(Self {
            by_source: HashMap::new(),
            prune_at: 64,
        })
    }
}

static REGEXES: LazyLock<Mutex<Interned<Regex>>> = LazyLock::new(Interned::new);
static JSON_PATHS: LazyLock<Mutex<Interned<JsonQuery>>> = LazyLock::new(Interned::new);

/// The compiled regex for `source`, shared with every other live user of the same text.
pub(crate) fn compile(source: &str) -> Result<Arc<Regex>, regex::Error> {
    shared(&REGEXES, source, Regex::new)
}

/// The compiled JSONPath for `source`, shared with every other live user of the same text.
pub(crate) fn json_path(source: &str) -> Result<Arc<JsonQuery>, serde_json_path::ParseError> {
    shared(&JSON_PATHS, source, JsonQuery::parse)
}

fn shared<T, E>(
    table: &Mutex<Interned<T>>,
    source: &str,
    make: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Arc<T>, E> {
    if let Some(live) = lock(table).by_source.get(source).and_then(Weak::upgrade) {
        return Ok(live);
    }
    // Compiled outside the lock: a large pattern must not stall other loads.
    let fresh = Arc::new(make(source)?);
    let mut interned = lock(table);
    if let Some(live) = interned.by_source.get(source).and_then(Weak::upgrade) {
        return Ok(live);
    }
    if interned.by_source.len() >= interned.prune_at {
        interned.by_source.retain(|_, w| w.strong_count() > 0);
        interned.prune_at = (interned.by_source.len() * 2).max(64);
    }
    interned
        .by_source
        .insert(source.to_string(), Arc::downgrade(&fresh));
    Ok(fresh)
}

fn lock<T>(table: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    table.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_shares_one_compiled_regex() {
        let a = compile("^interned-[0-9]+$").unwrap();
        let b = compile("^interned-[0-9]+$").unwrap();
        let other = compile("^interned-[a-z]+$").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        assert!(b.is_match("interned-42") && !b.is_match("interned-x"));
    }

    /// The `matches:` regex of a parsed journey's only JSON predicate.
    fn matches_regex(name: &str) -> Arc<Regex> {
        use crate::journey::model::{Expectation, Predicate};
        let src = format!(
            "name: {name}\nsteps:\n  - name: s\n    request: {{ url: \"http://h/\" }}\n    expect: {{ json: {{ \"$.status\": {{ matches: \"^shared-confirmed$\" }} }} }}\n"
        );
        let j = super::super::parse_journey(
            std::path::Path::new("j.yaml"),
            &src,
            &crate::journey::template::Engine::new(),
        )
        .unwrap();
        match &j.steps[0].expect[..] {
            [
                Expectation::Json {
                    predicate: Predicate::Matches(re),
                    ..
                },
            ] => re.clone(),
            other => panic!("unexpected expectations: {other:?}"),
        }
    }

    #[test]
    fn two_journeys_with_one_pattern_share_one_compiled_regex() {
        let (a, b) = (matches_regex("a"), matches_regex("b"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(a.is_match("shared-confirmed"));
    }

    #[test]
    fn a_pattern_no_journey_uses_is_compiled_again() {
        let first = compile("^dropped-pattern$").unwrap();
        let old = Arc::downgrade(&first);
        drop(first);
        assert!(old.upgrade().is_none());
        let again = compile("^dropped-pattern$").unwrap();
        assert!(again.is_match("dropped-pattern"));
    }

    #[test]
    fn same_json_path_text_shares_one_compiled_path() {
        let a = json_path("$.interned[0].id").unwrap();
        let b = json_path("$.interned[0].id").unwrap();
        let other = json_path("$.interned[1].id").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        assert_eq!(&*a.source, "$.interned[0].id");
        let doc = serde_json::json!({"interned": [{"id": 1}, {"id": 2}]});
        assert_eq!(a.path.query(&doc).first(), Some(&serde_json::json!(1)));
        assert!(json_path("$.[").is_err());
    }

    #[test]
    fn invalid_patterns_are_errors_and_not_remembered() {
        assert!(compile("(unclosed").is_err());
        assert!(compile("(unclosed").is_err());
    }
}
