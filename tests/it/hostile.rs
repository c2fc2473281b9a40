//! Hostile targets: the HTTP client classifies every misbehaving server within its timeout.
