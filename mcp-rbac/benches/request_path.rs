//! What the bearer layer adds to each HTTP request once the token is in the verified-token
//! cache: the layer around a service that answers at once, next to that service alone. The
//! difference is the layer's whole per-request cost (header check, cache lookup, principal into
//! the request, session bookkeeping, the boxed future), which is what an authenticated server
//! pays beyond plain rmcp on every call.
//!
//! `cargo bench -p mcp-rbac --bench request_path`

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{Request, Response};
use jsonwebtoken::{EncodingKey, Header};
use mcp_rbac::bearer::BearerAuthLayer;
use mcp_rbac::metadata::ProtectedResource;
use mcp_rbac::verify::{install_crypto_provider, Algorithm, JwtVerifier, VerificationKey};
use mcp_rbac::Principal;
use tower::{Layer, Service};

const ISS: &str = "https://issuer.bench";
const AUD: &str = "http://127.0.0.1:8000/mcp";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("test key")
}

/// The futures here finish without waiting (no I/O, the token cached); poll once, no runtime.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("nothing here waits"),
    }
}

/// Answers 200, or 500 when the layer did not hand it a principal.
async fn answer(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let status = if request.extensions().get::<Principal>().is_some() {
        200
    } else {
        500
    };
    let mut response = Response::new(Body::empty());
    *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
    Ok(response)
}

fn request(token: &str) -> Request<Body> {
    Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::empty())
        .expect("request")
}

fn layer(c: &mut Criterion) {
    install_crypto_provider();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 3600;
    let claims = serde_json::json!({
        "sub": "alice", "iss": ISS, "aud": AUD, "exp": exp, "iat": exp - 3600,
        "permissions": ["Admin.Write"], "scope": "openid profile", "padding": "x".repeat(300),
    });
    let signing = EncodingKey::from_rsa_pem(&key("rsa2048.pem")).expect("rsa");
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &signing).expect("sign");
    let verifier = JwtVerifier::builder()
        .issuer(ISS)
        .audience(AUD)
        .algorithms([Algorithm::RS256])
        .key(VerificationKey::from_pem(&key("rsa2048.pub.pem")).expect("key"))
        .build()
        .expect("verifier");
    let resource = ProtectedResource::new(AUD).expect("resource");
    let mut plain = tower::service_fn(answer);
    let mut guarded =
        BearerAuthLayer::new(Arc::new(verifier), &resource).layer(tower::service_fn(answer));
    // The first call verifies and caches; every call after it is what the bench measures.
    let first = now_or_never(guarded.call(request(&token))).expect("infallible");
    assert_eq!(first.status(), 200);

    let mut group = c.benchmark_group("request_path");
    group.bench_function("service_alone", |b| {
        b.iter(|| now_or_never(plain.call(black_box(request(&token)))).is_ok())
    });
    group.bench_function("bearer_layer_cached_token", |b| {
        b.iter(|| {
            let response =
                now_or_never(guarded.call(black_box(request(&token)))).expect("infallible");
            assert_eq!(response.status(), 200);
        })
    });
    group.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
