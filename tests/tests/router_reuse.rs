//! Without `router = …`, a generated handler builds `Self::tool_router()` once for its type and
//! shares it (rmcp's handlers rebuild it for every request); with `router = …` the expression is
//! evaluated on every request, as under rmcp.

use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_rbac_tests::{issuer_for, serve, Mcp};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::ServerHandler;
use serde_json::json;

static DEFAULT_BUILDS: AtomicUsize = AtomicUsize::new(0);
static EXPLICIT_BUILDS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone)]
struct Shared;

#[mcp_rbac::tool_router(router = routes)]
impl Shared {
    #[tool(requires = "Ping.Use", description = "Answers pong")]
    async fn ping(&self) -> String {
        "pong".into()
    }
}

impl Shared {
    /// The default router function, counting how often the handler builds it.
    fn tool_router() -> ToolRouter<Self> {
        DEFAULT_BUILDS.fetch_add(1, Ordering::SeqCst);
        Self::routes()
    }
}

#[mcp_rbac::tool_handler]
impl ServerHandler for Shared {}

#[derive(Clone)]
struct PerRequest;

#[mcp_rbac::tool_router(router = routes)]
impl PerRequest {
    #[tool(requires = "Ping.Use", description = "Answers pong")]
    async fn ping(&self) -> String {
        "pong".into()
    }
}

impl PerRequest {
    fn counted() -> ToolRouter<Self> {
        EXPLICIT_BUILDS.fetch_add(1, Ordering::SeqCst);
        Self::routes()
    }
}

#[mcp_rbac::tool_handler(router = Self::counted())]
impl ServerHandler for PerRequest {}

/// Five calls and a list; how many routers each handler built meanwhile.
async fn builds_during_calls<S: ServerHandler + Send>(
    factory: fn() -> S,
    builds: &AtomicUsize,
) -> usize {
    let (issuer, verifier) = issuer_for("https://mcp.test/mcp");
    let served = serve(factory, Some(verifier)).await;
    let allowed = issuer.token(json!({"sub": "u", "permissions": ["Ping.Use"]}));
    let denied = issuer.token(json!({"sub": "v"}));
    let before = builds.load(Ordering::SeqCst);
    for _ in 0..4 {
        let reply = Mcp::new(&served.url, Some(&allowed))
            .call_tool("ping", json!({}))
            .await;
        assert_eq!(
            reply.json["result"]["content"][0]["text"], "pong",
            "{}",
            reply.raw
        );
    }
    // The shared router guards like a fresh one: no permission, no call.
    let reply = Mcp::new(&served.url, Some(&denied))
        .call_tool("ping", json!({}))
        .await;
    assert_eq!(reply.json["error"]["code"], 403, "{}", reply.raw);
    let list = Mcp::new(&served.url, Some(&allowed)).list_tools().await;
    assert_eq!(
        list.json["result"]["tools"][0]["name"], "ping",
        "{}",
        list.raw
    );
    builds.load(Ordering::SeqCst) - before
}

#[tokio::test]
async fn the_default_router_is_built_once_and_an_explicit_one_per_request() {
    // A first use may build it (at most once for the process); the calls after that build none.
    let shared = builds_during_calls(|| Shared, &DEFAULT_BUILDS).await;
    assert!(shared <= 1, "built {shared} times");
    assert_eq!(builds_during_calls(|| Shared, &DEFAULT_BUILDS).await, 0);
    // Each request evaluates `router = Self::counted()` (call_tool and list_tools at least once).
    let per_request = builds_during_calls(|| PerRequest, &EXPLICIT_BUILDS).await;
    assert!(per_request >= 6, "built {per_request} times for 6 requests");
}
