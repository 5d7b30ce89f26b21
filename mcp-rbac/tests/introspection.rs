//! `IntrospectionVerifier` against a real RFC 7662 endpoint served on 127.0.0.1 by the test:
//! client authentication, the mapping of answers to principals, the caches (hits, TTL, `exp`,
//! inactive answers) on a manual clock, the cap on requests in flight, and every way the
//! endpoint can fail, each refusing the token without naming it.

#![cfg(feature = "jwks")]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use mcp_rbac::verify::{
    AuthError, IntrospectionConfigError, IntrospectionVerifier, IntrospectionVerifierBuilder,
    ManualClock, TokenVerifier, TokenVerifierExt,
};
use mcp_rbac::{ClaimsMapping, RolePolicy};
use serde_json::{json, Value};

const CLIENT_ID: &str = "mcp-products";
const CLIENT_SECRET: &str = "s3cret/with+chars";
const ISS: &str = "https://sso.example.com/realms/acme";
const FAILED: &str = "token introspection failed";
const AUDIENCE: &str = "mcp-products";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The authorization server: answers by token, counts calls per token. Tokens starting with
/// `blocked-` wait for a permit of `gate` before answering inactive.
struct Server {
    calls: Mutex<HashMap<String, usize>>,
    gate: tokio::sync::Semaphore,
}

impl Server {
    fn calls(&self, token: &str) -> usize {
        self.calls.lock().unwrap().get(token).copied().unwrap_or(0)
    }

    fn total_calls(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }
}

fn active(extra: Value) -> Value {
    let mut answer = json!({
        "active": true,
        "sub": "f3c2a1b0-6d5e-4c3b-8a9f-0e1d2c3b4a59",
        "scope": "openid profile",
        "client_id": "mcp-inspector",
        "username": "alice",
        "token_type": "Bearer",
        "typ": "Bearer",
        "iss": ISS,
        "aud": ["mcp-products", "account"],
        "exp": now() + 300,
        "iat": now(),
        "jti": "onrtac:6b8f2d4e",
        "realm_access": {"roles": ["user"]},
        "resource_access": {"mcp-products": {"roles": ["admin"]}},
    });
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        if v.is_null() {
            answer.as_object_mut().unwrap().remove(&k);
        } else {
            answer[k] = v;
        }
    }
    answer
}

async fn introspect(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("mcp-products:s3cret%2Fwith%2Bchars")
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(&expected)
    {
        return (StatusCode::UNAUTHORIZED, "{\"error\":\"invalid_client\"}").into_response();
    }
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let Some(token) = form.get("token").cloned() else {
        return (StatusCode::BAD_REQUEST, "{\"error\":\"invalid_request\"}").into_response();
    };
    *server
        .calls
        .lock()
        .unwrap()
        .entry(token.clone())
        .or_default() += 1;
    let json = |v: Value| axum::Json(v).into_response();
    if token.starts_with("blocked-") {
        if let Ok(permit) = server.gate.acquire().await {
            permit.forget();
        }
        return json(json!({"active": false}));
    }
    match token.as_str() {
        "active-user" | "cached-then-revoked" | "a+b/c=d&e %" => json(active(json!({}))),
        "expires-soon" => json(active(json!({"exp": now() + 1}))),
        "inactive" => json(json!({"active": false})),
        "server-error" => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "garbage" => (StatusCode::OK, "<html>not json</html>").into_response(),
        "array" => json(json!([{"active": true}])),
        "no-active" => json(json!({"sub": "x", "scope": "a"})),
        "active-string" => json(active(json!({"active": "true"}))),
        "huge" => json(active(json!({"padding": "x".repeat(100 * 1024)}))),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            json(active(json!({})))
        }
        "redirect" => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, "http://127.0.0.1:1/elsewhere")],
        )
            .into_response(),
        "wrong-iss" => json(active(json!({"iss": "https://evil.example"}))),
        "no-iss" => json(active(json!({"iss": null}))),
        "wrong-aud" => json(active(json!({"aud": "another-api"}))),
        "no-sub" => json(active(json!({"sub": null, "client_id": null}))),
        "client-credentials" => json(active(json!({"sub": null}))),
        "bad-scope" => json(active(json!({"scope": 5}))),
        "bad-exp" => json(active(json!({"exp": "tomorrow"}))),
        "bad-aud" => json(active(json!({"aud": [1]}))),
        "bad-client-id" => json(active(json!({"client_id": 7}))),
        "expired" => json(active(json!({"exp": now() - 120}))),
        "not-yet" => json(active(json!({"nbf": now() + 600}))),
        "refresh-token" => json(active(json!({"token_type": "refresh_token"}))),
        "keycloak-refresh" => json(active(json!({"typ": "Refresh", "token_type": null}))),
        "dpop-bound" => json(active(json!({"token_type": "DPoP"}))),
        _ => json(json!({"active": false})),
    }
}

