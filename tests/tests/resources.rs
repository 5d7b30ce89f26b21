//! Guarded resources over real HTTP against the products server: `resources/list` and
//! `resources/templates/list` filtered per caller, `resources/read` checked before anything is
//! read, with the tools' denial shapes.

use mcp_rbac_examples::products::Running;
use mcp_rbac_tests::fixtures::{products, serve_products};
use mcp_rbac_tests::{Mcp, Reply, ServeOptions};
use serde_json::{json, Value};

async fn start(stateless: bool) -> Running {
    products(|cli| cli.stateless = stateless).await
}

async fn read(mcp: &Mcp, uri: &str) -> Reply {
    mcp.post(
        &json!({"jsonrpc": "2.0", "id": 6, "method": "resources/read", "params": {"uri": uri}}),
    )
    .await
}

async fn listed(mcp: &Mcp, method: &str, key: &str, field: &str) -> Vec<String> {
    let reply = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": {}}))
        .await;
    let items = reply.result().and_then(|r| r[key].as_array().cloned());
    let mut out: Vec<String> = items
        .unwrap_or_else(|| panic!("{method}: {}", reply.raw))
        .iter()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect();
    out.sort();
    out
}

/// The JSON text of a successful read.
fn contents(reply: &Reply) -> Value {
    let text = reply.result().expect("read result")["contents"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("text contents: {}", reply.raw));
    serde_json::from_str(text).expect("JSON contents")
}

#[tokio::test]
async fn lists_are_filtered_per_caller() {
    let server = start(true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let admin = Mcp::new(&server.url, Some(&tokens.admin));

    let list = |mcp| listed(mcp, "resources/list", "resources", "uri");
    assert_eq!(list(&guest).await, ["products://catalog"]);
    assert_eq!(
        list(&admin).await,
        ["products://audit", "products://catalog"]
    );
    let templates = |mcp| {
        listed(
            mcp,
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
        )
    };
    assert_eq!(templates(&guest).await, ["products://product/{id}"]);
    server.shutdown().await;
}

#[tokio::test]
async fn reads_are_checked_before_anything_is_read() {
    let server = start(true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    let admin = Mcp::new(&server.url, Some(&tokens.admin));

    let catalog = contents(&read(&guest, "products://catalog").await);
    assert_eq!(catalog["products"].as_array().map(Vec::len), Some(3));
    let product = contents(&read(&guest, "products://product/2").await);
    assert_eq!(product["name"], "Gadget");

    // Refused: the tools' denial, naming the resource and its requirement; the read never ran.
    let reply = read(&guest, "products://audit").await;
    assert_eq!(reply.status, 200);
    let error = reply.rpc_error().expect("denied");
    assert_eq!(error["code"], 403);
    assert_eq!(
        error["data"],
        json!({"resource": "products://audit", "required": "Admin.Read", "reason": "missing_permission"})
    );
    assert!(!reply.raw.contains("runs"), "{}", reply.raw);
    assert_eq!(server.counters.get("resource audit"), 0);

    // Allowed: the audit trail counts what ran, including the guest's catalogue read.
    let audit = contents(&read(&admin, "products://audit").await);
    assert_eq!(audit["runs"]["delete_product"], 0);
    assert_eq!(server.counters.get("resource audit"), 1);
    assert_eq!(server.counters.get("resource catalog"), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn undeclared_and_escaping_uris_are_not_found() {
    let server = start(true).await;
    let tokens = server.tokens.clone().expect("tokens");
    let admin = Mcp::new(&server.url, Some(&tokens.admin));
    let guest = Mcp::new(&server.url, Some(&tokens.guest));
    for (who, uri) in [
        (&admin, "products://nope"),
        (&guest, "products://product/1/../../audit"),
        (&guest, "products://product/"),
        (&guest, "products://audit/"),
        (&guest, "PRODUCTS://audit"),
        (&guest, "products://product/999"),
        (&guest, "products://product/abc"),
    ] {
        let reply = read(who, uri).await;
        assert_eq!(reply.status, 200, "{uri}");
        let error = reply
            .rpc_error()
            .unwrap_or_else(|| panic!("{uri}: {}", reply.raw));
        assert_eq!(error["code"], -32002, "{uri}: {error}");
        assert!(!reply.raw.contains("runs"), "{uri}: {}", reply.raw);
    }
    assert_eq!(server.counters.get("resource audit"), 0);
    server.shutdown().await;
}

/// Without any authentication layer a read is refused (401), never allowed.
#[tokio::test]
async fn no_principal_is_refused() {
    let (served, _) = serve_products(ServeOptions::default()).await;
    let mcp = Mcp::new(&served.url, None);
    for uri in ["products://catalog", "products://nope"] {
        let reply = read(&mcp, uri).await;
        assert_eq!(reply.rpc_error().expect("refused")["code"], 401, "{uri}");
    }
    let reply = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 5, "method": "resources/list", "params": {}}))
        .await;
    assert_eq!(reply.rpc_error().expect("refused")["code"], 401);
}

/// The server declares the resources capability (its `read_resource` is written by hand).
#[tokio::test]
async fn initialize_declares_resources() {
    let server = start(false).await;
    let tokens = server.tokens.clone().expect("tokens");
    let mut guest = Mcp::new(&server.url, Some(&tokens.guest));
    let init = guest.initialize().await;
    let capabilities = &init.result().expect("initialize result")["capabilities"];
    assert!(capabilities.get("resources").is_some(), "{capabilities}");
    assert!(capabilities.get("tools").is_some(), "{capabilities}");
    let reply = read(&guest, "products://catalog").await;
    assert!(reply.result().is_some(), "{}", reply.raw);
    server.shutdown().await;
}
