//! What a DPoP proof (RFC 9449) adds to a request: one `tools/call delete_product` through the
//! whole stack in process (axum router, bearer layer with DPoP accepted, rmcp's streamable HTTP
//! service, stateless JSON, answer body read), once with a bearer token and once with a
//! DPoP-bound token and a fresh proof. Both tokens sit in the verified-token cache, so what
//! differs is the proof check: its parsing, the signature, `htm`/`htu`/`iat`/`ath`/`cnf.jkt` and
//! the replay store. The third figure is the ES256 signature check of a proof alone, with the
//! key already parsed (aws-lc-rs, as the proof check uses), each check of another fresh proof as
//! each request's is.
//!
//! Proofs are signed before each timed batch (one per request, distinct `jti`s), so signing is
//! not timed. The DPoP clock is a manual one, moved past the `iat` window between batches: the
//! replay store then forgets one batch's proofs while the next is checked, as it forgets old
//! proofs under a steady load.
//!
//! `cargo bench -p mcp-rbac-examples --bench dpop`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{ParsedPublicKey, ECDSA_P256_SHA256_FIXED};
use axum::body::Body;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, Criterion};
use http::Request;
use mcp_rbac::bearer::dpop::token_hash;
use mcp_rbac::bearer::{BearerAuthLayer, Dpop, DpopMode};
use mcp_rbac::metadata::ProtectedResource;
use mcp_rbac::store::MemoryState;
use mcp_rbac::testkit::{DevIssuer, DpopKey};
use mcp_rbac::verify::ManualClock;
use mcp_rbac_examples::bench::Authorized;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tower::{Layer, ServiceExt};

const URL: &str = "http://127.0.0.1:8000/mcp";
const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product","arguments":{"id":42}}}"#;
/// Calls per timed batch of the interleaved rounds.
const BATCH: usize = 500;
/// Interleaved rounds.
const ROUNDS: usize = 41;

struct Setup {
    app: Router,
    bearer: String,
    bound: String,
    key: DpopKey,
    clock: ManualClock,
    jti: std::cell::Cell<u64>,
    runtime: tokio::runtime::Runtime,
}

fn request(authorization: String, proof: Option<String>) -> Request<Body> {
    let mut request = Request::post("/mcp")
        .header("host", "127.0.0.1:8000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("dpop", proof);
    }
    request.body(Body::from(BODY)).expect("request")
}

/// One call through `app`; the answer's text.
async fn call(app: &Router, request: Request<Body>) -> String {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{text}");
    text
}

impl Setup {
    fn bearer_call(&self) -> String {
        let request = request(format!("Bearer {}", self.bearer), None);
        self.runtime.block_on(call(&self.app, black_box(request)))
    }

    fn dpop_call(&self, proof: String) -> String {
        let request = request(format!("DPoP {}", self.bound), Some(proof));
        self.runtime.block_on(call(&self.app, black_box(request)))
    }

    /// `n` proofs for the bound token, `iat` the DPoP clock's time, each with its own `jti`.
    fn proofs(&self, n: usize) -> Vec<String> {
        let iat = self.clock.clock().unix_seconds();
        let ath = token_hash(&self.bound);
        (0..n)
            .map(|_| {
                let jti = self.jti.get();
                self.jti.set(jti + 1);
                self.key.sign(
                    json!({}),
                    json!({"htm": "POST", "htu": URL, "iat": iat, "jti": format!("bench-{jti}"), "ath": ath}),
                )
            })
            .collect()
    }

    /// Moves the DPoP clock past the `iat` window: earlier proofs are stale, and forgotten by
    /// the replay store as later ones arrive.
    fn next_batch(&self) {
        self.clock.advance(Duration::from_secs(62));
    }
}

/// The router (bearer layer with DPoP accepted over the bench server's tool), a bearer token and
/// a DPoP-bound one (both `Admin.Write`, both verified once so they are cached), the client key.
fn setup() -> Setup {
    let issuer = DevIssuer::generate("https://issuer.bench.local", URL).expect("issuer");
    let verifier = issuer.verifier_builder().build().expect("verifier");
    let resource = ProtectedResource::new(URL)
        .expect("resource")
        .authorization_server(issuer.issuer());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let clock = ManualClock::new(now);
    let dpop = Dpop::new(DpopMode::Accept, &resource).clock(clock.clock());
    let http = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(["127.0.0.1", "localhost"]);
    let mcp = StreamableHttpService::new(
        || Ok(Authorized),
        Arc::new(LocalSessionManager::default()),
        http,
    );
    let layer = BearerAuthLayer::new(verifier, &resource)
        .dpop(dpop)
        // Room for the largest batch criterion times; entries leave as the clock moves on.
        .shared_state(Arc::new(MemoryState::new(10_000_000)));
    let app = Router::new().route_service("/mcp", layer.layer(mcp));
    let key = DpopKey::generate().expect("key");
    let bearer = issuer.token(json!({"sub": "bench-user", "permissions": ["Admin.Write"]}));
    let bound = issuer.token(json!({
        "sub": "bench-user", "permissions": ["Admin.Write"], "cnf": {"jkt": key.thumbprint()},
    }));
    let setup = Setup {
        app,
        bearer,
        bound,
        key,
        clock,
        jti: std::cell::Cell::new(0),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime"),
    };
    let text = setup.bearer_call();
    assert!(text.contains("product 42 deleted"), "{text}");
    let proof = setup.proofs(1).remove(0);
    let text = setup.dpop_call(proof.clone());
    assert!(text.contains("product 42 deleted"), "{text}");
    // A replayed proof is refused: the replay store is in the timed path.
    let request = request(format!("DPoP {}", setup.bound), Some(proof));
    let refused = setup
        .runtime
        .block_on(setup.app.clone().oneshot(request))
        .expect("infallible");
    assert_eq!(refused.status(), 401);
    setup
}

