//! RFC 7662 introspection responses, through the response handling the verifier runs on an
//! endpoint's answer (`IntrospectionVerifier::__principal_from_response`, feature `fuzzing`),
//! at a fixed clock so runs repeat. Two verifiers, both with an audience (required): one with
//! an issuer configured, one without.
//!
//! Checks: only a JSON object with `"active": true` is accepted; an accepted answer's subject
//! is its `sub` (or, without one, its `client_id`), its `exp` is not past and its `nbf` not
//! ahead (30 s leeway), its `aud` names us, its `token_type` (if any) is an access token
//! type, and for the configured verifier its `iss` is trusted; every name in a well-typed
//! `scope` is granted; a refusal never repeats a member value of 12 characters or more.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mcp_rbac::verify::IntrospectionVerifier;
use mcp_rbac_fuzz::json::{AUDIENCE, ISSUER};
use serde_json::{Map, Value};

/// The fixed clock, seconds since the epoch (2027-01-15).
const NOW: i64 = 1_800_000_000;
const LEEWAY: i64 = 30;

struct Verifiers {
    strict: IntrospectionVerifier,
    open: IntrospectionVerifier,
}

fn verifiers() -> &'static Verifiers {
    static VERIFIERS: OnceLock<Verifiers> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        let builder = || {
            IntrospectionVerifier::builder("https://issuer.example/introspect")
                .client_credentials("mcp", "fuzzing-client-secret")
                .audience(AUDIENCE)
        };
        Verifiers {
            strict: builder()
                .issuer(ISSUER)
                .build()
                .expect("a valid configuration"),
            open: builder().build().expect("a valid configuration"),
        }
    })
}

fn date(claims: &Map<String, Value>, name: &str) -> Option<f64> {
    claims.get(name).and_then(Value::as_f64)
}

fn long_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        // Text made only of the words refusals are written in can be copied from a refusal by
        // libFuzzer's comparison hooks (it did: `en introspection failed`); it proves nothing.
        Value::String(s)
            if s.len() >= 12
                && !s
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || matches!(c, ' ' | '`')) =>
        {
            out.push(s.clone())
        }
        Value::Array(items) => items.iter().for_each(|v| long_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| long_strings(v, out)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let v = verifiers();
    let answer: Option<Map<String, Value>> = serde_json::from_slice(data).ok();
    for (verifier, strict) in [(&v.strict, true), (&v.open, false)] {
        let result = verifier.__principal_from_response(data, NOW);
        let Ok(principal) = result else {
            if let (Err(error), Some(answer)) = (result, &answer) {
                let message = error.to_string();
                let mut values = Vec::new();
                long_strings(&Value::Object(answer.clone()), &mut values);
                for value in values {
                    assert!(!message.contains(&value), "`{message}` repeats the answer");
                }
            }
            continue;
        };
        let claims = answer
            .as_ref()
            .expect("an accepted answer is a JSON object");
        assert_eq!(claims.get("active"), Some(&Value::Bool(true)));
        let subject = claims.get("sub").or_else(|| claims.get("client_id"));
        assert_eq!(subject.and_then(Value::as_str), Some(principal.subject()));
        if let Some(exp) = date(claims, "exp") {
            assert!(exp.floor() >= (NOW - LEEWAY) as f64, "expired: {exp}");
        }
        if let Some(nbf) = date(claims, "nbf") {
            assert!(nbf.floor() <= (NOW + LEEWAY) as f64, "not yet valid: {nbf}");
        }
        if strict {
            assert_eq!(claims.get("iss").and_then(Value::as_str), Some(ISSUER));
        }
        let named = match claims.get("aud") {
            Some(Value::String(a)) => a == AUDIENCE,
            Some(Value::Array(items)) => items.iter().any(|a| a == AUDIENCE),
            _ => false,
        };
        assert!(named, "audience not named: {:?}", claims.get("aud"));
        if let Some(token_type) = claims.get("token_type") {
            let token_type = token_type.as_str().expect("a string token_type");
            assert!(
                ["bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"]
                    .contains(&token_type.to_ascii_lowercase().as_str()),
                "not an access token: {token_type}"
            );
        }
        if let Some(Value::String(scope)) = claims.get("scope") {
            for name in scope.split(' ').filter(|s| !s.is_empty()) {
                assert!(principal.has_permission(name), "scope {name} not granted");
            }
        }
    }
});
