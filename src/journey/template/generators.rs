//! Generators: values made fresh for each render (`uuid`, `now`, `now_unix`,
//! `random_digits(n)`), for unique order references and timestamps.

use std::collections::BTreeMap;

use chrono::{SecondsFormat, Utc};
use minijinja::ErrorKind;
use minijinja::value::Value;
use rand::Rng;

/// Names always defined in templates besides vars and captures.
pub const GENERATORS: &[&str] = &["uuid", "now", "now_unix", "random_digits"];

/// Largest `n` accepted by `random_digits(n)`.
pub const MAX_RANDOM_DIGITS: usize = 64;

/// Adds the generator values of one render to its context (vars may shadow them later).
pub(super) fn insert(ctx: &mut BTreeMap<&str, Value>) {
    let now = Utc::now();
    ctx.insert("uuid", Value::from(uuid::Uuid::new_v4().to_string()));
    ctx.insert(
        "now",
        Value::from(now.to_rfc3339_opts(SecondsFormat::Secs, true)),
    );
    ctx.insert("now_unix", Value::from(now.timestamp()));
}

/// `random_digits(n)`: `n` random decimal digits, for unique phone numbers,
/// card suffixes and the like.
pub(super) fn random_digits(n: usize) -> Result<String, minijinja::Error> {
    if n > MAX_RANDOM_DIGITS {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("random_digits({n}): at most {MAX_RANDOM_DIGITS} digits"),
        ));
    }
    let mut rng = rand::rng();
    Ok((0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect())
}
