//! The products server with `--cedar examples/products.cedar` against the same server with its
//! TOML role policy and the code's requirements: every caller × every tool, prompt and resource
//! (calls and lists) gets the same answer, and the Cedar argument condition holds over HTTP.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mcp_rbac_examples::products::{Products, Running};
use mcp_rbac_tests::fixtures::products;
use mcp_rbac_tests::{names, Mcp, Reply};
use serde_json::{json, Value};

fn cedar_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/products.cedar"
    ))
}

async fn start(cedar: bool) -> Running {
    products(|cli| cli.cedar = cedar.then(cedar_file)).await
}

/// Who calls: the development tokens' roles, and tokens with other claims.
fn callers() -> Vec<(&'static str, Value)> {
    vec![
        ("admin", json!({"sub": "admin", "roles": ["admin"]})),
        ("user", json!({"sub": "user", "roles": ["user"]})),
        ("guest", json!({"sub": "guest", "roles": ["guest"]})),
        (
            "guest and user",
            json!({"sub": "both", "roles": ["guest", "user"]}),
        ),
        ("unknown role", json!({"sub": "aud", "roles": ["auditor"]})),
        ("no roles", json!({"sub": "nobody"})),
        (
            "direct permissions",
            json!({"sub": "svc", "permissions": ["Admin.Write", "User.Read"]}),
        ),
        (
            "admin read only",
            json!({"sub": "ro", "permissions": ["Admin.Read"]}),
        ),
        (
            "scopes",
            json!({"sub": "app", "scope": "Guest.Read User.Write"}),
        ),
    ]
}

fn arguments(tool: &str) -> Value {
    match tool {
        "get_product" => json!({"id": 1}),
        "delete_product" => json!({"id": 3}),
        "create_product" => json!({"name": "Doohickey", "price_cents": 100}),
        "update_product" => json!({"id": 2, "name": "Renamed", "price_cents": 500}),
        _ => json!({}),
    }
}

/// An answer reduced to what must match: allowed (and whether the tool reported an error),
/// denied by the access rule (the requirement in TOML mode, the policy in Cedar mode), denied by
/// a tool's own condition (with its reason), or another error code.
fn outcome(reply: &Reply) -> String {
    if let Some(error) = reply.rpc_error() {
        let reason = error["data"]["reason"]
            .as_str()
            .unwrap_or("missing_permission");
        return match (error["code"].as_i64(), reason) {
            (Some(403), "missing_permission" | "policy_denied") => "error 403".to_owned(),
            (Some(403), condition) => format!("error 403: {condition}"),
            (code, _) => format!("error {code:?}"),
        };
    }
    match reply.result() {
        Some(result) if result["isError"] == true => "tool error".to_owned(),
        Some(_) => "ok".to_owned(),
        None => format!("HTTP {}: {}", reply.status, reply.raw),
    }
}

async fn resources_read(client: &Mcp, uri: &str) -> Reply {
    let body =
        json!({"jsonrpc": "2.0", "id": 7, "method": "resources/read", "params": {"uri": uri}});
    client.post(&body).await
}

async fn list(client: &Mcp, method: &str, key: &str) -> Vec<String> {
    let reply = client
        .post(&json!({"jsonrpc": "2.0", "id": 8, "method": method, "params": {}}))
        .await;
    let mut listed = names(&reply, key);
    listed.sort();
    listed
}

/// Every cell of the matrix for one server: `(caller, what) → outcome`. Cedar denials carry
/// `data.reason`; they are checked here, since the TOML mode's denials carry the requirement.
async fn matrix(server: &Running, cedar: bool) -> BTreeMap<(String, String), String> {
    let issuer = server.issuer.clone().expect("development issuer");
    let manifest = Products::manifest();
    let resources = [
        "products://catalog",
        "products://audit",
        "products://product/1",
    ];
    let mut cells = BTreeMap::new();
    for (caller, claims) in callers() {
        let token = issuer.token(claims);
        let client = Mcp::new(&server.url, Some(&token));
        let mut cell = |what: String, reply: &Reply| {
            // In Cedar mode no requirement is checked: a denial is the policy's or a condition's.
            let error = reply.rpc_error().filter(|e| e["code"] == 403);
            if let (true, Some(error)) = (cedar, error) {
                let reason = error["data"]["reason"].as_str().unwrap_or_default();
                assert_ne!(
                    reason, "missing_permission",
                    "{caller} {what}: {}",
                    reply.raw
                );
                assert!(!reason.is_empty(), "{caller} {what}: {}", reply.raw);
            }
            cells.insert((caller.to_owned(), what), outcome(reply));
        };
        for tool in manifest.tools.keys() {
            let reply = client.call_tool(tool, arguments(tool)).await;
            cell(format!("call {tool}"), &reply);
        }
        for prompt in manifest.prompts.keys() {
            let reply = client.get_prompt(prompt, json!({"id": "1"})).await;
            cell(format!("get {prompt}"), &reply);
        }
        for uri in resources {
            let reply = resources_read(&client, uri).await;
            cell(format!("read {uri}"), &reply);
        }
        for (method, key) in [
            ("tools/list", "tools"),
            ("prompts/list", "prompts"),
            ("resources/list", "resources"),
            ("resources/templates/list", "resourceTemplates"),
        ] {
            let listed = list(&client, method, key).await;
            cells.insert((caller.to_owned(), method.to_owned()), listed.join(","));
        }
    }
    cells
}