async fn start() -> (String, Arc<Server>) {
    let server = Arc::new(Server {
        calls: Mutex::default(),
        gate: tokio::sync::Semaphore::new(0),
    });
    let app = Router::new()
        .route("/introspect", post(introspect))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, server)
}

fn policy() -> RolePolicy {
    RolePolicy::from_toml_str(
        r#"
        [roles.guest]
        permissions = ["Guest.Read"]
        [roles.user]
        inherits = ["guest"]
        permissions = ["User.Read", "User.Write"]
        [roles.admin]
        inherits = ["user"]
        permissions = ["Admin.*"]
        "#,
    )
    .unwrap()
}

/// A builder with this resource server's credentials and audience.
fn builder(url: &str) -> IntrospectionVerifierBuilder {
    IntrospectionVerifier::builder(url)
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .audience(AUDIENCE)
}

fn verifier(url: &str) -> IntrospectionVerifier {
    builder(url)
        .claims(ClaimsMapping::keycloak("mcp-products").with_role_policy(policy()))
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_active_answer_is_a_principal_and_is_cached() {
    let (url, server) = start().await;
    let v = verifier(&url);
    let p = v.verify("active-user").await.unwrap();
    assert_eq!(p.subject(), "f3c2a1b0-6d5e-4c3b-8a9f-0e1d2c3b4a59");
    assert_eq!(p.issuer(), Some(ISS));
    assert_eq!(p.roles(), ["user", "admin"]);
    assert_eq!(p.scopes(), ["openid", "profile"]);
    assert_eq!(
        p.permissions().names(),
        [
            "Guest.Read",
            "User.Read",
            "User.Write",
            "openid",
            "profile",
            "Admin.*"
        ]
    );
    assert_eq!(p.claims()["client_id"], "mcp-inspector");
    assert!(!p.claims().contains_key("active"));

    let again = v.verify("active-user").await.unwrap();
    assert_eq!(again.subject(), p.subject());
    assert_eq!(
        server.calls("active-user"),
        1,
        "the second use is a cache hit"
    );

    // Tokens are sent form-encoded and cached by their exact text.
    let odd = "a+b/c=d&e %";
    assert_eq!(v.verify(odd).await.unwrap().subject(), p.subject());
    assert_eq!(server.calls(odd), 1);
    assert_eq!(
        v.verify("active-user ").await.unwrap_err(),
        AuthError::Rejected("token is not active".into())
    );
    assert_eq!(server.calls("active-user"), 1);
}

#[tokio::test]
async fn cache_entries_expire_at_the_ttl() {
    let (url, server) = start().await;
    let clock = ManualClock::new(now());
    let v = builder(&url)
        .cache_ttl(Duration::from_millis(300))
        .clock(clock.clock())
        .build()
        .unwrap();
    v.verify("active-user").await.unwrap();
    clock.advance(Duration::from_millis(299));
    v.verify("active-user").await.unwrap();
    assert_eq!(server.calls("active-user"), 1);
    clock.advance(Duration::from_millis(1));
    v.verify("active-user").await.unwrap();
    assert_eq!(
        server.calls("active-user"),
        2,
        "expired entries are asked again"
    );
    v.verify("active-user").await.unwrap();
    assert_eq!(server.calls("active-user"), 2);
}

#[tokio::test]
async fn cache_entries_never_outlive_exp() {
    let (url, server) = start().await;
    // Not ahead of the server's clock, so the answer's `exp` (its now + 1 s) is 1 or 2 s away.
    let clock = ManualClock::new(now());
    let v = builder(&url).clock(clock.clock()).build().unwrap(); // TTL 60 s by default
    v.verify("expires-soon").await.unwrap();
    v.verify("expires-soon").await.unwrap();
    assert_eq!(server.calls("expires-soon"), 1);
    clock.advance(Duration::from_secs(2));
    v.verify("expires-soon").await.unwrap();
    assert_eq!(
        server.calls("expires-soon"),
        2,
        "the entry ended at exp, not the TTL"
    );
}

#[tokio::test]
async fn a_ttl_of_zero_turns_the_cache_off() {
    let (url, server) = start().await;
    let v = builder(&url).cache_ttl(Duration::ZERO).build().unwrap();
    for _ in 0..3 {
        v.verify("active-user").await.unwrap();
    }
    assert_eq!(server.calls("active-user"), 3);
}

#[tokio::test]
async fn an_inactive_answer_is_reused_for_the_negative_ttl() {
    let (url, server) = start().await;
    let clock = ManualClock::new(now());
    let v = builder(&url)
        .negative_cache_ttl(Duration::from_secs(10))
        .clock(clock.clock())
        .build()
        .unwrap();
    let inactive = || AuthError::Rejected("token is not active".into());
    for _ in 0..5 {
        assert_eq!(v.verify("inactive").await.unwrap_err(), inactive());
    }
    assert_eq!(server.calls("inactive"), 1, "one request within the TTL");
    clock.advance(Duration::from_secs(10));
    assert_eq!(v.verify("inactive").await.unwrap_err(), inactive());
    assert_eq!(server.calls("inactive"), 2, "asked again after the TTL");
    // Failures are not inactive answers: never remembered.
    for _ in 0..2 {
        assert!(v.verify("server-error").await.is_err());
    }
    assert_eq!(server.calls("server-error"), 2);

    let off = builder(&url)
        .negative_cache_ttl(Duration::ZERO)
        .build()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(off.verify("inactive").await.unwrap_err(), inactive());
    }
    assert_eq!(server.calls("inactive"), 4);
}