/// The ES256 check of a proof's signature alone, the key parsed beforehand. Each check is of
/// another proof (as each request brings its own): ECDSA verification has data-dependent steps
/// (the modular inverse of `s`), which one signature checked again and again would let the
/// branch predictor learn.
struct RawVerify {
    key: ParsedPublicKey,
}

/// A proof's signing input and signature, split and decoded beforehand.
struct Signed {
    input: Vec<u8>,
    signature: Vec<u8>,
}

impl RawVerify {
    fn new(setup: &Setup) -> RawVerify {
        let jwk = setup.key.jwk();
        let coordinate = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(jwk[name].as_str().expect("coordinate"))
                .expect("base64url")
        };
        let mut point = vec![4u8];
        point.extend(coordinate("x"));
        point.extend(coordinate("y"));
        let raw = RawVerify {
            key: ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).expect("P-256 point"),
        };
        assert!(raw.signed(setup, 1).iter().all(|s| raw.verify(s)));
        raw
    }

    /// `n` fresh proofs, split and decoded.
    fn signed(&self, setup: &Setup, n: usize) -> Vec<Signed> {
        setup
            .proofs(n)
            .iter()
            .map(|proof| {
                let (input, signature) = proof.rsplit_once('.').expect("a JWS");
                Signed {
                    input: input.as_bytes().to_vec(),
                    signature: URL_SAFE_NO_PAD.decode(signature).expect("signature"),
                }
            })
            .collect()
    }

    fn verify(&self, signed: &Signed) -> bool {
        self.key
            .verify_sig(black_box(&signed.input), black_box(&signed.signature))
            .is_ok()
    }
}

fn requests(c: &mut Criterion) {
    let setup = setup();
    let raw = RawVerify::new(&setup);
    let mut group = c.benchmark_group("dpop");
    group.bench_function("bearer_cached_token", |b| b.iter(|| setup.bearer_call()));
    group.bench_function("dpop_fresh_proof", |b| {
        b.iter_custom(|iters| {
            setup.next_batch();
            let proofs = setup.proofs(iters as usize);
            let start = Instant::now();
            for proof in proofs {
                black_box(setup.dpop_call(proof));
            }
            start.elapsed()
        })
    });
    group.bench_function("es256_verify", |b| {
        b.iter_custom(|iters| {
            let signed = raw.signed(&setup, iters as usize);
            let start = Instant::now();
            for one in &signed {
                assert!(raw.verify(one));
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// Alternating rounds of the three; medians of the rounds, robust against this VM changing speed
/// between rounds.
fn interleaved() {
    let setup = setup();
    let raw = RawVerify::new(&setup);
    let per_call = |start: Instant| start.elapsed().as_nanos() as f64 / BATCH as f64;
    let rounds: Vec<(f64, f64, f64)> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(setup.bearer_call());
            }
            let bearer = per_call(start);
            setup.next_batch();
            let proofs = setup.proofs(BATCH);
            let start = Instant::now();
            for proof in proofs {
                black_box(setup.dpop_call(proof));
            }
            let dpop = per_call(start);
            let signed = raw.signed(&setup, BATCH);
            let start = Instant::now();
            for one in &signed {
                assert!(raw.verify(one));
            }
            (bearer, dpop, per_call(start))
        })
        .collect();
    let median = |f: &dyn Fn(&(f64, f64, f64)) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(f).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let bearer = median(&|r| r.0);
    let dpop = median(&|r| r.1);
    let verify = median(&|r| r.2);
    let added = median(&|r| r.1 - r.0);
    let ratio = median(&|r| r.1 / (r.0 + r.2));
    let beyond = median(&|r| (r.1 - r.0 - r.2) / (r.0 + r.2));
    println!(
        "\ninterleaved (median of {ROUNDS} alternating rounds of {BATCH} calls): bearer, cached \
         token {:.1} µs; DPoP, fresh proof {:.1} µs; ES256 verify {:.1} µs; DPoP adds {:.1} µs \
         ({:.2}× the verify); DPoP ÷ (bearer + verify) {:.3} (target ≤ 1.15; beyond the verify \
         {:+.1} %)",
        bearer / 1000.0,
        dpop / 1000.0,
        verify / 1000.0,
        added / 1000.0,
        added / verify,
        ratio,
        beyond * 100.0,
    );
}

criterion_group!(benches, requests);

fn main() {
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved();
    }
    Criterion::default().configure_from_args().final_summary();
}
