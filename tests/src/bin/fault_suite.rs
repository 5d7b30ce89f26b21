//! `fault_suite`: the fault scenarios of the end-to-end tests, against a server of your own.
//!
//! ```text
//! cargo run -p mcp-rbac-tests --bin fault_suite -- \
//!     --url http://127.0.0.1:8000/mcp --token "$ADMIN_TOKEN" --body-timeout 10
//! ```
//!
//! Runs, one after another: refusals of bodies past the bound a refusal reads (each must get the
//! whole 401 with `Connection: close` and an orderly close); bodies that trickle in (each must be
//! cut with 408 at the body timeout, while normal requests keep being answered); a burst of
//! requests at once (each answered, or shed with 503 and `Retry-After`; none may hang). Exits
//! non-zero naming what failed. Bounded in connections and time; run it over loopback or a LAN,
//! against a server you own.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mcp_rbac_tests::faults::{self, Target};

#[derive(Parser)]
struct Args {
    /// The MCP endpoint (`http://host:port/mcp`).
    #[arg(long)]
    url: String,
    /// A token the server accepts (its caller may send `--request`).
    #[arg(long, env = "FAULT_SUITE_TOKEN")]
    token: String,
    /// The JSON-RPC request sent as a normal request (default: `tools/list`; a server with
    /// sessions answers it without a session with a 4xx, which counts as answered).
    #[arg(long)]
    request: Option<String>,
    /// The server's body timeout, in seconds.
    #[arg(long, default_value_t = 10)]
    body_timeout: u64,
    /// Refused requests with large bodies.
    #[arg(long, default_value_t = 200)]
    refusals: usize,
    /// Connections that trickle their body.
    #[arg(long, default_value_t = 200)]
    trickling: usize,
    /// Requests in the burst.
    #[arg(long, default_value_t = 256)]
    burst: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut target = match Target::new(&args.url, args.token) {
        Ok(target) => target,
        Err(e) => {
            eprintln!("fault_suite: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(request) = args.request {
        target.request = request;
    }
    let mut failed = Vec::new();

    let refusals = faults::oversized_refusals(&target, args.refusals, 256 * 1024).await;
    println!(
        "refusals past the drain bound: {} clean, {} failed",
        refusals.clean, refusals.failed
    );
    if refusals.failed > 0 {
        failed.push(format!("refusals: {:?}", refusals.failures));
    }

    let body_timeout = Duration::from_secs(args.body_timeout);
    let slow = faults::slow_bodies(&target, args.trickling, 20, body_timeout * 3).await;
    let slowest = slow
        .normal_latencies
        .iter()
        .max()
        .copied()
        .unwrap_or_default();
    println!(
        "trickling bodies: {} of {} cut with 408; normal requests answered {} of 20, slowest {slowest:?}",
        slow.cut, args.trickling, slow.normal_answered
    );
    if slow.cut != args.trickling || slow.normal_answered != 20 || !slow.failures.is_empty() {
        failed.push(format!("trickling bodies: {:?}", slow.failures));
    }

    let burst = faults::burst(&target, args.burst, Duration::from_secs(30), |_| {}).await;
    println!(
        "burst of {}: {} answered, {} shed with 503 and Retry-After",
        args.burst, burst.answered, burst.shed
    );
    if !burst.failures.is_empty() {
        failed.push(format!("burst: {:?}", burst.failures));
    }

    if failed.is_empty() {
        println!("all scenarios passed");
        ExitCode::SUCCESS
    } else {
        for failure in failed {
            eprintln!("FAILED {failure}");
        }
        ExitCode::FAILURE
    }
}