#[tokio::test]
async fn requests_beyond_the_cap_do_not_reach_the_server() {
    let (url, server) = start().await;
    let v = Arc::new(
        builder(&url)
            .max_concurrent_requests(2)
            .queue_wait(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let in_flight: Vec<_> = ["blocked-1", "blocked-2"]
        .into_iter()
        .map(|token| {
            let v = v.clone();
            tokio::spawn(async move { v.verify(token).await })
        })
        .collect();
    // Both reach the server and stay there (the gate is closed).
    for _ in 0..500 {
        if server.total_calls() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.total_calls(), 2);
    // The third finds no free slot within the queue wait: refused without a request.
    assert_eq!(
        v.verify("blocked-3").await.unwrap_err(),
        AuthError::Rejected("token introspection is busy".into())
    );
    assert_eq!(server.calls("blocked-3"), 0);
    server.gate.add_permits(3);
    for task in in_flight {
        assert!(task.await.unwrap().is_err(), "the fake answers inactive");
    }
    // With the slots free again, it is asked.
    assert!(v.verify("blocked-3").await.is_err());
    assert_eq!(server.calls("blocked-3"), 1);
}

#[tokio::test]
async fn only_access_tokens_are_accepted() {
    let (url, _server) = start().await;
    let v = verifier(&url);
    for token in ["refresh-token", "keycloak-refresh", "dpop-bound"] {
        assert_eq!(
            v.verify(token).await.unwrap_err(),
            AuthError::NotAnAccessToken,
            "{token}"
        );
    }
}

#[tokio::test]
async fn endpoint_failures_fail_closed_without_naming_the_token() {
    let (url, server) = start().await;
    let v = verifier(&url);
    for token in [
        "server-error",
        "garbage",
        "array",
        "no-active",
        "active-string",
        "huge",
        "slow",
        "redirect",
    ] {
        let err = v.verify(token).await.unwrap_err();
        assert_eq!(err, AuthError::Rejected(FAILED.into()), "{token}");
        assert!(!err.to_string().contains(token));
        assert_eq!(server.calls(token), 1, "{token}");
        // Failures are not cached: the next request asks again.
        assert!(v.verify(token).await.is_err());
        assert_eq!(server.calls(token), 2, "{token}");
    }

    // Wrong client credentials: the endpoint answers 401 and the token is refused.
    let wrong = IntrospectionVerifier::builder(&url)
        .client_credentials(CLIENT_ID, "not-the-secret")
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let before = server.total_calls();
    assert_eq!(
        wrong.verify("active-user").await.unwrap_err(),
        AuthError::Rejected(FAILED.into())
    );
    assert_eq!(
        server.total_calls(),
        before,
        "refused before the token was read"
    );

    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let down = IntrospectionVerifier::builder(format!("http://{closed}/introspect"))
        .client_credentials(CLIENT_ID, CLIENT_SECRET)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    assert_eq!(
        down.verify("active-user").await.unwrap_err(),
        AuthError::Rejected(FAILED.into())
    );
}

#[tokio::test]
async fn the_issuer_is_checked_when_configured_the_audience_always() {
    let (url, _server) = start().await;
    let strict = builder(&url).issuer(ISS).build().unwrap();
    assert!(strict.verify("active-user").await.is_ok());
    assert_eq!(
        strict.verify("wrong-iss").await.unwrap_err(),
        AuthError::WrongIssuer
    );
    assert_eq!(
        strict.verify("no-iss").await.unwrap_err(),
        AuthError::MissingClaim("iss".into())
    );
    assert_eq!(
        strict.verify("wrong-aud").await.unwrap_err(),
        AuthError::WrongAudience
    );

    let any_issuer = verifier(&url);
    assert!(any_issuer.verify("wrong-iss").await.is_ok());
    assert!(any_issuer.verify("no-iss").await.is_ok());
    assert_eq!(
        any_issuer.verify("wrong-aud").await.unwrap_err(),
        AuthError::WrongAudience
    );
}

#[tokio::test]
async fn claims_of_active_answers_are_checked() {
    let (url, _server) = start().await;
    let v = verifier(&url);
    let type_error = |claim: &str, expected: &'static str| AuthError::ClaimType {
        claim: claim.into(),
        expected,
    };
    assert_eq!(v.verify("expired").await.unwrap_err(), AuthError::Expired);
    assert_eq!(
        v.verify("not-yet").await.unwrap_err(),
        AuthError::NotYetValid
    );
    assert_eq!(
        v.verify("no-sub").await.unwrap_err(),
        AuthError::MissingClaim("sub".into())
    );
    // A client-credentials token without `sub` acts for its client (RFC 9068 §2.2).
    assert_eq!(
        v.verify("client-credentials").await.unwrap().subject(),
        "mcp-inspector"
    );
    assert_eq!(
        v.verify("bad-scope").await.unwrap_err(),
        type_error("scope", "a space-delimited string")
    );
    assert_eq!(
        v.verify("bad-exp").await.unwrap_err(),
        type_error("exp", "a NumericDate (seconds since the epoch)")
    );
    assert_eq!(
        v.verify("bad-aud").await.unwrap_err(),
        type_error("aud", "a string or an array of strings")
    );
    assert_eq!(
        v.verify("bad-client-id").await.unwrap_err(),
        type_error("client_id", "a string")
    );
}

#[tokio::test]
async fn oversized_tokens_are_refused_before_any_request() {
    let (url, server) = start().await;
    let v = builder(&url).max_token_bytes(64).build().unwrap();
    assert_eq!(
        v.verify(&"t".repeat(65)).await.unwrap_err(),
        AuthError::TooLarge(64)
    );
    assert_eq!(server.total_calls(), 0);
}

#[tokio::test]
async fn validation_runs_on_cached_answers_too() {
    let (url, server) = start().await;
    let revoked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let v = verifier(&url).with_validation({
        let revoked = revoked.clone();
        move |principal| {
            let revoked = revoked.clone();
            async move {
                let jti = principal.claims().get("jti").and_then(Value::as_str);
                let is_revoked =
                    jti.is_none_or(|jti| revoked.lock().map_or(true, |set| set.contains(jti)));
                if is_revoked {
                    Err(AuthError::Rejected("token has been revoked".into()))
                } else {
                    Ok(())
                }
            }
        }
    });
    v.verify("cached-then-revoked").await.unwrap();
    v.verify("cached-then-revoked").await.unwrap();
    revoked.lock().unwrap().insert("onrtac:6b8f2d4e".into());
    assert_eq!(
        v.verify("cached-then-revoked").await.unwrap_err(),
        AuthError::Rejected("token has been revoked".into())
    );
    assert_eq!(
        server.calls("cached-then-revoked"),
        1,
        "the refusal came from the hook on a cache hit"
    );
}

#[test]
fn missing_credentials_or_audience_are_configuration_errors() {
    let endpoint = "https://idp.example/introspect";
    assert_eq!(
        (IntrospectionVerifier::builder(endpoint)
            .audience(AUDIENCE)
            .build()
            .unwrap_err())
        .to_string(),
        IntrospectionConfigError::NoCredentials.to_string()
    );
    let no_audience = IntrospectionVerifier::builder(endpoint).client_credentials(CLIENT_ID, "s");
    assert_eq!(
        (no_audience.build().unwrap_err()).to_string(),
        IntrospectionConfigError::NoAudience.to_string()
    );
    let empty = IntrospectionVerifier::builder(endpoint)
        .client_credentials(CLIENT_ID, "s")
        .audience("");
    assert_eq!(
        (empty.build().unwrap_err()).to_string(),
        IntrospectionConfigError::NoAudience.to_string()
    );
}
