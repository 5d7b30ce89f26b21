//! The bench server's two apps (`bench_server --auth` and plain rmcp) driven in process: one
//! `tools/call delete_product` through the whole axum + rmcp stack, answer body read, no socket.
//! Without the network and the load generator, what is left between the two is the
//! authorization work, measured without the run-to-run swings of `bench.sh` on a shared VM.
//! A third app is the same tool assembled by `ServerBuilder` (bearer layer plus the limits:
//! the body read ahead, the concurrency limit, the request timeout), to price the limits; a
//! fourth is that app with decision records going to a JSON Lines file (hash-chained) and its
//! metrics to a Prometheus recorder, to price the audit trail and the metrics, and two more
//! have one of the two each. The recorder is local to the rounds of the apps that have it
//! (`metrics::with_local_recorder`), so the others record nothing; its histograms are folded
//! into their buckets at the end of each of those rounds, inside the timing, as the server's
//! exporter folds them every few seconds.
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
/// The buckets the server's exporter gives its `_seconds` histograms.
const SECONDS_BUCKETS: [f64; 18] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
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
    /// The builder's app with an audit file, its metrics going to `recorder`.
    audited: Router,
    /// The builder's app with an audit file and no recorder.
    audit_file: Router,
    /// The builder's app, its metrics going to `recorder`.
    metered: Router,
    recorder: metrics_exporter_prometheus::PrometheusRecorder,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    token: String,
    runtime: tokio::runtime::Runtime,
}

impl Apps {
    /// One call through `app`, no recorder current.
    fn call(&self, app: &Router) -> String {
        self.runtime.block_on(call(app, black_box(&self.token)))
    }

    /// One call through `app`, its metrics going to the local recorder. A server keeps the
    /// handles of the recorder its first call was made under: the audited and metered apps
    /// are only ever called this way, the others never.
    fn call_recorded(&self, app: &Router) -> String {
        metrics::with_local_recorder(&self.recorder, || self.call(app))
    }

    /// `calls` calls through `app`, recorded or not, and the histograms folded into their
    /// buckets after them (as the server's exporter does every few seconds): nanoseconds per
    /// call.
    fn time(&self, app: &Router, recorded: bool, calls: u32) -> f64 {
        let start = std::time::Instant::now();
        for _ in 0..calls {
            if recorded {
                self.call_recorded(app);
            } else {
                self.call(app);
            }
        }
        if recorded {
            self.metrics.run_upkeep();
        }
        start.elapsed().as_nanos() as f64 / f64::from(calls)
    }
}

/// The apps (bearer layer only, plain rmcp, and the server builder's: alone, with audit file
/// and metrics, with each of them), checked to answer, a token, and a runtime to drive them.
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
    let (auth, plain) = (
        app(&auth).expect("auth app"),
        app(&plain).expect("plain app"),
    );
    let token = token();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = std::env::temp_dir().join(format!("bench-app-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("audit dir");
    // Each builder app has a verifier of its own: a verifier keeps its cache's handles too.
    let builder_app = |audit_file: Option<&str>| {
        let builder = mcp_rbac::ServerBuilder::new("http://127.0.0.1:8000/mcp")
            .verifier(auth_config.verifier().expect("verifier"))
            .stateless(true);
        let builder = match audit_file {
            Some(file) => builder.audit_sink(
                mcp_rbac::audit::JsonLinesSink::open(dir.join(file), Default::default())
                    .expect("audit file"),
            ),
            None => builder,
        };
        runtime
            .block_on(builder.router(|| Authorized))
            .expect("builder app")
            .into_router()
    };
    let (built, audited, audit_file, metered) = (
        builder_app(None),
        builder_app(Some("audited.jsonl")),
        builder_app(Some("audit-file.jsonl")),
        builder_app(None),
    );
    // Configured as the server's exporter configures its recorder: histograms in buckets.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".to_owned()),
            &SECONDS_BUCKETS,
        )
        .expect("buckets")
        .build_recorder();
    let metrics = recorder.handle();
    let apps = Apps {
        auth,
        plain,
        built,
        audited,
        audit_file,
        metered,
        recorder,
        metrics,
        token,
        runtime,
    };
    for app in [&apps.auth, &apps.plain, &apps.built, &apps.audit_file] {
        let text = apps.call(app);
        assert!(
            text.contains("product 42 deleted") && !text.contains("isError\":true"),
            "{text}"
        );
    }
    assert!(
        apps.metrics.render().is_empty(),
        "no app records without the recorder"
    );
    for (app, calls) in [(&apps.audited, 1), (&apps.metered, 2)] {
        for _ in 0..calls {
            let text = apps.call_recorded(app);
            assert!(text.contains("product 42 deleted"), "{text}");
        }
    }
    let scraped = apps.metrics.render();
    let granted = r#"mcp_rbac_decisions_total{kind="tool",name="delete_product",decision="allow",reason="granted"} 3"#;
    assert!(
        scraped.contains(granted),
        "the audited and metered apps record every call: {scraped}"
    );
    apps
}

fn apps(c: &mut Criterion) {
    let apps = setup();
    let mut group = c.benchmark_group("bench_app");
    group.bench_function("plain_rmcp", |b| b.iter(|| apps.call(&apps.plain)));
    group.bench_function("mcp_rbac_auth", |b| b.iter(|| apps.call(&apps.auth)));
    group.bench_function("server_builder", |b| b.iter(|| apps.call(&apps.built)));
    group.bench_function("server_builder_audit_metrics", |b| {
        b.iter(|| apps.call_recorded(&apps.audited))
    });
    group.finish();
}

/// Alternating rounds of the apps; the median of the per-round ratios is robust against this
/// VM changing speed between rounds (criterion's figures are taken a minute apart).
fn interleaved_ratio() {
    let apps = setup();
    /// Nanoseconds per call of one round: plain, auth, builder, audited, audit file only,
    /// metrics only.
    type Round = (f64, f64, f64, f64, f64, f64);
    let rounds: Vec<Round> = (0..41)
        .map(|_| {
            (
                apps.time(&apps.plain, false, 500),
                apps.time(&apps.auth, false, 500),
                apps.time(&apps.built, false, 500),
                apps.time(&apps.audited, true, 500),
                apps.time(&apps.audit_file, false, 500),
                apps.time(&apps.metered, true, 500),
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
    let calls: u32 = std::env::var("BENCH_APP_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let (app, recorded) = match which {
        "built" => (&apps.built, false),
        "audited" => (&apps.audited, true),
        "audit_file" => (&apps.audit_file, false),
        "metrics" => (&apps.metered, true),
        other => panic!("BENCH_APP_ONLY={other}: built, audited, audit_file or metrics"),
    };
    let start = std::time::Instant::now();
    for _ in 0..calls / 500 {
        apps.time(app, recorded, 500);
    }
    println!(
        "{which}: {calls} calls, {:.1} µs per call",
        start.elapsed().as_nanos() as f64 / f64::from(calls) / 1000.0
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
