//! `tools/list` on a server with a thousand tools: filtered per caller by mcp-rbac against the
//! same list under plain rmcp.
//!
//! Two levels, each in one criterion group so the compared cases run side by side:
//! - `list_handler`: the `ServerHandler::list_tools` the macros generate, called with a request
//!   context as rmcp's service hands it over (no JSON).
//! - `list_http`: one `tools/list` POST through axum and rmcp's streamable HTTP service in
//!   process (stateless JSON mode), the answer's body read: what a client waits for, minus
//!   the socket.
//!
//! After criterion, alternating rounds of the plain list and the admin's filtered list give a
//! median ratio at both levels, robust against this host changing speed between groups.
//!
//! The servers are generated (`generate.sh` beside this file): 1,000 tools in 100 areas,
//! requirements cycling through public, one permission, `any` of three and `all` of two.
//!
//! `cargo bench -p mcp-rbac-examples --bench scale_tools`

mod args {
    use schemars::JsonSchema;
    use serde::Deserialize;

    /// One record.
    #[derive(Deserialize, JsonSchema)]
    pub struct ItemId {
        /// The record's identifier.
        pub id: u64,
    }

    /// A search among an area's records.
    #[derive(Deserialize, JsonSchema)]
    pub struct Search {
        /// Words to look for.
        pub query: String,
        /// At most this many results.
        pub limit: Option<u32>,
    }
}

mod servers;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use axum::body::Body;
use axum::{Extension, Router};
use criterion::{criterion_group, Criterion};
use http::Request;
use mcp_rbac::Principal;
use rmcp::model::{ListToolsResult, NumberOrString};
use rmcp::service::{Peer, RequestContext, RunningService};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler};
use servers::{Guarded, Plain};
use tower::ServiceExt;

const TOOLS: usize = 1000;
const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

/// The callers: everything, a narrow user of two areas, and one who holds nothing (public tools
/// only).
fn callers() -> Vec<(&'static str, Principal, usize)> {
    let mut everything: Vec<String> = (0..100)
        .flat_map(|a| [format!("Area{a}.Read"), format!("Area{a}.Write")])
        .collect();
    everything.extend(["Ops.Write".into(), "Admin.Write".into()]);
    let admin = Principal::builder("admin")
        .permissions(everything.iter().map(String::as_str))
        .build();
    // Area 0: read only (its single-permission tools); area 1: read and write (all of its tools).
    let narrow = Principal::builder("narrow")
        .permissions(["Area0.Read", "Area1.Read", "Area1.Write"])
        .build();
    let nobody = Principal::builder("nobody").build();
    // Public: every 4th tool (250). Area 0 adds its 3 single-permission tools (1, 5, 9), area 1
    // its 8 guarded ones (10, 11, 13, 14, 15, 17, 18, 19).
    vec![
        ("admin", admin, TOOLS),
        ("narrow", narrow, 250 + 3 + 8),
        ("nobody", nobody, 250),
    ]
}

/// The futures here finish without waiting (the handlers do no I/O); poll once, no runtime.
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("nothing here waits"),
    }
}

fn plain() -> Plain {
    Plain::default()
}

/// A peer as rmcp's service gives its handlers one: a server running over an in-memory pipe.
fn peer(
    runtime: &tokio::runtime::Runtime,
) -> (RunningService<RoleServer, Plain>, Peer<RoleServer>) {
    let _entered = runtime.enter();
    let (server_end, client_end) = tokio::io::duplex(1 << 16);
    // The client end stays open for the life of the bench (leaked: closing it stops the server).
    std::mem::forget(client_end);
    let running = rmcp::service::serve_directly(plain(), server_end, None);
    let peer = running.peer().clone();
    (running, peer)
}

fn context(peer: &Peer<RoleServer>, caller: Option<&Principal>) -> RequestContext<RoleServer> {
    let mut context = RequestContext::new(NumberOrString::Number(1), peer.clone());
    if let Some(caller) = caller {
        context.extensions.insert(caller.clone());
    }
    context
}

fn list<S: ServerHandler>(server: &S, context: &RequestContext<RoleServer>) -> ListToolsResult {
    now_or_never(server.list_tools(None, context.clone())).expect("tools/list")
}

fn app_of<S: ServerHandler + Clone>(server: S, caller: Option<&Principal>) -> Router {
    let http = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(["127.0.0.1", "localhost"]);
    let sessions = Arc::new(LocalSessionManager::default());
    let mcp = StreamableHttpService::new(move || Ok(server.clone()), sessions, http);
    let router = Router::new().route_service("/mcp", mcp);
    // What the bearer layer does once it has verified a token: the caller rides in the request.
    match caller {
        Some(caller) => router.layer(Extension(caller.clone())),
        None => router,
    }
}

