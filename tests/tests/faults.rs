//! Faults a deployed server meets, against servers assembled by the server builder: refusals of
//! bodies past the bound a refusal reads, a thousand bodies trickling in, and bursts past the
//! concurrency limit (the scenarios are `mcp_rbac_tests::faults`; `fault_suite` runs them
//! against a server of your own). Prints each scenario's figures (`--nocapture`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mcp_rbac::{Issuer, Role, RolePolicy, ServerBuilder};
use mcp_rbac_tests::faults::{self, Target};
use mcp_rbac_tests::fixtures::{products, vm_rss_kib};
use rmcp::ServerHandler;
use tokio::sync::Semaphore;

/// One scenario at a time: each loads the whole process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_past_the_drain_bound_is_read_whole_a_thousand_times() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = products(|_| {}).await;
    let token = server.tokens.as_ref().unwrap().admin.clone();
    let target = Target::new(&server.url, token).unwrap();
    // 256 KiB: past the 64 KiB a refusal reads, so the server answers before the client has
    // sent the body, closes, and goes on reading until the client closes.
    let seen = faults::oversized_refusals(&target, 1_000, 256 * 1024).await;
    println!(
        "oversized refusals: clean={} failed={}",
        seen.clean, seen.failed
    );
    assert_eq!(seen.clean, 1_000, "{:#?}", seen.failures);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_trickling_bodies_hold_up_no_normal_request_and_are_cut_at_the_timeout() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let body_timeout = Duration::from_secs(3);
    let server = products(|cli| {
        cli.body_timeout = body_timeout;
        // Fewer slots than trickling connections: a body being read holds none.
        cli.max_concurrent_requests = 64;
    })
    .await;
    let token = server.tokens.as_ref().unwrap().admin.clone();
    let target = Target::new(&server.url, token).unwrap();
    let seen = faults::slow_bodies(&target, 1_000, 20, body_timeout * 3).await;
    let slowest_normal = seen
        .normal_latencies
        .iter()
        .max()
        .copied()
        .unwrap_or_default();
    let first_cut = seen.cut_after.iter().min().copied().unwrap_or_default();
    let last_cut = seen.cut_after.iter().max().copied().unwrap_or_default();
    println!(
        "slow bodies: cut={} (after {first_cut:?}..{last_cut:?}) normal answered={} slowest={slowest_normal:?}",
        seen.cut, seen.normal_answered
    );
    assert!(
        seen.failures.is_empty(),
        "{:#?}",
        &seen.failures[..seen.failures.len().min(10)]
    );
    assert_eq!(seen.cut, 1_000);
    // Cut at the body timeout, not before it.
    assert!(first_cut >= body_timeout, "cut after {first_cut:?}");
    // Answered while every trickling body was still being read: no normal request waited
    // for the tricklers' timeout.
    assert_eq!(seen.normal_answered, 20);
    assert!(
        slowest_normal < body_timeout,
        "slowest normal request {slowest_normal:?}"
    );
    server.shutdown().await;
}

/// A server whose one tool waits at a gate the test opens.
#[derive(Clone)]
struct Gated {
    gate: Arc<Semaphore>,
    entered: Arc<AtomicUsize>,
}

#[mcp_rbac::tool_router]
impl Gated {
    #[tool(requires = "Gate.Pass", description = "Waits until the gate opens")]
    async fn pass(&self) -> String {
        self.entered.fetch_add(1, Ordering::SeqCst);
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
        "passed".to_owned()
    }
}

#[mcp_rbac::tool_handler]
impl ServerHandler for Gated {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_past_the_concurrency_limit_is_shed_with_503_and_retry_after() {
    let _alone = ONE_AT_A_TIME.lock().await;
    const LIMIT: usize = 8;
    let gated = Gated {
        gate: Arc::new(Semaphore::new(0)),
        entered: Arc::new(AtomicUsize::new(0)),
    };
    let policy = RolePolicy::new([Role::new("caller").grants(["Gate.Pass"])]).unwrap();
    let server = ServerBuilder::new("http://127.0.0.1:0/mcp")
        .issuer(Issuer::development())
        .role_policy(policy)
        .stateless(true)
        .max_concurrent_requests(LIMIT)
        .start({
            let gated = gated.clone();
            move || gated.clone()
        })
        .await
        .unwrap();
    let token = server
        .assembled()
        .development_tokens()
        .and_then(|t| t.get("caller"))
        .unwrap()
        .to_owned();
    let mut target = Target::new(server.url(), token).unwrap();
    target.request =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"pass","arguments":{}}}"#
            .to_owned();

    // 64 at once: 8 reach the tool and wait at the closed gate; the other 56 are shed at once
    // (were they queued, none would be answered until the gate opens, and the burst would hang).
    let burst = |requests: usize| {
        let gate = gated.gate.clone();
        let target = target.clone();
        async move {
            faults::burst(&target, requests, Duration::from_secs(20), move |shed| {
                if shed == requests - LIMIT {
                    gate.add_permits(LIMIT);
                }
            })
            .await
        }
    };
    let seen = burst(64).await;
    println!("burst of 64: answered={} shed={}", seen.answered, seen.shed);
    assert!(seen.failures.is_empty(), "{:#?}", seen.failures);
    assert_eq!((seen.answered, seen.shed), (LIMIT, 64 - LIMIT));
    assert_eq!(gated.entered.load(Ordering::SeqCst), LIMIT);

    // Memory stays bounded over repeated bursts of 512.
    let before = vm_rss_kib();
    for _ in 0..10 {
        let seen = burst(512).await;
        assert!(seen.failures.is_empty(), "{:#?}", seen.failures);
        assert_eq!((seen.answered, seen.shed), (LIMIT, 512 - LIMIT));
    }
    let after = vm_rss_kib();
    println!("10 bursts of 512: rss {before} KiB → {after} KiB");
    assert!(
        after.saturating_sub(before) < 32 * 1024,
        "grew {before} → {after} KiB"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_suite_binary_passes_against_the_products_server() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let server = products(|cli| cli.body_timeout = Duration::from_secs(2)).await;
    let token = server.tokens.as_ref().unwrap().admin.clone();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fault_suite"))
        .args(["--url", &server.url, "--body-timeout", "2"])
        .args(["--refusals", "20", "--trickling", "20", "--burst", "32"])
        .env("FAULT_SUITE_TOKEN", token)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("refusals past the drain bound: 20 clean, 0 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("trickling bodies: 20 of 20 cut with 408"),
        "{stdout}"
    );
    assert!(stdout.contains("all scenarios passed"), "{stdout}");
    server.shutdown().await;

    // It fails against a server that does not cut slow bodies when the suite expects it.
    let server = products(|cli| cli.body_timeout = Duration::from_secs(30)).await;
    let token = server.tokens.as_ref().unwrap().admin.clone();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_fault_suite"))
        .args(["--url", &server.url, "--body-timeout", "1"])
        .args(["--refusals", "1", "--trickling", "2", "--burst", "1"])
        .env("FAULT_SUITE_TOKEN", token)
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("FAILED trickling bodies"), "{stderr}");
    server.shutdown().await;
}
