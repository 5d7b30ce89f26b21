//! Verified claims → principal, for every preset mapping and for claim paths taken from the
//! input. Input: JSON claims; when it starts with `#`, its first line (after the `#`) is a
//! dotted claim path read as roles and scopes by two custom mappings.
//!
//! Checks: the same claims always map the same way; `sub` decides the subject (missing →
//! `MissingClaim`, not a non-empty string → `ClaimType`); the default mapping grants every
//! name of a well-typed `permissions` array and refuses a `permissions` of another type;
//! Keycloak keeps every realm role; a dotted path equals the same path given as segments
//! whenever no key in the claims contains a dot; reading the JSON text in place
//! (`principal_from_json`, what the JWT verifier does) maps exactly as the parsed map does,
//! `claims()` included, and text that is not a JSON object is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_rbac::verify::AuthError;
use mcp_rbac::{ClaimShape, ClaimSource, ClaimsMapping, Principal};
use mcp_rbac_fuzz::tokens;
use serde_json::{Map, Value};

/// What a mapping produced, comparable across runs.
type Outcome = Result<(String, Vec<String>, Vec<String>, Vec<String>), AuthError>;

fn outcome(mapping: &ClaimsMapping, claims: &Map<String, Value>) -> Outcome {
    mapping.principal(claims.clone()).map(|p: Principal| {
        (
            p.subject().to_owned(),
            p.permissions().names(),
            p.roles().to_vec(),
            p.scopes().to_vec(),
        )
    })
}

fn any_dotted_key(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains('.') || any_dotted_key(v)),
        Value::Array(items) => items.iter().any(any_dotted_key),
        _ => false,
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, json) = match text.strip_prefix('#') {
        Some(rest) => rest.split_once('\n').unwrap_or((rest, "")),
        None => ("realm_access.roles", text),
    };
    let Ok(claims) = serde_json::from_str::<Map<String, Value>>(json) else {
        assert_eq!(
            ClaimsMapping::default()
                .principal_from_json(json.as_bytes())
                .err(),
            Some(AuthError::Malformed),
            "text serde_json refuses as an object was read"
        );
        return;
    };

    let policy = tokens::products_policy();
    let dotted = ClaimsMapping::none()
        .with_roles(ClaimSource::new(path, ClaimShape::Array))
        .with_scopes(ClaimSource::new(path, ClaimShape::SpaceDelimitedOrArray))
        .with_role_policy(policy.clone());
    let segmented = ClaimsMapping::none()
        .with_roles(ClaimSource::from_segments(
            path.split('.'),
            ClaimShape::Array,
        ))
        .with_scopes(ClaimSource::from_segments(
            path.split('.'),
            ClaimShape::SpaceDelimitedOrArray,
        ))
        .with_role_policy(policy.clone());
    let default = ClaimsMapping::default().with_role_policy(policy.clone());
    let keycloak = ClaimsMapping::keycloak("mcp-products").with_role_policy(policy.clone());
    let mappings = [
        &default,
        &keycloak,
        &ClaimsMapping::entra_id(),
        &ClaimsMapping::auth0(),
        &ClaimsMapping::okta(),
        &ClaimsMapping::cognito().with_role_policy(policy),
        &dotted,
        &segmented,
    ];

    for mapping in mappings {
        let first = outcome(mapping, &claims);
        let in_place = mapping.principal_from_json(json.as_bytes());
        assert_eq!(
            in_place.as_ref().map(|p| (
                p.subject().to_owned(),
                p.permissions().names(),
                p.roles().to_vec(),
                p.scopes().to_vec(),
            )),
            first.as_ref().map(|o| o.clone()),
            "in-place reading and the map disagree"
        );
        if let Ok(p) = &in_place {
            assert_eq!(p.claims(), &claims, "claims() is not the payload");
        }
        assert_eq!(
            first,
            outcome(mapping, &claims),
            "mapping is not deterministic"
        );
        match claims.get("sub") {
            None => assert_eq!(first, Err(AuthError::MissingClaim("sub".into()))),
            Some(Value::String(s)) if !s.is_empty() => {
                if let Ok((subject, ..)) = &first {
                    assert_eq!(subject, s);
                }
            }
            Some(_) => assert!(
                matches!(&first, Err(AuthError::ClaimType { claim, .. }) if claim == "sub"),
                "{first:?}"
            ),
        }
    }

    let by_default = default.principal(claims.clone());
    match claims.get("permissions") {
        None | Some(Value::Null | Value::Array(_)) => {
            if let Ok(principal) = &by_default {
                for name in strings(claims.get("permissions")) {
                    assert!(principal.has_permission(name), "{name} not granted");
                }
            }
        }
        Some(_) => assert!(
            by_default.is_err(),
            "a mistyped `permissions` claim granted"
        ),
    }
    if let Ok(principal) = keycloak.principal(claims.clone()) {
        let realm = claims.get("realm_access").and_then(|r| r.get("roles"));
        for role in strings(realm) {
            assert!(
                principal.roles().iter().any(|r| r == role),
                "realm role {role} lost"
            );
        }
    }
    if !path.contains("..") && !any_dotted_key(&Value::Object(claims.clone())) {
        assert_eq!(
            outcome(&dotted, &claims),
            outcome(&segmented, &claims),
            "dotted path `{path}` and its segments disagree"
        );
    }
});
