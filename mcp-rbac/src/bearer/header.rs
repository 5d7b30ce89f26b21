//! The `Authorization: Bearer <token>` header (RFC 6750 §2.1). Only the header is read: a token in
//! the query string or body is never looked at, so it authenticates nothing.

use http::header::AUTHORIZATION;
use http::HeaderMap;

/// Why a present `Authorization` header is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Two or more `Authorization` headers.
    Duplicate,
    /// Not visible ASCII, or not `Bearer <b64token>`.
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

/// The bearer token, `Ok(None)` when there is no bearer credential at all (no header, or another
/// scheme such as Basic), or why the header is unusable.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, HeaderError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HeaderError::Duplicate);
    }
    let value = value.to_str().map_err(|_| HeaderError::Malformed)?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() || !is_b64token(token) {
        return Err(HeaderError::Malformed);
    }
    Ok(Some(token))
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

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
    fn other_schemes_and_absence_are_not_bearer() {
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Basic dXNlcjpwYXNz"])), Ok(None));
        assert_eq!(bearer_token(&headers(&[b"Bearertoken"])), Ok(None));
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
