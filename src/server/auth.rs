//! Bearer-token check for the admin endpoints.
//!
//! The token and the `Authorization` header are never logged, echoed or
//! stored: a rejected request is logged with the reason only.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api;

/// Why the admin endpoints are off, shown to a caller when no token is configured.
/// Names the configuration key (`admin_token_secret`, the secret holding the token).
pub const DISABLED_MESSAGE: &str =
    "admin endpoints are disabled: set admin_token_secret in the configuration";

/// Why an admin request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No admin token is configured: 403.
    Disabled,
    /// No `Authorization: Bearer` header: 401.
    Missing,
    /// A bearer token that is not the configured one: 401.
    Wrong,
}

/// Checks `Authorization: Bearer <token>` against the configured admin token.
///
/// No token configured (or an empty one, which would accept `Bearer ` alone)
/// is [`Denied::Disabled`]; a missing, malformed or wrong token is
/// [`Denied::Missing`] or [`Denied::Wrong`].
pub fn authorize(expected: Option<&str>, headers: &HeaderMap) -> Result<(), Denied> {
    let Some(expected) = expected.filter(|t| !t.is_empty()) else {
        return Err(Denied::Disabled);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| bearer_token(v.as_bytes()));
    match presented {
        Some(token) if ct_eq(token, expected.as_bytes()) => Ok(()),
        Some(_) => Err(Denied::Wrong),
        None => Err(Denied::Missing),
    }
}

/// The refusal as a response; a 401 is also logged (WARN, reason only) here,
/// so each endpoint cannot forget it.
impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let reason = match self {
            Denied::Disabled => return api::error(StatusCode::FORBIDDEN, DISABLED_MESSAGE),
            Denied::Missing => "missing bearer token",
            Denied::Wrong => "wrong bearer token",
        };
        tracing::warn!(reason, "Rejected an admin request.");
        let mut response = api::error(StatusCode::UNAUTHORIZED, reason);
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }
}

/// The token of an `Authorization: Bearer <token>` header value. The scheme is
/// case-insensitive (RFC 9110 section 11.1).
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if value.len() <= SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    Some(value[SCHEME.len()..].trim_ascii())
}

/// Compares a presented token with the expected one in time that depends only
/// on the presented token's length, never on where the first difference is.
///
/// Why: `==` on byte slices stops at the first differing byte, so response
/// times tell an attacker on the network how many leading bytes of a guess are
/// right, and the token can be recovered one byte at a time. Here every byte of
/// the presented token is compared, and the length difference is folded into
/// the same accumulator instead of returning early.
pub fn ct_eq(presented: &[u8], expected: &[u8]) -> bool {
    if expected.is_empty() {
        return false;
    }
    let mut diff = presented.len() ^ expected.len();
    for (i, &p) in presented.iter().enumerate() {
        let e = expected[i % expected.len()];
        diff |= usize::from(p ^ e);
    }
    // Keeps the optimiser from turning the loop back into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_accepts_only_the_exact_token() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"s3cret", b"s3cret", true),
            (b"s3cres", b"s3cret", false),
            (b"S3cret", b"s3cret", false),
            (b"s3cre", b"s3cret", false),
            (b"s3crets3cret", b"s3cret", false),
            (b"", b"s3cret", false),
            (b"", b"", false),
        ];
        for &(presented, expected, want) in cases {
            assert_eq!(
                ct_eq(presented, expected),
                want,
                "{presented:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer"), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
    }

    #[test]
    fn empty_configured_token_disables_admin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(authorize(Some(""), &headers), Err(Denied::Disabled));
        assert_eq!(authorize(None, &headers), Err(Denied::Disabled));
        assert_eq!(
            Denied::Disabled.into_response().status(),
            StatusCode::FORBIDDEN
        );
    }
}
