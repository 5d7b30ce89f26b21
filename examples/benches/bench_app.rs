//! The bench server's two apps (`bench_server --auth` and plain rmcp) driven in process: one
//! `tools/call delete_product` through the whole axum + rmcp stack, answer body read, no socket.
//! Without the network and the load generator, what is left between the two is the
//! authorization work, measured without the run-to-run swings of `bench.sh` on a shared VM.
//! A third app is the same tool assembled by `ServerBuilder` (bearer layer plus the limits:
//! the body read ahead, the concurrency limit, the request timeout), to price the limits; a
//! fourth is that app with decision records going to a JSON Lines file (hash-chained) and its
//! metrics to a Prometheus recorder, to price the audit trail and the metrics. The recorder is
//! local to the fourth app's rounds (`metrics::with_local_recorder`), so the others record
//! nothing.
//!
//! `cargo bench -p mcp-rbac-examples --bench bench_app`

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::Router;
use criterion::{criterion_group, Criterion};
use http::Request;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_rbac_examples::bench::{app, AuthConfig, Authorized, BenchConfig};
use tower::ServiceExt;

const ISSUER: &str = "https://issuer.bench.local/";
const AUDIENCE: &str = "mcp-peers-bench";
const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product","arguments":{"id":42}}}"#;

fn key(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../mcp-rbac/testdata/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The harness's token: RS256, `permissions: ["Admin.Write"]`, valid for an hour.
fn token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = serde_json::json!({
        "sub": "bench-user", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600,
        "permissions": ["Admin.Write"],
    });
    let signing = EncodingKey::from_rsa_pem(&key("rsa2048.pem")).expect("rsa key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &signing).expect("sign")
}

fn request(token: &str) -> Request<Body> {
    Request::post("/mcp")
        .header("host", "127.0.0.1:8000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(BODY))
        .expect("request")
}

/// One call through `app`; the answer's text.
async fn call(app: &Router, token: &str) -> String {
    let response = app
        .clone()
        .oneshot(request(token))
        .await
        .expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(status, 200, "{text}");
    text
}

/// The apps the benchmark compares.
struct Apps {
    auth: Router,
    plain: Router,
    built: Router,
    audited: Router,
    recorder: metrics_exporter_prometheus::PrometheusRecorder,
    token: String,
    runtime: tokio::runtime::Runtime,
}

impl Apps {
    /// One call through the audited app, its metrics going to the local recorder.
    fn call_audited(&self) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            self.runtime
                .block_on(call(&self.audited, black_box(&self.token)))
        })
    }
}