/// One `tools/list` POST through `app`; the answer's bytes.
async fn post_list(app: &Router) -> axum::body::Bytes {
    let request = Request::post("/mcp")
        .header("host", "127.0.0.1:8000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Body::from(LIST))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body")
}

fn tools_in(body: &[u8]) -> usize {
    let answer: serde_json::Value = serde_json::from_slice(body).expect("JSON answer");
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("a tool list: {answer}"))
        .len()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn list_handler(c: &mut Criterion) {
    let runtime = runtime();
    let (_running, peer) = peer(&runtime);
    let plain = plain();
    let anonymous = context(&peer, None);
    assert_eq!(list(&plain, &anonymous).tools.len(), TOOLS);
    let mut group = c.benchmark_group("list_handler");
    group.bench_function("plain_rmcp", |b| {
        b.iter(|| list(&plain, black_box(&anonymous)).tools.len())
    });
    for (name, caller, expected) in callers() {
        let context = context(&peer, Some(&caller));
        let listed = list(&Guarded, &context);
        assert_eq!(listed.tools.len(), expected, "{name}");
        assert!(
            listed.tools.iter().all(|t| t.meta.is_none()),
            "no marker leaves"
        );
        group.bench_function(format!("mcp_rbac/{name}"), |b| {
            b.iter(|| list(&Guarded, black_box(&context)).tools.len())
        });
    }
    group.finish();
}

fn list_http(c: &mut Criterion) {
    let runtime = runtime();
    let plain_app = app_of(plain(), None);
    assert_eq!(tools_in(&runtime.block_on(post_list(&plain_app))), TOOLS);
    let mut group = c.benchmark_group("list_http");
    group.bench_function("plain_rmcp", |b| {
        b.iter(|| runtime.block_on(post_list(black_box(&plain_app))).len())
    });
    for (name, caller, expected) in callers() {
        let app = app_of(Guarded, Some(&caller));
        assert_eq!(
            tools_in(&runtime.block_on(post_list(&app))),
            expected,
            "{name}"
        );
        group.bench_function(format!("mcp_rbac/{name}"), |b| {
            b.iter(|| runtime.block_on(post_list(black_box(&app))).len())
        });
    }
    group.finish();
}

/// Median over alternating rounds of `rounds` runs of `plain` then `guarded` (each timed as
/// `per_round` calls): (plain ns, guarded ns) of the median round by ratio.
fn interleaved(per_round: u32, mut plain: impl FnMut(), mut guarded: impl FnMut()) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..per_round {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(per_round)
    };
    let mut rounds: Vec<(f64, f64)> = (0..41)
        .map(|_| (time(&mut plain), time(&mut guarded)))
        .collect();
    rounds.sort_by(|a, b| (a.1 / a.0).total_cmp(&(b.1 / b.0)));
    rounds[rounds.len() / 2]
}

fn interleaved_ratios() {
    let runtime = runtime();
    let (_running, peer) = peer(&runtime);
    let plain_server = plain();
    let anonymous = context(&peer, None);
    let plain_app = app_of(plain(), None);
    println!();
    for (name, caller, _) in callers() {
        let context = context(&peer, Some(&caller));
        let (p, g) = interleaved(
            200,
            || {
                black_box(list(&plain_server, &anonymous));
            },
            || {
                black_box(list(&Guarded, &context));
            },
        );
        println!(
            "list_handler, {name}: plain rmcp {:.1} µs, mcp-rbac {:.1} µs, mcp-rbac ÷ plain {:.3} \
             (median of 41 alternating rounds of 200)",
            p / 1000.0,
            g / 1000.0,
            g / p
        );
        let app = app_of(Guarded, Some(&caller));
        let (p, g) = interleaved(
            20,
            || {
                black_box(runtime.block_on(post_list(&plain_app)));
            },
            || {
                black_box(runtime.block_on(post_list(&app)));
            },
        );
        println!(
            "list_http, {name}: plain rmcp {:.1} µs, mcp-rbac {:.1} µs, mcp-rbac ÷ plain {:.3} \
             (median of 41 alternating rounds of 20)",
            p / 1000.0,
            g / 1000.0,
            g / p
        );
    }
}

criterion_group!(benches, list_handler, list_http);

fn main() {
    benches();
    // Only under `cargo bench` (which passes `--bench`), not when listing benchmarks.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list") {
        interleaved_ratios();
    }
    Criterion::default().configure_from_args().final_summary();
}
