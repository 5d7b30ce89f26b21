//! What the bearer layer's one question per request costs: `SharedState::check` (a DPoP proof
//! recorded, the token's revocation, the session's owner) on the in-memory state and on Redis
//! (one pipelined round trip over loopback to a `redis-server` started here on a free port).
//! Without `redis-server` on `PATH` (Debian's `redis-server` package) only the memory state is
//! measured, and the bench says so.
//!
//! `cargo bench -p mcp-rbac-examples --bench shared_state`

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use mcp_rbac::store::{unix_now, MemoryState, RedisState, ReplayKey, RequestFacts, SharedState};
use tokio::runtime::Runtime;

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    url: String,
}

impl Redis {
    fn start(runtime: &Runtime) -> Option<Redis> {
        let _entered = runtime.enter();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            println!(
                "redis-server is not on PATH: only the memory state is measured \
                 (apt-get install redis-server)"
            );
            return None;
        };
        let redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        };
        let state = RedisState::open(&redis.url).ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while runtime.block_on(state.ping()).is_err() {
            if Instant::now() > deadline {
                println!("redis-server did not answer within 10 s: only the memory state");
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static PROOFS: AtomicU64 = AtomicU64::new(0);

/// One request's question: a fresh DPoP proof, a token with a `jti`, a session.
fn check(runtime: &Runtime, state: &dyn SharedState) -> bool {
    let n = PROOFS.fetch_add(1, Ordering::Relaxed);
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&n.to_le_bytes());
    let now = unix_now();
    let facts = RequestFacts {
        now,
        replay: Some(ReplayKey {
            digest,
            expires_at: now + 61,
        }),
        token_id: Some("token-1"),
        issuer: Some("https://issuer.example"),
        subject: "alice",
        issued_at: Some(now - 5),
        session: Some(b"0195f1a2-session"),
    };
    let verdicts = runtime.block_on(state.check(&facts));
    verdicts.is_ok_and(|v| !v.replayed && !v.revoked)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn checks(c: &mut Criterion) {
    let runtime = runtime();
    // Room for every proof a run records.
    let memory = MemoryState::new(10_000_000);
    let redis = Redis::start(&runtime);
    let mut group = c.benchmark_group("shared_state");
    group.bench_function("memory_check", |b| {
        b.iter(|| assert!(check(&runtime, black_box(&memory))))
    });
    if let Some(redis) = &redis {
        let state = {
            let _entered = runtime.enter();
            RedisState::open(&redis.url).expect("a Redis URL")
        };
        group.bench_function("redis_check", |b| {
            b.iter(|| assert!(check(&runtime, black_box(&state))))
        });
    }
    group.finish();
}

/// Alternating rounds of both states; medians are robust against this VM changing speed
/// between rounds.
fn interleaved() {
    let runtime = runtime();
    let memory = MemoryState::new(10_000_000);
    let Some(redis) = Redis::start(&runtime) else {
        return;
    };
    let state = {
        let _entered = runtime.enter();
        RedisState::open(&redis.url).expect("a Redis URL")
    };
    let time = |state: &dyn SharedState, n: u32| {
        let start = Instant::now();
        for _ in 0..n {
            assert!(check(&runtime, black_box(state)));
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    };
    let mut rounds: Vec<(f64, f64)> = (0..21)
        .map(|_| (time(&memory, 2000), time(&state, 200)))
        .collect();
    rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
    let memory_median = rounds[rounds.len() / 2].0;
    rounds.sort_by(|a, b| a.1.total_cmp(&b.1));
    let redis_median = rounds[rounds.len() / 2].1;
    println!(
        "\ninterleaved (median of 21 alternating rounds): memory {memory_median:.0} ns per check, \
         Redis over loopback {:.1} µs per check (one pipeline)",
        redis_median / 1000.0
    );
}

criterion_group!(benches, checks);

fn main() {
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved();
    }
    Criterion::default().configure_from_args().final_summary();
}
