//! Fail closed: whatever goes wrong around authentication, the answer is a refusal and no tool
//! body runs. A guarded router served without the bearer layer (stateless and with sessions), a
//! verifier that panics (the connection survives it), a validation hook that panics, and a
//! verifier configuration missing its algorithms or audience.
//!
//! Every `tracing` event of the binary is captured: at the end of each case the log holds none of
//! the tokens, signatures or keys used, and holds the refusals at their documented targets and
//! levels (README, "On the wire").
//!
//! Already covered elsewhere and not repeated: the 401 of a guarded router without the layer for
//! a small test router (`rmcp_parity.rs`), the panicking verifier at the tower level and the
//! `JwtConfigError` variants (`mcp-rbac/tests/jwt_verifier.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::{
    Algorithm, AuthError, JwtConfigError, JwtVerifier, TokenVerifier, TokenVerifierExt,
    VerificationKey,
};
use mcp_rbac::Principal;
use mcp_rbac_examples::products::Counters;
use mcp_rbac_tests::fixtures::logs::{self, Capture};
use mcp_rbac_tests::fixtures::{products_claims, raw_post, serve_products, RawConnection};
use mcp_rbac_tests::{Mcp, Reply, ServeOptions};
use serde_json::{json, Value};

/// `futures::future::BoxFuture`, which `TokenVerifier::verify` returns.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

const AUDIENCE: &str = "https://fail-closed.test/mcp";
const UNVERIFIED: &str = "token could not be verified";

/// The log capture of this binary (installed on first use).
fn log() -> &'static Capture {
    logs::capture()
}

/// A development issuer whose tokens (and public key) the log must never show.
fn issuer() -> DevIssuer {
    let issuer = DevIssuer::generate("https://issuer.test", AUDIENCE).unwrap();
    log().jwk(&serde_json::to_value(&issuer.jwks().keys[0]).unwrap());
    issuer
}

/// `issuer.token(claims)`, remembered as a secret of the log.
fn token(issuer: &DevIssuer, claims: Value) -> String {
    let token = issuer.token(claims);
    log().token(&token);
    token
}

/// The log so far holds no secret, and for each `(level, target, fields)` at least one event.
fn assert_logged(expected: &[(&str, &str, &[&str])]) {
    let text = log().assert_no_secret_logged();
    assert!(!text.is_empty(), "nothing captured");
    for (level, target, fields) in expected {
        assert!(
            !logs::lines(&text, level, target, fields).is_empty(),
            "no {level} event on {target} with {fields:?}"
        );
    }
}

fn assert_no_body_ran(counters: &Counters, case: &str) {
    let ran = counters.ran_except(&[]);
    assert!(ran.is_empty(), "{case}: these ran: {ran:?}");
}

fn calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "delete_product",
            json!({"name": "delete_product", "arguments": {"id": 1}}),
        ),
        (
            "create_product",
            json!({"name": "create_product", "arguments": {"name": "x", "price_cents": 1}}),
        ),
        (
            "get_product",
            json!({"name": "get_product", "arguments": {"id": 1}}),
        ),
        (
            "list_products",
            json!({"name": "list_products", "arguments": {}}),
        ),
        (
            "whoami (public, needs the caller)",
            json!({"name": "whoami", "arguments": {}}),
        ),
    ]
}

fn assert_unauthenticated(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 200, "{case}: {}", reply.raw);
    assert_eq!(
        reply.json["error"],
        json!({"code": 401, "message": "authentication required: this request carries no verified principal"}),
        "{case}: {}",
        reply.raw
    );
    assert!(reply.result().is_none(), "{case}");
}

/// Every request a client could make of a guarded router, without the bearer layer: each is the
/// JSON-RPC 401, with or without a (never verified) token, and no body runs.
async fn every_request_is_refused(client: &Mcp, counters: &Counters, mode: &str) {
    for (case, params) in calls() {
        let reply = client
            .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}))
            .await;
        assert_unauthenticated(&reply, &format!("{mode} {case}"));
    }
    let prompt = client.get_prompt("product_brief", json!({"id": "1"})).await;
    assert_unauthenticated(&prompt, &format!("{mode} prompts/get"));
    for (case, reply) in [
        ("tools/list", client.list_tools().await),
        ("prompts/list", client.list_prompts().await),
    ] {
        assert_unauthenticated(&reply, &format!("{mode} {case}"));
    }
    assert_no_body_ran(counters, mode);
}

#[tokio::test]
async fn guarded_router_without_the_bearer_layer_stateless() {
    let (served, counters) = serve_products(ServeOptions::default()).await;
    // A syntactically fine token changes nothing: no layer verifies it, so nothing trusts it.
    let issuer = issuer();
    let admin = token(&issuer, json!({"sub": "admin", "roles": ["admin"]}));
    for (mode, token) in [("anonymous", None), ("with a token", Some(admin.as_str()))] {
        every_request_is_refused(&Mcp::new(&served.url, token), &counters, mode).await;
    }
    assert_logged(&[UNAUTHENTICATED]);
}

