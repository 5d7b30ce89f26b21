//! The registered claims a verifier must check (RFC 7519 §4.1, RFC 9068 §4): `exp` (required),
//! `nbf`, `iss` (required, one of the trusted issuers), `aud` (required, naming this resource).

use serde_json::Number;

use super::AuthError;
use crate::claims::{ClaimObject, ClaimValue};

/// When a token may be used, from its checked `exp` and `nbf` (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeWindow {
    pub(crate) expires: i64,
    pub(crate) not_before: Option<i64>,
}

/// What the registered claims must say.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    /// The claim the audience is read from: `aud`, or `client_id` for identity providers whose
    /// access tokens name the client instead (Amazon Cognito).
    pub(crate) audience_claim: String,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub(crate) leeway: i64,
}

impl ClaimRules {
    /// Checks `claims` at `now` (seconds since the epoch), in the order jsonwebtoken does: the
    /// required claims' presence, their types, the time window, the issuer, the audience.
    pub(crate) fn check(
        &self,
        claims: &ClaimObject<'_>,
        now: i64,
    ) -> Result<TimeWindow, AuthError> {
        for required in ["exp", "iss", self.audience_claim.as_str()] {
            if !claims.contains_key(required) {
                return Err(AuthError::MissingClaim(required.into()));
            }
        }
        let exp = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim("exp".into()))?;
        let nbf = numeric_date(claims, "nbf")?;
        if exp < now.saturating_sub(self.leeway) {
            return Err(AuthError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::NotYetValid);
        }
        let iss = claims
            .get("iss")
            .and_then(ClaimValue::as_str)
            .ok_or(type_error("iss", "a string"))?;
        if !self.issuers.iter().any(|trusted| trusted == iss) {
            return Err(AuthError::WrongIssuer);
        }
        let named = |aud: &str| self.audiences.iter().any(|ours| ours == aud);
        let aud = self.audience_claim.as_str();
        let audience_ok = match claims.get(aud) {
            Some(ClaimValue::String(aud)) => named(aud),
            Some(ClaimValue::Array(auds)) => {
                let mut any = false;
                for item in auds {
                    any |= named(
                        item.as_str()
                            .ok_or(type_error(aud, "a string or an array of strings"))?,
                    );
                }
                any
            }
            _ => return Err(type_error(aud, "a string or an array of strings")),
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }
        Ok(TimeWindow {
            expires: exp,
            not_before: nbf,
        })
    }
}

fn type_error(claim: &str, expected: &'static str) -> AuthError {
    AuthError::ClaimType {
        claim: claim.into(),
        expected,
    }
}

/// A NumericDate claim: an integer, or a fraction (rounded down), of seconds since the epoch.
fn numeric_date(claims: &ClaimObject<'_>, name: &str) -> Result<Option<i64>, AuthError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let ClaimValue::Number(n) = value else {
        return Err(type_error(name, "a NumericDate (seconds since the epoch)"));
    };
    Ok(Some(seconds(n).ok_or(type_error(
        name,
        "a NumericDate (seconds since the epoch)",
    ))?))
}

/// A NumericDate in a JSON value, read as every verifier reads `exp` and `nbf` (see
/// [`seconds`]); `None` when it is not a number.
pub(crate) fn json_numeric_date(value: &serde_json::Value) -> Option<i64> {
    value.as_number().and_then(seconds)
}