/// The apps (bearer layer only, plain rmcp, server builder, server builder with audit file and
/// metrics), checked to answer, a token, and a runtime to drive them.
fn setup() -> Apps {
    mcp_rbac::verify::install_crypto_provider();
    let auth = BenchConfig {
        port: 8000,
        auth: Some(AuthConfig {
            public_key_pem: key("rsa2048.pub.pem"),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
        }),
    };
    let plain = BenchConfig {
        port: 8000,
        auth: None,
    };
    let auth_config = auth.auth.as_ref().expect("auth");
    let verifier = auth_config.verifier().expect("verifier");
    let audited_verifier = auth_config.verifier().expect("verifier");
    let (auth, plain) = (
        app(&auth).expect("auth app"),
        app(&plain).expect("plain app"),
    );
    let token = token();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let built = runtime
        .block_on(
            mcp_rbac::ServerBuilder::new("http://127.0.0.1:8000/mcp")
                .verifier(verifier)
                .stateless(true)
                .router(|| Authorized),
        )
        .expect("builder app")
        .into_router();
    let dir = std::env::temp_dir().join(format!("bench-app-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("audit dir");
    let sink = mcp_rbac::audit::JsonLinesSink::open(dir.join("audit.jsonl"), Default::default())
        .expect("audit file");
    let audited = runtime
        .block_on(
            mcp_rbac::ServerBuilder::new("http://127.0.0.1:8000/mcp")
                .verifier(audited_verifier)
                .stateless(true)
                .audit_sink(sink)
                .router(|| Authorized),
        )
        .expect("audited app")
        .into_router();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    for app in [&auth, &plain, &built] {
        let text = runtime.block_on(call(app, &token));
        assert!(
            text.contains("product 42 deleted") && !text.contains("isError\":true"),
            "{text}"
        );
    }
    let apps = Apps {
        auth,
        plain,
        built,
        audited,
        recorder,
        token,
        runtime,
    };
    let text = apps.call_audited();
    assert!(text.contains("product 42 deleted"), "{text}");
    let scraped = handle.render();
    assert!(
        scraped.contains("mcp_rbac_decisions_total"),
        "the audited app records metrics: {scraped}"
    );
    apps
}

fn apps(c: &mut Criterion) {
    let apps = setup();
    let Apps {
        auth,
        plain,
        built,
        token,
        runtime,
        ..
    } = &apps;
    let mut group = c.benchmark_group("bench_app");
    group.bench_function("plain_rmcp", |b| {
        b.iter(|| runtime.block_on(call(plain, black_box(token))))
    });
    group.bench_function("mcp_rbac_auth", |b| {
        b.iter(|| runtime.block_on(call(auth, black_box(token))))
    });
    group.bench_function("server_builder", |b| {
        b.iter(|| runtime.block_on(call(built, black_box(token))))
    });
    group.bench_function("server_builder_audit_metrics", |b| {
        b.iter(|| apps.call_audited())
    });
    group.finish();
}

/// Alternating rounds of both apps; the median of the per-round ratios is robust against this
/// VM changing speed between rounds (criterion's two figures are taken a minute apart).
fn interleaved_ratio() {
    let apps = setup();
    let time = |app: &Router| {
        let start = std::time::Instant::now();
        for _ in 0..500 {
            apps.runtime.block_on(call(app, black_box(&apps.token)));
        }
        start.elapsed().as_nanos() as f64 / 500.0
    };
    let time_audited = || {
        let start = std::time::Instant::now();
        for _ in 0..500 {
            apps.call_audited();
        }
        start.elapsed().as_nanos() as f64 / 500.0
    };
    // Each half on its own: the audit file without the recorder, the recorder without the file.
    let time_metrics_only = || metrics::with_local_recorder(&apps.recorder, || time(&apps.built));
    /// Nanoseconds per call of one round: plain, auth, builder, audited, audit file only,
    /// metrics only.
    type Round = (f64, f64, f64, f64, f64, f64);
    let rounds: Vec<Round> = (0..41)
        .map(|_| {
            (
                time(&apps.plain),
                time(&apps.auth),
                time(&apps.built),
                time_audited(),
                time(&apps.audited),
                time_metrics_only(),
            )
        })
        .collect();
    let median = |ratio: &dyn Fn(&Round) -> f64| {
        let mut ratios: Vec<f64> = rounds.iter().map(ratio).collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    let mut by_auth = rounds.clone();
    by_auth.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
    let (plain_ns, auth_ns, built_ns, audited_ns, _, _) = by_auth[by_auth.len() / 2];
    println!(
        "\ninterleaved (median of 41 alternating rounds of 500 calls): plain rmcp {:.1} µs, \
         mcp-rbac auth {:.1} µs, server builder {:.1} µs, with audit file and metrics {:.1} µs; \
         throughput ratios: plain ÷ auth {:.3}, auth ÷ builder {:.3}, builder ÷ audited {:.3} \
         (audit file only {:.3}, metrics only {:.3})",
        plain_ns / 1000.0,
        auth_ns / 1000.0,
        built_ns / 1000.0,
        audited_ns / 1000.0,
        median(&|r| r.0 / r.1),
        median(&|r| r.1 / r.2),
        median(&|r| r.2 / r.3),
        median(&|r| r.2 / r.4),
        median(&|r| r.2 / r.5),
    );
}

criterion_group!(benches, apps);

/// For profilers (`perf stat`, `perf record`): `BENCH_APP_ONLY=built|audited|audit_file|metrics`
/// runs only that app, `BENCH_APP_CALLS` times (default 20,000), and nothing else.
fn only(which: &str) {
    let apps = setup();
    let calls: usize = std::env::var("BENCH_APP_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let run = |app: &Router| {
        for _ in 0..calls {
            apps.runtime.block_on(call(app, black_box(&apps.token)));
        }
    };
    let start = std::time::Instant::now();
    match which {
        "built" => run(&apps.built),
        "audited" => (0..calls).for_each(|_| {
            apps.call_audited();
        }),
        "audit_file" => run(&apps.audited),
        "metrics" => metrics::with_local_recorder(&apps.recorder, || run(&apps.built)),
        other => panic!("BENCH_APP_ONLY={other}: built, audited, audit_file or metrics"),
    }
    println!(
        "{which}: {calls} calls, {:.1} µs per call",
        start.elapsed().as_nanos() as f64 / calls as f64 / 1000.0
    );
}

fn main() {
    if let Ok(which) = std::env::var("BENCH_APP_ONLY") {
        return only(&which);
    }
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved_ratio();
    }
    Criterion::default().configure_from_args().final_summary();
}
