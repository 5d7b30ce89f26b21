//! List modes over real HTTP against the products server: `--list-mode hide` (the default) lists
//! only what the caller may use, `--list-mode show` lists everything; `--requirement-meta` puts
//! each item's requirement and the caller's standing in its `_meta`. Calls are checked either way.

use mcp_rbac::guard::{ALLOWED_KEY, REQUIRES_KEY};
use mcp_rbac_examples::products::{Cli, ListModeFlag, Running};
use mcp_rbac_tests::fixtures::{products, ProductsAccess};
use mcp_rbac_tests::{names, Mcp, Reply};
use serde_json::{json, Value};

/// Every tool of the server, from its manifest.
fn all_tools() -> Vec<String> {
    ProductsAccess::new()
        .tools()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

async fn start(mode: ListModeFlag, requirement_meta: bool) -> Running {
    products(|cli| {
        cli.list_mode = mode;
        cli.requirement_meta = requirement_meta;
    })
    .await
}

async fn list_resources(mcp: &Mcp) -> Reply {
    mcp.post(&json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list", "params": {}}))
        .await
}

/// Item name (or URI) → its `_meta`, for the items of a list result under `key`.
fn metas(reply: &Reply, key: &str, name_field: &str) -> Vec<(String, Value)> {
    reply.result().expect("list result")[key]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let name = item[name_field].as_str().unwrap_or_default().to_owned();
            (name, item.get("_meta").cloned().unwrap_or(Value::Null))
        })
        .collect()
}

#[tokio::test]
async fn hide_is_the_default_and_lists_only_what_the_caller_may_use() {
    let server = start(ListModeFlag::default(), false).await;
    assert_eq!(Cli::defaults().listing(), mcp_rbac::guard::Listing::hide());
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let tools = guest.list_tools().await;
    assert_eq!(
        names(&tools, "tools"),
        ["get_product", "list_products", "whoami"]
    );
    assert_eq!(
        names(&guest.list_prompts().await, "prompts"),
        Vec::<String>::new()
    );
    for (tool, meta) in metas(&tools, "tools", "name") {
        assert!(meta.get(REQUIRES_KEY).is_none(), "{tool}: {meta}");
        assert!(
            meta.get("mcp-rbac/access").is_none(),
            "{tool}: internal marker leaked"
        );
    }

    let admin = Mcp::new(&server.url, Some(&tokens.admin));
    assert_eq!(names(&admin.list_tools().await, "tools"), all_tools());
    assert_eq!(
        names(&admin.list_prompts().await, "prompts"),
        ["product_brief"]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn show_lists_everything_and_calls_stay_guarded() {
    let server = start(ListModeFlag::Show, false).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));

    let tools = guest.list_tools().await;
    assert_eq!(names(&tools, "tools"), all_tools());
    assert_eq!(
        names(&guest.list_prompts().await, "prompts"),
        ["product_brief"]
    );
    let resources = list_resources(&guest).await;
    let uris: Vec<String> = metas(&resources, "resources", "uri")
        .into_iter()
        .map(|(uri, _)| uri)
        .collect();
    assert_eq!(uris, ["products://catalog", "products://audit"]);
    // Without --requirement-meta, nothing about permissions is added.
    for (tool, meta) in metas(&tools, "tools", "name") {
        assert!(meta.get(REQUIRES_KEY).is_none(), "{tool}: {meta}");
        assert!(
            meta.get("mcp-rbac/access").is_none(),
            "{tool}: internal marker leaked"
        );
    }

    // Listed is not allowed.
    let reply = guest.call_tool("delete_product", json!({"id": 3})).await;
    assert_eq!(reply.rpc_error().expect("denied")["code"], 403);
    let reply = guest.get_prompt("product_brief", json!({"id": "1"})).await;
    assert_eq!(reply.rpc_error().expect("denied")["code"], 403);
    assert_eq!(server.counters.get("delete_product"), 0);
    assert_eq!(server.counters.get("product_brief"), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn requirement_meta_tells_the_caller_what_is_missing() {
    let server = start(ListModeFlag::Show, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));

    let access = ProductsAccess::new();
    let guest_may = access.permissions_of("guest");
    let tools = guest.list_tools().await;
    let listed = metas(&tools, "tools", "name");
    assert_eq!(listed.len(), all_tools().len());
    for (tool, meta) in listed {
        assert_eq!(meta[REQUIRES_KEY], access.requirement(&tool), "{tool}");
        let may = access.allows(&guest_may, &tool);
        assert_eq!(meta[ALLOWED_KEY], may, "{tool}");
        assert!(
            meta.get("mcp-rbac/access").is_none(),
            "{tool}: internal marker leaked"
        );
    }

    let prompts = metas(&guest.list_prompts().await, "prompts", "name");
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].1[REQUIRES_KEY], "User.Read");
    assert_eq!(prompts[0].1[ALLOWED_KEY], false);

    let resources = metas(&list_resources(&guest).await, "resources", "uri");
    let audit = resources
        .iter()
        .find(|(uri, _)| uri == "products://audit")
        .expect("audit listed");
    assert_eq!(audit.1[REQUIRES_KEY], "Admin.Read");
    assert_eq!(audit.1[ALLOWED_KEY], false);

    // The same list for a user says something else about the prompt and create_product.
    let user = Mcp::new(&server.url, Some(&tokens.user));
    let prompts = metas(&user.list_prompts().await, "prompts", "name");
    assert_eq!(prompts[0].1[ALLOWED_KEY], true);
    let tools = metas(&user.list_tools().await, "tools", "name");
    let create = tools
        .iter()
        .find(|(t, _)| t == "create_product")
        .expect("listed");
    assert_eq!(create.1[ALLOWED_KEY], true);
    server.shutdown().await;
}

