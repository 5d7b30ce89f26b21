//! Fail closed: whatever goes wrong around authentication, the answer is a refusal and no tool
//! body runs. A guarded router served without the bearer layer (stateless and with sessions), a
//! verifier that panics (the connection survives it), a validation hook that panics, and a
//! verifier configuration missing its algorithms or audience.
//!
//! Already covered elsewhere and not repeated: the 401 of a guarded router without the layer for
//! a small test router (`rmcp_parity.rs`), the panicking verifier at the tower level and the
//! `ConfigError` variants (`mcp-rbac/tests/jwt_verifier.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use mcp_rbac::testkit::DevIssuer;
use mcp_rbac::verify::{
    Algorithm, AuthError, ConfigError, JwtVerifier, TokenVerifier, TokenVerifierExt,
    VerificationKey,
};
use mcp_rbac::{ClaimsMapping, Principal};
use mcp_rbac_examples::products::{policy, Catalog, Counters, Products};
use mcp_rbac_tests::{serve, Mcp, Reply};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// `futures::future::BoxFuture`, which `TokenVerifier::verify` returns.
type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

const AUDIENCE: &str = "https://fail-closed.test/mcp";
const UNVERIFIED: &str = "token could not be verified";

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
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let served = serve(move || Products::new(catalog.clone()), None).await;
    // A syntactically fine token changes nothing: no layer verifies it, so nothing trusts it.
    let issuer = DevIssuer::generate("https://issuer.test", AUDIENCE).unwrap();
    let admin = issuer.token(json!({"sub": "admin", "roles": ["admin"]}));
    for (mode, token) in [("anonymous", None), ("with a token", Some(admin.as_str()))] {
        every_request_is_refused(&Mcp::new(&served.url, token), &counters, mode).await;
    }
}

#[tokio::test]
async fn guarded_router_without_the_bearer_layer_with_sessions() {
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    // rmcp's defaults: sessions, answers as SSE streams.
    let config = StreamableHttpServerConfig::default().with_cancellation_token(stop.child_token());
    let mcp = StreamableHttpService::new(
        move || Ok(Products::new(catalog.clone())),
        LocalSessionManager::default().into(),
        config,
    );
    let app = Router::new().route_service("/mcp", mcp);
    let token = stop.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(token.cancelled_owned())
            .await
    });
    let mut client = Mcp::new(&url, None);
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
    stop.cancel();
    task.await.unwrap().unwrap();
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
        .claims(ClaimsMapping::default().with_role_policy(policy::role_policy()))
        .build()
        .unwrap()
}

/// One HTTP/1.1 exchange on an open connection: the status, the headers (lower-cased) and the
/// body (by `content-length` or chunks).
async fn exchange(
    stream: &mut TcpStream,
    host: &str,
    token: &str,
    body: &Value,
) -> (u16, String, String) {
    let body = body.to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
         mcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let mut rest = buf[head_end + 4..].to_vec();
    let status: u16 = head[9..12].parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    };
    let body = if let Some(length) = header("content-length") {
        let length: usize = length.trim().parse().unwrap();
        while rest.len() < length {
            read_more(stream, &mut rest).await;
        }
        assert_eq!(rest.len(), length, "nothing after the body");
        rest
    } else {
        assert_eq!(header("transfer-encoding").as_deref(), Some("chunked"));
        let mut body = Vec::new();
        loop {
            while !rest.windows(2).any(|w| w == b"\r\n") {
                read_more(stream, &mut rest).await;
            }
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            while rest.len() < line_end + 2 + size + 2 {
                read_more(stream, &mut rest).await;
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
        body
    };
    (status, head, String::from_utf8(body).unwrap())
}

async fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.unwrap();
    assert!(n > 0, "connection closed inside the body");
    into.extend_from_slice(&chunk[..n]);
}

#[tokio::test]
async fn a_panicking_verifier_is_a_401_and_the_connection_lives_on() {
    let issuer = DevIssuer::generate("https://issuer.test", AUDIENCE).unwrap();
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let served = serve(
        move || Products::new(catalog.clone()),
        Some(Arc::new(PanicsOn(verifier(&issuer)))),
    )
    .await;
    let admin = issuer.token(json!({"sub": "admin", "roles": ["admin"]}));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "delete_product", "arguments": {"id": 3}}});
    let host = served.addr.to_string();
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let refused = json!({"error": "invalid_token", "error_description": UNVERIFIED});
    let challenge = format!(
        "www-authenticate: bearer error=\"invalid_token\", resource_metadata=\"http://{host}/.well-known/oauth-protected-resource/mcp\""
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
        let (status, head, body) = exchange(&mut stream, &host, token, &call).await;
        assert!(!head.contains("connection: close"), "step {step}: {head}");
        if token == admin {
            assert_eq!(status, 200, "step {step}: {body}");
            let reply: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                reply["result"]["content"][0]["text"], "product 3 deleted",
                "step {step}"
            );
            runs += 1;
        } else {
            assert_eq!(status, 401, "step {step}: {body}");
            assert!(head.contains(&challenge), "step {step}: {head}");
            assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), refused);
        }
        assert_eq!(counters.get("delete_product"), runs, "step {step}");
    }
    let others = counters.ran_except(&["delete_product"]);
    assert!(others.is_empty(), "these ran: {others:?}");
}

#[tokio::test]
async fn a_panicking_validation_hook_is_a_401() {
    let issuer = DevIssuer::generate("https://issuer.test", AUDIENCE).unwrap();
    let admin = issuer.token(json!({"sub": "admin", "roles": ["admin"]}));
    let locked = issuer.token(json!({"sub": "locked", "roles": ["admin"]}));
    let mallory = issuer.token(json!({"sub": "mallory", "roles": ["admin"]}));
    let eve = issuer.token(json!({"sub": "eve", "roles": ["admin"]}));
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
    let catalog = Catalog::seeded();
    let counters = catalog.counters();
    let served = serve(
        move || Products::new(catalog.clone()),
        Some(Arc::new(hooked)),
    )
    .await;
    let metadata = format!(
        "http://{}/.well-known/oauth-protected-resource/mcp",
        served.addr
    );
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
    let others = counters.ran_except(&["delete_product"]);
    assert!(others.is_empty(), "these ran: {others:?}");
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
    assert_eq!(no_algorithms, ConfigError::NoAlgorithms);
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
    assert_eq!(empty, ConfigError::NoAlgorithms);

    let no_audience = JwtVerifier::builder()
        .issuer("https://issuer.test")
        .algorithms([Algorithm::ES256])
        .key(key())
        .build()
        .unwrap_err();
    assert_eq!(no_audience, ConfigError::NoAudience);
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
    assert_eq!(neither, ConfigError::NoAlgorithms);
}