/// A refused token whose verifier (or validation hook) panicked: on the auth target, at INFO.
const NOT_VERIFIED: (&str, &str, &[&str]) = (
    "INFO",
    "mcp_rbac::auth",
    &[
        "decision=\"reject\"",
        "reason=\"token could not be verified\"",
    ],
);

/// The admin's allowed `delete_product`: on the audit target, at DEBUG.
const ADMIN_DELETES: (&str, &str, &[&str]) = (
    "DEBUG",
    "mcp_rbac::audit",
    &[
        "decision=\"allow\"",
        "name=\"delete_product\"",
        "subject=\"admin\"",
    ],
);

/// What a guarded router without a principal logs: a deny on the audit target, at WARN.
const UNAUTHENTICATED: (&str, &str, &[&str]) = (
    "WARN",
    "mcp_rbac::audit",
    &[
        "decision=\"deny\"",
        "name=\"delete_product\"",
        "reason=\"no principal in request\"",
    ],
);

#[tokio::test]
async fn guarded_router_without_the_bearer_layer_with_sessions() {
    // rmcp's defaults: sessions, answers as SSE streams.
    let (served, counters) = serve_products(ServeOptions {
        sessions: true,
        ..ServeOptions::default()
    })
    .await;
    let mut client = Mcp::new(&served.url, None);
    let init = client.initialize().await;
    assert_eq!(init.status, 200, "{}", init.raw);
    assert!(
        init.result().is_some(),
        "initialize needs no principal: {}",
        init.raw
    );
    assert!(
        init.header("mcp-session-id").is_some(),
        "a session was made"
    );
    every_request_is_refused(&client, &counters, "session").await;
    served.stop().await.unwrap();
    assert_logged(&[UNAUTHENTICATED]);
}

/// Panics for the token `panic`, and verifies everything else with `inner`.
struct PanicsOn<V>(V);

impl<V: TokenVerifier> TokenVerifier for PanicsOn<V> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, AuthError>> {
        if token == "panic" {
            panic!("verifier bug when called");
        }
        Box::pin(async move {
            if token == "panic.in.future" {
                panic!("verifier bug in its future");
            }
            self.0.verify(token).await
        })
    }
}

fn verifier(issuer: &DevIssuer) -> JwtVerifier {
    issuer
        .verifier_builder()
        .claims(products_claims())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_panicking_verifier_is_a_401_and_the_connection_lives_on() {
    let issuer = issuer();
    let (served, counters) = serve_products(ServeOptions::verified_by(Arc::new(PanicsOn(
        verifier(&issuer),
    ))))
    .await;
    let admin = token(&issuer, json!({"sub": "admin", "roles": ["admin"]}));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "delete_product", "arguments": {"id": 3}}})
    .to_string();
    let host = served.addr.to_string();
    let mut connection = RawConnection::open(served.addr).await;
    let refused = json!({"error": "invalid_token", "error_description": UNVERIFIED});
    let challenge = format!(
        "Bearer error=\"invalid_token\", resource_metadata=\"{}\"",
        served.metadata_url
    );
    // One connection: panic, panic in the future, a good call, a panic again, a good call.
    let mut runs = 0;
    for (step, token) in [
        "panic",
        "panic.in.future",
        admin.as_str(),
        "panic",
        admin.as_str(),
        "panic.in.future",
    ]
    .into_iter()
    .enumerate()
    {
        let request = raw_post(&host, Some(token), &call);
        let reply = connection.exchange(request.as_bytes()).await.unwrap();
        let (status, body) = (reply.status, &reply.body);
        assert_eq!(
            connection.unread(),
            0,
            "step {step}: nothing after the body"
        );
        assert!(
            !reply
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close")),
            "step {step}: {}",
            reply.head
        );
        if token == admin {
            assert_eq!(status, 200, "step {step}: {body}");
            let reply: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                reply["result"]["content"][0]["text"], "product 3 deleted",
                "step {step}"
            );
            runs += 1;
        } else {
            assert_eq!(status, 401, "step {step}: {body}");
            assert_eq!(
                reply.header("www-authenticate"),
                Some(challenge.as_str()),
                "step {step}: {}",
                reply.head
            );
            assert_eq!(serde_json::from_str::<Value>(body).unwrap(), refused);
        }
        assert_eq!(counters.get("delete_product"), runs, "step {step}");
    }
    let others = counters.ran_except(&["delete_product"]);
    assert!(others.is_empty(), "these ran: {others:?}");
    assert_logged(&[NOT_VERIFIED, ADMIN_DELETES]);
}