#[tokio::test]
async fn hide_with_requirement_meta_marks_what_it_lists() {
    let server = start(ListModeFlag::Hide, true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let user = Mcp::new(&server.url, Some(&tokens.user));
    let tools = user.list_tools().await;
    assert_eq!(
        names(&tools, "tools"),
        [
            "create_product",
            "get_product",
            "list_products",
            "update_product",
            "whoami"
        ]
    );
    let access = ProductsAccess::new();
    for (tool, meta) in metas(&tools, "tools", "name") {
        assert_eq!(meta[REQUIRES_KEY], access.requirement(&tool), "{tool}");
        assert_eq!(meta[ALLOWED_KEY], true, "{tool}");
    }
    server.shutdown().await;
}

/// `tools/list` and `prompts/list` as a client of the 2026-07-28 revision sends them: no
/// `initialize`, the version in the `MCP-Protocol-Version` header and in the request's `_meta`
/// with the client's capabilities, the method in `Mcp-Method` (SEP-2243, SEP-2575).
async fn list_2026(mcp: &Mcp, method: &str) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    let reply = mcp
        .with_protocol("2026-07-28")
        .post_with(&body, &[("mcp-method", method.as_bytes())])
        .await;
    assert_eq!(reply.status, 200, "{method}: {}", reply.raw);
    assert!(reply.result().is_some(), "{method}: {}", reply.raw);
    reply
}

/// README, "List modes": a list that depends on the caller says `cacheScope: "private"` under
/// 2026-07-28, a shown list without requirement metadata says `public`; rmcp's own lists always
/// say `public`. Over HTTP, as a 2026-07-28 client asks for them; older revisions get neither.
#[tokio::test]
async fn lists_say_private_when_they_depend_on_the_caller_under_2026_07_28() {
    for (mode, requirement_meta, scope) in [
        (ListModeFlag::Hide, false, "private"),
        (ListModeFlag::Hide, true, "private"),
        (ListModeFlag::Show, true, "private"),
        (ListModeFlag::Show, false, "public"),
    ] {
        let case = format!("{mode:?}, requirement meta {requirement_meta}");
        let server = start(mode, requirement_meta).await;
        let tokens = server.tokens.clone().expect("tokens");
        let guest = Mcp::new(&server.url, Some(&tokens.guest));
        for (method, key) in [("tools/list", "tools"), ("prompts/list", "prompts")] {
            let reply = list_2026(&guest, method).await;
            let result = reply.result().expect("result");
            assert_eq!(
                result["cacheScope"], scope,
                "{case} {method}: {}",
                reply.raw
            );
            assert_eq!(result["ttlMs"], 0, "{case} {method}: {}", reply.raw);
            // The same list it would be under the older revision.
            let older = guest
                .post(&json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": {}}))
                .await;
            assert_eq!(names(&reply, key), names(&older, key), "{case} {method}");
            let older = older.result().expect("result");
            assert!(
                older.get("cacheScope").is_none(),
                "{case} {method}: {older}"
            );
            assert!(older.get("ttlMs").is_none(), "{case} {method}: {older}");
        }
        server.shutdown().await;
    }
}
