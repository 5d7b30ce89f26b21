//! Step-up authorization over real HTTP against the products server: with `--step-up`, a refused
//! `tools/call` that scopes could allow gets HTTP 403 and the scope challenge of the MCP
//! authorization specification, before rmcp runs; without it, the JSON-RPC 403 at HTTP 200.

use std::collections::BTreeSet;

use mcp_rbac_examples::products::{Products, Running};
use mcp_rbac_tests::fixtures::{metadata_url, products};
use mcp_rbac_tests::{Mcp, Reply, PROTOCOL};
use serde_json::{json, Value};

async fn start(step_up: bool, stateless: bool) -> Running {
    products(|cli| {
        cli.stateless = stateless;
        cli.step_up = step_up;
    })
    .await
}

/// The exact challenge for `scopes`.
fn challenge(server: &Running, scopes: &str) -> String {
    format!(
        "Bearer error=\"insufficient_scope\", scope=\"{scopes}\", resource_metadata=\"{}\"",
        metadata_url(server.addr)
    )
}

/// A token holding exactly these OAuth scopes (no roles).
fn scoped_token(server: &Running, scopes: &str) -> String {
    let issuer = server.issuer.clone().expect("development issuer");
    issuer.token(json!({"sub": "scoped", "scope": scopes}))
}

fn assert_challenged(reply: &Reply, expected: &str, token: &str) {
    assert_eq!(reply.status, 403, "{}", reply.raw);
    assert_eq!(reply.header("www-authenticate"), Some(expected));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    // The body says what kind of refusal this is and nothing else: no tool output, no product,
    // no requirement, no token.
    assert_eq!(reply.json["error"], "insufficient_scope", "{}", reply.raw);
    let fields: BTreeSet<&str> = reply
        .json
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(fields, BTreeSet::from(["error", "error_description"]));
    for leak in [
        "deleted", "created", "Widget", "Gadget", "Gizmo", "Admin", "User.", token,
    ] {
        assert!(
            !reply.raw.contains(leak),
            "body leaks {leak:?}: {}",
            reply.raw
        );
    }
}

#[tokio::test]
async fn a_refused_call_gets_the_scope_challenge_and_never_runs() {
    let server = start(true, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));

    let reply = guest.call_tool("delete_product", json!({"id": 3})).await;
    assert_challenged(&reply, &challenge(&server, "Admin.Write"), &tokens.guest);
    // Malformed arguments change nothing: the decision comes before them.
    let reply = guest.call_tool("delete_product", json!({"id": "x"})).await;
    assert_challenged(&reply, &challenge(&server, "Admin.Write"), &tokens.guest);
    assert_eq!(server.counters.get("delete_product"), 0);

    // Product 3 is still there.
    let admin = Mcp::new(&server.url, Some(&tokens.admin));
    let reply = admin.call_tool("get_product", json!({"id": 3})).await;
    assert_eq!(
        reply.result().expect("result")["structuredContent"]["name"],
        "Gizmo"
    );
    server.shutdown().await;
}