#[tokio::test]
async fn cedar_mode_answers_the_role_matrix_cell_for_cell_as_toml_mode() {
    let toml = start(false).await;
    let cedar = start(true).await;
    let expected = matrix(&toml, false).await;
    let actual = matrix(&cedar, true).await;
    for (cell, want) in &expected {
        assert_eq!(actual.get(cell), Some(want), "{cell:?}");
    }
    assert_eq!(actual.len(), expected.len());
    // Not a matrix of one answer: some cells allow, some deny, per mode.
    let count = |what: &str| expected.values().filter(|o| o.as_str() == what).count();
    assert!(count("ok") > 10 && count("error 403") > 10, "{expected:#?}");
    assert_eq!(
        expected[&("guest".to_owned(), "call delete_product".to_owned())],
        "error 403"
    );
    assert_eq!(
        expected[&(
            "direct permissions".to_owned(),
            "call delete_product".to_owned()
        )],
        "ok"
    );
    // The bodies ran as often in both modes.
    for tool in Products::manifest().tools.keys() {
        assert_eq!(
            toml.counters.get(tool),
            cedar.counters.get(tool),
            "runs of {tool}"
        );
    }
    toml.shutdown().await;
    cedar.shutdown().await;
}

/// The file's `price_limit`: a user's update above 100000 cents is refused by the policy, before
/// the arguments are parsed or the tool's own condition runs; an admin's goes through.
#[tokio::test]
async fn cedar_argument_condition_denies_a_user_over_the_price_limit() {
    let server = start(true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let user = Mcp::new(&server.url, Some(&tokens.user));
    let admin = Mcp::new(&server.url, Some(&tokens.admin));

    let created = user
        .call_tool(
            "create_product",
            json!({"name": "Mine", "price_cents": 100}),
        )
        .await;
    let text = created.result().map(|r| r["content"][0]["text"].clone());
    let id: u64 = text
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|t| {
            t.strip_prefix("product ")?
                .strip_suffix(" created")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("created: {}", created.raw));

    let over = user
        .call_tool("update_product", json!({"id": id, "price_cents": 100_001}))
        .await;
    let error = over.rpc_error().unwrap_or_else(|| panic!("{}", over.raw));
    assert_eq!(error["code"], 403);
    assert_eq!(
        error["data"],
        json!({"tool": "update_product", "reason": "policy_denied"})
    );
    assert_eq!(server.counters.get("update_product"), 0);

    let within = user
        .call_tool("update_product", json!({"id": id, "price_cents": 100_000}))
        .await;
    assert_eq!(outcome(&within), "ok", "{}", within.raw);
    let by_admin = admin
        .call_tool("update_product", json!({"id": id, "price_cents": 250_000}))
        .await;
    assert_eq!(outcome(&by_admin), "ok", "{}", by_admin.raw);
    assert_eq!(server.counters.get("update_product"), 2);

    // An argument Cedar cannot type (a string for a number) is refused, never let through.
    let ill_typed = user
        .call_tool("update_product", json!({"id": id, "price_cents": "lots"}))
        .await;
    let error = ill_typed
        .rpc_error()
        .unwrap_or_else(|| panic!("{}", ill_typed.raw));
    assert_eq!(error["data"]["reason"], "policy_error", "{}", ill_typed.raw);

    // The list is decided without arguments: the user still sees update_product.
    assert!(list(&user, "tools/list", "tools")
        .await
        .contains(&"update_product".to_owned()));
    server.shutdown().await;
}
