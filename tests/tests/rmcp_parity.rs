//! The macros change who may call a tool and nothing else: a tool with every other rmcp argument
//! lists exactly as under plain rmcp. And a guarded server without the bearer layer fails closed.

use mcp_rbac::Principal;
use mcp_rbac_tests::{issuer_for, serve, Mcp};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::MetaObject;
use rmcp::{ErrorData, ServerHandler};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
struct Input {
    /// A number.
    x: u32,
}

#[derive(Serialize, JsonSchema)]
struct Output {
    /// The number, doubled.
    doubled: u32,
}

fn meta() -> MetaObject {
    MetaObject(
        json!({"vendor/x": 1})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

#[derive(Clone)]
struct Plain;

#[rmcp::tool_router]
impl Plain {
    #[rmcp::tool(
        name = "fancy",
        title = "Fancy tool",
        description = "Doubles a number",
        annotations(title = "Fancy", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        meta = meta()
    )]
    async fn fancy(&self, Parameters(i): Parameters<Input>) -> Result<Json<Output>, ErrorData> {
        Ok(Json(Output { doubled: i.x * 2 }))
    }

    /// Described by its doc comment.
    #[rmcp::tool]
    async fn documented(&self) -> String {
        "ok".into()
    }
}

#[rmcp::tool_handler]
impl ServerHandler for Plain {}

#[derive(Clone)]
struct Guarded;

#[mcp_rbac::tool_router]
impl Guarded {
    #[tool(
        requires = "Fancy.Use",
        name = "fancy",
        title = "Fancy tool",
        description = "Doubles a number",
        annotations(title = "Fancy", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        meta = meta()
    )]
    async fn fancy(&self, Parameters(i): Parameters<Input>) -> Result<Json<Output>, ErrorData> {
        Ok(Json(Output { doubled: i.x * 2 }))
    }

    /// Described by its doc comment.
    #[tool(public)]
    async fn documented(&self, caller: Option<Principal>) -> String {
        caller.map_or_else(|| "nobody".into(), |c| format!("ok {}", c.subject()))
    }
}

#[mcp_rbac::tool_handler]
impl ServerHandler for Guarded {}

#[tokio::test]
async fn tools_list_matches_plain_rmcp() {
    let plain = serve(|| Plain, None).await;
    let (issuer, verifier) = issuer_for("https://mcp.test/mcp");
    let guarded = serve(|| Guarded, Some(verifier)).await;
    let token = issuer.token(json!({"sub": "u", "permissions": ["Fancy.Use"]}));

    let plain_list = Mcp::new(&plain.url, None).list_tools().await;
    let guarded_list = Mcp::new(&guarded.url, Some(&token)).list_tools().await;
    let plain_tools = &plain_list.json["result"]["tools"];
    assert_eq!(
        plain_tools.as_array().map(Vec::len),
        Some(2),
        "{}",
        plain_list.raw
    );
    assert_eq!(
        &guarded_list.json["result"]["tools"], plain_tools,
        "listing differs from plain rmcp"
    );
    // The output schema came from `Json<Output>`, the description from the doc comment.
    // (Lists are sorted by name: `documented`, then `fancy`.)
    assert_eq!(
        plain_tools[0]["description"],
        "Described by its doc comment."
    );
    assert_eq!(
        plain_tools[1]["outputSchema"]["properties"]["doubled"]["type"],
        "integer"
    );
    assert_eq!(plain_tools[1]["_meta"], json!({"vendor/x": 1}));
    assert_eq!(plain_tools[1]["annotations"]["idempotentHint"], true);

    // The structured result is the same too.
    let a = Mcp::new(&plain.url, None)
        .call_tool("fancy", json!({"x": 21}))
        .await;
    let b = Mcp::new(&guarded.url, Some(&token))
        .call_tool("fancy", json!({"x": 21}))
        .await;
    assert_eq!(a.json["result"], b.json["result"]);
    assert_eq!(
        b.json["result"]["structuredContent"],
        json!({"doubled": 42})
    );

    // `Option<Principal>` sees the caller.
    let who = Mcp::new(&guarded.url, Some(&token))
        .call_tool("documented", json!({}))
        .await;
    assert_eq!(who.json["result"]["content"][0]["text"], "ok u");
}

#[tokio::test]
async fn without_the_bearer_layer_every_call_is_refused_with_401() {
    let guarded = serve(|| Guarded, None).await;
    let client = Mcp::new(&guarded.url, Some("ignored.because.no.layer"));
    for reply in [
        client.call_tool("fancy", json!({"x": 1})).await,
        client.call_tool("documented", json!({})).await,
        client.list_tools().await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.raw);
        assert_eq!(reply.json["error"]["code"], 401, "{}", reply.raw);
        assert!(reply.json.get("result").is_none());
    }
}
