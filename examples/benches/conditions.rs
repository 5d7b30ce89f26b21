//! What an argument condition (`authorize = Self::method`) adds to a `tools/call`, beyond the
//! tool's own argument parsing: two tools with the same requirement and the same arguments,
//! one behind a condition that reads them, each called through the handler `#[tool_handler]`
//! generates (the route's guard, rmcp's extraction, the body). The difference between the two is
//! the condition's price: the scope taken from the request, the wrapper's boxed future, the
//! judgement, and its (sinkless) decision record and metric.
//!
//! `cargo bench -p mcp-rbac-examples --bench conditions`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, Criterion};
use mcp_rbac::{Denied, Principal};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolRequestParams, NumberOrString};
use rmcp::service::{Peer, RequestContext, RunningService};
use rmcp::{RoleServer, ServerHandler};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Update {
    id: u64,
    name: Option<String>,
    price_cents: Option<u64>,
}

#[derive(Clone, Default)]
struct Bench;

impl Bench {
    async fn within_limit(&self, caller: &Principal, update: &Update) -> Result<(), Denied> {
        if update.price_cents.is_some_and(|p| p > 100_000) && !caller.has_permission("Admin.Write")
        {
            return Err(Denied::new("price_above_limit", "too dear"));
        }
        Ok(())
    }
}

#[mcp_rbac::tool_router(server_handler)]
impl Bench {
    #[tool(requires = "Products.Write")]
    async fn update(&self, Parameters(update): Parameters<Update>) -> String {
        body(&update)
    }

    #[tool(requires = "Products.Write", authorize = Self::within_limit)]
    async fn update_checked(&self, Parameters(update): Parameters<Update>) -> String {
        body(&update)
    }
}

fn body(update: &Update) -> String {
    format!(
        "{} {} {}",
        update.id,
        update.name.as_deref().unwrap_or("-"),
        update.price_cents.unwrap_or(0)
    )
}

struct Setup {
    server: Bench,
    context: RequestContext<RoleServer>,
    arguments: rmcp::model::JsonObject,
    _running: RunningService<RoleServer, Bench>,
    _runtime: tokio::runtime::Runtime,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (running, peer): (_, Peer<RoleServer>) = {
        let _entered = runtime.enter();
        let (server_end, client_end) = tokio::io::duplex(1 << 16);
        // The client end stays open for the life of the bench (closing it stops the server).
        std::mem::forget(client_end);
        let running = rmcp::service::serve_directly(Bench, server_end, None);
        let peer = running.peer().clone();
        (running, peer)
    };
    let mut context = RequestContext::new(NumberOrString::Number(1), peer);
    context.extensions.insert(
        Principal::builder("bench")
            .permissions(["Products.Write"])
            .build(),
    );
    let arguments = serde_json::json!({"id": 42, "name": "Widget", "price_cents": 1999})
        .as_object()
        .cloned()
        .expect("an object");
    let setup = Setup {
        server: Bench,
        context,
        arguments,
        _running: running,
        _runtime: runtime,
    };
    for tool in ["update", "update_checked"] {
        assert_eq!(setup.call(tool), "42 Widget 1999");
    }
    setup
}

impl Setup {
    fn call(&self, tool: &'static str) -> String {
        let request = CallToolRequestParams::new(tool).with_arguments(self.arguments.clone());
        let response =
            now_or_never(self.server.call_tool(request, self.context.clone())).expect("allowed");
        let rmcp::model::CallToolResponse::Complete(result) = response else {
            panic!("a complete result");
        };
        result.content[0]
            .as_text()
            .map(|t| t.text.clone())
            .unwrap_or_default()
    }
}

/// The calls here finish without waiting (the tools do no I/O); poll once, no runtime.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("nothing here waits"),
    }
}

fn calls(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("conditions");
    group.bench_function("requires_only", |b| {
        b.iter(|| setup.call(black_box("update")))
    });
    group.bench_function("requires_and_condition", |b| {
        b.iter(|| setup.call(black_box("update_checked")))
    });
    group.finish();
}

/// Alternating rounds of both tools; the median of the per-round differences is robust against
/// this VM changing speed between rounds.
fn interleaved_difference() {
    let setup = setup();
    let time = |tool: &'static str| {
        let start = std::time::Instant::now();
        for _ in 0..2000 {
            black_box(setup.call(black_box(tool)));
        }
        start.elapsed().as_nanos() as f64 / 2000.0
    };
    let mut rounds: Vec<(f64, f64)> = (0..41)
        .map(|_| (time("update"), time("update_checked")))
        .collect();
    rounds.sort_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
    let (plain, checked) = rounds[rounds.len() / 2];
    println!(
        "\ninterleaved (median of 41 alternating rounds of 2000 calls): requires only {plain:.0} ns, \
         requires and condition {checked:.0} ns; the condition adds {:.0} ns",
        checked - plain
    );
}

criterion_group!(benches, calls);

fn main() {
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved_difference();
    }
    Criterion::default().configure_from_args().final_summary();
}
