//! The `Authorization: Bearer <token>` header (RFC 6750 §2.1), and `Authorization: DPoP <token>`
//! (RFC 9449 §7.1). Only the header is read: a token in the query string or body is never looked
//! at, so it authenticates nothing.

use std::ops::Range;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};

/// Why a present `Authorization` header is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Two or more `Authorization` headers.
    #[error("more than one Authorization header")]
    Duplicate,
    /// Not visible ASCII, or not `Bearer <b64token>`.
    #[error("Authorization header is not `Bearer <token>`")]
    Malformed,
}

impl HeaderError {
    pub(crate) fn description(self) -> &'static str {
        match self {
            HeaderError::Duplicate => "more than one Authorization header",
            HeaderError::Malformed => "Authorization header is not `Bearer <token>`",
        }
    }
}

/// The scheme a token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Bearer,
    Dpop,
}

/// The bearer token, `Ok(None)` when there is no bearer credential at all (no header, or another
/// scheme such as Basic), or why the header is unusable.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, HeaderError> {
    let Some(value) = single_value(headers)? else {
        return Ok(None);
    };
    let Some((Scheme::Bearer, range)) = token_range(value.as_bytes())? else {
        return Ok(None);
    };
    token_text(value, range).map(Some)
}

/// The only `Authorization` header, if any.
pub(crate) fn single_value(headers: &HeaderMap) -> Result<Option<&HeaderValue>, HeaderError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderError::Duplicate);
    }
    Ok(Some(value))
}

/// The scheme and where the token sits in a header value (`None`: another scheme). The token is
/// read in one pass over its bytes: a token can be kilobytes, and this runs on every request.
pub(crate) fn token_range(value: &[u8]) -> Result<Option<(Scheme, Range<usize>)>, HeaderError> {
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &b""[..]),
    };
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Some(Scheme::Bearer)
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        Some(Scheme::Dpop)
    } else {
        None
    };
    let Some(scheme) = scheme else {
        // Not ours to read, but a header that is not visible ASCII is malformed whatever its scheme.
        return if value
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            Ok(None)
        } else {
            Err(HeaderError::Malformed)
        };
    };
    let start = value.len() - rest.len() + rest.iter().take_while(|&&b| b == b' ').count();
    let end = value.len() - value.iter().rev().take_while(|&&b| b == b' ').count();
    if start >= end || !is_b64token(&value[start..end]) {
        return Err(HeaderError::Malformed);
    }
    Ok(Some((scheme, start..end)))
}

/// The token's text at `range` of `value`, a range [`token_range`] returned for it.
pub(crate) fn token_text(value: &HeaderValue, range: Range<usize>) -> Result<&str, HeaderError> {
    // A b64token is ASCII, so this never fails; it spares an `unsafe` conversion.
    std::str::from_utf8(&value.as_bytes()[range]).map_err(|_| HeaderError::Malformed)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    // `fold` with `&`, not `all`: no early exit, so the compiler checks many bytes per instruction.
    !body.is_empty() && body.iter().fold(true, |ok, &b| ok & is_b64_char(b))
}

fn is_b64_char(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    #[test]
    fn reads_bearer_tokens_in_any_scheme_case() {
        assert_eq!(
            bearer_token(&headers(&[b"Bearer abc.def.ghi"])),
            Ok(Some("abc.def.ghi"))
        );
        assert_eq!(bearer_token(&headers(&[b"bearer abc"])), Ok(Some("abc")));
        assert_eq!(
            bearer_token(&headers(&[b"BEARER abc=="])),
            Ok(Some("abc=="))
        );
    }

    #[test]
    fn each_byte_is_judged_as_rfc_6750_says() {
        for b in 0..=u8::MAX {
            let allowed = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64_char(b), allowed, "byte {b:#04x}");
            // Inside a long token too, where the check runs many bytes at a time.
            let mut token = vec![b'a'; 100];
            token[61] = b;
            assert_eq!(is_b64token(&token), allowed, "byte {b:#04x} at 61");
        }
        assert!(is_b64token(b"abc=="));
        assert!(!is_b64token(b"ab=c"));
    }

    #[test]
    fn other_schemes_and_absence_are_not_bearer() {
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Basic dXNlcjpwYXNz"])), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Bearertoken"])), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"DPoP abc.def.ghi"])), Ok(None));
        assert_eq!(token_range(b"dpop abc"), Ok(Some((Scheme::Dpop, 5..8))));
        assert_eq!(token_range(b"DPoP a b"), Err(HeaderError::Malformed));
    }

    #[test]
    fn malformed_headers_are_errors() {
        for bad in [
            &b"Bearer"[..],
            b"Bearer ",
            b"Bearer a b",
            b"Bearer a\"b",
            b"Bearer \xff\xfe",
            b"Bearer ===",
        ] {
            assert_eq!(
                bearer_token(&headers(&[bad])),
                Err(HeaderError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            bearer_token(&headers(&[b"Bearer a", b"Bearer b"])),
            Err(HeaderError::Duplicate)
        );
    }
}