/// Seconds of a NumericDate: an integer, or a fraction rounded down; past `i64` is `i64::MAX`.
pub(crate) fn seconds(n: &Number) -> Option<i64> {
    n.as_i64()
        .or_else(|| n.as_u64().map(|_| i64::MAX))
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.floor() as i64)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const NOW: i64 = 1_800_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuers: vec!["https://iss".into()],
            audiences: vec!["https://mcp/mcp".into()],
            audience_claim: "aud".into(),
            leeway: 30,
        }
    }

    fn check(extra: Value) -> Result<(), AuthError> {
        let mut claims = json!({"iss": "https://iss", "aud": "https://mcp/mcp", "exp": NOW + 60});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(&k);
            } else {
                claims[k] = v;
            }
        }
        let map = claims.as_object().unwrap();
        rules().check(&ClaimObject::from(map), NOW).map(|_| ())
    }

    #[test]
    fn the_window_is_the_checked_claims() {
        let claims = json!({"iss": "https://iss", "aud": "https://mcp/mcp", "exp": NOW as f64 + 60.9, "nbf": NOW - 5});
        let window = rules().check(&ClaimObject::from(claims.as_object().unwrap()), NOW);
        assert_eq!(
            window,
            Ok(TimeWindow {
                expires: NOW + 60,
                not_before: Some(NOW - 5)
            })
        );
    }

    #[test]
    fn the_audience_can_come_from_another_claim() {
        let rules = ClaimRules {
            audiences: vec!["3n4b5urk1ft4fl3mg5e62nqo6g".into()],
            audience_claim: "client_id".into(),
            ..rules()
        };
        let check = |claims: Value| {
            let map = claims.as_object().cloned().unwrap();
            rules.check(&ClaimObject::from(&map), NOW).map(|_| ())
        };
        let base = json!({"iss": "https://iss", "exp": NOW + 60});
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            c[k] = v;
            c
        };
        assert_eq!(
            check(with("client_id", json!("3n4b5urk1ft4fl3mg5e62nqo6g"))),
            Ok(())
        );
        assert_eq!(
            check(with("client_id", json!("other-client"))),
            Err(AuthError::WrongAudience)
        );
        // `aud` naming us does not stand in for the configured claim.
        assert_eq!(
            check(with("aud", json!("3n4b5urk1ft4fl3mg5e62nqo6g"))),
            Err(AuthError::MissingClaim("client_id".into()))
        );
        assert_eq!(
            check(with("client_id", json!(7))),
            Err(AuthError::ClaimType {
                claim: "client_id".into(),
                expected: "a string or an array of strings"
            })
        );
    }

    #[test]
    fn each_rule() {
        assert_eq!(check(json!({})), Ok(()));
        for c in ["exp", "iss", "aud"] {
            assert_eq!(
                check(json!({c: null})),
                Err(AuthError::MissingClaim(c.into()))
            );
        }
        assert_eq!(check(json!({"exp": NOW - 30})), Ok(()), "inside the leeway");
        assert_eq!(check(json!({"exp": NOW - 31})), Err(AuthError::Expired));
        assert_eq!(check(json!({"exp": (NOW + 5) as f64 + 0.5})), Ok(()));
        assert_eq!(check(json!({"nbf": NOW + 30})), Ok(()));
        assert_eq!(check(json!({"nbf": NOW + 31})), Err(AuthError::NotYetValid));
        assert_eq!(
            check(json!({"iss": "https://other"})),
            Err(AuthError::WrongIssuer)
        );
        assert_eq!(
            check(json!({"iss": "https://iss/"})),
            Err(AuthError::WrongIssuer)
        );
        assert_eq!(
            check(json!({"aud": "https://other"})),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check(json!({"aud": ["https://a", "https://mcp/mcp"]})),
            Ok(())
        );
        assert_eq!(check(json!({"aud": []})), Err(AuthError::WrongAudience));
        assert!(matches!(
            check(json!({"exp": "soon"})),
            Err(AuthError::ClaimType { .. })
        ));
        assert!(matches!(
            check(json!({"nbf": true})),
            Err(AuthError::ClaimType { .. })
        ));
        assert!(matches!(
            check(json!({"iss": ["https://iss"]})),
            Err(AuthError::ClaimType { .. })
        ));
        assert!(matches!(
            check(json!({"aud": 5})),
            Err(AuthError::ClaimType { .. })
        ));
        assert!(matches!(
            check(json!({"aud": ["https://mcp/mcp", 5]})),
            Err(AuthError::ClaimType { .. })
        ));
    }
}