/// `any(User.Write, Admin.Write)` asks for its first alternative only (least privilege).
#[tokio::test]
async fn any_challenges_with_its_first_alternative() {
    let server = start(true, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let reply = guest
        .call_tool(
            "create_product",
            json!({"name": "Doohickey", "price_cents": 1}),
        )
        .await;
    assert_challenged(&reply, &challenge(&server, "User.Write"), &tokens.guest);
    assert_eq!(server.counters.get("create_product"), 0);
    server.shutdown().await;
}

/// The OAuth loop: scopes from the challenge, a new token with them, the retry succeeds.
#[tokio::test]
async fn a_token_with_the_challenged_scopes_succeeds_on_retry() {
    let server = start(true, true).await;
    let before = scoped_token(&server, "Guest.Read");
    let reply = Mcp::new(&server.url, Some(&before))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_challenged(&reply, &challenge(&server, "Admin.Write"), &before);
    let header = reply.header("www-authenticate").unwrap_or_default();
    let scope = header
        .split("scope=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("scope parameter");

    let after = scoped_token(&server, &format!("Guest.Read {scope}"));
    let reply = Mcp::new(&server.url, Some(&after))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.result().expect("result")["content"][0]["text"],
        "product 2 deleted"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn allowed_public_and_unknown_calls_take_the_normal_path() {
    let server = start(true, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let admin = Mcp::new(&server.url, Some(&tokens.admin));

    let reply = admin.call_tool("delete_product", json!({"id": 1})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.result().expect("result")["content"][0]["text"],
        "product 1 deleted"
    );

    let reply = guest.call_tool("whoami", json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(reply.result().is_some(), "{}", reply.raw);

    let reply = guest.call_tool("no_such_tool", json!({})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.rpc_error().expect("error")["code"], -32602);

    let reply = guest.list_tools().await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("www-authenticate").is_none());
    server.shutdown().await;
}

/// What the layer does not decide reaches rmcp unchanged, where the route's guard still refuses.
#[tokio::test]
async fn what_the_layer_cannot_decide_still_meets_the_guard() {
    let server = start(true, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));

    // Over the 1 MiB read-ahead limit: the whole body goes on, and the guard answers.
    let padding = "x".repeat(mcp_rbac::bearer::DEFAULT_MAX_BODY_BYTES + 10);
    let reply = guest
        .call_tool("delete_product", json!({"id": 3, "padding": padding}))
        .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        &reply.raw[..reply.raw.len().min(300)]
    );
    let error = reply.rpc_error().expect("JSON-RPC error");
    assert_eq!(error["code"], 403);
    assert_eq!(
        error["data"],
        json!({"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"})
    );

    // A batch is not a single call: the layer passes it on, and rmcp refuses it (the 2025-11-25
    // revision has no batches) with HTTP 415 and a plain-text reason; no challenge, no run.
    let batch = json!([{"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "delete_product", "arguments": {"id": 3}}}]);
    let reply = guest.post(&batch).await;
    assert_eq!(reply.status, 415, "{}", reply.raw);
    assert_eq!(
        reply.raw,
        "fail to deserialize request body unrecognized JSON-RPC message"
    );
    assert!(reply.header("www-authenticate").is_none());

    // Neither is JSON that does not parse.
    let reply = reqwest::Client::new()
        .post(&server.url)
        .header("authorization", format!("Bearer {}", tokens.guest))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL)
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_product""#)
        .send()
        .await
        .expect("HTTP");
    assert_eq!(reply.status().as_u16(), 415);
    assert!(reply.headers().get("www-authenticate").is_none());
    assert_eq!(
        reply.text().await.expect("body"),
        "fail to deserialize request body EOF while parsing an object at line 1 column 79"
    );

    assert_eq!(server.counters.get("delete_product"), 0);
    server.shutdown().await;
}

/// Step-up covers `tools/call`; a refused prompt keeps the JSON-RPC denial.
#[tokio::test]
async fn prompts_keep_the_json_rpc_denial() {
    let server = start(true, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let reply = Mcp::new(&server.url, Some(&tokens.guest))
        .get_prompt("product_brief", json!({"id": "1"}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.rpc_error().expect("error")["code"], 403);
    server.shutdown().await;
}

/// The default (README, "On the wire"): no step-up, the JSON-RPC 403 at HTTP 200 with no challenge.
#[tokio::test]
async fn without_step_up_a_refusal_is_the_json_rpc_403() {
    let server = start(false, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let reply = Mcp::new(&server.url, Some(&tokens.guest))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.header("www-authenticate").is_none());
    let error = reply.rpc_error().expect("JSON-RPC error");
    assert_eq!(error["code"], 403);
    assert_eq!(
        error["data"],
        json!({"tool": "delete_product", "required": "Admin.Write", "reason": "missing_permission"})
    );
    assert_eq!(server.counters.get("delete_product"), 0);
    server.shutdown().await;
}

/// In session mode (SSE answers) the challenge comes the same way, before any stream opens.
#[tokio::test]
async fn session_mode_challenges_too() {
    let server = start(true, false).await;
    let tokens = server.tokens.clone().expect("tokens");
    let mut guest = Mcp::new(&server.url, Some(&tokens.guest));
    let init = guest.initialize().await;
    assert_eq!(init.status, 200, "{}", init.raw);
    let reply = guest.call_tool("delete_product", json!({"id": 3})).await;
    assert_challenged(&reply, &challenge(&server, "Admin.Write"), &tokens.guest);
    let reply = guest.call_tool("list_products", json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(reply.result().is_some(), "{}", reply.raw);
    server.shutdown().await;
}

/// `scopes_supported` is what the tools, prompts and resources require, not a hand-kept list, and
/// every scope a challenge names is in it.
#[tokio::test]
async fn the_metadata_scopes_come_from_the_manifest() {
    let server = start(true, true).await;
    let doc: Value = reqwest::get(metadata_url(server.addr))
        .await
        .expect("metadata")
        .json()
        .await
        .expect("JSON");
    let advertised: BTreeSet<String> = doc["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();

    let mut required: BTreeSet<String> = mcp_rbac::metadata::manifest_scopes(&Products::manifest())
        .into_iter()
        .collect();
    for (_, access) in Products::resources().rules() {
        if let mcp_rbac::Access::Requires(req) = access {
            required.extend(req.permissions().into_iter().map(str::to_owned));
        }
    }
    assert_eq!(advertised, required);
    // What that is for the products server today.
    assert_eq!(
        advertised,
        [
            "Admin.Read",
            "Admin.Write",
            "Guest.Read",
            "User.Read",
            "User.Write"
        ]
        .map(String::from)
        .into()
    );
    server.shutdown().await;
}

/// A server whose tool needs `all(..)` with a nested `any(..)`, behind the same two layers.
mod nested {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    use mcp_rbac::testkit::DevIssuer;
    use mcp_rbac_tests::{serve_with, ServeOptions, Served};
    use rmcp::ServerHandler;

    #[derive(Clone, Default)]
    pub struct Vault {
        pub runs: Arc<AtomicU64>,
    }

    #[mcp_rbac::tool_router]
    impl Vault {
        #[tool(requires = all("Admin.Write", any("Keys.Rotate", "Admin.Read")))]
        async fn rotate_keys(&self) -> String {
            self.runs.fetch_add(1, Ordering::SeqCst);
            "rotated".into()
        }
    }

    #[mcp_rbac::tool_handler]
    impl ServerHandler for Vault {}

    /// The vault behind the bearer and step-up layers, with an issuer its verifier trusts.
    pub async fn serve() -> (Served, DevIssuer, Vault) {
        let issuer =
            DevIssuer::generate("https://issuer.test", "https://vault.test/mcp").expect("issuer");
        let verifier = Arc::new(issuer.verifier_builder().build().expect("verifier"));
        let vault = Vault::default();
        let shared = vault.clone();
        let served = serve_with(
            move || shared.clone(),
            ServeOptions {
                step_up: Some(Vault::tool_router_manifest()),
                authorization_server: Some("https://issuer.test".into()),
                ..ServeOptions::verified_by(verifier)
            },
        )
        .await;
        (served, issuer, vault)
    }
}

/// `all(Admin.Write, any(Keys.Rotate, Admin.Read))`: every scope of `all`, one alternative of
/// `any`: the first, or the one the token already holds.
#[tokio::test]
async fn a_nested_requirement_challenges_with_every_scope_it_needs() {
    let (served, issuer, vault) = nested::serve().await;
    let expect = |scopes: &str| {
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scopes}\", resource_metadata=\"{}\"",
            served.metadata_url
        )
    };
    for (held, challenged) in [
        ("Guest.Read", "Admin.Write Keys.Rotate"),
        ("Admin.Read", "Admin.Write Admin.Read"),
        ("Admin.Write", "Admin.Write Keys.Rotate"),
    ] {
        let token = issuer.token(json!({"sub": "s", "scope": held}));
        let reply = Mcp::new(&served.url, Some(&token))
            .call_tool("rotate_keys", json!({}))
            .await;
        assert_challenged(&reply, &expect(challenged), &token);
    }
    let token = issuer.token(json!({"sub": "s", "scope": "Admin.Write Admin.Read"}));
    let reply = Mcp::new(&served.url, Some(&token))
        .call_tool("rotate_keys", json!({}))
        .await;
    assert_eq!(
        reply.result().expect("result")["content"][0]["text"],
        "rotated"
    );
    assert_eq!(vault.runs.load(std::sync::atomic::Ordering::SeqCst), 1);
}
