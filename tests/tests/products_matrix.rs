//! The products server over real HTTP: every caller × every tool and the prompt × call, list, get,
//! in the stateless JSON mode and the session (SSE) mode, each answer checked against
//! the README's "On the wire" table.

use std::collections::BTreeSet;

use std::sync::LazyLock;

use mcp_rbac::testkit::now;
use mcp_rbac_examples::products::Running;
use mcp_rbac_tests::fixtures::{metadata_url, products, ProductsAccess};
use mcp_rbac_tests::{names, Mcp, Reply};
use serde_json::{json, Value};

/// Who may call what, from the server's manifest and role policy.
static ACCESS: LazyLock<ProductsAccess> = LazyLock::new(ProductsAccess::new);
const PROMPT: &str = "product_brief";

/// What a caller presents, and what it may do.
struct Caller {
    name: &'static str,
    token: Option<String>,
    /// `None`: the token is refused outright (HTTP 401). `Some(perms)`: effective permissions.
    permissions: Option<Vec<String>>,
}

fn requirement(tool: &str) -> &'static str {
    ACCESS.requirement(tool)
}

fn allowed(tool: &str, perms: &[String]) -> bool {
    ACCESS.allows(perms, tool)
}

fn arguments(tool: &str) -> Value {
    match tool {
        "get_product" => json!({"id": 1}),
        "delete_product" => json!({"id": 3}),
        "create_product" => json!({"name": "Doohickey", "price_cents": 100}),
        "update_product" => json!({"id": 2, "name": "Gadget II"}),
        _ => json!({}),
    }
}

/// The reason an argument condition refuses `tool` with [`arguments`] to a caller who passes
/// its rule: `update_product` on a seeded product (no owner) is for `Admin.Write` only.
fn condition_refuses(tool: &str, perms: &[String]) -> Option<&'static str> {
    (tool == "update_product" && !perms.iter().any(|p| p == "Admin.Write")).then_some("not_owner")
}

async fn start(stateless: bool) -> Running {
    products(|cli| cli.stateless = stateless).await
}

fn callers(server: &Running) -> Vec<Caller> {
    let tokens = server.tokens.clone().expect("development tokens");
    let issuer = server.issuer.clone().expect("development issuer");
    vec![
        Caller { name: "admin", token: Some(tokens.admin), permissions: Some(ACCESS.permissions_of("admin")) },
        Caller { name: "user", token: Some(tokens.user), permissions: Some(ACCESS.permissions_of("user")) },
        Caller { name: "guest", token: Some(tokens.guest), permissions: Some(ACCESS.permissions_of("guest")) },
        Caller {
            name: "direct permissions",
            token: Some(issuer.token(json!({"sub": "svc", "permissions": ["Admin.Write", "User.Read"]}))),
            permissions: Some(vec!["Admin.Write".into(), "User.Read".into()]),
        },
        Caller { name: "no token", token: None, permissions: None },
        Caller {
            name: "expired",
            token: Some(issuer.token(json!({"sub": "admin", "roles": ["admin"], "iat": now() - 7200, "exp": now() - 3600}))),
            permissions: None,
        },
        Caller {
            name: "other audience",
            token: Some(issuer.token(json!({"sub": "admin", "roles": ["admin"], "aud": "http://127.0.0.1:1/other"}))),
            permissions: None,
        },
    ]
}

fn assert_refused(reply: &Reply, caller: &Caller, what: &str, server: &Running) {
    let metadata = metadata_url(server.addr);
    assert_eq!(reply.status, 401, "{} {what}: {}", caller.name, reply.raw);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    if caller.token.is_none() {
        assert_eq!(
            challenge,
            format!("Bearer resource_metadata=\"{metadata}\""),
            "{}",
            caller.name
        );
    } else {
        assert_eq!(
            challenge,
            format!("Bearer error=\"invalid_token\", resource_metadata=\"{metadata}\""),
            "{}",
            caller.name
        );
        assert_eq!(
            reply.json["error"], "invalid_token",
            "{}: {}",
            caller.name, reply.raw
        );
        let description = reply.json["error_description"].as_str().unwrap_or_default();
        let expected = if caller.name == "expired" {
            "token has expired"
        } else {
            "token audience is not this resource"
        };
        assert_eq!(description, expected);
        assert!(
            !reply.raw.contains(caller.token.as_deref().unwrap_or("-")),
            "token echoed back"
        );
    }
}