#[tokio::test]
async fn a_panicking_validation_hook_is_a_401() {
    let issuer = issuer();
    let admin = token(&issuer, json!({"sub": "admin", "roles": ["admin"]}));
    let locked = token(&issuer, json!({"sub": "locked", "roles": ["admin"]}));
    let mallory = token(&issuer, json!({"sub": "mallory", "roles": ["admin"]}));
    let eve = token(&issuer, json!({"sub": "eve", "roles": ["admin"]}));
    // Panics in the hook's future for `mallory`, in the hook itself for `eve`; refuses `locked`.
    let hooked = verifier(&issuer).with_validation(|caller: Principal| {
        if caller.subject() == "eve" {
            panic!("hook bug before its future");
        }
        Box::pin(async move {
            match caller.subject() {
                "mallory" => panic!("hook bug"),
                "locked" => Err(AuthError::Rejected("account is locked".into())),
                _ => Ok(()),
            }
        }) as BoxFuture<'static, Result<(), AuthError>>
    });
    let (served, counters) = serve_products(ServeOptions::verified_by(Arc::new(hooked))).await;
    let metadata = served.metadata_url.clone();
    let client = Mcp::new(&served.url, None);
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "delete_product", "arguments": {"id": 2}}});
    let mut runs = 0;
    // Twice each: the second use of a verified token comes from the verifier's cache, and the
    // hook must still run (and still refuse) then.
    for (who, token, outcome) in [
        ("mallory", &mallory, Some(UNVERIFIED)),
        ("eve", &eve, Some(UNVERIFIED)),
        ("locked", &locked, Some("account is locked")),
        ("admin", &admin, None),
    ]
    .into_iter()
    .flat_map(|case| [case, case])
    {
        let bearer = format!("Bearer {token}");
        let reply = client
            .post_with(&call, &[("authorization", bearer.as_bytes())])
            .await;
        match outcome {
            Some(description) => {
                assert_eq!(reply.status, 401, "{who}: {}", reply.raw);
                assert_eq!(
                    reply.header("www-authenticate"),
                    Some(
                        format!("Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\"")
                            .as_str()
                    )
                );
                assert_eq!(
                    reply.json,
                    json!({"error": "invalid_token", "error_description": description}),
                    "{who}"
                );
            }
            None => {
                assert_eq!(reply.status, 200, "{who}: {}", reply.raw);
                assert_eq!(
                    reply.json["result"]["content"][0]["text"],
                    "product 2 deleted"
                );
                runs += 1;
            }
        }
        assert_eq!(counters.get("delete_product"), runs, "{who}");
    }
    // A caller the hook lets through is still held to the tool's requirement.
    let guest = token(&issuer, json!({"sub": "guest", "roles": ["guest"]}));
    let reply = Mcp::new(&served.url, Some(&guest)).post(&call).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.json["error"]["code"], 403, "{}", reply.raw);
    assert_eq!(counters.get("delete_product"), runs, "guest");
    let others = counters.ran_except(&["delete_product"]);
    assert!(others.is_empty(), "these ran: {others:?}");
    assert_logged(&[
        (
            "INFO",
            "mcp_rbac::auth",
            &["decision=\"reject\"", "reason=\"account is locked\""],
        ),
        NOT_VERIFIED,
        ADMIN_DELETES,
        (
            "INFO",
            "mcp_rbac::audit",
            &[
                "decision=\"deny\"",
                "name=\"delete_product\"",
                "subject=\"guest\"",
                "required=\"Admin.Write\"",
            ],
        ),
    ]);
}

#[test]
fn a_verifier_without_algorithms_or_audience_does_not_build() {
    let key = || {
        VerificationKey::from_pem(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../mcp-rbac/testdata/keys/p256.pub.pem"
            ))
            .unwrap(),
        )
        .unwrap()
    };
    let no_algorithms = JwtVerifier::builder()
        .issuer("https://issuer.test")
        .audience(AUDIENCE)
        .key(key())
        .build()
        .unwrap_err();
    assert_eq!(no_algorithms, JwtConfigError::NoAlgorithms);
    assert_eq!(
        no_algorithms.to_string(),
        "no token algorithm is allowed: configure at least one (e.g. RS256)"
    );
    // An empty list is no list.
    let empty = JwtVerifier::builder()
        .issuer("https://issuer.test")
        .audience(AUDIENCE)
        .algorithms(Vec::<Algorithm>::new())
        .key(key())
        .build()
        .unwrap_err();
    assert_eq!(empty, JwtConfigError::NoAlgorithms);

    let no_audience = JwtVerifier::builder()
        .issuer("https://issuer.test")
        .algorithms([Algorithm::ES256])
        .key(key())
        .build()
        .unwrap_err();
    assert_eq!(no_audience, JwtConfigError::NoAudience);
    assert_eq!(
        no_audience.to_string(),
        "no audience configured: set the resource URL this server answers for"
    );
    // With neither, the algorithms are named first.
    let neither = JwtVerifier::builder()
        .issuer("https://issuer.test")
        .key(key())
        .build()
        .unwrap_err();
    assert_eq!(neither, JwtConfigError::NoAlgorithms);
}