fn assert_denied(reply: &Reply, kind: &str, name: &str) {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let error = reply
        .rpc_error()
        .unwrap_or_else(|| panic!("expected a JSON-RPC error for {name}: {}", reply.raw));
    assert_eq!(error["code"], 403);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(name) && message.contains(requirement(name)),
        "{message}"
    );
    assert_eq!(
        error["data"],
        json!({kind: name, "required": requirement(name), "reason": "missing_permission"})
    );
}

async fn walk(stateless: bool) {
    let server = start(stateless).await;
    let mut expected_runs = std::collections::BTreeMap::<&str, u64>::new();
    for caller in callers(&server) {
        let mut client = Mcp::new(&server.url, caller.token.as_deref());
        if !stateless {
            let init = client.initialize().await;
            match caller.permissions {
                Some(_) => assert_eq!(init.status, 200, "{} initialize: {}", caller.name, init.raw),
                None => assert_refused(&init, &caller, "initialize", &server),
            }
        }
        let Some(perms) = caller.permissions.as_deref() else {
            for reply in [
                client.call_tool("delete_product", json!({"id": 1})).await,
                client.call_tool("whoami", json!({})).await,
                client.list_tools().await,
                client.get_prompt(PROMPT, json!({"id": "1"})).await,
                client.list_prompts().await,
            ] {
                assert_refused(&reply, &caller, "request", &server);
            }
            continue;
        };

        for tool in ACCESS.tools() {
            let reply = client.call_tool(tool, arguments(tool)).await;
            if let (true, Some(reason)) = (allowed(tool, perms), condition_refuses(tool, perms)) {
                let error = reply.rpc_error().unwrap_or_else(|| panic!("{}", reply.raw));
                assert_eq!(error["code"], 403, "{} {tool}: {}", caller.name, reply.raw);
                assert_eq!(error["data"], json!({"tool": tool, "reason": reason}));
            } else if allowed(tool, perms) {
                assert_eq!(reply.status, 200, "{} {tool}: {}", caller.name, reply.raw);
                let result = reply
                    .result()
                    .unwrap_or_else(|| panic!("{} {tool}: {}", caller.name, reply.raw));
                assert_eq!(
                    result["isError"], false,
                    "{} {tool}: {}",
                    caller.name, reply.raw
                );
                *expected_runs.entry(tool).or_default() += 1;
            } else {
                assert_denied(&reply, "tool", tool);
            }
        }
        let listed: BTreeSet<String> = names(&client.list_tools().await, "tools")
            .into_iter()
            .collect();
        let want: BTreeSet<String> = ACCESS
            .tools()
            .into_iter()
            .filter(|t| allowed(t, perms))
            .map(|t| t.to_string())
            .collect();
        assert_eq!(listed, want, "{} tools/list", caller.name);

        let reply = client.get_prompt(PROMPT, json!({"id": "1"})).await;
        if allowed(PROMPT, perms) {
            let messages = reply
                .result()
                .and_then(|r| r["messages"].as_array())
                .map(Vec::len);
            assert_eq!(messages, Some(1), "{} prompt: {}", caller.name, reply.raw);
            *expected_runs.entry(PROMPT).or_default() += 1;
        } else {
            assert_denied(&reply, "prompt", PROMPT);
        }
        let prompts = names(&client.list_prompts().await, "prompts");
        let want: Vec<String> = if allowed(PROMPT, perms) {
            vec![PROMPT.to_owned()]
        } else {
            vec![]
        };
        assert_eq!(prompts, want, "{} prompts/list", caller.name);

        if caller.name == "admin" {
            let whoami = client.call_tool("whoami", json!({})).await;
            let text = whoami
                .result()
                .and_then(|r| r["content"][0]["text"].as_str())
                .unwrap_or_default()
                .to_owned();
            let me: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert_eq!(me["subject"], "admin");
            assert_eq!(me["roles"], json!(["admin"]));
            *expected_runs.entry("whoami").or_default() += 1;
        }
    }
    // Every body ran exactly once per allowed call: no denied call reached one.
    assert_eq!(ACCESS.prompts(), [PROMPT]);
    for tool in ACCESS.tools().into_iter().chain([PROMPT]) {
        assert_eq!(
            server.counters.get(tool),
            expected_runs.get(tool).copied().unwrap_or(0),
            "runs of {tool}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn matrix_stateless_json() {
    walk(true).await;
}

#[tokio::test]
async fn matrix_sessions_sse() {
    walk(false).await;
}

#[tokio::test]
async fn denied_call_with_malformed_arguments_gets_the_denial() {
    let server = start(true).await;
    let guest = Mcp::new(
        &server.url,
        server.tokens.as_ref().map(|t| t.guest.as_str()),
    );
    for arguments in [
        json!({"id": "not a number"}),
        json!({}),
        json!({"id": {"nested": [1, 2]}}),
    ] {
        let reply = guest.call_tool("delete_product", arguments).await;
        assert_denied(&reply, "tool", "delete_product");
    }
    assert_eq!(server.counters.get("delete_product"), 0);
    // The same malformed call from an allowed caller reaches argument validation instead.
    let admin = Mcp::new(
        &server.url,
        server.tokens.as_ref().map(|t| t.admin.as_str()),
    );
    let reply = admin
        .call_tool("delete_product", json!({"id": "not a number"}))
        .await;
    assert_eq!(
        reply.result().map(|r| r["isError"].clone()),
        Some(json!(true)),
        "{}",
        reply.raw
    );
    assert_eq!(server.counters.get("delete_product"), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn metadata_document_in_both_locations() {
    let server = start(true).await;
    let http = reqwest::Client::new();
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let doc: Value = http
            .get(format!("http://{}{path}", server.addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["resource"], server.url.as_str());
        assert_eq!(
            doc["authorization_servers"],
            json!([format!("http://{}", server.addr)])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert!(doc["scopes_supported"]
            .as_array()
            .is_some_and(|s| s.contains(&json!("Admin.Write"))));
    }
    server.shutdown().await;
}

/// Behind a proxy: `--public-url` is the audience, the metadata's `resource` and an allowed host.
#[tokio::test]
async fn public_url_sets_audience_resource_and_allowed_host() {
    let server = products(|cli| cli.public_url = Some("https://mcp.example.com/mcp".into())).await;
    assert_eq!(server.url, "https://mcp.example.com/mcp");
    let local = format!("http://{}/mcp", server.addr);
    let admin = server.tokens.clone().expect("tokens").admin;
    let client = Mcp::new(&local, Some(&admin));

    let through_proxy = client
        .post_with(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "delete_product", "arguments": {"id": 3}}}),
            &[("host", b"mcp.example.com")],
        )
        .await;
    assert_eq!(
        through_proxy.json["result"]["content"][0]["text"], "product 3 deleted",
        "{}",
        through_proxy.raw
    );

    let metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    let anonymous = Mcp::new(&local, None)
        .post_with(&json!({}), &[("host", b"mcp.example.com")])
        .await;
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some(format!("Bearer resource_metadata=\"{metadata}\"").as_str())
    );

    // A token for the local URL is for another audience.
    let issuer = server.issuer.clone().expect("issuer");
    let local_aud = issuer.token(json!({"sub": "admin", "roles": ["admin"], "aud": local}));
    let refused = Mcp::new(&local, Some(&local_aud))
        .post_with(&json!({}), &[("host", b"mcp.example.com")])
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.json["error_description"],
        "token audience is not this resource"
    );
    server.shutdown().await;
}
